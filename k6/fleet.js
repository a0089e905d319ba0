// A fleet of video-generation workers against mockprovider: each VU is a worker that creates a job on Runway,
// Veo (Vertex AI, express mode) or Kling, polls it the way that provider's clients do, backs off when told
// to, and downloads the MP4 of a share of the finished jobs.
//
//   k6 run k6/fleet.js                                   # SCENARIO=load against http://127.0.0.1:8000
//   k6 run -e SCENARIO=spike -e DURATION_SCALE=0.1 k6/fleet.js
//
// Environment variables and scenarios: k6/README.md.
import exec from 'k6/execution';
import { admin, reachable } from './lib/admin.js';
import { config, defaultCredentials, tenantCredentials } from './lib/config.js';
import { useWindow } from './lib/phase.js';
import { reportLines } from './lib/report.js';
import { definition } from './lib/scenarios.js';
import { runJob } from './lib/worker.js';

const chosen = definition(config.scenario);

export const options = {
  scenarios: chosen.scenarios,
  thresholds: chosen.thresholds,
  setupTimeout: '60s',
  teardownTimeout: '60s',
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

const TENANTS = ['tenant_a', 'tenant_b'];

function profileSpec(name) {
  return { name };
}

// The spike's profile: the chosen one plus a 503 on every request during a window of the hold.
function outageProfile(base, startSeconds, endSeconds) {
  return {
    name: `${base}+outage`,
    profile: {
      extends: base,
      description: `${base} with an outage window for the k6 spike scenario`,
      faults: {
        all: [{ kind: 'error', status: 503, rate: 1.0, message: 'The service is temporarily unavailable.',
          during: { start: `${startSeconds}s`, end: `${endSeconds}s` } }],
      },
    },
  };
}

export function setup() {
  const data = { scale: 1, previous: null, window: null, tenants: false, profile: null };
  const managed = config.profile !== 'none' && reachable();
  let clockScale = 1;
  if (managed) {
    if (config.reset) admin.reset();
    clockScale = admin.clock().scale;
    data.previous = admin.activeProfile();
  }
  data.scale = config.pollScale === 'auto' ? clockScale : Number(config.pollScale);
  if (!managed) return data;

  const profile = config.profile || chosen.profile;
  if (config.scenario === 'keys') {
    data.tenants = true;
    const profiles = { tenant_a: profile, tenant_b: config.profileB };
    for (const tenant of TENANTS) {
      const c = tenantCredentials(tenant);
      admin.addKlingKey(c.kling.ak, c.kling.sk);
      for (const key of [c.runway, c.veo, c.kling.ak, c.replicate]) admin.setKeyProfile(key, profileSpec(profiles[tenant]));
    }
    data.profile = profiles;
  } else if (config.scenario === 'spike') {
    // the window, in seconds of the scenario's wall clock: a share of the hold, after the 2 s jump
    const ramp = 2 * config.durationScale;
    const startReal = ramp + chosen.hold * config.durationScale * config.outageStart;
    const endReal = ramp + chosen.hold * config.durationScale * config.outageEnd;
    // `during` counts engine seconds from the switch; the engine runs 1/scale times faster than the wall.
    // The server switches somewhere between the request and its answer: the window is taken to start from
    // the request (no request it fails is counted before it) and to end from the answer (nor after it).
    const asked = Date.now();
    admin.setProfile(outageProfile(profile, startReal / clockScale, endReal / clockScale));
    const switched = Date.now();
    data.window = { start: asked + startReal * 1000, end: switched + endReal * 1000 };
    data.profile = `${profile}+outage`;
  } else {
    admin.setProfile(profileSpec(profile));
    data.profile = profile;
  }
  return data;
}

export function teardown(data) {
  if (reachable()) {
    try {
      for (const line of reportLines(admin.report())) console.log(line);
    } catch (e) {
      console.warn(`mockprovider report: not available (${e})`);
    }
  }
  if (!data.previous) return;
  if (data.tenants) {
    for (const tenant of TENANTS) {
      const c = tenantCredentials(tenant);
      for (const key of [c.runway, c.veo, c.kling.ak, c.replicate]) admin.clearKeyProfile(key);
      admin.removeKlingKey(c.kling.ak);
    }
  }
  const previous = data.previous;
  if (previous.source) admin.setProfile({ name: previous.name });
  else admin.setProfile({ name: previous.name, profile: previous.profile });
}

// Each VU works its way round the providers, one job at a time.
function pick() {
  const providers = config.providers;
  return providers[(exec.vu.idInTest + exec.vu.iterationInScenario) % providers.length];
}

function work(data, credentials) {
  useWindow(data.window);
  const provider = pick();
  runJob(provider, credentials[provider], data.scale);
}

export function worker(data) {
  work(data, defaultCredentials());
}

export function tenantA(data) {
  work(data, tenantCredentials('tenant_a'));
}

export function tenantB(data) {
  work(data, tenantCredentials('tenant_b'));
}
