"""Jobs by state per provider, kept up to date incrementally for the live page.

Counting states by scanning the job store costs time proportional to every job ever kept (up to hundreds of
thousands) on each sample, on the server's event loop. Instead the census learns of new jobs from the newest
end of the store, re-evaluates a job only when its planned next state change is due (a heap), and re-checks a
bounded slice of the live jobs per sample to catch what the plan cannot foresee (a cancel, a job moved up in a
concurrency queue: both show as a changed ``admitted`` or ``cancelled_at``). Work per sample: the new jobs (at
most ``max_ingest``, far above what one server creates in a second), the due changes, and the slice.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterator

from ..engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL, THROTTLED, Job, next_change
from ..engine.store import JobStore

STATES = (THROTTLED, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
LIVE_STATES = (THROTTLED, QUEUED, RUNNING)


class JobCensus:
    def __init__(self, store: JobStore, sweep: int = 2_000, max_ingest: int = 20_000,
                 weigh: Callable[[Job], float] | None = None) -> None:
        self.store = store
        self.weigh = weigh  # a number per live job, summed in ``weight`` (the insight layer: planned dollars)
        self.weight = 0.0
        self._weights: dict[str, float] = {}
        self.sweep = sweep
        self.max_ingest = max_ingest
        self.counts: dict[str, Counter[str]] = {}  # provider -> state -> jobs
        self.created: Counter[str] = Counter()  # provider -> jobs seen since the last clear
        self._live: dict[str, Job] = {}
        self._state: dict[str, str] = {}
        self._seen: dict[str, tuple[float, float | None]] = {}  # (admitted, cancelled_at) when last evaluated
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, int, Job]] = []
        self._order = 0
        self._newest: Job | None = None
        self._newest_peers: set[str] = set()  # ids created at the same instant as the newest
        self._sweep_ids: Iterator[str] = iter(())
        self._created_total: int | None = None

    def clear(self) -> None:
        self.counts.clear()
        self.created.clear()
        self._live.clear()
        self._state.clear()
        self._seen.clear()
        self._weights.clear()
        self.weight = 0.0
        self._due.clear()
        self._heap.clear()
        self._newest = None
        self._newest_peers.clear()
        self._sweep_ids = iter(())
        self._created_total = None

    @property
    def live(self) -> int:
        return len(self._live)

    def update(self, now: float, created: int | None = None) -> list[Job]:
        """Bring the counts to ``now``; returns the jobs first seen in this call, oldest first. ``created`` is
        the engine's count of jobs ever created, which tells how far back to look for new ones."""
        expected = None if created is None or self._created_total is None else created - self._created_total
        self._created_total = created
        fresh = self._ingest(expected)
        for job in fresh:
            self.created[job.provider] += 1
            self._evaluate(job, now)
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, job = heapq.heappop(heap)
            if self._due.get(job.id) == when:
                del self._due[job.id]
                self._evaluate(job, now)
        for _ in range(min(self.sweep, len(self._live))):
            job_id = next(self._sweep_ids, None)
            if job_id is None:
                self._sweep_ids = iter(list(self._live))
                job_id = next(self._sweep_ids, None)
                if job_id is None:
                    break
            job = self._live.get(job_id)
            # Only a cancel or a move in a concurrency queue changes a planned job: re-plan only those.
            if job is not None and self._seen.get(job_id) != (job.admitted, job.cancelled_at):
                self._evaluate(job, now)
        return fresh

    def _ingest(self, expected: int | None) -> list[Job]:
        """The jobs added to the store since the last call (the store keeps them in creation order)."""
        store = self.store
        marker = self._newest
        wanted = 64 if expected is None or expected < 0 else min(expected + 8, self.max_ingest)
        while True:
            batch = store.recent(wanted)
            fresh = []
            found_end = len(batch) < wanted
            for job in batch:
                if marker is not None and (job is marker or job.created < marker.created):
                    found_end = True
                    break
                if marker is not None and job.created == marker.created and job.id in self._newest_peers:
                    continue
                fresh.append(job)
            if found_end or wanted >= self.max_ingest:
                break
            wanted = min(wanted * 4, self.max_ingest)
        if not fresh:
            return []
        fresh.reverse()
        newest = fresh[-1]
        if marker is not None and newest.created == marker.created:
            self._newest_peers.update(j.id for j in fresh)
        else:
            self._newest_peers = {j.id for j in fresh if j.created == newest.created}
        self._newest = newest
        return fresh

    def _evaluate(self, job: Job, now: float) -> None:
        state, _ = job.state(now)
        old = self._state.get(job.id)
        if state != old:
            counts = self.counts.get(job.provider)
            if counts is None:
                counts = self.counts[job.provider] = Counter()
            if old is not None:
                counts[old] -= 1
            counts[state] += 1
        if state in TERMINAL:
            self._weigh(job, False)
            self._live.pop(job.id, None)
            self._state.pop(job.id, None)
            self._seen.pop(job.id, None)
            self._due.pop(job.id, None)
            return
        self._live[job.id] = job
        self._state[job.id] = state
        seen = (job.admitted, job.cancelled_at)
        if self._seen.get(job.id) != seen:
            self._seen[job.id] = seen
            self._weigh(job, True)
        following = next_change(job, now)
        if following != math.inf and self._due.get(job.id) != following:
            self._due[job.id] = following
            self._order += 1
            heapq.heappush(self._heap, (following, self._order, job))

    def _weigh(self, job: Job, live: bool) -> None:
        if self.weigh is None:
            return
        old = self._weights.pop(job.id, 0.0)
        new = self.weigh(job) if live else 0.0
        if new:
            self._weights[job.id] = new
        self.weight = self.weight + new - old if self._weights else 0.0

    def by_state(self, provider: str) -> dict[str, int]:
        counts = self.counts.get(provider) or Counter()
        return {state: counts.get(state, 0) for state in STATES}
