"""The shared webhook queue (webhooks/shared.py) on a real redis-server, with a real local receiver: several hubs
("replicas") claim from one queue, each event is received once, a hub that dies holding a lease has its delivery
made by another, a Redis restart is survived, a reset clears every replica's pending deliveries, a follow's
handshake gates it and its ticks go out between state changes, and max_pending_bytes bounds the queue as it bounds
the in-memory one."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time

import pytest
from webhook_receiver import WebhookReceiver

from mockprovider.engine.behaviour import WebhookFaults
from mockprovider.engine.clock import Clock
from mockprovider.engine.distributions import Fixed
from mockprovider.engine.engine import Engine
from mockprovider.engine.jobs import QUEUED, RUNNING, TERMINAL, THROTTLED, Job, Plan
from mockprovider.engine.profile import ProfileLibrary
from mockprovider.state import Backend
from mockprovider.webhooks import Handshake, StandardWebhooks, WebhookHub, WebhookPolicy

SCALE = 0.01
SECRET = StandardWebhooks("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
POLICY = WebhookPolicy(delay=Fixed(0.0), attempts=3, backoff=10.0, timeout=300.0, faults=WebhookFaults())


def render(job: Job, state: str, told: str | None, params: dict) -> list[tuple[str, dict]]:
    """A test provider's renderer: one event per state, from the job and the follow's parameters alone."""
    if state == QUEUED and told is not None:
        return []
    return [(state, {"id": job.id, "status": state, "tag": params["tag"], "told": told})]


TICK = 10.0  # engine seconds between two of the test ticker's events


def tick(job: Job, now: float, mark: int | None, params: dict) -> tuple[list, int | None, float]:
    """A test provider's ticker: one event every TICK engine seconds while the job runs, numbered."""
    state = job.state(now)[0]
    if state != RUNNING:
        return [], mark, job.started if state in (QUEUED, THROTTLED) else math.inf
    n = (mark or 0) + 1
    return [("tick", {"id": job.id, "n": n, "at": now})], n, now + TICK


def make_engine() -> Engine:
    library = ProfileLibrary()
    return Engine(library=library, profile=library.load_inline({"extends": "happy"}), seed=3,
                  clock=Clock(scale=SCALE))


def add_job(engine: Engine, n: int, queue: float = 100.0, run: float = 100.0) -> Job:
    now = engine.clock.now()
    job = Job(id=f"job{n}", provider="tests", model="m", account="k", kind="t", seq=n, created=now,
              plan=Plan(queue=queue, run=run, failure=None, fail_at=1.0, stuck=False))
    engine.store.add(job, now)
    return job


async def replica(engine: Engine, url: str) -> WebhookHub:
    backend = Backend(url)
    await backend.start()
    hub = WebhookHub(engine, state=backend)
    hub.register("tests", render, sign=lambda params: SECRET, tick=tick)
    await hub.start()
    return hub


async def stop(hub: WebhookHub) -> None:
    await hub.close()
    await hub.state.close()


async def crash(hub: WebhookHub) -> None:
    """Die as a SIGKILL would: every task stops where it is, nothing is acked or written."""
    shared = hub.shared
    for task in (*shared._tasks, *shared._lanes.values()):
        task.cancel()
    await asyncio.sleep(0.05)
    shared._tasks.clear()
    shared._lanes.clear()
    hub.shared = None
    await hub.close()
    await hub.state.close()


