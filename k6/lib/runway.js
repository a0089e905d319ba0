// Runway (runwayml SDK wire format): POST /v1/image_to_video, then GET /v1/tasks/{id} every ~5 s until
// SUCCEEDED / FAILED / CANCELLED. Over the concurrency limit Runway accepts the task as THROTTLED.
import { config } from './config.js';
import { json, retryHint, send, transient } from './http.js';

const VERSION = '2024-11-06';

function headers(key, withBody) {
  const h = { Authorization: `Bearer ${key}`, 'X-Runway-Version': VERSION };
  if (withBody) h['Content-Type'] = 'application/json';
  return h;
}

function trouble(res, body) {
  if (transient(res, body)) return { retry: true, after: retryHint(res, body), limit: 'error' };
  if (res.status === 429) return { retry: true, after: retryHint(res, body), limit: 'rate' };
  return null;
}

export const runway = {
  name: 'runway',
  pollEvery: 5,

  create(key) {
    const payload = JSON.stringify({
      model: config.runwayModel,
      promptImage: 'https://example.com/k6-fleet.png',
      promptText: 'a fleet of trucks at dawn',
      ratio: '1280:720',
      duration: 5,
    });
    const res = send('runway', 'create', 'POST', `${config.urls.runway}/v1/image_to_video`, payload,
      headers(key, true), 'runway POST /v1/image_to_video');
    const body = json(res);
    const bad = trouble(res, body);
    if (bad) return bad;
    if (res.status !== 200 || !body || !body.id) {
      const text = body && body.error ? String(body.error) : `HTTP ${res.status}`;
      return { refused: /credits/i.test(text) ? 'credits' : /moderation/i.test(text) ? 'moderation' : 'rejected' };
    }
    return { ok: true, id: body.id };
  },

  poll(key, job) {
    const res = send('runway', 'status', 'GET', `${config.urls.runway}/v1/tasks/${job.id}`, null, headers(key),
      'runway GET /v1/tasks/{id}');
    const body = json(res);
    const bad = trouble(res, body);
    if (bad) return bad;
    if (res.status !== 200 || !body) return { state: 'failed', reason: `http_${res.status}` };
    switch (body.status) {
      case 'SUCCEEDED':
        return { state: 'succeeded', video: (body.output || [])[0] };
      case 'FAILED':
        return { state: 'failed', reason: body.failureCode || 'failed' };
      case 'CANCELLED':
        return { state: 'failed', reason: 'cancelled' };
      default: // THROTTLED, PENDING, RUNNING
        return { state: 'pending', throttled: body.status === 'THROTTLED' };
    }
  },

  download(key, job, video) {
    return send('runway', 'download', 'GET', video, null, {}, 'runway GET output mp4');
  },
};
