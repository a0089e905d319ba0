"""state/tables.py: the same table contract in memory and in a real redis-server (bounds, owners, set-if-absent,
bytes, TTLs, the per-value cap), and StateUnavailable when Redis is gone."""

from __future__ import annotations

import asyncio
import random

import pytest
from fuzzing import FUZZ_SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from mockprovider.state import Backend, StateUnavailable
from mockprovider.state.tables import MemoryTable, TooLarge


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(params=["memory", "redis"])
def backend_url(request) -> str:
    return "memory" if request.param == "memory" else request.getfixturevalue("redis_url")


async def _started(url: str) -> Backend:
    backend = Backend(url)
    await backend.start()
    return backend


def test_contract(backend_url: str) -> None:
    async def scenario() -> None:
        backend = await _started(backend_url)
        try:
            table = backend.table("contract", max_items=3)
            assert await table.get("a") is None
            await table.set("a", {"n": 1, "s": "x"}, owner="acct")
            assert await table.get("a") == {"n": 1, "s": "x"}
            assert not await table.add("a", {"n": 2})
            assert await table.add("b", [1, 2], owner="acct")
            await table.set("c", b"\x00\x01raw", owner="other")
            assert await table.get("c") == b"\x00\x01raw"
            assert await table.get_many(["a", "zz", "c"]) == {"a": {"n": 1, "s": "x"}, "c": b"\x00\x01raw"}
            assert [k for k, _ in await table.owned("acct")] == ["a", "b"]
            assert await table.owned("acct", limit=1) == [("b", [1, 2])]
            assert await table.count("acct") == 2
            await table.set("d", "newest")  # over max_items: the oldest ("a") goes, with its owner entry
            assert await table.get("a") is None
            assert [k for k, _ in await table.owned("acct")] == ["b"]
            assert await table.pop("b") == [1, 2]
            assert await table.pop("b") is None
            assert await table.count("acct") == 0
            assert await table.delete("c") and not await table.delete("c")
            await table.clear()
            assert await table.get("d") is None
        finally:
            await backend.close()

    run(scenario())


def test_byte_bounds(backend_url: str) -> None:
    async def scenario() -> None:
        backend = await _started(backend_url)
        try:
            table = backend.table("bytes", max_items=100, max_bytes=1000)
            with pytest.raises(TooLarge):
                await table.set("big", b"x" * 1001)
            for i in range(5):
                await table.set(f"f{i}", bytes(300))
            found = await table.get_many([f"f{i}" for i in range(5)])
            assert sorted(found) == ["f2", "f3", "f4"]  # the oldest went first to stay under 1000 bytes
        finally:
            await backend.close()

    run(scenario())


def test_ttl(backend_url: str) -> None:
    async def scenario() -> None:
        backend = await _started(backend_url)
        try:
            table = backend.table("ttl", max_items=10, ttl=0.15)
            await table.set("k", 1, owner="o")
            assert await table.get("k") == 1
            await asyncio.sleep(0.3)
            assert await table.get("k") is None
            assert await table.owned("o") == []
            assert await table.add("k", 2)
        finally:
            await backend.close()

    run(scenario())


def test_add_new_is_unique_across_replicas_with_one_seed(redis_url: str) -> None:
    """Two replicas run with the same --seed draw the same ids: the second one's draws move past the first's."""
    async def scenario() -> None:
        a, b = await _started(redis_url), await _started(redis_url)
        try:
            ta, tb = a.table("ids", 100), b.table("ids", 100)
            made = [await ta.add_new(lambda r: f"{r.getrandbits(32):08x}", random.Random(7), lambda k: {"by": "a"})]
            made.append(await tb.add_new(lambda r: f"{r.getrandbits(32):08x}", random.Random(7), lambda k: {"by": "b"}))
            assert made[0][0] != made[1][0]
            assert await tb.get(made[0][0]) == {"by": "a"}
        finally:
            await a.close()
            await b.close()

    run(scenario())