async def until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_two_replicas_deliver_each_event_once(redis_url):
    async def main():
        engine = make_engine()
        a, b = await replica(engine, redis_url), await replica(engine, redis_url)
        try:
            with WebhookReceiver() as receiver:
                jobs = [add_job(engine, n) for n in range(12)]
                for job in jobs:
                    a.follow(job, provider="tests", url=receiver.url(f"/{job.id}"), policy=POLICY,
                             params={"tag": job.id.upper()}, initial=QUEUED)
                await until(lambda: len(receiver.received) >= 36)
                await asyncio.sleep(0.2)  # nothing more comes
                got = [(r["path"], r["body"]["status"]) for r in receiver.received]
                assert sorted(got) == sorted((f"/{j.id}", s) for j in jobs
                                             for s in ("queued", "running", "succeeded"))
                for job in jobs:  # per-job order, and the renderer saw what it had told before
                    mine = [r["body"] for r in receiver.received if r["path"] == f"/{job.id}"]
                    assert [(m["status"], m["told"], m["tag"]) for m in mine] == [
                        ("queued", None, job.id.upper()), ("running", "queued", job.id.upper()),
                        ("succeeded", "running", job.id.upper())]
                for r in receiver.received:  # signed by the registered signer, whichever replica sent it
                    h = r["headers"]
                    assert h["webhook-signature"] == SECRET.signature(h["webhook-id"], int(h["webhook-timestamp"]),
                                                                      r["raw"])
                report = await b.report(outcome="delivered")
                assert len(report["attempts"]) == 36 and report["delivered"] == 36 and report["pending"] == 0
                assert {e["replica"] for e in report["attempts"]} == {a.shared.replica, b.shared.replica}
                assert (await a.report())["attempts"] == report["attempts"]
        finally:
            await stop(a)
            await stop(b)

    asyncio.run(main())


def test_a_replica_killed_holding_a_lease_is_taken_over(redis_url):
    async def main():
        engine = make_engine()
        a = await replica(engine, redis_url)
        b = None
        try:
            with WebhookReceiver(delays=[12.0]) as receiver:  # A's first POST hangs until A dies
                job = add_job(engine, 1, queue=1e6)
                a.follow(job, provider="tests", url=receiver.url(), policy=POLICY, params={"tag": "x"},
                         initial=QUEUED)
                await until(lambda: receiver.arrivals >= 1)
                await crash(a)
                b = await replica(engine, redis_url)
                started = time.monotonic()
                await until(lambda: len(receiver.received) >= 1, timeout=20)
                # the lease covered the attempt's timeout (300 engine s = 3 s) plus its margin
                assert time.monotonic() - started < 8
                report = await b.report(job=job.id)
                for _ in range(50):
                    if report["attempts"]:
                        break
                    await asyncio.sleep(0.02)
                    report = await b.report(job=job.id)
                assert [(e["event"], e["outcome"], e["replica"]) for e in report["attempts"]] == [
                    ("queued", "delivered", b.shared.replica)]
                assert b.shared.reclaimed == 1
                assert report["pending_bytes"] == 0  # what A counted and never saved was given back
        finally:
            if b is not None:
                await stop(b)

    asyncio.run(main())


def test_cancel_moves_pending_events_and_reset_clears_every_replica(redis_url):
    async def main():
        engine = make_engine()
        a, b = await replica(engine, redis_url), await replica(engine, redis_url)
        try:
            with WebhookReceiver() as receiver:
                job = add_job(engine, 1, queue=1e5)
                a.follow(job, provider="tests", url=receiver.url(), policy=POLICY, params={"tag": "x"},
                         initial=QUEUED)
                await until(lambda: len(receiver.received) >= 1)
                await engine.cancel(job)
                await until(lambda: len(receiver.received) >= 2)
                assert [r["body"]["status"] for r in receiver.received] == ["queued", "cancelled"]
                assert receiver.received[1]["body"]["status"] in TERMINAL
                # a follow waiting far ahead, then a reset on one replica: gone for both
                later = add_job(engine, 2, queue=1e5)
                b.follow(later, provider="tests", url=receiver.url(), policy=POLICY, params={"tag": "y"})
                await until(lambda: len(receiver.received) >= 3)
                assert (await a.report())["pending"] == 1
                b.reset()
                await asyncio.sleep(0.1)
                assert (await a.report()) | {"journal_size": 0} == (await b.report()) | {"journal_size": 0}
                assert (await a.report())["pending"] == 0 and (await a.report())["attempts"] == []
        finally:
            await stop(a)
            await stop(b)

    asyncio.run(main())


def test_a_redis_restart_is_survived(redis_server, redis_url):
    async def main():
        engine = make_engine()
        a = await replica(engine, redis_url)
        try:
            with WebhookReceiver() as receiver:
                redis_server.stop()
                job = add_job(engine, 1)
                a.follow(job, provider="tests", url=receiver.url(), policy=POLICY, params={"tag": "x"},
                         initial=QUEUED)
                await asyncio.sleep(0.3)  # the follow waits in this replica for Redis to return
                redis_server.start()
                await until(lambda: len(receiver.received) >= 3, timeout=20)
                assert [r["body"]["status"] for r in receiver.received] == ["queued", "running", "succeeded"]
        finally:
            await stop(a)

    asyncio.run(main())


