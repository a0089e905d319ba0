"""The limit books in Redis (the engine's :class:`~mockprovider.engine.state.LimitLedger` for several replicas):
one Lua script per admission, rate token, cancel, refund and read (limits_lua.py), so a concurrency limit of N
is N across every replica and jobs waiting for a slot start in submission order whichever replica took them."""

from __future__ import annotations

import itertools
import math
import random
import secrets
from collections.abc import Callable
from typing import Any

from ..engine.behaviour import Limits
from ..engine.clock import Clock
from ..engine.jobs import Job
from ..engine.limits import LimitBook, OverLimit, Scope, windowed
from ..engine.rng import stream
from . import limits_lua as lua
from .backend import Backend, unavailable
from .jobs import INF_TIME, RedisJobs, engine_time
from .jobs_codec import encode_data, encode_frozen

SCOPE_TTL_MS = 2 * 86400 * 1000  # an account's counts outlive two idle days of real time, then go
MAX_REDRAWS = 8


def _opt(value: float | None) -> str:
    return "-1" if value is None else repr(float(value))


def _time(value: float) -> str:
    return "1e300" if value == math.inf else repr(float(value))


class RedisLimits:
    def __init__(self, backend: Backend, jobs: RedisJobs, clock: Clock, seed: Callable[[], int],
                 epoch: Callable[[], str]) -> None:
        self.backend = backend
        self.jobs = jobs
        self.clock = clock
        self._seed = seed
        self._epoch = epoch  # the active profile's version: a switch re-plans every scope's slots when next used
        self.book = LimitBook()  # nothing here: the scopes live in Redis
        self._replica = secrets.token_hex(4)
        self._members = itertools.count()
        redis = backend.redis
        self._take_request = redis.register_script(lua.TAKE_REQUEST)
        self._admit = redis.register_script(lua.ADMIT)
        self._cancel = redis.register_script(lua.CANCEL)
        self._refund = redis.register_script(lua.REFUND)
        self._usage = redis.register_script(lua.USAGE)
        self._live = redis.register_script(lua.LIVE)
        self._sequence = redis.register_script(lua.SEQUENCE)

    def scope_key(self, provider: str, account: str) -> str:
        return self.backend.key("sc", provider) + "\x1f" + account

    def _member(self, now: float) -> str:
        return f"{now!r}:{self._replica}:{next(self._members)}"

    async def take_request(self, provider: str, account: str, limits: Limits, now: float) -> OverLimit | None:
        limit = limits.requests_per_minute
        with unavailable(self.backend):
            frees = await self._take_request(
                keys=[self.scope_key(provider, account)],
                args=[self.backend.prefix, repr(now), _opt(limit), self._member(now), SCOPE_TTL_MS])
        if frees is None:
            return None
        return OverLimit("rate", engine_time(frees), limit)

    async def admit(self, provider: str, account: str, limits: Limits, now: float, *, cost: float, model: str,
                    slots: int, queue_when_busy: bool, refund_failures: bool, room: bool, build: Any,
                    limit_scope: str = "") -> Job | OverLimit | object:
        scope = self.scope_key(provider, account)
        window = self.scope_key(windowed(provider, limit_scope), account) if limit_scope else scope
        with unavailable(self.backend):
            n, generation = await self._sequence(
                keys=[self.backend.key("sq", provider) + "\x1f" + account, self.backend.key("sq", "generations")],
                args=[SCOPE_TTL_MS])
        # one stream per submission of the account, the same on every replica (the seed is shared)
        rng: random.Random = stream(self._seed(), provider, account, int(generation), int(n))
        for _ in range(MAX_REDRAWS):
            job = build(rng, int(n))
            probe = not isinstance(job, Job)
            args = [self.backend.prefix, repr(now), self._epoch(), _opt(limits.concurrent_jobs),
                    _opt(limits.credits), _opt(limits.daily_jobs), _opt(limits.submissions_per_second),
                    repr(float(cost)), model, max(1, slots), int(queue_when_busy), int(refund_failures),
                    "probe" if probe else "admit", self._member(now), SCOPE_TTL_MS, self.jobs.max_jobs,
                    repr(self.jobs.retention)]
            if probe:
                args += ["", 0, "0", "0", "", "", "1", "0"]
            else:
                plan = job.plan
                rest = -1.0 if plan.stuck else (plan.run * plan.fail_at if plan.failure is not None else plan.run)
                args += [job.id, job.seq, repr(plan.queue), repr(rest), encode_frozen(job), encode_data(job.data),
                         repr(self.clock.scale * 1000.0), int(plan.failure is not None)]
            with unavailable(self.backend):
                answer = await self._admit(keys=[scope, self.jobs.index, self.jobs.evicted_counter,
                                                 self.jobs.index_counter, window], args=args)
            verdict = answer[0].decode()
            if verdict == "dup":
                continue  # an id already taken (another account's): draw the next one from the same stream
            if verdict == "over":
                limit = answer[1].decode()
                frees = engine_time(answer[2]) if answer[2] else None
                allowed = float(answer[3]) if answer[3] else None
                if allowed is not None and allowed.is_integer():
                    allowed = int(allowed)
                return OverLimit(limit, frees, allowed)
            if probe:
                return job
            job.admitted = engine_time(answer[1])
            self._moved(answer[2:])
            return job
        return OverLimit("capacity", None)

    def _moved(self, pairs: list[bytes]) -> list[Job]:
        """Apply the new admission times the script gave waiting jobs to this replica's copies."""
        out = []
        for i in range(0, len(pairs) - 1, 2):
            job = self.jobs.cached(pairs[i].decode())
            if job is not None:
                job.admitted = engine_time(pairs[i + 1])
                out.append(job)
                if self.book.on_replan is not None:
                    self.book.on_replan(job)
        return out

    async def cancel(self, job: Job, limits: Limits, now: float) -> list[Job] | None:
        with unavailable(self.backend):
            answer = await self._cancel(
                keys=[self.scope_key(job.provider, job.account),
                      self.scope_key(windowed(job.provider, job.limit_scope), job.account)],
                args=[self.backend.prefix, repr(now), self._epoch(), _opt(limits.concurrent_jobs), job.id,
                      SCOPE_TTL_MS, repr(self.clock.scale * 1000.0), repr(self.jobs.retention)])
        if not int(answer[0]):
            return None
        job.cancelled_at = now
        return self._moved(answer[1:])

    async def refund(self, provider: str, account: str, cost: float) -> None:
        with unavailable(self.backend):
            await self._refund(keys=[self.scope_key(provider, account)], args=[self.backend.prefix, repr(cost)])

    async def usage(self, provider: str, account: str, now: float) -> Scope:
        with unavailable(self.backend):
            answer = await self._usage(keys=[self.scope_key(provider, account)],
                                       args=[self.backend.prefix, repr(now)])
        scope = Scope()
        scope.spent = float(answer[0])
        scope.day = int(float(answer[1]))
        scope.daily = {answer[i].decode(): int(answer[i + 1]) for i in range(2, len(answer) - 1, 2)}
        return scope

    async def live(self, provider: str, account: str, now: float) -> list[Job]:
        with unavailable(self.backend):
            ids = await self._live(keys=[self.scope_key(provider, account)], args=[self.backend.prefix, repr(now)])
        out = []
        for raw in ids:
            job = await self.jobs.get(raw.decode())
            if job is not None:
                out.append(job)
        return out

    def limits_changed(self) -> None:
        return None  # the profile version (``epoch``) changes with the profile; scripts rebuild the slots

    def sweep(self, now: float, keep: Any) -> int:
        return 0  # scope keys expire by themselves (SCOPE_TTL_MS after their last use)

    async def clear(self) -> None:
        return None  # wiped with every shared key by the reset (state/shared.py)


__all__ = ["INF_TIME", "RedisLimits"]
