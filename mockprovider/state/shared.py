"""Puts an engine's jobs, limits, clock, seed and profile selection in Redis, shared with every replica on it.

Changes made on one replica are written at once and announced on a pub/sub channel; every replica also re-reads
the clock, the seed and the selection's version once a second, so a missed message (a reconnect) costs at most
that. A reset wipes the shared jobs and limit books, re-draws the shared seed (unless one was given) and tells
the others to forget what they cached."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from ..engine.engine import Engine
from ..engine.rng import random_seed
from ..tasks import stop_task
from .backend import Backend, StateUnavailable, unavailable
from .clock import ClockSync
from .jobs import RedisJobs
from .limits import RedisLimits
from .profiles import ProfileSync

log = logging.getLogger("mockprovider")

REFRESH = 1.0  # seconds between two re-reads of the shared clock, seed and selection
WIPED = ("job:*", "jobs", "jobs:*", "sc:*", "sq:*")  # what a reset forgets (the other parts own their keys)


class RedisSync:
    """The engine's :class:`~mockprovider.engine.state.Sync` through Redis."""

    def __init__(self, backend: Backend, engine: Engine) -> None:
        self.backend = backend
        self.engine = engine
        self.replica = secrets.token_hex(6)
        redis = backend.redis
        self.channel = backend.key("events")
        self.seed_key = backend.key("seed")
        self.clock = ClockSync(redis, backend.key("clock"), engine.clock)
        self.profiles = ProfileSync(redis, backend.key("profiles"), engine.library, engine.selector,
                                    engine.default_profile)
        self._task: asyncio.Task | None = None
        self.refreshes = 0

    # -- startup --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        redis = self.backend.redis
        engine = self.engine
        with unavailable(self.backend):
            # the first replica's seed (a given one, or its own random one) is everyone's
            await redis.set(self.seed_key, str(engine.seed), nx=True)
            seed = await redis.get(self.seed_key)
            await self.clock.start()
            if not await self.profiles.read():
                await self.profiles.write()
        self._adopt_seed(seed)
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    def _adopt_seed(self, raw: Any) -> None:
        if raw is None:
            return
        seed = int(raw)
        if seed != self.engine.seed:
            self.engine.seed = seed
            self.engine.reseed_requests()

    # -- what the engine calls ------------------------------------------------------------------------------

    async def _publish(self, what: str) -> None:
        await self.backend.redis.publish(self.channel, f"{what} {self.replica}")

    async def advance(self, seconds: float) -> None:
        with unavailable(self.backend):
            await self.clock.advance(seconds)
            await self._publish("clock")

    async def set_scale(self, scale: float) -> None:
        with unavailable(self.backend):
            await self.clock.set_scale(scale)
            await self._publish("clock")

    async def profiles_changed(self) -> None:
        with unavailable(self.backend):
            await self.profiles.write()
            await self._publish("profiles")

    def epoch(self) -> str:
        """Changes with every activation (as memory's limits_changed): scopes rebuild their slots when next used."""
        active = self.engine.selector.active
        return f"{active.profile.name}@{active.since!r}"

    async def reset(self) -> None:
        redis = self.backend.redis
        engine = self.engine
        with unavailable(self.backend):
            for pattern in WIPED:
                async for key in redis.scan_iter(match=self.backend.key(pattern), count=1000):
                    await redis.unlink(key)
            await self.clock.restore()
            if not engine.fixed_seed:
                engine.seed = random_seed()
            await redis.set(self.seed_key, str(engine.seed))
            await self._publish("reset")

    # -- what the others say --------------------------------------------------------------------------------

    async def _listen(self) -> None:
        """Follow the channel and re-read once a second; outlives Redis outages (it retries)."""
        while True:
            pubsub = self.backend.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=REFRESH)
                    if message is not None:
                        await self._heard(message["data"])
                    else:
                        await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: say so (rate-limited) and try again
                self.backend.failed(exc)
                await asyncio.sleep(REFRESH)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _heard(self, data: bytes) -> None:
        what, _, replica = data.decode().partition(" ")
        if what == "reset" and replica != self.replica:
            await self.refresh()  # the new seed first: what this process forgets is re-drawn from it
            await self.engine.forget_everything()
            self.profiles.version = -1
        await self.refresh()

    async def refresh(self) -> None:
        """Re-read the shared clock, seed and selection (one round trip unless the selection changed)."""
        redis = self.backend.redis
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.clock.key)
            pipe.get(self.seed_key)
            pipe.hget(self.profiles.key, "ver")
            clock, seed, version = await pipe.execute()
        before = self.engine.clock.scale, self.engine.clock.now()
        self.clock.adopt(clock)
        self._adopt_seed(seed)
        try:
            changed = await self.profiles.read(int(version or 0))
        except (LookupError, ValueError) as exc:
            log.warning("cannot adopt the shared profile selection: %s", exc)
            changed = False
        if changed:
            self.engine.announce_windows()
            for assignment in [self.engine.selector.active]:
                self.engine.expire_later(assignment)
        after = self.engine.clock.scale, self.engine.clock.now()
        if before[0] != after[0] or abs(before[1] - after[1]) > 1e-3:
            self.engine.timeline.poke()
        self.refreshes += 1


async def attach(backend: Backend, engine: Engine) -> RedisSync:
    """Move ``engine``'s state into ``backend`` (connected): from now on every replica on it shares it."""
    jobs = RedisJobs(backend, engine.store.max_jobs, engine.store.retention)
    sync = RedisSync(backend, engine)
    limits = RedisLimits(backend, jobs, engine.clock, lambda: engine.seed, sync.epoch)
    engine.use_state(jobs, limits, sync)
    await sync.start()
    return sync


__all__ = ["RedisSync", "StateUnavailable", "attach"]
