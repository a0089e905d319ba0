"""Bounded key -> value tables for what a dialect remembers between requests (uploads, key pairs, external ids,
custom objects), kept in this process or in Redis so that every replica sees the same entries.

A table is bounded in entries (the oldest go first), optionally in total bytes and per value, and its entries
may expire after ``ttl`` wall-clock seconds (a storage bound: dialects still check lifetimes on the engine
clock). An entry may belong to an ``owner`` (an account): ``owned(owner)`` lists that owner's entries oldest
first and ``count(owner)`` counts them, for per-account collections and their caps.

Values are JSON-like (dicts, lists, strings, numbers) or ``bytes``; in Redis they are orjson-encoded, bytes
stored as they are. A Redis that cannot be reached raises :class:`StateUnavailable` from every operation.
"""

from __future__ import annotations

import random
import secrets
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from .backend import StateUnavailable

# One Redis string value holds at most this much unless a table says otherwise: uploads are files the caller
# sends again, not a database; Redis's own limit is 512 MiB per value.
DEFAULT_MAX_VALUE = 64 * 2**20


class TooLarge(ValueError):
    """A value past the table's per-value or total byte cap (the dialect answers it as the provider would)."""


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (bytes, bytearray, memoryview)) else 0


class Table:
    """The interface both implementations share."""

    def __init__(self, name: str, max_items: int, ttl: float | None = None, max_bytes: int | None = None,
                 max_value: int = DEFAULT_MAX_VALUE) -> None:
        if max_items < 1:
            raise ValueError("a table holds at least one entry")
        self.name = name
        self.max_items = max_items
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.max_value = max_value if max_bytes is None else min(max_value, max_bytes)

    def check_size(self, value: Any) -> int:
        size = _size(value)
        if size > self.max_value:
            raise TooLarge(f"{size} bytes is more than the {self.max_value} bytes one stored file may hold")
        return size

    async def get(self, key: str) -> Any | None:
        raise NotImplementedError

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The entries found among ``keys`` (missing ones left out)."""
        raise NotImplementedError

    async def set(self, key: str, value: Any, owner: str | None = None) -> None:
        raise NotImplementedError

    async def add(self, key: str, value: Any, owner: str | None = None) -> bool:
        """Set ``key`` only if it is absent (an id, an idempotency key): whether it was set."""
        raise NotImplementedError

    async def delete(self, key: str) -> bool:
        raise NotImplementedError

    async def pop(self, key: str) -> Any | None:
        """Remove and return an entry, atomically (one replica wins)."""
        raise NotImplementedError

    async def owned(self, owner: str, limit: int | None = None) -> list[tuple[str, Any]]:
        """``owner``'s entries, oldest first (of the newest ``limit`` with a limit: those since expired or
        evicted are left out, not replaced by older ones)."""
        raise NotImplementedError

    async def count(self, owner: str) -> int:
        raise NotImplementedError

    async def clear(self) -> None:
        raise NotImplementedError

    async def add_new(self, make_key: Callable[[random.Random], str], rng: random.Random,
                      value: Callable[[str], Any], owner: str | None = None) -> tuple[str, Any]:
        """Store ``value(key)`` under a fresh key ``make_key(rng)``: the run's seeded generator first (a replay
        makes the same ids), then, if another replica with the same seed already took that key, unseeded ones.
        Returns the key and the value stored."""
        for attempt in range(16):
            key = make_key(rng if attempt == 0 else random.Random(secrets.randbits(64)))
            made = value(key)
            if await self.add(key, made, owner):
                return key, made
        raise StateUnavailable(f"table {self.name}: no free key after 16 attempts")


class MemoryTable(Table):
    """In this process: an insertion-ordered dict, the oldest entries evicted first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._entries: OrderedDict[str, tuple[Any, str | None, float]] = OrderedDict()  # value, owner, stored at
        self._owners: dict[str, dict[str, None]] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _live(self, key: str) -> tuple[Any, str | None, float] | None:
        entry = self._entries.get(key)
        if entry is not None and self.ttl is not None and time.monotonic() - entry[2] > self.ttl:
            self._drop(key)
            return None
        return entry

    def _drop(self, key: str) -> Any | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        value, owner, _ = entry
        self.bytes -= _size(value)
        if owner is not None:
            keys = self._owners.get(owner)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self._owners[owner]
        return value

    def _put(self, key: str, value: Any, owner: str | None) -> None:
        size = self.check_size(value)
        self._drop(key)
        self._entries[key] = (value, owner, time.monotonic())
        self.bytes += size
        if owner is not None:
            self._owners.setdefault(owner, {})[key] = None
        while len(self._entries) > self.max_items or (self.max_bytes is not None and self.bytes > self.max_bytes):
            self._drop(next(iter(self._entries)))

    def peek(self, key: str) -> Any | None:
        """``get`` without a coroutine, for the hottest in-memory paths (a Kling poll's key lookup)."""
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def get(self, key: str) -> Any | None:
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        out = {}
        for key in keys:
            entry = self._live(key)
            if entry is not None:
                out[key] = entry[0]
        return out

    async def set(self, key: str, value: Any, owner: str | None = None) -> None:
        self._put(key, value, owner)

    async def add(self, key: str, value: Any, owner: str | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, owner)
        return True

    async def delete(self, key: str) -> bool:
        if self._live(key) is None:
            return False
        self._drop(key)
        return True

    async def pop(self, key: str) -> Any | None:
        return None if self._live(key) is None else self._drop(key)

    async def owned(self, owner: str, limit: int | None = None) -> list[tuple[str, Any]]:
        if limit is not None and limit <= 0:
            return []
        keys = list(self._owners.get(owner, ()))
        if limit is not None:
            keys = keys[-limit:]
        out = []
        for key in keys:
            entry = self._live(key)
            if entry is not None:
                out.append((key, entry[0]))
        return out

    async def count(self, owner: str) -> int:
        return len(await self.owned(owner)) if self.ttl is not None else len(self._owners.get(owner, ()))

    async def clear(self) -> None:
        self._entries.clear()
        self._owners.clear()
        self.bytes = 0


