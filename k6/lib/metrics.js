// The fleet's own metrics. Each sample carries the provider tag (and k6 adds the scenario tag), so thresholds
// and summaries can split them: job_duration{provider:veo}, jobs_throttled{scenario:tenant_b}.
import { Counter, Rate, Trend } from 'k6/metrics';

// wall-clock time from sending the create request to the poll that saw the job finished (SUCCEEDED / done /
// succeed, or failed)
export const jobDuration = new Trend('job_duration', true);
// share of jobs that ended without a video: failed, filtered, refused at submit, or given up on
export const jobsFailed = new Rate('jobs_failed');
// share of jobs that had to wait for a concurrency slot: Runway THROTTLED, Kling 1303, Veo concurrency 429
export const jobsThrottled = new Rate('jobs_throttled');
// share of jobs that met a rate, daily or credit limit (429) on the way
export const jobsRateLimited = new Rate('jobs_rate_limited');
// jobs that reached a final state, tagged by provider and outcome
export const jobsFinished = new Counter('jobs_finished');
// jobs created (accepted by the provider)
export const jobsCreated = new Counter('jobs_created');
// every wait the fleet did because the provider said so (Retry-After, RetryInfo) or failed (5xx, reset)
export const backoffs = new Counter('backoffs');
export const backoffWait = new Trend('backoff_wait', true);
// finished videos fetched, and their size
export const downloads = new Counter('videos_downloaded');
export const downloadBytes = new Counter('video_bytes');
// every provider request that did not get a usable answer (5xx, reset, timeout), tagged with the spike phase
export const requestErrors = new Rate('request_errors');
// spike: per VU, time from the end of the outage window to its first successful provider request
export const recoveryTime = new Trend('recovery_time', true);
