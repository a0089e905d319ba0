// Latency fidelity for bench/bench_latency.py: polls one task at a fixed arrival rate; the server's profile
// holds each status request for a lognormal time, and k6's http_req_duration percentiles are compared with it.
//
//   k6 run --summary-trend-stats "p(50),p(95),p(99)" --summary-export out.json \
//     -e URL=http://127.0.0.1:8000/v1/tasks/<id> -e RATE=500 -e DURATION=90s bench/k6/latency.js
import http from 'k6/http';
import { check } from 'k6';

const RATE = Number(__ENV.RATE || 500);

export const options = {
  scenarios: {
    poll: {
      executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: __ENV.DURATION || '90s',
      preAllocatedVUs: Math.ceil(RATE * 0.8), maxVUs: RATE * 4,
    },
  },
  discardResponseBodies: true,
};

const params = { headers: { Authorization: `Bearer ${__ENV.KEY || 'key_latency'}`, 'X-Runway-Version': '2024-11-06' } };

export default function () {
  const r = http.get(__ENV.URL, params);
  check(r, { 'status 200': (x) => x.status === 200 });
}
