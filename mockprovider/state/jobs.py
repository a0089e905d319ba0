"""Jobs in Redis (the engine's :class:`~mockprovider.engine.state.JobBook` for several replicas).

Each job is one hash, ``job:<id>``: ``f`` its immutable part (jobs_codec.py), written once by the admission
script (limits_lua.py) and cached by every replica that reads it; ``a`` / ``c`` when it was admitted and
cancelled; ``d`` its data and ``v`` that data's version. A poll of a job this replica has cached and whose data
has not changed is one round trip: ``HMGET a c v``. ``jobs`` (a sorted set in creation order) lists them for the
admin API and for expiry; ``jobs:ends`` (unfinished jobs by their end) and ``jobs:done`` (finished ones in creation
order) let the admission script evict the oldest finished job in O(log n) at any size (limits_lua.py), with a
key TTL past the retention as a safety net.
"""

from __future__ import annotations

import math
from typing import Any

from ..engine.jobs import Job
from ..engine.store import JobStore, StoreFull
from .backend import Backend, unavailable
from .jobs_codec import decode_data, decode_frozen, decode_time, encode_data

INF_TIME = 1e300  # how infinity is written in hash fields (Lua has no portable inf literal)
LIST_BATCH = 200


def engine_time(raw: bytes | None) -> float | None:
    value = decode_time(raw)
    if value is not None and value >= INF_TIME:
        return math.inf
    return value


class RedisJobs:
    def __init__(self, backend: Backend, max_jobs: int, retention: float) -> None:
        self.backend = backend
        self.max_jobs = max_jobs
        self.retention = retention
        self.store = JobStore(max_jobs, retention)  # this replica's cache of the jobs it has seen
        self._versions: dict[str, int] = {}
        self.index = backend.key("jobs")
        self.index_counter = backend.key("jobs", "n")
        self.evicted_counter = backend.key("jobs", "evicted")
        self.ends_index = backend.key("jobs", "ends")  # written by the Lua scripts (limits_lua.py)
        self.done_index = backend.key("jobs", "done")

    def job_key(self, job_id: str) -> str:
        return self.backend.key("job", job_id)

    @property
    def redis(self) -> Any:
        return self.backend.redis

    def cached(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    async def get(self, job_id: str) -> Job | None:
        job = self.store.get(job_id)
        with unavailable(self.backend):
            if job is not None:
                admitted, cancelled, version = await self.redis.hmget(self.job_key(job_id), "a", "c", "v")
                if admitted is None:
                    self.forget_local(job_id)
                    return None
                job.admitted = engine_time(admitted)
                job.cancelled_at = engine_time(cancelled)
                if int(version) != self._versions.get(job_id, 0):
                    data, version = await self.redis.hmget(self.job_key(job_id), "d", "v")
                    job.data = decode_data(data)
                    self._versions[job_id] = int(version or 0)
                return job
            fields = await self.redis.hgetall(self.job_key(job_id))
        if not fields or b"f" not in fields:
            return None
        return self._adopt(fields)

    def _adopt(self, fields: dict[bytes, bytes]) -> Job:
        """Build (or refresh) the cached job from its hash."""
        job = decode_frozen(fields[b"f"])
        known = self.store.get(job.id)
        if known is not None and known.seq == job.seq and known.created == job.created:
            job = known
        job.admitted = engine_time(fields.get(b"a"))
        job.cancelled_at = engine_time(fields.get(b"c"))
        job.data = decode_data(fields.get(b"d"))
        self._versions[job.id] = int(fields.get(b"v") or 0)
        if known is not job:
            self.remember(job)
        return job

    def remember(self, job: Job) -> None:
        """Keep ``job`` in this replica's cache (bounded: the oldest go first when it is full)."""
        store = self.store
        now = job.created
        try:
            store.add(job, now)
        except StoreFull:
            oldest = next(iter(store), None)
            if oldest is not None:
                self.forget_local(oldest.id)
            store.add(job, now)
        versions = self._versions
        if len(versions) > 2 * store.max_jobs + 64:  # the cache expired or evicted jobs on its own meanwhile
            self._versions = {k: v for k, v in versions.items() if k in store}

    def forget_local(self, job_id: str) -> None:
        self.store.remove(job_id)
        self._versions.pop(job_id, None)

    async def make_room(self, now: float) -> bool:
        return True  # the admission script makes room, atomically with the admission

    async def add(self, job: Job, now: float) -> None:
        self._versions[job.id] = 0
        self.remember(job)  # already written by the admission script

    async def save(self, job: Job) -> None:
        with unavailable(self.backend):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self.job_key(job.id), "d", encode_data(job.data))
                pipe.hincrby(self.job_key(job.id), "v", 1)
                _, version = await pipe.execute()
        self._versions[job.id] = int(version)

    async def remove(self, job_id: str) -> Job | None:
        job = self.store.get(job_id)
        with unavailable(self.backend):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self.job_key(job_id))
                pipe.zrem(self.index, job_id)
                pipe.zrem(self.ends_index, job_id)
                pipe.zrem(self.done_index, job_id)
                await pipe.execute()
        if job is not None:
            self.forget_local(job_id)
        return job

    async def recent(self, limit: int, provider: str | None = None) -> list[Job]:
        out: list[Job] = []
        start = 0
        with unavailable(self.backend):
            while len(out) < limit:
                ids = await self.redis.zrevrange(self.index, start, start + LIST_BATCH - 1)
                if not ids:
                    break
                start += len(ids)
                async with self.redis.pipeline(transaction=False) as pipe:
                    for job_id in ids:
                        pipe.hgetall(self.job_key(job_id.decode()))
                    found = await pipe.execute()
                for fields in found:
                    if not fields or b"f" not in fields:
                        continue
                    job = self._adopt(fields)
                    if provider is None or job.provider == provider:
                        out.append(job)
                        if len(out) >= limit:
                            break
        return out

    async def count(self) -> int:
        with unavailable(self.backend):
            return int(await self.redis.zcard(self.index))

    async def evicted(self) -> int:
        with unavailable(self.backend):
            return int(await self.redis.get(self.evicted_counter) or 0)

    async def all(self) -> list[Job]:
        return await self.recent(self.max_jobs)

    async def clear(self) -> None:
        """Forget this replica's cache (the shared jobs are wiped by the reset itself, state/shared.py)."""
        self.store.clear()
        self._versions.clear()
