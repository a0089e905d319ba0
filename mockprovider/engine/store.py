"""A bounded store of jobs with a retention time for finished ones."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

from .jobs import Job


class StoreFull(Exception):
    """Every slot holds a live job; nothing can be evicted."""


class JobStore:
    def __init__(self, max_jobs: int = 200_000, retention: float = 48 * 3600.0) -> None:
        self.max_jobs = max_jobs
        self.retention = retention
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self.evicted = 0
        self.on_remove: Callable[[Job], None] | None = None  # told of every job that leaves (not on clear)

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(list(self._jobs.values()))

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._jobs

    def make_room(self, now: float) -> bool:
        """Expire what is due and, if the store is full, evict the oldest finished job. False if all are live."""
        self.expire(now)
        if len(self._jobs) < self.max_jobs:
            return True
        try:
            self._evict_finished(now)
        except StoreFull:
            return False
        return True

    def add(self, job: Job, now: float) -> None:
        if not self.make_room(now):
            raise StoreFull(f"the job store holds {self.max_jobs} live jobs")
        self._jobs[job.id] = job

    def remove(self, job_id: str) -> Job | None:
        job = self._jobs.pop(job_id, None)
        if job is not None and self.on_remove is not None:
            self.on_remove(job)
        return job

    def expire(self, now: float, budget: int = 64) -> None:
        """Drop jobs that finished more than ``retention`` ago, oldest first, a few per call."""
        jobs = self._jobs
        horizon = now - self.retention
        while budget and jobs:
            job = next(iter(jobs.values()))
            if job.ends >= horizon:
                return
            jobs.popitem(last=False)
            self.evicted += 1
            if self.on_remove is not None:
                self.on_remove(job)
            budget -= 1

    def _evict_finished(self, now: float) -> None:
        for job_id, job in self._jobs.items():
            if job.ends <= now:
                del self._jobs[job_id]
                self.evicted += 1
                if self.on_remove is not None:
                    self.on_remove(job)
                return
        raise StoreFull(f"the job store holds {self.max_jobs} live jobs")

    def clear(self) -> None:
        self._jobs.clear()

    def recent(self, limit: int, provider: str | None = None) -> list[Job]:
        out = []
        for job in reversed(self._jobs.values()):
            if provider is None or job.provider == provider:
                out.append(job)
                if len(out) >= limit:
                    break
        return out