# -- Redis --------------------------------------------------------------------------------------------------
# Layout under the table's key T: T:v:<key> holds each value (a string, PX ttl), T:i is a sorted set of keys by
# the time they were stored (ms x 1000 + a counter), T:s a hash of byte sizes and T:b their total (tables with
# max_bytes), T:w each owned key's owner and T:o:<owner> a sorted set of an owner's keys. Each write is one
# script, so the bounds hold across replicas.

_PUT = """
local t, key, value, owner, now, ttl, cap, max_bytes, nx, size = KEYS[1], ARGV[1], ARGV[2], ARGV[3],
  tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local vkey = t .. ':v:' .. key
if nx == '1' and redis.call('EXISTS', vkey) == 1 then return 0 end
local function drop(k)
  local size = tonumber(redis.call('HGET', t .. ':s', k) or '0')
  local had = redis.call('HGET', t .. ':w', k)
  redis.call('DEL', t .. ':v:' .. k)
  redis.call('ZREM', t .. ':i', k)
  redis.call('HDEL', t .. ':s', k)
  if had then redis.call('ZREM', t .. ':o:' .. had, k); redis.call('HDEL', t .. ':w', k) end
  if size > 0 then redis.call('DECRBY', t .. ':b', size) end
end
if ttl > 0 then
  for _, k in ipairs(redis.call('ZRANGEBYSCORE', t .. ':i', '-inf', string.format('%d', (now - ttl) * 1000),
                                   'LIMIT', 0, 256)) do
    drop(k)
  end
end
drop(key)
if ttl > 0 then redis.call('SET', vkey, value, 'PX', ttl) else redis.call('SET', vkey, value) end
local score = string.format('%d', now * 1000 + redis.call('INCR', t .. ':n') % 1000)
redis.call('ZADD', t .. ':i', score, key)
if max_bytes > 0 and size > 0 then
  redis.call('HSET', t .. ':s', key, size)
  redis.call('INCRBY', t .. ':b', size)
end
if owner ~= '' then
  redis.call('HSET', t .. ':w', key, owner)
  redis.call('ZADD', t .. ':o:' .. owner, score, key)
end
while redis.call('ZCARD', t .. ':i') > cap
    or (max_bytes > 0 and tonumber(redis.call('GET', t .. ':b') or '0') > max_bytes) do
  local oldest = redis.call('ZRANGE', t .. ':i', 0, 0)[1]
  if not oldest then break end
  drop(oldest)
end
return 1
"""

