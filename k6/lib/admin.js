// mockprovider's admin API (/__mock/), used from setup() and teardown() to switch profiles for real.
import http from 'k6/http';
import { config } from './config.js';

function call(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (config.adminToken) headers['X-Mockprovider-Admin-Token'] = config.adminToken;
  const res = http.request(method, `${config.adminUrl}/__mock${path}`,
    body === undefined ? null : JSON.stringify(body),
    { headers, tags: { provider: 'admin', endpoint: 'admin', name: `admin ${method} /__mock${path}` } });
  if (res.status >= 400 && !(method === 'DELETE' && res.status === 404)) {
    throw new Error(`admin ${method} ${path}: HTTP ${res.status} ${res.body}`);
  }
  return res.status === 204 || !res.body ? null : res.json();
}

export function reachable() {
  const res = http.get(`${config.adminUrl}/__mock/health`, { tags: { provider: 'admin', endpoint: 'admin' } });
  return res.status === 200;
}

export const admin = {
  clock: () => call('GET', '/clock'),
  activeProfile: () => call('GET', '/profile'),
  // {name} or {profile: {...inline...}}, optionally {ttl}
  setProfile: (spec) => call('PUT', '/profile', spec),
  restoreStartup: () => call('DELETE', '/profile'),
  setKeyProfile: (key, spec) => call('PUT', `/keys/${encodeURIComponent(key)}/profile`, spec),
  clearKeyProfile: (key) => call('DELETE', `/keys/${encodeURIComponent(key)}/profile`),
  addKlingKey: (ak, sk) => call('POST', '/kling/keys', { access_key: ak, secret_key: sk }),
  removeKlingKey: (ak) => call('DELETE', `/kling/keys/${encodeURIComponent(ak)}`),
  reset: () => call('POST', '/reset', {}),
  stats: () => call('GET', '/stats'),
  report: () => call('GET', '/report'),
};
