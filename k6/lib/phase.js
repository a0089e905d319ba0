// Spike scenario: which phase a request falls in (before / outage / after the profile's outage window), as a
// VU tag on every metric, and per VU the time from the end of the window to its first successful request.
import exec from 'k6/execution';
import { recoveryTime } from './metrics.js';

let window = null; // {start, end} epoch milliseconds, from setup()
let recovered = false;

export function useWindow(w) {
  window = w || null;
}

export function currentPhase() {
  if (!window) return null;
  const now = Date.now();
  if (now < window.start) return 'before';
  return now < window.end ? 'outage' : 'after';
}

// Tag what follows with the current phase; call before each request.
export function tagPhase() {
  const phase = currentPhase();
  if (phase) exec.vu.metrics.tags.phase = phase;
}

export function observe(ok) {
  if (!window) return;
  if (ok && !recovered && Date.now() >= window.end) {
    recovered = true;
    recoveryTime.add(Date.now() - window.end);
  }
}
