"""How clients behave toward the provider, measured per (provider, key) as requests pass: poll intervals,
detection lag, retries and whether they honoured the retry hint, downloads and webhooks.

Everything here is bounded: samples are fixed-size rings, the table of keys is capped (a key pushed out folds
its figures into the provider's ``"(other keys)"`` group, so totals stay whole), and so is the table of
failed requests awaiting their retry.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import Any

from .journal import Record

MAX_GROUPS = 1_000
MAX_PENDING_RETRIES = 10_000
SAMPLES = 4_096
OTHER_KEYS = "(other keys)"
# A retry counts as early when it came sooner than the hint by more than this (clock and rounding slack).
EARLY_SLACK_S = 0.01
EARLY_SLACK_FRACTION = 0.02
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf"))


class Samples:
    """The last ``size`` values, in a flat array (8 bytes each), for percentiles."""

    __slots__ = ("_next", "_values", "size", "total")

    def __init__(self, size: int = SAMPLES) -> None:
        self.size = size
        self._values = array("d")
        self._next = 0
        self.total = 0  # values ever added (a replica ships the ones added since it last did)

    def add(self, value: float) -> None:
        self.total += 1
        values = self._values
        if len(values) < self.size:
            values.append(value)
        else:
            values[self._next] = value
            self._next = (self._next + 1) % self.size

    def extend(self, other: Samples) -> None:
        for v in other.values():
            self.add(v)

    def values(self) -> list[float]:
        return list(self._values)

    def newest(self, n: int) -> list[float]:
        """The last ``n`` values added (at most ``size``), oldest first."""
        values = self._values
        n = min(n, len(values))
        if n <= 0:
            return []
        if len(values) < self.size:
            return list(values[len(values) - n:])
        ordered = values[self._next:] + values[:self._next]
        return list(ordered[len(ordered) - n:])


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..1) of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(math.ceil(q * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def histogram_summary(hist: dict[int, int], zeros: int, *quantiles: tuple[str, float]) -> dict[str, Any]:
    """``summary`` of a distribution of whole numbers given as value -> count, plus ``zeros`` zeros: exact
    mean and nearest-rank percentiles in O(distinct values)."""
    count = zeros + sum(hist.values())
    out: dict[str, Any] = {"count": count,
                           "mean": round(sum(v * n for v, n in hist.items()) / count, 6) if count else None}
    ordered = sorted(hist.items())
    for name, q in quantiles:
        if not count:
            out[name] = None
            continue
        rank, acc, found = max(math.ceil(q * count), 1), zeros, 0
        if rank > zeros:
            for value, n in ordered:
                acc += n
                if acc >= rank:
                    found = value
                    break
        out[name] = found
    return out


def summary(values: Iterable[float], *quantiles: tuple[str, float], mean: bool = False) -> dict[str, Any]:
    ordered = sorted(values)
    out: dict[str, Any] = {"count": len(ordered)}
    if mean:
        out["mean"] = round(sum(ordered) / len(ordered), 6) if ordered else None
    for name, q in quantiles:
        found = percentile(ordered, q)
        out[name] = None if found is None else round(found, 6)
    return out


class Group:
    """What one key (or all keys pushed out of the table) did toward one provider."""

    __slots__ = ("downloads", "early", "early_by", "intervals", "jobs", "lag_buckets", "lag_sum", "lags",
                 "media_bytes", "poll_count", "poll_hist", "requests", "retries", "webhooks", "with_hint")

    def __init__(self) -> None:
        self.requests = 0
        self.intervals = Samples()
        self.lags = Samples()
        self.lag_buckets = [0] * len(LAG_BUCKETS)
        self.lag_sum = 0.0
        self.poll_count = 0  # status polls that found their job
        self.poll_hist: dict[int, int] = {}  # polls so far -> jobs polled that often (jobs polled at least once)
        self.retries = {"429": 0, "5xx": 0, "fault": 0}
        self.with_hint = 0
        self.early = 0
        self.early_by = Samples()
        self.downloads = 0
        self.media_bytes = 0
        self.webhooks = {"delivered": 0, "failed": 0, "acknowledged": 0}
        self.jobs: Any = None  # the ledger's Tally of this group's jobs

    def merge(self, other: Group) -> None:
        self.requests += other.requests
        self.intervals.extend(other.intervals)
        self.lags.extend(other.lags)
        self.lag_buckets = [a + b for a, b in zip(self.lag_buckets, other.lag_buckets, strict=True)]
        self.lag_sum += other.lag_sum
        self.poll_count += other.poll_count
        hist = self.poll_hist
        for n, jobs in other.poll_hist.items():
            hist[n] = hist.get(n, 0) + jobs
        for k, v in other.retries.items():
            self.retries[k] += v
        self.with_hint += other.with_hint
        self.early += other.early
        self.early_by.extend(other.early_by)
        self.downloads += other.downloads
        self.media_bytes += other.media_bytes
        for k, v in other.webhooks.items():
            self.webhooks[k] += v
        if other.jobs is not None:
            if self.jobs is None:
                self.jobs = other.jobs
            else:
                self.jobs.merge(other.jobs)


    def add_lag(self, seconds: float) -> None:
        self.lags.add(seconds)
        self.lag_sum += seconds
        for i, bound in enumerate(LAG_BUCKETS):
            if seconds <= bound:
                self.lag_buckets[i] += 1
                return


class Observer:
    def __init__(self, max_groups: int = MAX_GROUPS, max_pending: int = MAX_PENDING_RETRIES) -> None:
        self.max_groups = max_groups
        self.max_pending = max_pending
        self.groups: dict[tuple[str, str | None], Group] = {}
        self._by_provider: dict[str, dict[str | None, Group]] = {}  # the same groups, for a lookup per request
        self._pending: dict[tuple[str, str | None, str, str], tuple[float, float | None, str]] = {}
        self.evicted_keys = 0

    def clear(self) -> None:
        self.groups.clear()
        self._by_provider.clear()
        self._pending.clear()
        self.evicted_keys = 0

    def group(self, provider: str, key: str | None) -> Group:
        found = self.groups.get((provider, key))
        if found is None:
            if len(self.groups) >= self.max_groups:
                self._evict_one()
            found = self.groups[(provider, key)] = Group()
            self._by_provider.setdefault(provider, {})[key] = found
        return found

    def _evict_one(self) -> None:
        for (provider, key), group in self.groups.items():
            if key != OTHER_KEYS:
                del self.groups[(provider, key)]
                del self._by_provider[provider][key]
                self.evicted_keys += 1
                other = self.groups.get((provider, OTHER_KEYS))
                if other is None:
                    other = self.groups[(provider, OTHER_KEYS)] = Group()
                    self._by_provider[provider][OTHER_KEYS] = other
                other.merge(group)
                return

    def observe(self, record: Record, engine_now: float, scale: float) -> None:
        """Account for one finished request (on the hot path: dictionary work only)."""
        index = self._by_provider.get(record.provider)
        group = index.get(record.key) if index is not None else None
        if group is None:
            group = self.group(record.provider, record.key)
        group.requests += 1
        status = record.status
        pending = self._pending
        if pending:
            before = pending.pop((record.provider, record.key, record.method, record.path), None)
            if before is not None:
                self._retried(group, record, before)
        if status == 429 or status >= 500 or record.fault is not None:
            cause = "fault" if record.fault is not None else ("429" if status == 429 else "5xx")
            if len(pending) >= self.max_pending:
                del pending[next(iter(pending))]
            pending[(record.provider, record.key, record.method, record.path)] = (record.real, record.hint, cause)
        job = record.touched
        if job is None:
            return
        kind = record.endpoint
        if kind == "status":
            last = job.last_poll
            n = job.polls = job.polls + 1
            group.poll_count += 1
            hist = group.poll_hist
            if n > 1:
                before = hist.get(n - 1, 0)
                if before > 1:
                    hist[n - 1] = before - 1
                elif before:
                    del hist[n - 1]
            hist[n] = hist.get(n, 0) + 1
            real = job.last_poll = record.real
            if last is not None:  # group.intervals.add(real - last), inlined
                samples = group.intervals
                samples.total += 1
                values = samples._values
                if len(values) < samples.size:
                    values.append(real - last)
                else:
                    values[samples._next] = real - last
                    samples._next = (samples._next + 1) % samples.size
            if not job.seen_end and job.cancelled_at is None:
                ends = job.ends
                if ends <= engine_now:
                    job.seen_end = True
                    group.add_lag((engine_now - ends) * scale)
        elif kind == "download" and 200 <= status < 300 and record.method == "GET":
            self.downloaded(record.provider, record.key, job, record.size)

    def _retried(self, group: Group, record: Record, before: tuple[float, float | None, str]) -> None:
        failed_at, hint, cause = before
        group.retries[cause] += 1
        if hint is None:
            return
        group.with_hint += 1
        waited = record.real - failed_at
        if waited < hint - max(EARLY_SLACK_S, EARLY_SLACK_FRACTION * hint):
            group.early += 1
            group.early_by.add(hint - waited)

    def downloaded(self, provider: str, key: str | None, job: Any, size: int | None) -> None:
        group = self.group(provider, key)
        group.downloads += 1
        if size:
            group.media_bytes += size
        if job is not None:
            job.downloads += 1

    def media_bytes(self, provider: str, key: str | None, size: int) -> None:
        self.group(provider, key).media_bytes += size

    def webhook(self, provider: str, key: str | None, job: Any, outcome: str, terminal: bool,
                engine_now: float, scale: float) -> None:
        """One webhook delivery's outcome: ``delivered`` (2xx), ``failed`` (gave up) or ``attempt_failed``.
        A delivered terminal update counts as the client detecting the job's end, like a poll that saw it."""
        group = self.group(provider, key)
        if outcome == "delivered":
            group.webhooks["delivered"] += 1
            if terminal:
                group.webhooks["acknowledged"] += 1
                if job is not None and not job.seen_end and job.cancelled_at is None and job.ends <= engine_now:
                    job.seen_end = True
                    group.add_lag((engine_now - job.ends) * scale)
        elif outcome == "failed":
            group.webhooks["failed"] += 1