_DROP = """
local t, key, want = KEYS[1], ARGV[1], ARGV[2]
local vkey = t .. ':v:' .. key
local value = redis.call('GET', vkey)
local size = tonumber(redis.call('HGET', t .. ':s', key) or '0')
local had = redis.call('HGET', t .. ':w', key)
redis.call('DEL', vkey)
redis.call('ZREM', t .. ':i', key)
redis.call('HDEL', t .. ':s', key)
if had then redis.call('ZREM', t .. ':o:' .. had, key); redis.call('HDEL', t .. ':w', key) end
if size > 0 then redis.call('DECRBY', t .. ':b', size) end
if not value then return false end
if want == '1' then return value end
return 1
"""

_OWNED = """
local t, owner, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local okey = t .. ':o:' .. owner
local keys
if limit >= 0 then keys = redis.call('ZRANGE', okey, -limit, -1) else keys = redis.call('ZRANGE', okey, 0, -1) end
local out = {}
for _, k in ipairs(keys) do
  local v = redis.call('GET', t .. ':v:' .. k)
  if v then out[#out + 1] = k; out[#out + 1] = v end
end
return out
"""

BYTES_TAG = b"\x00"  # orjson output never starts with a NUL byte


def encode(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTES_TAG + bytes(value)
    return orjson.dumps(value)


def decode(raw: bytes | None) -> Any | None:
    if raw is None:
        return None
    if raw[:1] == BYTES_TAG:
        return raw[1:]
    return orjson.loads(raw)


class RedisTable(Table):
    def __init__(self, client: Any, key: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redis = client
        self.key = key
        self._put = client.register_script(_PUT)
        self._drop = client.register_script(_DROP)
        self._owned = client.register_script(_OWNED)

    def _vkey(self, key: str) -> str:
        return f"{self.key}:v:{key}"

    async def _call(self, operation: Awaitable[Any]) -> Any:
        from redis.exceptions import RedisError

        try:
            return await operation
        except (RedisError, OSError) as exc:
            raise StateUnavailable(f"table {self.name}: {exc}") from None

    async def _write(self, key: str, value: Any, owner: str | None, nx: bool) -> bool:
        size = self.check_size(value)  # bytes values count towards the caps, as in memory
        raw = encode(value)
        ttl = 0 if self.ttl is None else max(int(self.ttl * 1000), 1)
        args = [key, raw, owner or "", int(time.time() * 1000), ttl, self.max_items, self.max_bytes or 0,
                "1" if nx else "0", size]
        return bool(await self._call(self._put(keys=[self.key], args=args)))

    async def get(self, key: str) -> Any | None:
        return decode(await self._call(self.redis.get(self._vkey(key))))

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(keys)
        if not keys:
            return {}
        found = await self._call(self.redis.mget([self._vkey(k) for k in keys]))
        return {k: decode(raw) for k, raw in zip(keys, found, strict=True) if raw is not None}

    async def set(self, key: str, value: Any, owner: str | None = None) -> None:
        await self._write(key, value, owner, nx=False)

    async def add(self, key: str, value: Any, owner: str | None = None) -> bool:
        return await self._write(key, value, owner, nx=True)

    async def delete(self, key: str) -> bool:
        return bool(await self._call(self._drop(keys=[self.key], args=[key, "0"])))

    async def pop(self, key: str) -> Any | None:
        raw = await self._call(self._drop(keys=[self.key], args=[key, "1"]))
        return None if raw is None else decode(raw)

    async def owned(self, owner: str, limit: int | None = None) -> list[tuple[str, Any]]:
        if limit is not None and limit <= 0:
            return []
        flat = await self._call(self._owned(keys=[self.key], args=[owner, -1 if limit is None else limit]))
        return [(flat[i].decode(), decode(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def count(self, owner: str) -> int:
        """How many entries ``owner`` has (with a ttl, those expired since the last write may still count)."""
        return int(await self._call(self.redis.zcard(f"{self.key}:o:{owner}")))

    async def clear(self) -> None:
        async def unlink_all() -> None:
            batch = []
            async for found in self.redis.scan_iter(match=f"{self.key}:*", count=1000):
                batch.append(found)
                if len(batch) >= 1000:
                    await self.redis.unlink(*batch)
                    batch = []
            if batch:
                await self.redis.unlink(*batch)

        await self._call(unlink_all())


def open_table(state: Any, name: str, max_items: int, ttl: float | None = None, max_bytes: int | None = None,
               max_value: int = DEFAULT_MAX_VALUE) -> Table:
    """The table ``name`` of the state backend ``state``: in Redis when it is shared, else in this process.
    A Redis table's client is the backend's, bound when the backend has started (so tables can be made in a
    dialect's constructor)."""
    if not state.shared:
        return MemoryTable(name, max_items, ttl, max_bytes, max_value)
    return LazyRedisTable(state, name, max_items, ttl, max_bytes, max_value)


class LazyRedisTable(Table):
    """A Redis table made before the backend connects: it binds to the client on first use."""

    def __init__(self, state: Any, name: str, *args: Any) -> None:
        super().__init__(name, *args)
        self._state = state
        self._args = args
        self._bound: RedisTable | None = None

    def _table(self) -> RedisTable:
        client = self._state.redis
        if client is None:
            raise StateUnavailable(f"table {self.name}: the state backend is not connected")
        if self._bound is None or self._bound.redis is not client:
            self._bound = RedisTable(client, self._state.key("t", self.name), self.name, *self._args)
        return self._bound

    async def get(self, key: str) -> Any | None:
        return await self._table().get(key)

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return await self._table().get_many(keys)

    async def set(self, key: str, value: Any, owner: str | None = None) -> None:
        await self._table().set(key, value, owner)

    async def add(self, key: str, value: Any, owner: str | None = None) -> bool:
        return await self._table().add(key, value, owner)

    async def delete(self, key: str) -> bool:
        return await self._table().delete(key)

    async def pop(self, key: str) -> Any | None:
        return await self._table().pop(key)

    async def owned(self, owner: str, limit: int | None = None) -> list[tuple[str, Any]]:
        return await self._table().owned(owner, limit)

    async def count(self, owner: str) -> int:
        return await self._table().count(owner)

    async def clear(self) -> None:
        await self._table().clear()


async def shared_secret(state: Any, name: str) -> bytes:
    """32 random bytes every replica agrees on (the first replica to ask makes them): what signs media links,
    upload policies and tokens one replica hands out and another checks. In memory: this process's own."""
    if not state.shared:
        mine = _local_secrets.setdefault(state, {})
        if name not in mine:
            mine[name] = secrets.token_bytes(32)
        return mine[name]
    from redis.exceptions import RedisError

    key = state.key("secret", name)
    try:
        await state.redis.set(key, secrets.token_bytes(32), nx=True)
        found = await state.redis.get(key)
    except (RedisError, OSError) as exc:
        raise StateUnavailable(f"secret {name}: {exc}") from None
    if not found or len(found) < 16:
        raise StateUnavailable(f"secret {name}: missing in the state backend")
    return bytes(found)


_local_secrets: weakref.WeakKeyDictionary[Any, dict[str, bytes]] = weakref.WeakKeyDictionary()


class TaskIndex:
    """Each account's task ids, oldest first, bounded (what a provider's list endpoint pages through): a table
    whose entries are owned by the account. Every replica lists the tasks any replica made."""

    def __init__(self, state: Any, name: str, max_items: int, ttl: float | None = None) -> None:
        self.table = state.table(name, max_items, ttl=ttl)

    async def add(self, account: str, job_id: str) -> None:
        await self.table.set(job_id, 0, owner=account)

    async def newest(self, account: str, limit: int | None = None) -> list[str]:
        """The account's task ids, newest first (the newest ``limit`` with a limit)."""
        return [job_id for job_id, _ in reversed(await self.table.owned(account, limit))]

    async def clear(self) -> None:
        await self.table.clear()