def test_shared_secret(redis_url: str) -> None:
    async def scenario() -> None:
        a, b = await _started(redis_url), await _started(redis_url)
        try:
            assert await a.secret("links") == await b.secret("links")
            assert await a.secret("links") != await a.secret("uploads")
            local, other = Backend(), Backend()
            assert await local.secret("links") == await local.secret("links")
            assert await local.secret("links") != await other.secret("links")
        finally:
            await a.close()
            await b.close()

    run(scenario())


def test_redis_outage_is_state_unavailable(redis_server, redis_url: str) -> None:
    async def scenario() -> None:
        backend = await _started(redis_url)
        try:
            table = backend.table("outage", 10)
            await table.set("k", 1)
            redis_server.kill()
            for operation in (table.get("k"), table.set("k", 2), table.owned("o"), backend.secret("s")):
                with pytest.raises(StateUnavailable):
                    await operation
            redis_server.start()
            await table.set("k", 3)  # the client reconnects when Redis is back
            assert await table.get("k") == 3
        finally:
            await backend.close()

    run(scenario())


def test_memory_table_stays_bounded_with_many_owners() -> None:
    async def scenario() -> None:
        table = MemoryTable("owners", max_items=50)
        for i in range(1000):
            await table.set(f"k{i}", i, owner=f"acct{i}")
        assert len(table) == 50 and len(table._owners) == 50

    run(scenario())


# -- differential fuzz: the Redis table answers every operation as the in-memory one does ------------------

KEYS = st.sampled_from(["a", "b:", "c\n", "\x00d", "é", "*", "[x]", "?", "k:v:1"])  # odd for Redis key names
VALUES = st.one_of(st.integers(-2**53, 2**53), st.text(max_size=20), st.binary(max_size=120),
                   st.lists(st.integers(0, 9), max_size=3), st.dictionaries(st.text(max_size=3), st.booleans(),
                                                                              max_size=2))
OWNERS = st.one_of(st.none(), st.sampled_from(["o1", "o:2", "ö"]))
WRITES = st.tuples(st.sampled_from(["set", "add"]), KEYS, VALUES, OWNERS)
OPERATIONS = st.lists(st.one_of(
    WRITES, WRITES, WRITES,
    st.tuples(st.just("get"), KEYS), st.tuples(st.just("pop"), KEYS), st.tuples(st.just("delete"), KEYS),
    st.tuples(st.just("get_many"), st.lists(KEYS, max_size=3)), st.tuples(st.just("owned"), OWNERS,
                                                                          st.one_of(st.none(), st.integers(0, 4))),
    st.tuples(st.just("count"), OWNERS)), min_size=15, max_size=40)


async def _apply(table, operation) -> object:
    name, *args = operation
    if name in ("set", "add"):
        key, value, owner = args
        try:
            return await getattr(table, name)(key, value, owner)
        except TooLarge:
            return "too large"
    if name in ("owned", "count"):
        owner = args[0] or "nobody"
        return await table.owned(owner, args[1]) if name == "owned" else await table.count(owner)
    return await getattr(table, name)(*args)


@FUZZ_SETTINGS
@given(operations=OPERATIONS)
def test_redis_table_matches_the_memory_table(fuzz_redis: Backend, operations) -> None:
    async def scenario() -> None:
        await fuzz_redis.start()
        try:
            memory = MemoryTable("fuzz", max_items=3, max_bytes=250, max_value=200)
            shared = fuzz_redis.table("fuzz", max_items=3, max_bytes=250, max_value=200)
            await shared.clear()
            for operation in operations:
                assert await _apply(shared, operation) == await _apply(memory, operation), operation
        finally:
            await fuzz_redis.close()

    run(scenario())


@pytest.fixture(scope="module")
def fuzz_redis(redis_server) -> Backend:
    if redis_server.process is None or not redis_server.ping():
        redis_server.start()
    return Backend(redis_server.url)
