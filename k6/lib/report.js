// mockprovider's client-behaviour report (GET /__mock/report), printed by teardown(): what the fleet did
// toward each provider, as the server saw it (polls per job, poll intervals, detection lag, retries and
// whether they honoured the retry hints, downloads, webhooks, cost at list prices).
function n(value, digits = 3) {
  if (value === null || value === undefined) return '-';
  return typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(digits) : String(value);
}

export function reportLines(report) {
  const lines = [];
  for (const [provider, s] of Object.entries(report.providers)) {
    const early = s.retries.early_fraction === null ? '-' : `${Math.round(s.retries.early_fraction * 100)}%`;
    lines.push(`mockprovider report: ${provider}: jobs ${s.jobs.created} (ok ${s.jobs.succeeded}, `
      + `failed ${s.jobs.failed}, cancelled ${s.jobs.cancelled}, in flight ${s.jobs.in_flight}, `
      + `peak ${s.jobs.peak_concurrent}), polls/job ${n(s.polls_per_job.mean, 1)} (p95 ${n(s.polls_per_job.p95)}), `
      + `poll interval p50 ${n(s.poll_interval_s.p50)} s p95 ${n(s.poll_interval_s.p95)} s, `
      + `detection lag p50 ${n(s.detection_lag_s.p50)} s p95 ${n(s.detection_lag_s.p95)} s, `
      + `retries ${s.retries.total} (${early} early), downloads/ok job ${n(s.downloads.per_succeeded_job, 2)}, `
      + `webhooks ${s.webhooks.delivered} ok ${s.webhooks.failed} failed, cost $${s.cost_usd.toFixed(2)}`);
  }
  lines.push(`mockprovider report: total cost at list prices $${report.total_cost_usd.toFixed(2)} `
    + `(seconds are ${report.seconds} seconds; time scale ${report.time_scale})`);
  return lines;
}
