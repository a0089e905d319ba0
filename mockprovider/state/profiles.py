"""The profile selection shared by replicas: the active profile (with the ones a TTL returns to) and the per-key
assignments, in one Redis hash, with the profiles themselves by name (loaded from the shared profile folders)
or, for inline ones given to the admin API, by their settings stored beside them.

Layout: ``profiles`` hash: ``ver`` (bumped by every change), ``active`` (JSON: the assignment chain),
``keys`` (JSON: key -> assignment); ``profiles:defs`` hash: profile id -> {"name", "inline", "raw"}."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import orjson

from ..engine.profile import Profile, ProfileLibrary
from ..engine.selection import Assignment, ProfileSelector

INLINE = "inline profile"
MAX_DEFS = 1024  # profiles remembered in Redis (inline ones given at runtime); the oldest go first


def profile_id(profile: Profile) -> str:
    body = orjson.dumps({"n": profile.name, "s": profile.source, "r": profile.raw}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha1(body).hexdigest()[:16]


def _time(value: float) -> float | None:
    return None if value == math.inf else value


def _untime(value: float | None) -> float:
    return math.inf if value is None else float(value)


class ProfileSync:
    def __init__(self, redis: Any, key: str, library: ProfileLibrary, selector: ProfileSelector,
                 default: Profile) -> None:
        self.redis = redis
        self.key = key
        self.defs_key = key + ":defs"
        self.library = library
        self.selector = selector
        self.version = -1
        self._profiles: dict[str, Profile] = {profile_id(default): default}

    def _remember(self, profile: Profile) -> str:
        pid = profile_id(profile)
        known = self._profiles.get(pid)
        if known is None:
            if len(self._profiles) >= MAX_DEFS:
                del self._profiles[next(iter(self._profiles))]
            self._profiles[pid] = profile
        return pid

    def _definition(self, profile: Profile) -> bytes:
        inline = profile.source == INLINE or profile.name not in self.library.names()
        return orjson.dumps({"name": profile.name, "inline": inline, "raw": profile.raw if inline else None})

    async def _profile(self, pid: str) -> Profile:
        known = self._profiles.get(pid)
        if known is not None:
            return known
        raw = await self.redis.hget(self.defs_key, pid)
        if raw is None:
            raise LookupError(f"profile {pid} is not in the shared state")
        d = orjson.loads(raw)
        profile = self.library.load_inline(d["raw"], d["name"]) if d["inline"] else self.library.load(d["name"])
        self._profiles[pid] = profile
        return profile

    def _chain(self, assignment: Assignment | None) -> list[dict[str, Any]]:
        out = []
        while assignment is not None:
            out.append({"p": self._remember(assignment.profile), "since": assignment.since,
                        "until": _time(assignment.until)})
            assignment = assignment.previous
        return out

    async def write(self) -> int:
        """Share this replica's selection (after an admin change here); the new version."""
        selector = self.selector
        active = selector.active
        keys = selector.keys()
        defs: dict[str, bytes] = {}
        for assignment in [active, *keys.values()]:
            while assignment is not None:
                defs[self._remember(assignment.profile)] = self._definition(assignment.profile)
                assignment = assignment.previous
        body = {"active": orjson.dumps(self._chain(active)),
                "keys": orjson.dumps({k: self._chain(a)[0] for k, a in keys.items()})}
        async with self.redis.pipeline(transaction=True) as pipe:
            if defs:
                pipe.hset(self.defs_key, mapping=defs)
            pipe.hset(self.key, mapping=body)
            pipe.hincrby(self.key, "ver", 1)
            results = await pipe.execute()
        self.version = int(results[-1])
        if await self.redis.hlen(self.defs_key) > MAX_DEFS:
            await self._prune_defs()
        return self.version

    async def _prune_defs(self) -> None:
        in_use = set(self._profiles)
        names = await self.redis.hkeys(self.defs_key)
        stale = [n for n in names if n.decode() not in in_use][: max(len(names) - MAX_DEFS, 0)]
        if stale:
            await self.redis.hdel(self.defs_key, *stale)

    async def read(self, version: int | None = None) -> bool:
        """Adopt the shared selection if it changed since this replica last did; whether it did."""
        if version is None:
            raw_version = await self.redis.hget(self.key, "ver")
            version = int(raw_version or 0)
        if version == self.version:
            return False
        active_raw, keys_raw, version_raw = await self.redis.hmget(self.key, "active", "keys", "ver")
        version = int(version_raw or 0)
        if active_raw is None:
            self.version = version
            return False
        chain = orjson.loads(active_raw)
        previous = None
        for item in reversed(chain):
            previous = Assignment(await self._profile(item["p"]), item["since"], _untime(item["until"]), previous)
        keys = {}
        for key, item in orjson.loads(keys_raw or b"{}").items():
            keys[key] = Assignment(await self._profile(item["p"]), item["since"], _untime(item["until"]))
        self.selector.replace(previous, keys)
        self.version = version
        return True
