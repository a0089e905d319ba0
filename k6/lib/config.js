// Settings from environment variables (k6 run -e NAME=value, or the shell's environment).
// Every duration the fleet waits (poll intervals, Retry-After, back-off) is multiplied by the poll scale.

const env = __ENV;

function num(name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name}: expected a number, got ${raw}`);
  return value;
}

function str(name, fallback) {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

const base = str('BASE_URL', 'http://127.0.0.1:8000').replace(/\/+$/, '');

export const config = {
  scenario: str('SCENARIO', 'load'),
  baseUrl: base,
  urls: {
    runway: str('RUNWAY_URL', base).replace(/\/+$/, ''),
    veo: str('VEO_URL', base).replace(/\/+$/, ''),
    kling: str('KLING_URL', base).replace(/\/+$/, ''),
    replicate: str('REPLICATE_URL', base).replace(/\/+$/, ''),
  },
  adminUrl: str('ADMIN_URL', base).replace(/\/+$/, ''),
  adminToken: str('ADMIN_TOKEN', ''),
  providers: str('PROVIDERS', 'runway,veo,kling').split(',').map((p) => p.trim()).filter(Boolean),
  // 'auto': the server's clock scale, read in setup() (1 when the admin API is not reachable)
  pollScale: str('POLL_SCALE', 'auto'),
  downloadShare: num('DOWNLOAD_SHARE', 0.1),
  maxRetries: num('MAX_RETRIES', 8),
  maxBackoff: num('MAX_BACKOFF', 60), // seconds (before scaling): longer Retry-After values are capped
  jobTimeout: num('JOB_TIMEOUT', 900), // seconds (before scaling) a worker polls one job before giving up
  vus: num('VUS', 0), // 0: the scenario's default
  scale: num('SCALE', 1), // multiplies every VU target
  durationScale: num('DURATION_SCALE', 1), // multiplies every stage duration
  profile: str('PROFILE', ''), // '' = the scenario's default profile; 'none' = leave the server's profile alone
  profileB: str('PROFILE_B', 'rate-limited'), // keys scenario: the second tenant's profile
  reset: str('RESET', '') === '1', // setup(): POST /__mock/reset first (forget jobs, counts, assignments)
  outageStart: num('OUTAGE_START', 0.25), // spike: share of the hold before the outage starts
  outageEnd: num('OUTAGE_END', 0.5), // spike: share of the hold when it ends
  runwayKey: str('RUNWAY_KEY', 'key_k6_fleet'),
  veoKey: str('VEO_KEY', 'k6-fleet'),
  klingAccessKey: str('KLING_ACCESS_KEY', 'ak_test'),
  klingSecretKey: str('KLING_SECRET_KEY', 'sk_test'),
  runwayModel: str('RUNWAY_MODEL', 'gen4_turbo'),
  veoModel: str('VEO_MODEL', 'veo-3.1-fast-generate-001'),
  klingModel: str('KLING_MODEL', 'kling-v2-6'),
  replicateToken: str('REPLICATE_TOKEN', 'r8_k6_fleet'),
  replicateModel: str('REPLICATE_MODEL', 'minimax/hailuo-02'),
  veoBucket: str('VEO_BUCKET', 'gs://k6-fleet/outputs'),
};

// The credentials of the default fleet; the keys scenario gives each tenant its own.
export function defaultCredentials() {
  return {
    runway: config.runwayKey,
    veo: config.veoKey,
    kling: { ak: config.klingAccessKey, sk: config.klingSecretKey },
    replicate: config.replicateToken,
  };
}

export function tenantCredentials(tenant) {
  return {
    runway: `key_k6_${tenant}`,
    veo: `k6-${tenant}`,
    kling: { ak: `ak_k6_${tenant}`, sk: `sk_k6_${tenant}_secret` },
    replicate: `r8_k6_${tenant}`,
  };
}
