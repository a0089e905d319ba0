// Veo on Vertex AI in express mode (google-genai 3.x with api_key=): POST
// /v1beta1/publishers/google/models/{model}:predictLongRunning, then POST ...:fetchPredictOperation
// {operationName} every ~10 s until done. Outputs go to gs:// under storageUri (so polls stay small) and are
// fetched through the GCS JSON API's media path. Over a limit: 429 RESOURCE_EXHAUSTED with RetryInfo.
import { config } from './config.js';
import { json, retryHint, send, transient } from './http.js';

function headers(key) {
  return { 'x-goog-api-key': key, 'Content-Type': 'application/json' };
}

function model() {
  return `${config.urls.veo}/v1beta1/publishers/google/models/${config.veoModel}`;
}

function trouble(res, body) {
  if (transient(res, body)) return { retry: true, after: retryHint(res, body), limit: 'error' };
  if (res.status === 429) {
    const details = (body && body.error && body.error.details) || [];
    const concurrency = details.some((d) => (d.violations || []).some((v) => /Concurrent/.test(v.quotaId || '')));
    const budget = details.some((d) => (d.violations || []).some((v) => v.quotaId === 'BillingBudget'));
    if (budget) return { refused: 'credits' };
    return { retry: true, after: retryHint(res, body), limit: concurrency ? 'concurrency' : 'rate' };
  }
  return null;
}

export const veo = {
  name: 'veo',
  pollEvery: 10,

  create(key) {
    const payload = JSON.stringify({
      instances: [{ prompt: 'a fleet of trucks at dawn' }],
      parameters: { sampleCount: 1, durationSeconds: 4, aspectRatio: '16:9', storageUri: config.veoBucket },
    });
    const res = send('veo', 'create', 'POST', `${model()}:predictLongRunning`, payload, headers(key),
      'veo POST :predictLongRunning');
    const body = json(res);
    const bad = trouble(res, body);
    if (bad) return bad;
    if (res.status !== 200 || !body || !body.name) return { refused: res.status === 400 ? 'moderation' : 'rejected' };
    return { ok: true, id: body.name };
  },

  poll(key, job) {
    const res = send('veo', 'status', 'POST', `${model()}:fetchPredictOperation`,
      JSON.stringify({ operationName: job.id }), headers(key), 'veo POST :fetchPredictOperation');
    const body = json(res);
    const bad = trouble(res, body);
    if (bad) return bad.refused ? { state: 'failed', reason: bad.refused } : bad;
    if (res.status !== 200 || !body) return { state: 'failed', reason: `http_${res.status}` };
    if (!body.done) return { state: 'pending', throttled: false };
    if (body.error) return { state: 'failed', reason: `error_${body.error.code}` };
    const videos = (body.response && body.response.videos) || [];
    if (!videos.length) return { state: 'failed', reason: 'filtered' };
    return { state: 'succeeded', video: videos[0].gcsUri };
  },

  download(key, job, video) {
    const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(video || '');
    if (!match) return null;
    const url = `${config.urls.veo}/download/storage/v1/b/${match[1]}/o/${encodeURIComponent(match[2])}?alt=media`;
    return send('veo', 'download', 'GET', url, null, {}, 'veo GET gcs object media');
  },
};
