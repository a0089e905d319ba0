"""Where the engine keeps what replicas must share: jobs (:class:`JobBook`) and limit books (:class:`LimitLedger`).

Two implementations share these protocols: the in-memory one here (one process, the default) and the Redis one
in ``mockprovider/state/`` (several replicas). The engine only talks to them through these methods, so dialects do
not know which one runs. Every method that may reach shared state is a coroutine; ``cached`` is the replica's
own view, for synchronous callers that can live with it (timeline callbacks, bounded-table pruning).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from typing import Any, Protocol

from .behaviour import Limits
from .jobs import Job
from .limits import LimitBook, OverLimit, Scope, windowed
from .rng import random_seed, stream
from .store import JobStore

# Builds the job once its limits let it in, from its seeded stream and its submission number: the job, or a
# refusal at submit (RejectedAtSubmit) that takes nothing but the submission token.
Build = Callable[[random.Random, int], "Job | object"]


class JobBook(Protocol):
    store: JobStore  # the replica's own jobs (all of them in memory; a cache of immutable parts with Redis)

    async def get(self, job_id: str) -> Job | None: ...
    def cached(self, job_id: str) -> Job | None: ...
    async def make_room(self, now: float) -> bool: ...
    async def add(self, job: Job, now: float) -> None: ...
    async def save(self, job: Job) -> None: ...  # its mutable part changed (cancelled_at, admitted, data)
    async def remove(self, job_id: str) -> Job | None: ...
    async def recent(self, limit: int, provider: str | None = None) -> list[Job]: ...
    async def count(self) -> int: ...
    async def evicted(self) -> int: ...
    async def all(self) -> list[Job]: ...
    async def clear(self) -> None: ...


class LimitLedger(Protocol):
    book: LimitBook  # the replica's own scopes (all of them in memory)

    async def take_request(self, provider: str, account: str, limits: Limits, now: float) -> OverLimit | None: ...
    async def admit(self, provider: str, account: str, limits: Limits, now: float, *, cost: float, model: str,
                    slots: int, queue_when_busy: bool, refund_failures: bool, room: bool, build: Build,
                    limit_scope: str = "") -> Job | OverLimit | object: ...
    # cancel ``job`` now unless it has ended (None); the jobs whose slot times may have moved
    async def cancel(self, job: Job, limits: Limits, now: float) -> list[Job] | None: ...
    async def refund(self, provider: str, account: str, cost: float) -> None: ...
    async def usage(self, provider: str, account: str, now: float) -> Scope: ...
    async def live(self, provider: str, account: str, now: float) -> list[Job]: ...
    def limits_changed(self) -> None: ...
    async def clear(self) -> None: ...


class Sync(Protocol):
    """What replicas agree on besides jobs and limits: the clock, the seed and the profile selection. The local
    one just moves this process's clock; the Redis one writes the change and tells the other replicas."""

    async def advance(self, seconds: float) -> None: ...
    async def set_scale(self, scale: float) -> None: ...
    async def profiles_changed(self) -> None: ...  # the selector changed here: share its state
    async def reset(self) -> None: ...  # the clock as it started, a new seed unless fixed, shared state wiped
    def epoch(self) -> str: ...


class LocalSync:
    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def advance(self, seconds: float) -> None:
        self.engine.clock.advance(seconds)

    async def set_scale(self, scale: float) -> None:
        self.engine.clock.set_scale(scale)

    async def profiles_changed(self) -> None:
        return None

    async def reset(self) -> None:
        engine = self.engine
        engine.clock.restore()
        if not engine.fixed_seed:
            engine.seed = random_seed()

    def epoch(self) -> str:
        return ""


class MemoryJobs:
    """The job store of one process, as it always was."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    async def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def cached(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    async def make_room(self, now: float) -> bool:
        return self.store.make_room(now)

    async def add(self, job: Job, now: float) -> None:
        self.store.add(job, now)

    async def save(self, job: Job) -> None:
        return None  # the job object is the state

    async def remove(self, job_id: str) -> Job | None:
        return self.store.remove(job_id)

    async def recent(self, limit: int, provider: str | None = None) -> list[Job]:
        return self.store.recent(limit, provider)

    async def count(self) -> int:
        return len(self.store)

    async def evicted(self) -> int:
        return self.store.evicted

    async def all(self) -> list[Job]:
        return list(self.store)

    async def clear(self) -> None:
        self.store.clear()


class MemoryLimits:
    """The limit books of one process (engine/limits.py), with the per-account submission numbers that seed each
    job's draws."""

    def __init__(self, seed: Callable[[], int]) -> None:
        self.book = LimitBook()
        self._seed = seed
        self._submissions: dict[tuple[str, str], tuple[int, itertools.count]] = {}
        self._generation = 0

    async def take_request(self, provider: str, account: str, limits: Limits, now: float) -> OverLimit | None:
        book = self.book
        return book.take_request(book.scope(provider, account), limits, now)

    async def admit(self, provider: str, account: str, limits: Limits, now: float, *, cost: float, model: str,
                    slots: int, queue_when_busy: bool, refund_failures: bool, room: bool, build: Build,
                    limit_scope: str = "") -> Job | OverLimit | object:
        book = self.book
        scope = book.scope(provider, account)
        window = book.scope(windowed(provider, limit_scope), account) if limit_scope else scope
        book.settle_refunds(scope, now)
        over = None if room else OverLimit("capacity", None)
        if over is None:
            over = book.check_quota(scope, limits, now, cost)
        if over is None and not queue_when_busy:
            frees = book.slot_free_at(window, limits, now, slots)
            if frees > now:
                over = OverLimit("concurrency", None if frees == math.inf else frees, limits.concurrent_jobs)
        if over is None:
            over = book.take_submission(window, limits, now)
        if over is not None:
            return over
        entry = self._submissions.get((provider, account))
        if entry is None:
            entry = self._submissions[(provider, account)] = (self._generation, itertools.count())
        generation, counter = entry
        n = next(counter)
        # An account forgotten by a sweep and seen again starts a new generation, so its ids do not repeat.
        seed = self._seed()
        rng = (stream(seed, provider, account, n) if not generation
               else stream(seed, provider, account, generation, n))
        job = build(rng, n)
        if not isinstance(job, Job):
            return job
        book.admit(window, job, limits, now)
        book.charge(scope, model, now, cost)
        if refund_failures and job.plan.failure is not None and cost:
            book.refund_when_failed(scope, job)
        return job

    async def cancel(self, job: Job, limits: Limits, now: float) -> list[Job] | None:
        if job.ends <= now:
            return None
        job.cancelled_at = now
        scope = self.book.scope(windowed(job.provider, job.limit_scope), job.account)
        self.book.reschedule(scope, limits, now)
        return list(scope.jobs)

    async def refund(self, provider: str, account: str, cost: float) -> None:
        self.book.refund(self.book.scope(provider, account), cost)

    async def usage(self, provider: str, account: str, now: float) -> Scope:
        scope = self.book.scope(provider, account)
        self.book.settle_refunds(scope, now)
        return scope

    async def live(self, provider: str, account: str, now: float) -> list[Job]:
        return self.book.live(self.book.scope(provider, account), now)

    def limits_changed(self) -> None:
        self.book.limits_changed()

    def sweep(self, now: float, keep: Callable[[str, str, Scope], bool]) -> int:
        gone = self.book.evict_idle(now, keep)
        if gone:
            self._generation += 1
            for pair in gone:
                self._submissions.pop(pair, None)
        return len(gone)

    async def clear(self) -> None:
        self.book.clear()
        self._submissions.clear()
        self._generation = 0

