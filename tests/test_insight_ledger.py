"""The report's job figures kept incrementally (engine level, no server): jobs whose end moves after creation
are settled when they end, and the counters (peak concurrency, polls per job) equal what a walk of every job
gives."""

from __future__ import annotations

import math
import random
import time

import pytest

from mockprovider.engine.clock import Clock
from mockprovider.engine.engine import Engine, JobRequest
from mockprovider.engine.jobs import RUNNING
from mockprovider.engine.profile import ProfileLibrary
from mockprovider.engine.store import JobStore
from mockprovider.insight import report
from mockprovider.insight.journal import Record
from mockprovider.testing import done


def engine_with(profile: dict, store: JobStore | None = None) -> tuple[Engine, ProfileLibrary]:
    library = ProfileLibrary()
    engine = Engine(library=library, profile=library.load_inline(profile), seed=0, clock=Clock(scale=1.0),
                    store=store)
    return engine, library


def submit(engine: Engine, account: str = "k"):
    request = JobRequest(provider="p", model="m", account=account, kind="t", usage=None,
                         make_id=lambda rng: f"job{rng.getrandbits(48):x}")
    return done(engine.submit(request, engine.selector.for_key(account), queue_when_busy=True))


def poll(engine: Engine, job, key: str = "k") -> None:
    record = Record("p", "status", "GET", f"/t/{job.id}", time.monotonic())
    record.key, record.status, record.touched, record.job = key, 200, job, job.id
    engine.insight.observer.observe(record, engine.clock.now(), engine.clock.scale)


def jobs_figures(engine: Engine) -> dict:
    return report.build(engine)["providers"]["p"]["jobs"]


def settled(engine: Engine) -> int:
    """Succeeded jobs as a metrics scrape or the live page sees them (settling, no walk of jobs in flight)."""
    engine.insight.ledger.settle(engine.clock.now())
    return engine.insight.ledger.tally("p", "k").succeeded


@pytest.mark.parametrize("lifted_to", [1, None])
def test_a_job_waiting_forever_counts_once_a_limit_change_gives_it_a_slot(lifted_to):
    engine, library = engine_with({"jobs": {"queue": "0s", "run": "10s"}, "limits": {"concurrent_jobs": 0}})
    waiting = submit(engine)
    assert waiting.ends == math.inf
    done(engine.advance(100))
    limits = {"concurrent_jobs": lifted_to} if lifted_to else {}
    done(engine.activate(library.load_inline({"jobs": {"queue": "0s", "run": "10s"}, "limits": limits})))
    second = submit(engine)  # the account's slots are rebuilt: the waiting job gets one first
    assert waiting.admitted == pytest.approx(engine.clock.now(), abs=1)
    assert waiting.state(engine.clock.now())[0] == RUNNING
    done(engine.advance(25))
    assert second.ends <= engine.clock.now()
    assert settled(engine) == 2
    jobs = jobs_figures(engine)
    assert (jobs["succeeded"], jobs["in_flight"], jobs["created"]) == (2, 0, 2)
    assert jobs["throttled_s"] == pytest.approx(100 + (10 if lifted_to == 1 else 0), abs=0.1)


def test_a_re_admitted_job_that_leaves_the_store_before_any_report_still_counts():
    store = JobStore(max_jobs=2, retention=1e9)
    engine, library = engine_with({"jobs": {"queue": "0s", "run": "10s"}, "limits": {"concurrent_jobs": 0}},
                                  store)
    submit(engine)
    done(engine.activate(library.load_inline({"jobs": {"queue": "0s", "run": "10s"}})))
    submit(engine)
    done(engine.advance(20))
    for _ in range(2):  # the two finished jobs are evicted to make room
        submit(engine)
    assert len(store) == 2 and store.evicted == 2
    done(engine.advance(20))
    jobs = jobs_figures(engine)
    assert (jobs["created"], jobs["succeeded"], jobs["in_flight"]) == (4, 4, 0)


def test_counters_match_a_walk_of_every_job():
    """Random submissions, cancels, polls and clock steps over three keys with a concurrency limit: the
    report's peak concurrency and polls per job equal what the jobs themselves say."""
    rng = random.Random(7)
    engine, _ = engine_with({"jobs": {"queue": {"uniform": ["0s", "3s"]}, "run": {"uniform": ["1s", "20s"]}},
                             "limits": {"concurrent_jobs": 3}})
    jobs = []
    for _ in range(600):
        action = rng.random()
        key = rng.choice("abc")
        if action < 0.3:
            jobs.append(submit(engine, key))
        elif action < 0.75 and jobs:
            job = rng.choice(jobs[-20:])
            poll(engine, job, job.account)
        elif action < 0.8 and jobs:
            done(engine.cancel(rng.choice(jobs[-10:])))
        else:
            done(engine.advance(rng.uniform(0, 4)))
    out = report.build(engine)["providers"]["p"]
    now = engine.clock.now()

    def peak(spans):
        events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans if e != math.inf],
                        key=lambda e: (e[0], e[1]))
        live = best = 0
        for _, step in events:
            live += step
            best = max(best, live)
        return best

    assert out["jobs"]["created"] == len(jobs)
    assert out["jobs"]["in_flight"] == sum(1 for j in jobs if j.ends > now)
    assert out["jobs"]["peak_concurrent"] == peak([(j.created, j.ends) for j in jobs])
    for key in "abc":
        mine = [j for j in jobs if j.account == key]
        figures = next(v for k, v in out["keys"].items() if k == report.fingerprint(key))
        assert figures["jobs"]["peak_concurrent"] == peak([(j.created, j.ends) for j in mine])
        polls = sorted(j.polls for j in mine)
        assert figures["polls_per_job"]["count"] == len(mine)
        assert figures["polls_per_job"]["mean"] == pytest.approx(sum(polls) / len(mine))
        assert figures["polls_per_job"]["p50"] == polls[math.ceil(0.5 * len(polls)) - 1]
        assert figures["polls_per_job"]["p95"] == polls[math.ceil(0.95 * len(polls)) - 1]