def echo_when_asked(body) -> bytes | None:
    """The receiver's reply: a handshake's token echoed, unless its ``echo`` says not to."""
    if isinstance(body, dict) and "token" in body:
        return json.dumps({"token": body["token"] if body["echo"] else "no"}).encode()
    return None


def handshake(echo: bool) -> Handshake:
    return Handshake("hello", {"token": "t0k", "echo": echo}, expect={"token": "t0k"}, timeout=100.0)


def test_a_handshake_gates_the_follow_and_ticks_go_out_between_states(redis_url):
    async def main():
        engine = make_engine()
        a, b = await replica(engine, redis_url), await replica(engine, redis_url)
        try:
            with WebhookReceiver(reply=echo_when_asked) as receiver:
                passed, failed = add_job(engine, 1, queue=20.0, run=60.0), add_job(engine, 2, queue=20.0, run=60.0)
                a.follow(passed, provider="tests", url=receiver.url("/ok"), policy=POLICY, params={"tag": "x"},
                         initial=QUEUED, handshake=handshake(True), ticks=POLICY)
                b.follow(failed, provider="tests", url=receiver.url("/no"), policy=POLICY, params={"tag": "y"},
                         initial=QUEUED, handshake=handshake(False), ticks=POLICY)
                await until(lambda: any(r["body"].get("status") == "succeeded" for r in receiver.received))
                await until(lambda: engine.clock.now() > failed.ends + 20)
                ok = [r["body"] for r in receiver.received if r["path"] == "/ok"]
                assert ok[0] == {"token": "t0k", "echo": True}
                assert [(m["status"], m["told"]) for m in ok[1:3]] == [("queued", None), ("running", "queued")]
                ticks, last = ok[3:-1], ok[-1]
                assert last["status"] == "succeeded" and 1 <= len(ticks) <= 6
                assert [t["n"] for t in ticks] == list(range(1, len(ticks) + 1))
                assert all(later["at"] - sooner["at"] >= TICK for sooner, later in itertools.pairwise(ticks))
                assert all(passed.started <= t["at"] < passed.ends for t in ticks)
                # a handshake that is not passed: nothing else is ever sent
                assert [r["body"] for r in receiver.received if r["path"] == "/no"] == [
                    {"token": "t0k", "echo": False}]
                [attempt] = (await b.report(job=failed.id))["attempts"]
                assert attempt["event"] == "hello" and attempt["outcome"] == "gave_up"
                assert "did not pass the check" in attempt["error"]
                assert (await a.report())["pending"] == 0
        finally:
            await stop(a)
            await stop(b)

    asyncio.run(main())


LIMIT = 300  # max_pending_bytes in the test below


def padded(size: int) -> dict:
    """A payload of exactly ``size`` bytes once JSON-encoded."""
    return {"pad": "x" * (size - 10)}


