// Soak traffic for bench/bench_soak.py: a fixed arrival rate of mixed requests against one mockprovider.
// Each iteration is one request: about 10% create a job (Runway or Veo Gemini API), 10% download a finished
// job's output, the rest poll a job this VU created. Every VU keeps a short list of its own jobs.
//
//   k6 run -e BASE=http://127.0.0.1:8000 -e RATE=300 -e DURATION=30m bench/k6/soak.js
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE || 'http://127.0.0.1:8000';
const RATE = Number(__ENV.RATE || 300);
const DURATION = __ENV.DURATION || '30m';

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: DURATION,
      preAllocatedVUs: 60, maxVUs: 400,
    },
  },
  thresholds: { http_req_failed: ['rate==0'] },
  discardResponseBodies: false,
};

const RUNWAY = { Authorization: 'Bearer key_soak', 'X-Runway-Version': '2024-11-06', 'Content-Type': 'application/json' };
const VEO = { 'x-goog-api-key': 'soak', 'Content-Type': 'application/json' };
const RUNWAY_BODY = JSON.stringify({ model: 'gen4_turbo', promptImage: 'https://example.com/a.png', ratio: '1280:720' });
const VEO_BODY = JSON.stringify({ instances: [{ prompt: 'a lighthouse at dusk' }] });
const VEO_MODEL = 'veo-3.1-fast-generate-preview';

const pending = [];   // {kind, path} of this VU's unfinished jobs
const outputs = [];   // output URLs of this VU's finished jobs
let created = 0;

function create() {
  created += 1;
  if (created % 2 === 0) {
    const r = http.post(`${BASE}/v1/image_to_video`, RUNWAY_BODY, { headers: RUNWAY, tags: { name: 'create' } });
    if (check(r, { 'create 200': (x) => x.status === 200 })) pending.push({ kind: 'runway', path: `/v1/tasks/${r.json('id')}` });
  } else {
    const r = http.post(`${BASE}/v1beta/models/${VEO_MODEL}:predictLongRunning`, VEO_BODY, { headers: VEO, tags: { name: 'create' } });
    if (check(r, { 'create 200': (x) => x.status === 200 })) pending.push({ kind: 'veo', path: `/v1beta/${r.json('name')}` });
  }
  if (pending.length > 40) pending.shift();
}

function remember(url) {
  outputs.push(url.replace(/^https:/, 'http:'));  // the Gemini API's file URIs are https; we serve plain http
  if (outputs.length > 20) outputs.shift();
}

function poll() {
  const i = Math.floor(Math.random() * pending.length);
  const job = pending[i];
  const r = http.get(`${BASE}${job.path}`, { headers: job.kind === 'runway' ? RUNWAY : VEO, tags: { name: 'poll' } });
  if (!check(r, { 'poll 200': (x) => x.status === 200 })) return;
  const body = r.json();
  if (job.kind === 'runway' && (body.status === 'SUCCEEDED' || body.status === 'FAILED')) {
    pending.splice(i, 1);
    if (body.output) remember(body.output[0]);
  } else if (job.kind === 'veo' && body.done) {
    pending.splice(i, 1);
    const samples = body.response && body.response.generateVideoResponse.generatedSamples;
    if (samples) remember(samples[0].video.uri);
  }
}

function download() {
  const url = outputs[Math.floor(Math.random() * outputs.length)];
  const headers = url.includes('/v1beta/') ? VEO : {};
  const r = http.get(url, { headers, responseType: 'none', tags: { name: 'download' } });
  check(r, { 'download 200': (x) => x.status === 200 });
}

export default function () {
  const roll = Math.random();
  if (roll < 0.1 || pending.length === 0) create();
  else if (roll < 0.2 && outputs.length > 0) download();
  else poll();
}
