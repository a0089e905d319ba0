// Kling: POST /v1/videos/text2video with an HS256 JWT, then GET /v1/videos/text2video/{task_id} every ~10 s
// until succeed / failed. Answers come in the {code, message, request_id, data} envelope; over the concurrency
// limit the create is refused with 429 / 1303 (not queued), too fast is 429 / 1302.
import { config } from './config.js';
import { json, retryHint, send, transient } from './http.js';
import { klingToken } from './jwt.js';

function headers(pair) {
  return { Authorization: `Bearer ${klingToken(pair.ak, pair.sk)}`, 'Content-Type': 'application/json' };
}

const REFUSED = { 1102: 'credits', 1301: 'moderation' };

function trouble(res, body) {
  if (transient(res, body)) return { retry: true, after: retryHint(res, body), limit: 'error' };
  const code = body && body.code;
  if (REFUSED[code]) return { refused: REFUSED[code] };
  if (res.status === 429 || code === 1302 || code === 1303) {
    return { retry: true, after: retryHint(res, body), limit: code === 1303 ? 'concurrency' : 'rate' };
  }
  return null;
}

export const kling = {
  name: 'kling',
  pollEvery: 10,

  create(pair) {
    const payload = JSON.stringify({
      model_name: config.klingModel, prompt: 'a fleet of trucks at dawn', duration: '5', mode: 'std',
      aspect_ratio: '16:9',
    });
    const res = send('kling', 'create', 'POST', `${config.urls.kling}/v1/videos/text2video`, payload,
      headers(pair), 'kling POST /v1/videos/text2video');
    const body = json(res);
    const bad = trouble(res, body);
    if (bad) return bad;
    if (res.status !== 200 || !body || body.code !== 0 || !body.data) return { refused: `code_${body && body.code}` };
    return { ok: true, id: body.data.task_id };
  },

  poll(pair, job) {
    const res = send('kling', 'status', 'GET', `${config.urls.kling}/v1/videos/text2video/${job.id}`, null,
      headers(pair), 'kling GET /v1/videos/text2video/{id}');
    const body = json(res);
    const bad = trouble(res, body);
    if (bad) return bad.refused ? { state: 'failed', reason: bad.refused } : bad;
    if (res.status !== 200 || !body || !body.data) return { state: 'failed', reason: `code_${body && body.code}` };
    const task = body.data;
    if (task.task_status === 'succeed') {
      const videos = (task.task_result && task.task_result.videos) || [];
      return { state: 'succeeded', video: videos.length ? videos[0].url : null };
    }
    if (task.task_status === 'failed') return { state: 'failed', reason: task.task_status_msg || 'failed' };
    return { state: 'pending', throttled: false };
  },

  download(pair, job, video) {
    return video ? send('kling', 'download', 'GET', video, null, {}, 'kling GET output mp4') : null;
  },
};
