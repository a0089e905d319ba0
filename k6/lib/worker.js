// One worker's job, start to end: create (backing off while the provider says so), poll at the provider's
// pace until the job is finished, record the outcome, and download the MP4 of a share of the finished jobs.
import { sleep } from 'k6';
import { config } from './config.js';
import { kling } from './kling.js';
import {
  backoffWait, backoffs, downloadBytes, downloads, jobDuration, jobsCreated, jobsFailed, jobsFinished,
  jobsRateLimited, jobsThrottled,
} from './metrics.js';
import { replicate } from './replicate.js';
import { runway } from './runway.js';
import { veo } from './veo.js';

export const PROVIDERS = { runway, veo, kling, replicate };

function jitter(seconds) {
  return seconds * (0.9 + Math.random() * 0.2);
}

// Wait as the provider asked (capped), else exponential back-off from 1 s; all of it times the poll scale.
// A provider's hint (Retry-After, RetryInfo) is already real time - mockprovider shrinks it with its time scale -
// so only our own exponential back-off is scaled.
function backOff(provider, why, hint, attempt, scale) {
  const hinted = hint !== null && hint !== undefined;
  const seconds = Math.min(hinted ? hint : jitter(2 ** Math.min(attempt, 6)) * scale, config.maxBackoff * scale);
  const tags = { provider, reason: why, hinted: hinted ? 'yes' : 'no' };
  backoffs.add(1, tags);
  backoffWait.add(seconds * 1000, tags);
  sleep(seconds);
}

function record(provider, started, outcome, reason, flags) {
  const tags = { provider, outcome };
  jobDuration.add(Date.now() - started, tags);
  jobsFinished.add(1, tags);
  jobsFailed.add(outcome !== 'succeeded', { provider, reason: reason || 'none' });
  jobsThrottled.add(flags.throttled, { provider });
  jobsRateLimited.add(flags.limited, { provider });
}

function note(flags, limit) {
  if (limit === 'concurrency') flags.throttled = true;
  if (limit === 'rate') flags.limited = true;
}

// Runs one job on the named provider with the given credentials; `scale` multiplies every wait.
export function runJob(name, credentials, scale) {
  const provider = PROVIDERS[name];
  const flags = { throttled: false, limited: false };
  const started = Date.now();
  let job = null;
  for (let attempt = 0; job === null; attempt++) {
    const created = provider.create(credentials);
    if (created.ok) {
      job = created;
    } else if (created.refused) {
      record(name, started, 'refused', created.refused, flags);
      return 'refused';
    } else {
      note(flags, created.limit);
      if (attempt >= config.maxRetries) {
        record(name, started, 'gave_up', `create_${created.limit}`, flags);
        return 'gave_up';
      }
      backOff(name, created.limit, created.after, attempt, scale);
    }
  }
  jobsCreated.add(1, { provider: name });

  const deadline = started + config.jobTimeout * scale * 1000;
  let errors = 0;
  for (;;) {
    sleep(jitter(provider.pollEvery) * scale);
    const seen = provider.poll(credentials, job);
    if (seen.retry) {
      note(flags, seen.limit);
      backOff(name, seen.limit, seen.after, errors++, scale);
    } else if (seen.state === 'pending') {
      if (seen.throttled) flags.throttled = true;
    } else {
      record(name, started, seen.state, seen.reason, flags);
      if (seen.state === 'succeeded' && seen.video && Math.random() < config.downloadShare) {
        const res = provider.download(credentials, job, seen.video);
        if (res && res.status === 200) {
          downloads.add(1, { provider: name });
          downloadBytes.add(res.body ? res.body.byteLength : 0, { provider: name });
        }
      }
      return seen.state;
    }
    if (Date.now() > deadline) {
      record(name, started, 'gave_up', 'timeout', flags);
      return 'gave_up';
    }
  }
}