def test_max_pending_bytes_bounds_the_shared_queue_as_in_memory(redis_url):
    """The same sequence on a memory hub and on two shared hubs: the same deliveries are dropped, the same bytes
    wait, on every replica; a rendered event that does not fit is dropped like a delivery that does not."""
    async def scenario(hubs: list[WebhookHub], receiver: WebhookReceiver) -> tuple:
        engine = hubs[0].engine
        first, other = hubs[0], hubs[-1]
        for hub in hubs:
            hub.max_pending_bytes = LIMIT

        async def settled(check) -> None:
            for hub in hubs:
                if hub.shared is not None:
                    await hub.shared._flush()
            reports = []

            async def look():
                reports[:] = [await hub.report() for hub in hubs]
                return check(reports[0]) and all(r["pending_bytes"] == reports[0]["pending_bytes"] for r in reports)

            deadline = time.monotonic() + 10
            while not await look():
                assert time.monotonic() < deadline, reports
                await asyncio.sleep(0.02)

        def later(hub, size):
            return hub.deliver(provider="tests", job="parked", event=f"e{size}", url=receiver.url(),
                               payload=padded(size), policy=POLICY, delay=1e6)

        later(first, 100)
        later(other, 100)
        await settled(lambda r: r["pending_bytes"] == 200)
        big = add_job(engine, 1, queue=1e6)  # its "queued" event (150 bytes) cannot wait beside 200
        small = add_job(engine, 2, queue=1e6)
        tag = "x" * (150 - len(json.dumps(render(big, QUEUED, None, {"tag": ""})[0][1], separators=(",", ":"))))
        first.follow(big, provider="tests", url=receiver.url(), policy=POLICY, params={"tag": tag}, initial=QUEUED)
        other.follow(small, provider="tests", url=receiver.url(), policy=POLICY, params={"tag": "s"},
                     initial=QUEUED)
        await settled(lambda r: r["dropped"] == 1 and r["delivered"] == 1 and r["pending_bytes"] == 200)
        later(other, 150)  # 350 > 300: dropped
        later(first, 100)  # exactly 300: waits
        await settled(lambda r: r["dropped"] == 2 and r["pending_bytes"] == 300)
        report = await other.report()
        outcome = (report["pending_bytes"], sorted((e["job"], e["event"], e["outcome"], e["error"])
                                                   for e in report["attempts"]))
        first.reset()
        await settled(lambda r: r["pending_bytes"] == 0)
        return outcome

    async def main():
        with WebhookReceiver() as receiver:
            alone = WebhookHub(make_engine())
            alone.register("tests", render)
            await alone.start()
            try:
                in_memory = await scenario([alone], receiver)
            finally:
                await alone.close()
            engine = make_engine()
            a, b = await replica(engine, redis_url), await replica(engine, redis_url)
            try:
                shared = await scenario([a, b], receiver)
            finally:
                await stop(a)
                await stop(b)
        assert in_memory == shared
        full = "dropped: delivery queue full or sender stopped"
        assert shared == (300, [("job1", "queued", "dropped", full), ("job2", "queued", "delivered", None),
                                ("parked", "e150", "dropped", full)])

    asyncio.run(main())


def test_retries_wait_backoff_times_growth_in_the_shared_queue(redis_url):
    """A follow's and a one-off delivery's retries, queued in Redis: 10, 20 engine seconds with the default growth
    (doubling), 10, 10 with a growth of 1 (evenly spaced, as Luma's)."""
    async def main():
        engine = make_engine()
        a = await replica(engine, redis_url)
        try:
            for growth, waits in ((2.0, [0.1, 0.2]), (1.0, [0.1, 0.1])):
                policy = WebhookPolicy(delay=Fixed(0.0), attempts=3, backoff=10.0, timeout=300.0,
                                       faults=WebhookFaults(), growth=growth)
                job = add_job(engine, int(growth * 10), queue=1e6)
                with WebhookReceiver([500, 503]) as follows, WebhookReceiver([500, 503]) as once:
                    a.follow(job, provider="tests", url=follows.url(), policy=policy, params={"tag": "t"},
                             initial=QUEUED)
                    a.deliver(provider="tests", job=job.id, event="once", url=once.url(), payload={"n": 1},
                              policy=policy)
                    await until(lambda: len(follows.received) >= 3 and len(once.received) >= 3)
                deadline = time.monotonic() + 15  # the third attempt's outcome is noted once its answer is read
                while True:
                    report = await a.report(job=job.id)
                    if sum(e["outcome"] == "delivered" for e in report["attempts"]) >= 2:
                        break
                    assert time.monotonic() < deadline, report
                    await asyncio.sleep(0.02)
                for got in (follows.received, once.received):  # the attempts really wait so long (or longer)
                    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(got[:3])]
                    assert all(gap >= wait * 0.9 for gap, wait in zip(gaps, waits, strict=True)), (gaps, waits)
                for event in ("queued", "once"):
                    tries = [e for e in report["attempts"] if e["event"] == event]
                    assert [e["attempt"] for e in tries] == [1, 2, 3] and tries[-1]["outcome"] == "delivered"
                    assert [e["retry_in_seconds"] for e in tries[:2]] == [pytest.approx(w) for w in waits]
        finally:
            await stop(a)

    asyncio.run(main())
