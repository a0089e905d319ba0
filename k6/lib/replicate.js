// Replicate (replicate SDK wire format): POST /v1/models/{owner}/{name}/predictions without Prefer: wait (a worker
// does not hold a connection per job), then GET /v1/predictions/{id} until succeeded / failed / canceled, as
// Prediction.wait() does. Over the concurrency limit Replicate accepts the prediction and keeps it "starting".
import { config } from './config.js';
import { json, retryHint, send, transient } from './http.js';

function headers(key, withBody) {
  const h = { Authorization: `Bearer ${key}` };
  if (withBody) h['Content-Type'] = 'application/json';
  return h;
}

function trouble(res, body) {
  if (transient(res, body)) return { retry: true, after: retryHint(res, body), limit: 'error' };
  if (res.status === 429) return { retry: true, after: retryHint(res, body), limit: 'rate' };
  return null;
}

export const replicate = {
  name: 'replicate',
  pollEvery: 2, // the SDK polls every 0.5 s; a worker fleet usually slower (REPLICATE_POLL_INTERVAL)

  create(key) {
    const payload = JSON.stringify({ input: { prompt: 'a fleet of trucks at dawn', duration: 6, resolution: '768p' } });
    const res = send('replicate', 'create', 'POST', `${config.urls.replicate}/v1/models/${config.replicateModel}/predictions`,
      payload, headers(key, true), 'replicate POST /v1/models/{model}/predictions');
    const body = json(res);
    const bad = trouble(res, body);
    if (bad) return bad;
    if (res.status !== 201 || !body || !body.id) {
      if (res.status === 402) return { refused: 'credits' };
      return { refused: res.status === 422 && body && /flagged/i.test(String(body.detail)) ? 'moderation' : 'rejected' };
    }
    return { ok: true, id: body.id };
  },

  poll(key, job) {
    const res = send('replicate', 'status', 'GET', `${config.urls.replicate}/v1/predictions/${job.id}`, null,
      headers(key), 'replicate GET /v1/predictions/{id}');
    const body = json(res);
    const bad = trouble(res, body);
    if (bad) return bad;
    if (res.status !== 200 || !body) return { state: 'failed', reason: `http_${res.status}` };
    switch (body.status) {
      case 'succeeded':
        return { state: 'succeeded', video: body.output };
      case 'failed':
        return { state: 'failed', reason: /E005/.test(String(body.error)) ? 'content_policy' : 'failed' };
      case 'canceled':
        return { state: 'failed', reason: 'cancelled' };
      default: // starting, processing
        return { state: 'pending' };
    }
  },

  download(key, job, video) {
    return send('replicate', 'download', 'GET', video, null, {}, 'replicate GET output mp4');
  },
};
