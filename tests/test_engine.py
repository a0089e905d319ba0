"""The neutral engine: distributions, plans, the clock, limits and the job store."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from mockprovider.engine.clock import Clock
from mockprovider.engine.distributions import parse_distribution
from mockprovider.engine.durations import parse_duration
from mockprovider.engine.engine import Engine, JobRequest
from mockprovider.engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED
from mockprovider.engine.limits import OverLimit
from mockprovider.engine.profile import ProfileLibrary
from mockprovider.engine.state import MemoryJobs
from mockprovider.engine.store import JobStore, StoreFull
from mockprovider.testing import done


@pytest.mark.parametrize("text,seconds", [("250ms", 0.25), ("40s", 40), ("3m", 180), ("1.5h", 5400), (2, 2.0),
                                          ("0.5", 0.5), ("100us", 1e-4)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["fast", "-1s", "10 parsecs", True, None, [1]])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def quantiles(spec, n=40_000, seed=1):
    dist = parse_distribution(spec)
    rng = random.Random(seed)
    xs = sorted(dist.sample(rng) for _ in range(n))
    return lambda p: xs[int(p * n)]


def test_lognormal_by_median_and_p99():
    q = quantiles({"lognormal": {"median": "200ms", "p99": "1.2s"}})
    assert q(0.5) == pytest.approx(0.2, rel=0.05)
    assert q(0.99) == pytest.approx(1.2, rel=0.08)


def test_lognormal_by_mu_sigma():
    q = quantiles({"lognormal": {"mu": math.log(40), "sigma": 0.5}})
    assert q(0.5) == pytest.approx(40, rel=0.05)


def test_percentile_form_hits_its_points():
    q = quantiles({"p50": "40s", "p90": "90s", "p99": "240s"})
    assert q(0.5) == pytest.approx(40, rel=0.04)
    assert q(0.9) == pytest.approx(90, rel=0.05)
    assert q(0.99) == pytest.approx(240, rel=0.1)


def test_uniform_normal_exponential_fixed_and_clipping():
    q = quantiles({"uniform": ["10s", "20s"]})
    assert q(0.0) >= 10 and q(0.999) <= 20
    assert q(0.5) == pytest.approx(15, rel=0.03)
    q = quantiles({"normal": {"mean": "40s", "stddev": "5s"}, "min": "35s", "max": "42s"})
    assert q(0.0) == 35 and q(0.999) == 42
    rng = random.Random(3)
    expo = parse_distribution({"exponential": {"mean": "2s"}})
    assert statistics.fmean(expo.sample(rng) for _ in range(20_000)) == pytest.approx(2, rel=0.05)
    assert parse_distribution("40s").sample(rng) == 40


def test_mixture_weights():
    dist = parse_distribution({"mixture": [{"weight": 0.7, "value": "10ms"}, {"weight": 0.2, "value": "80ms"},
                                           {"weight": 0.1, "value": "200ms"}]})
    rng = random.Random(5)
    xs = [dist.sample(rng) for _ in range(20_000)]
    assert xs.count(0.01) / len(xs) == pytest.approx(0.7, abs=0.02)
    assert xs.count(0.2) / len(xs) == pytest.approx(0.1, abs=0.02)


@pytest.mark.parametrize("bad,words", [
    ({"lognormal": {"median": "1s"}}, "p99"),
    ({"p50": "10s", "p90": "5s"}, "decrease"),
    ({"uniform": ["5s", "1s"]}, "larger"),
    ({"gamma": 3}, "unknown distribution key"),
    ({"fixed": "1s", "uniform": [1, 2]}, "exactly one"),
    ({"mixture": []}, "non-empty"),
    ({"p150": "1s"}, "between"),
])
def test_bad_distributions_say_why(bad, words):
    with pytest.raises(ValueError, match=words):
        parse_distribution(bad)


def test_clock_scale_and_advance():
    clock = Clock(scale=0.001)
    start = clock.now()
    clock.advance(100)
    assert clock.now() - start >= 100
    clock.set_scale(1.0)
    assert clock.real_seconds(5) == 5


def engine_with(profile: dict, seed: int = 0) -> Engine:
    library = ProfileLibrary()
    return Engine(library=library, profile=library.load_inline(profile), seed=seed, clock=Clock(scale=1.0))


def submit(engine: Engine, account: str = "k", queue_when_busy: bool = True, cost: float = 0.0, slots: int = 1):
    request = JobRequest(provider="p", model="m", account=account, kind="t", cost=cost, slots=slots,
                         make_id=lambda rng: f"job{rng.getrandbits(48):x}")
    return done(engine.submit(request, engine.selector.for_key(account), queue_when_busy=queue_when_busy))


def test_same_seed_same_plans_and_ids():
    profile = {"jobs": {"queue": {"uniform": ["1s", "9s"]}, "run": {"p50": "40s", "p99": "200s"},
                        "failure_rate": {"internal": 0.3}}}
    runs = []
    for _ in range(2):
        engine = engine_with(profile, seed=42)
        jobs = [submit(engine, account=f"k{i % 3}") for i in range(30)]
        runs.append([(j.id, j.plan) for j in jobs])
    assert runs[0] == runs[1]
    other = engine_with(profile, seed=43)
    assert [(j.id, j.plan) for j in (submit(other, account=f"k{i % 3}") for i in range(30))] != runs[0]


def test_plans_do_not_depend_on_how_keys_interleave():
    profile = {"jobs": {"run": {"uniform": ["1s", "100s"]}}}
    a = engine_with(profile, seed=1)
    first = [submit(a, "x").plan for _ in range(5)]
    b = engine_with(profile, seed=1)
    for _ in range(5):
        submit(b, "y")
    assert [submit(b, "x").plan for _ in range(5)] == first


def test_state_is_derived_from_plan_and_clock():
    engine = engine_with({"jobs": {"queue": "10s", "run": "100s", "failure_rate": {"timeout": 1.0}, "fail_at": 0.5}})
    job = submit(engine)
    t0 = job.created
    assert job.state(t0) == (QUEUED, 0.0)
    assert job.state(t0 + 35) == (RUNNING, pytest.approx(0.25))
    assert job.state(t0 + 60)[0] == FAILED
    assert job.plan.failure == "timeout"


def test_stuck_jobs_never_finish_and_hold_their_slot():
    engine = engine_with({"jobs": {"queue": "0s", "run": "10s", "stuck_rate": 1.0}, "limits": {"concurrent_jobs": 1}})
    stuck = submit(engine)
    waiting = submit(engine)
    state, progress = stuck.state(stuck.created + 10_000)
    assert state == RUNNING and progress < 1
    assert waiting.state(waiting.created + 10_000)[0] == THROTTLED
    done(engine.cancel(stuck))
    assert stuck.state(engine.clock.now())[0] == CANCELLED
    assert waiting.state(engine.clock.now())[0] in (QUEUED, RUNNING)


def test_concurrency_reject_reports_when_a_slot_frees():
    engine = engine_with({"jobs": {"queue": "0s", "run": "30s"}, "limits": {"concurrent_jobs": 2}})
    first, second = submit(engine, queue_when_busy=False), submit(engine, queue_when_busy=False)
    over = submit(engine, queue_when_busy=False)
    assert isinstance(over, OverLimit) and over.limit == "concurrency"
    assert over.frees_at == pytest.approx(min(first.ends, second.ends))
    assert over.retry_after(engine.clock.now()) == pytest.approx(30, abs=0.5)


def test_a_job_holding_several_slots_waits_for_all_of_them():
    engine = engine_with({"jobs": {"queue": "0s", "run": "30s"}, "limits": {"concurrent_jobs": 3}})
    first = submit(engine)
    engine.clock.advance(10)
    second = submit(engine)
    wide = submit(engine, slots=3)  # starts when both earlier jobs have ended, not when the first has
    assert wide.admitted == pytest.approx(second.ends)
    after = submit(engine)  # queued behind the wide job, which holds every slot
    assert after.admitted == pytest.approx(wide.ends)
    over = submit(engine, queue_when_busy=False, slots=4)
    assert isinstance(over, OverLimit) and over.frees_at is None  # more slots than the account has
    done(engine.cancel(second))  # a freed slot re-plans who waits: the wide job now starts when the first ends
    assert wide.admitted == pytest.approx(max(first.ends, engine.clock.now()))
    assert first.slots == 1 and wide.slots == 3


def test_credits_and_daily_quota():
    engine = engine_with({"limits": {"credits": 10, "daily_jobs": 3}})
    assert not isinstance(submit(engine, cost=6), OverLimit)
    over = submit(engine, cost=6)
    assert isinstance(over, OverLimit) and over.limit == "credits" and over.frees_at is None
    submit(engine, cost=1)
    submit(engine, cost=1)
    over = submit(engine, cost=1)
    assert over.limit == "daily" and over.frees_at % 86400 == 0


def test_store_is_bounded_and_expires_finished_jobs():
    store = JobStore(max_jobs=3, retention=100)
    engine = engine_with({"jobs": {"queue": "0s", "run": "1s"}})
    engine.use_state(MemoryJobs(store), engine.ledger)
    jobs = [submit(engine) for _ in range(3)]
    engine.clock.advance(5)
    submit(engine)  # evicts one finished job to make room
    assert len(store) == 3 and jobs[0].id not in store
    engine.clock.advance(200)
    store.expire(engine.clock.now())
    assert len(store) == 0
    live = engine_with({"jobs": {"queue": "0s", "run": "1000s"}})
    live.use_state(MemoryJobs(JobStore(max_jobs=2)), live.ledger)
    submit(live)
    submit(live)
    full = submit(live)
    assert isinstance(full, OverLimit) and full.limit == "capacity"
    with pytest.raises(StoreFull):
        live.store.add(live.store.recent(1)[0], live.clock.now())


def test_watch_reports_each_change_in_order():
    import asyncio

    async def scenario() -> list[str]:
        engine = engine_with({"jobs": {"queue": "1s", "run": "2s"}})
        await engine.set_scale(0.01)
        job = submit(engine)
        seen: list[str] = []
        engine.watch(job, lambda j, state: seen.append(state))
        for _ in range(100):
            if seen and seen[-1] == SUCCEEDED:
                break
            await asyncio.sleep(0.01)
        await engine.timeline.stop()
        return seen

    assert asyncio.run(scenario()) == [QUEUED, RUNNING, SUCCEEDED]


def test_failed_jobs_give_their_cost_back_when_asked():
    engine = engine_with({"jobs": {"queue": "0s", "run": "10s", "failure_rate": {"internal": 1.0}, "fail_at": 0.5},
                          "limits": {"credits": 10}})

    def charge(refund: bool):
        request = JobRequest(provider="p", model="m", account="k", kind="t", cost=6, refund_failures=refund,
                             make_id=lambda rng: f"job{rng.getrandbits(48):x}")
        return done(engine.submit(request, engine.selector.active, queue_when_busy=True))

    charge(refund=True)
    assert done(engine.spent("p", "k")) == 6
    assert isinstance(charge(refund=True), OverLimit)  # not failed yet: still spent
    engine.clock.advance(6)
    assert done(engine.spent("p", "k")) == 0  # failed at 5 s: refunded
    charge(refund=False)
    engine.clock.advance(6)
    assert done(engine.spent("p", "k")) == 6  # failures that are charged stay charged


def test_a_clock_jump_runs_what_fell_due_before_it_returns():
    import asyncio

    async def scenario() -> list[str]:
        engine = engine_with({"jobs": {"queue": "10s", "run": "60s"}})
        seen: list[str] = []

        async def later() -> None:
            await asyncio.sleep(0)
            seen.append("coroutine")

        engine.timeline.at(30.0, lambda: seen.append("plain"))
        engine.timeline.at(40.0, later)
        engine.timeline.at(10_000.0, lambda: seen.append("not yet"))
        await engine.advance(100.0)
        ran = list(seen)  # no yield to the timeline's task in between
        await engine.timeline.stop()
        return ran

    assert asyncio.run(scenario()) == ["plain", "coroutine"]


def test_a_uuid_stream_gives_the_seeded_stream_s_ids_in_order_across_its_batches():
    from mockprovider.engine.rng import UuidStream, stream, uuid4_text

    rng = stream(11, "dialect", "request_ids")
    expected = [uuid4_text(rng) for _ in range(150)]
    ids = UuidStream(11, "dialect", "request_ids", batch=64)
    assert [ids.next() for _ in range(150)] == expected
    assert UuidStream(12, "dialect", "request_ids").next() != expected[0]
