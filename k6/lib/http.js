// One place where provider requests are sent: tags (provider, endpoint, a URL name without ids), the error
// rate per spike phase, and reading the provider's retry hints.
import http from 'k6/http';
import { requestErrors } from './metrics.js';
import { observe, tagPhase } from './phase.js';

const TIMEOUT = __ENV.REQUEST_TIMEOUT || '60s';

// 2xx-3xx and 429 are expected answers (429 is handled by backing off); 4xx other than 429 and 5xx are not
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 399 }, 429));

export function send(provider, endpoint, method, url, body, headers, name) {
  const params = {
    headers: headers || {},
    timeout: TIMEOUT,
    tags: { provider, endpoint, name: name || `${provider} ${endpoint}` },
  };
  if (endpoint === 'download') params.responseType = 'binary';
  tagPhase();
  const res = http.request(method, url, body === null || body === undefined ? null : body, params);
  const broken = res.status === 0 || res.status >= 500;
  requestErrors.add(broken, { provider, endpoint });
  observe(!broken);
  return res;
}

export function json(res) {
  try {
    return res.json();
  } catch (e) {
    return null; // truncated or malformed body
  }
}

// Real seconds to wait from retry-after-ms, Retry-After (seconds or an HTTP date) or Google's RetryInfo.retryDelay
// ("12s", "0.600s"),
// or null when the provider gave no hint.
export function retryHint(res, body) {
  const exact = Number(res.headers['Retry-After-Ms']);
  if (Number.isFinite(exact) && exact > 0) return exact / 1000;
  const header = res.headers['Retry-After'];
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return seconds;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, (date - Date.now()) / 1000);
  }
  const details = body && body.error && Array.isArray(body.error.details) ? body.error.details : [];
  for (const detail of details) {
    if (detail && typeof detail.retryDelay === 'string') {
      const seconds = parseFloat(detail.retryDelay);
      if (Number.isFinite(seconds)) return seconds;
    }
  }
  return null;
}

// A retryable answer: 5xx, reset or timeout (status 0), or a body that is not JSON.
export function transient(res, body) {
  return res.status === 0 || res.status >= 500 || (res.status < 300 && body === null);
}
