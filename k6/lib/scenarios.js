// The four kinds of load test, plus two tenants on two keys, as k6 scenarios. Stage durations are written
// for a real run and multiplied by DURATION_SCALE; VU targets come from VUS (or the default) times SCALE.
import { config } from './config.js';

function dur(seconds) {
  return `${Math.max(1, Math.round(seconds * config.durationScale * 1000))}ms`;
}

function vus(fallback, factor = 1) {
  const base = config.vus > 0 ? config.vus : fallback;
  return Math.max(1, Math.round(base * config.scale * factor));
}

function ramping(exec, stages, extra = {}) {
  return {
    executor: 'ramping-vus',
    exec,
    startVUs: 0,
    stages: stages.map(([seconds, target]) => ({ duration: dur(seconds), target })),
    gracefulRampDown: dur(30),
    gracefulStop: dur(30),
    ...extra,
  };
}

// SLOs against the `happy` profile: status polls answer in p99 < 50 ms on every provider, creates in
// p99 < 200 ms, almost nothing fails.
function slo(filter = '') {
  const sep = filter ? `,${filter}` : '';
  const t = {};
  for (const provider of config.providers) {
    t[`http_req_duration{provider:${provider},endpoint:status${sep}}`] = ['p(99)<50'];
    t[`http_req_duration{provider:${provider},endpoint:create${sep}}`] = ['p(99)<200'];
    t[`job_duration{provider:${provider}${sep}}`] = ['max>=0']; // shown per provider in the summary
  }
  return t;
}

function common() {
  return {
    http_req_failed: ['rate<0.01'],
    jobs_finished: ['count>0'],
  };
}

const DEFINITIONS = {
  // ramp up to the expected peak, hold it, ramp down
  load: () => ({
    profile: 'happy',
    scenarios: { load: ramping('worker', [[60, vus(50)], [180, vus(50)], [30, 0]]) },
    thresholds: { ...common(), ...slo(), jobs_failed: ['rate<0.01'] },
  }),
  // step past the expected peak (1x, 2x, 4x, 8x) to find where the pipeline breaks; the mock must not
  stress: () => ({
    profile: 'happy',
    scenarios: {
      stress: ramping('worker', [[60, vus(50)], [120, vus(50)], [60, vus(50, 2)], [120, vus(50, 2)],
        [60, vus(50, 4)], [120, vus(50, 4)], [60, vus(50, 8)], [120, vus(50, 8)], [60, 0]]),
    },
    thresholds: {
      ...common(),
      ...Object.fromEntries(config.providers.map((p) => [`http_req_duration{provider:${p},endpoint:status}`,
        ['p(99)<250']])),
      ...Object.fromEntries(config.providers.map((p) => [`job_duration{provider:${p}}`, ['max>=0']])),
      jobs_failed: ['rate<0.05'],
    },
  }),
  // moderate load for hours, with the providers' real timings and failure rates
  soak: () => ({
    profile: 'realistic',
    scenarios: { soak: ramping('worker', [[300, vus(30)], [4 * 3600, vus(30)], [300, 0]]) },
    thresholds: {
      ...common(),
      ...Object.fromEntries(config.providers.map((p) => [`job_duration{provider:${p}}`, ['max>=0']])),
      jobs_failed: ['rate<0.1'],
    },
  }),
  // zero to the maximum at once, during which the provider has an outage window, then recovery
  spike: () => ({
    profile: 'happy', // with a 503 window added in setup()
    scenarios: { spike: ramping('worker', [[2, vus(200)], [240, vus(200)], [2, 0]]) },
    hold: 240,
    thresholds: {
      'request_errors{phase:before}': ['rate<0.01'],
      'request_errors{phase:outage}': ['rate>=0'], // shown in the summary: the outage as the fleet saw it
      'request_errors{phase:after}': ['rate<0.01'],
      recovery_time: ['max>=0'],
      jobs_finished: ['count>0'],
      ...Object.fromEntries(config.providers.map((p) => [`job_duration{provider:${p}}`, ['max>=0']])),
      ...Object.fromEntries(config.providers.map((p) => [
        `http_req_duration{provider:${p},endpoint:status,phase:after}`, ['p(99)<50']])),
    },
  }),
  // two tenants at once: tenant_a's keys see `happy`, tenant_b's keys see PROFILE_B (`rate-limited`)
  keys: () => ({
    profile: 'happy',
    scenarios: {
      tenant_a: { executor: 'constant-vus', exec: 'tenantA', vus: vus(5), duration: dur(300),
        gracefulStop: dur(30) },
      tenant_b: { executor: 'constant-vus', exec: 'tenantB', vus: vus(5), duration: dur(300),
        gracefulStop: dur(30) },
    },
    thresholds: {
      ...slo('scenario:tenant_a'),
      'jobs_failed{scenario:tenant_a}': ['rate<0.01'],
      'jobs_throttled{scenario:tenant_a}': ['rate==0'],
      'jobs_rate_limited{scenario:tenant_a}': ['rate==0'],
      'jobs_failed{scenario:tenant_b}': ['rate>=0'],
      'jobs_throttled{scenario:tenant_b}': ['rate>=0'],
      'jobs_rate_limited{scenario:tenant_b}': ['rate>=0'],
      'job_duration{scenario:tenant_b}': ['max>=0'],
      'job_duration{scenario:tenant_a}': ['max>=0'],
      'backoffs{scenario:tenant_a}': ['count==0'],
      'backoffs{scenario:tenant_b}': ['count>=0'],
    },
  }),
};

export function definition(name) {
  const make = DEFINITIONS[name];
  if (!make) throw new Error(`SCENARIO=${name}: expected one of ${Object.keys(DEFINITIONS).join(', ')}`);
  return make();
}
