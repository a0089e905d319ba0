"""The Redis limit books and job store against the in-memory ones (engine/limits.py): the same random run of
submissions (several slots, queued or refused when busy), cancels, refunds, clock moves and limit changes gives
the same admissions, refusals, states and balances on both. Plus the job encoding's round trip."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from mockprovider.engine.clock import Clock
from mockprovider.engine.engine import Engine, JobRequest
from mockprovider.engine.jobs import Job, Plan
from mockprovider.engine.limits import OverLimit
from mockprovider.engine.profile import ProfileLibrary
from mockprovider.engine.store import JobStore
from mockprovider.insight.prices import Quote
from mockprovider.media.render import VideoSpec
from mockprovider.media.sound import AudioSpec
from mockprovider.media.stills import ImageSpec
from mockprovider.state import Backend
from mockprovider.state.jobs_codec import decode_data, decode_frozen, encode_data, encode_frozen

FROZEN = 1e6  # the largest time scale: engine time stands still unless the test moves it


def profiles(library: ProfileLibrary):
    """Fixed timings (plans do not depend on the random draws), a failure rate of one in some, and limits."""
    def make(name: str, concurrent: int | None, fail: float = 0.0):
        limits = {"credits": 60, "daily_jobs": 40, "submissions_per_second": 3, "requests_per_minute": 5}
        if concurrent is not None:
            limits["concurrent_jobs"] = concurrent
        return library.load_inline({"jobs": {"queue": "2s", "run": "10s", "failure_rate": {"internal": fail},
                                             "fail_at": 0.5}, "limits": limits}, name)
    return [make("three", 3), make("one", 1, fail=1.0), make("none", None), make("zero", 0)]


def engine_with(library: ProfileLibrary, profile) -> Engine:
    """A small store (finished jobs evicted to make room, capacity refused when all are live)."""
    return Engine(library=library, profile=profile, seed=11, clock=Clock(scale=FROZEN),
                  store=JobStore(max_jobs=12, retention=48 * 3600.0))


async def scenario(url: str, seed: int = 3) -> None:
    library = ProfileLibrary()
    memory_profiles = profiles(library)
    memory = engine_with(library, memory_profiles[0])
    shared_library = ProfileLibrary()
    shared_profiles = profiles(shared_library)
    shared = engine_with(shared_library, shared_profiles[0])
    backend = Backend(url)
    await backend.start()
    await backend.attach(shared)
    try:
        rng = random.Random(seed)
        jobs: list[tuple[Job, Job]] = []
        refused: set[str] = set()
        for step in range(400):
            move = rng.random()
            if move < 0.45:
                account = rng.choice(["a", "b"])
                slots = rng.choice([1, 1, 1, 2, 4])
                queue = rng.random() < 0.7
                cost = rng.choice([0.0, 1.0, 5.0])

                # some jobs count their slots and submissions in their model's window, apart from the account's
                window = "w" if step % 4 == 0 else ""

                def request(account=account, slots=slots, cost=cost, step=step, window=window) -> JobRequest:
                    return JobRequest(provider="p", model=rng_model(step), account=account, kind="t", cost=cost,
                                      slots=slots, refund_failures=True, limit_scope=window,
                                      make_id=lambda r: f"job-{r.getrandbits(64):016x}")

                got = [await engine.submit(request(), engine.selector.for_key(account), queue_when_busy=queue)
                       for engine in (memory, shared)]
                if isinstance(got[0], Job):
                    assert isinstance(got[1], Job), (step, got)
                    jobs.append((got[0], got[1]))
                else:
                    assert _same_refusal(*got), (step, got)
                    refused.add(got[0].limit)
            elif move < 0.55 and jobs:
                pair = rng.choice(jobs)
                assert [await e.cancel(j) for e, j in zip((memory, shared), pair, strict=True)] in ([True, True],
                                                                                                   [False, False])
            elif move < 0.6:
                account = rng.choice(["a", "b"])
                got = [await e.take_request("p", account, e.selector.for_key(account)) for e in (memory, shared)]
                assert got[0] is got[1] is None or _same_refusal(*got), (step, got)
            elif move < 0.65:
                which = rng.randrange(len(memory_profiles))
                await memory.activate(memory_profiles[which])
                await shared.activate(shared_profiles[which])
            else:
                # odd amounts: an end and a move of the clock never meet exactly (the two clocks drift by 1e-6)
                seconds = rng.choice([0.137, 0.571, 1.093, 3.217, 21.31, 108000.7])
                await memory.advance(seconds)
                await shared.advance(seconds)
            for m, s in jobs[-30:]:
                fresh = await shared.get("p", s.id)
                assert (fresh is None) == (memory.cached(m.id) is None), step  # expired past the retention
                if fresh is None:
                    continue
                assert _same(m.admitted, fresh.admitted) and _same(m.ends, fresh.ends), (step, m.describe(0))
                assert m.state(memory.clock.now())[0] == fresh.state(shared.clock.now())[0], step
            for account in ("a", "b"):
                assert await memory.spent("p", account) == pytest.approx(await shared.spent("p", account)), step
                twin = {m.id: s.id for m, s in jobs}  # submission numbers differ (Redis counts refusals too)
                live = [twin[j.id] for j in await memory.live_jobs("p", account)]
                assert live == [j.id for j in await shared.live_jobs("p", account)], step
        assert len(jobs) > 50
        assert {"concurrency", "credits", "submission_rate", "capacity"} <= refused, refused
    finally:
        await shared.timeline.stop()
        await backend.close()


def rng_model(step: int) -> str:
    return "m1" if step % 3 else "m2"


def _same_refusal(a: object, b: object) -> bool:
    if not (isinstance(a, OverLimit) and isinstance(b, OverLimit)):
        return type(a) is type(b)
    if (a.limit, a.allowed) != (b.limit, b.allowed):
        return False
    return (a.frees_at is None and b.frees_at is None) or (
        a.frees_at is not None and b.frees_at is not None and _same(a.frees_at, b.frees_at))


def _same(a: float, b: float) -> bool:
    return (a == math.inf and b == math.inf) or abs(a - b) < 1e-3


def test_the_redis_limit_books_decide_as_the_memory_ones_do(redis_url: str) -> None:
    asyncio.run(scenario(redis_url))


def test_a_job_survives_its_encoding() -> None:
    job = Job(id="j1", provider="p", model="m", account="k", kind="t", seq=3, created=12.5,
              plan=Plan(2.0, 10.0, "internal", 0.25, False), cost=1.5,
              output=(VideoSpec(640, 360, 5.0, audio=True), ImageSpec(64, 64, "jpeg", 2**63 + 5),
                      AudioSpec(3.0, "wav")),
              profile="happy", usage={"seconds": 5, "resolution": "720p", "audio": True},
              quote=Quote(0.4, 10.0, "credits", "free", "charge_if_started"), slots=2, limit_scope="m")
    back = decode_frozen(encode_frozen(job))
    for name in ("id", "provider", "model", "account", "kind", "seq", "created", "plan", "cost", "output",
                 "profile", "usage", "quote", "slots", "limit_scope"):
        assert getattr(back, name) == getattr(job, name), name
    data = {"c": "2026-12-01", "t": (1, 2), "$": "not a type", 5: "int key", "inf": math.inf}
    assert decode_data(encode_data(data)) == data


async def eviction_run(url: str) -> None:
    """More live jobs at the head of the store than any fixed scan window (1,200, run 1,000 s), then five that
    end in the reverse order they were made: over the bound, the oldest finished go first in both stores, and a
    store of live jobs only refuses."""
    live_head, size = 1200, 1205
    library = ProfileLibrary()
    profile = library.load_inline({"jobs": {"queue": "0s", "run": "1000s"}}, "slow")
    engines = [Engine(library=library, profile=profile, seed=3, clock=Clock(scale=FROZEN),
                      store=JobStore(max_jobs=size, retention=48 * 3600.0)) for _ in range(2)]
    memory, shared = engines
    backend = Backend(url)
    await backend.start()
    await backend.attach(shared)

    def request(n: int) -> JobRequest:
        run = 1000.0 if n < live_head else 50.0 - n % live_head  # later ones end sooner
        return JobRequest(provider="p", model="m", account="a", kind="t", make_id=lambda r, n=n: f"job-{n}",
                          replan=lambda plan, run=run: Plan(0.0, run, None, 1.0, False))

    async def submit(n: int) -> list[object]:
        return [await e.submit(request(n), e.selector.active, queue_when_busy=True) for e in engines]

    try:
        for n in range(size):
            assert all(isinstance(j, Job) for j in await submit(n)), n
        for e in engines:
            await e.advance(60.0)  # the last five have ended; the first 1,200 run on
        for n in range(size, size + 5):
            assert all(isinstance(j, Job) for j in await submit(n)), n
        for e in engines:
            assert await e.job_count() == size and await e.jobs_evicted() == 5
        for n in range(live_head, live_head + 5):
            assert memory.cached(f"job-{n}") is None and await shared.find(f"job-{n}") is None, n
        assert await shared.find(f"job-{live_head - 1}") is not None
        for e in engines:
            assert await e.cancel(await e.find("job-7"))  # a cancelled job has finished: it goes next
        got = await submit(size + 5)
        assert all(isinstance(j, Job) for j in got) and await shared.find("job-7") is None
        over = await submit(size + 6)  # every stored job is live: the store refuses, as memory does
        assert all(isinstance(o, OverLimit) and o.limit == "capacity" for o in over), over
    finally:
        await shared.timeline.stop()
        await backend.close()


def test_redis_evicts_the_oldest_finished_jobs_behind_any_number_of_live_ones(redis_url: str) -> None:
    asyncio.run(eviction_run(redis_url))


async def windows_run(url: str) -> None:
    """Jobs with a limit scope (Wan's per-model limits) count their submission window and concurrency slots in it,
    in memory and in Redis alike; credits stay the account's."""
    library = ProfileLibrary()
    profile = library.load_inline({"jobs": {"queue": "0s", "run": "100s"}, "limits": {
        "submissions_per_second": 2, "concurrent_jobs": 1, "credits": 4}}, "windows")
    engines = [Engine(library=library, profile=profile, seed=3, clock=Clock(scale=FROZEN)) for _ in range(2)]
    backend = Backend(url)
    await backend.start()
    await backend.attach(engines[1])
    try:
        for engine in engines:
            async def submit(model: str, queue: bool = True, engine: Engine = engine) -> object:
                got = await engine.submit(JobRequest(provider="p", model=model, account="a", kind="t", cost=1.0,
                                                     limit_scope=model, make_id=lambda r: f"{r.getrandbits(64)}"),
                                          engine.selector.active, queue_when_busy=queue)
                return got.limit if isinstance(got, OverLimit) else got

            first, second = await submit("m1"), await submit("m1")
            assert await submit("m1") == "submission_rate"  # m1's window is full...
            other = await submit("m2")  # ...m2's is not, and m2 has a slot of its own
            start = first.admitted
            assert _same(other.admitted, start) and _same(second.admitted, start + 100)  # second waits for m1's
            assert await submit("m2", queue=False) == "concurrency"
            await engine.advance(1.5)
            assert isinstance(await submit("m3"), Job)
            assert await submit("m4") == "credits"  # the account's 4 credits are spent, whatever the model
            assert await engine.cancel(first)
            moved = engine.clock.now()
            assert _same(second.admitted, moved) and _same((await engine.find(second.id)).admitted, moved)
    finally:
        await engines[1].timeline.stop()
        await backend.close()


def test_limit_scopes_count_slots_and_submissions_apart(redis_url: str) -> None:
    asyncio.run(windows_run(redis_url))


async def versions_run(url: str) -> None:
    """The replica's cache of jobs drops expired ones by itself; what it notes of their versions goes with them."""
    library = ProfileLibrary()
    profile = library.load_inline({"jobs": {"queue": "0s", "run": "1s"}}, "short")
    engine = Engine(library=library, profile=profile, seed=5, clock=Clock(scale=FROZEN),
                    store=JobStore(max_jobs=12, retention=5.0))
    backend = Backend(url)
    await backend.start()
    await backend.attach(engine)
    try:
        for _ in range(300):
            job = await engine.submit(JobRequest(provider="p", model="m", account="a", kind="t",
                                                 make_id=lambda r: f"{r.getrandbits(64)}"), engine.selector.active,
                                      queue_when_busy=True)
            assert isinstance(job, Job)
            await engine.advance(2.0)
        assert len(engine.store) <= 12
        assert len(engine.book._versions) <= 2 * 12 + 64  # 300 without the bound
    finally:
        await engine.timeline.stop()
        await backend.close()


def test_the_job_cache_s_version_notes_stay_bounded(redis_url: str) -> None:
    asyncio.run(versions_run(redis_url))
