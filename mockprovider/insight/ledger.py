"""Jobs' outcomes and costs, settled as jobs finish, per (provider, key).

Every job with a planned end goes on one heap at creation (one push, no task or timer); whoever reads figures
(the report, a metrics scrape) and every submission settle the jobs whose end has passed, so counts stay
incremental and the heap holds about the jobs in flight. A job whose end moves (a cancel, a slot that frees
early, a limit that changes, a job that waited forever for a slot getting one) is scheduled again
(:meth:`Ledger.changed`); its older heap entries are stale and skipped. Jobs live at once (peak concurrency) are
counted as they start and end, per key and per provider, so nothing here walks the job store.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from ..engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED
from .observer import Observer

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, math.inf)
SETTLE_PER_SUBMIT = 4


class Tally:
    """Finished jobs of one group (plus ``created``, counted at submission)."""

    __slots__ = ("cancelled", "created", "duration_sum", "durations", "failed", "live", "peak", "queued_s",
                 "succeeded", "throttled_s", "units", "unpriced", "usd", "usd_by_model")

    def __init__(self) -> None:
        self.created = 0
        self.succeeded = 0
        self.failed: dict[str, int] = {}
        self.cancelled = 0
        self.throttled_s = 0.0
        self.queued_s = 0.0
        self.usd = 0.0
        self.units = 0.0
        self.usd_by_model: dict[str, float] = {}
        self.unpriced = 0
        self.durations = [0] * len(DURATION_BUCKETS)  # not cumulative
        self.duration_sum = 0.0
        self.live = 0  # jobs created and not yet settled
        self.peak = 0  # the most live at once

    @property
    def finished(self) -> int:
        return self.succeeded + sum(self.failed.values()) + self.cancelled

    def merge(self, other: Tally) -> None:
        self.created += other.created
        self.succeeded += other.succeeded
        for k, v in other.failed.items():
            self.failed[k] = self.failed.get(k, 0) + v
        self.cancelled += other.cancelled
        self.throttled_s += other.throttled_s
        self.queued_s += other.queued_s
        self.usd += other.usd
        self.units += other.units
        for k, v in other.usd_by_model.items():
            self.usd_by_model[k] = self.usd_by_model.get(k, 0.0) + v
        self.unpriced += other.unpriced
        self.durations = [a + b for a, b in zip(self.durations, other.durations, strict=True)]
        self.duration_sum += other.duration_sum
        self.live += other.live
        self.peak = max(self.peak, other.peak, self.live)


def outcome_of(job: Any) -> str:
    """succeeded, failed or cancelled: how a job that has ended ended."""
    state, _ = job.state(job.ends)
    return state


def charge(job: Any, outcome: str) -> tuple[float, float]:
    """(dollars, provider units) charged for ``job`` ending in ``outcome``."""
    quote = job.quote
    if quote is None:
        return 0.0, 0.0
    usd = quote.charged(outcome, job.started <= job.ends)
    return usd, (quote.units if usd else 0.0)


class Ledger:
    def __init__(self, observer: Observer, clock: Any) -> None:
        self.observer = observer
        self.clock = clock
        self._heap: list[tuple[float, int, Any]] = []
        # jobs created and not settled: id -> (seq of the job's current heap entry, or 0 with no planned end
        # (stuck, or waiting for a slot that never frees), the job)
        self._tracked: dict[str, tuple[int, Any]] = {}
        self._seq = 0
        self.providers: dict[str, list[int]] = {}  # provider -> [jobs live, peak]

    def clear(self) -> None:
        self._heap.clear()
        self._tracked.clear()
        self.providers.clear()

    def tally(self, provider: str, key: str | None) -> Tally:
        group = self.observer.group(provider, key)
        if group.jobs is None:
            group.jobs = Tally()
        return group.jobs

    def created(self, job: Any) -> None:
        tally = self.tally(job.provider, job.account)
        tally.created += 1
        now = self.clock.now()
        self.settle(now, SETTLE_PER_SUBMIT)
        live = self.providers.get(job.provider)
        if live is None:
            live = self.providers[job.provider] = [0, 0]
        heap = self._heap
        if heap and heap[0][0] <= now and (tally.live >= tally.peak or live[0] >= live[1]):
            self.settle(now)  # a new peak, perhaps: count only the jobs really live now
        tally.live += 1
        if tally.live > tally.peak:
            tally.peak = tally.live
        live[0] += 1
        if live[0] > live[1]:
            live[1] = live[0]
        self._schedule(job)

    def changed(self, job: Any) -> None:
        """The job's end moved (a cancel, a re-planned slot): settle it at its new end."""
        if job.id in self._tracked and not job.settled:
            self._schedule(job)

    def forget(self, job: Any) -> None:
        """The job left the store: settle it now if it has ended (the ledger keeps no job that left)."""
        tracked = self._tracked.get(job.id)
        if tracked is not None and tracked[1] is job and not job.settled and job.ends <= self.clock.now():
            self._finish(job)

    def _schedule(self, job: Any) -> None:
        end = job.ends
        if end == math.inf:
            self._tracked[job.id] = (0, job)
            return
        self._seq += 1
        self._tracked[job.id] = (self._seq, job)
        heapq.heappush(self._heap, (end, self._seq, job))

    def settle(self, now: float, budget: int | None = None) -> None:
        heap = self._heap
        tracked = self._tracked
        while heap and heap[0][0] <= now:
            if budget is not None:
                if budget <= 0:
                    return
                budget -= 1
            _, seq, job = heapq.heappop(heap)
            current = tracked.get(job.id)
            if current is None or current[0] != seq or job.settled:
                continue  # stale: settled, or scheduled again since
            if job.ends > now:  # it waited for a slot longer than planned
                self._schedule(job)
                continue
            self._finish(job)

    def _finish(self, job: Any) -> None:
        job.settled = True
        if self._tracked.get(job.id, (0, None))[1] is job:
            del self._tracked[job.id]
        scale = self.clock.scale
        tally = self.tally(job.provider, job.account)
        tally.live = max(tally.live - 1, 0)  # 0 when the key's group was folded into "(other keys)" meanwhile
        live = self.providers.get(job.provider)
        if live is not None:
            live[0] = max(live[0] - 1, 0)
        outcome = outcome_of(job)
        if outcome == SUCCEEDED:
            tally.succeeded += 1
        elif outcome == FAILED:
            reason = job.plan.failure or "unknown"
            tally.failed[reason] = tally.failed.get(reason, 0) + 1
        else:
            tally.cancelled += 1
        usd, units = charge(job, outcome)
        if job.quote is None:
            tally.unpriced += 1
        elif usd:
            tally.usd += usd
            tally.units += units
            tally.usd_by_model[job.model] = tally.usd_by_model.get(job.model, 0.0) + usd
        end = job.ends
        tally.throttled_s += (min(job.admitted, end) - job.created) * scale
        tally.queued_s += max(min(job.started, end) - job.admitted, 0.0) * scale
        took = (end - job.created) * scale
        tally.duration_sum += took
        for i, bound in enumerate(DURATION_BUCKETS):
            if took <= bound:
                tally.durations[i] += 1
                break

    def peak(self, provider: str) -> int:
        live = self.providers.get(provider)
        return 0 if live is None else live[1]

    def in_flight(self) -> list[Any]:
        """Jobs created and not yet settled (after settling what is due): a walk of the jobs in flight only.
        It also catches jobs whose end moved without the ledger hearing of it."""
        now = self.clock.now()
        self.settle(now)
        out = []
        for seq, job in list(self._tracked.values()):
            end = job.ends
            if end <= now:  # ended before its place on the heap
                self._finish(job)
                continue
            if (seq == 0) != (end == math.inf):  # got a planned end, or lost it
                self._schedule(job)
            out.append(job)
        return out


def in_flight_state(job: Any, now: float) -> str:
    state, _ = job.state(now)
    return state if state in (THROTTLED, QUEUED, RUNNING) else RUNNING


def planned_charge(job: Any) -> float:
    """Dollars a job still in flight will be charged, by its planned outcome (a stuck job at list price)."""
    if job.quote is None:
        return 0.0
    if job.cancelled_at is not None:
        return job.quote.charged(CANCELLED, job.started <= job.cancelled_at)
    return job.quote.charged(FAILED if job.plan.failure else SUCCEEDED, True)
