"""The shared webhook queue (webhooks/shared.py) on a real redis-server, with a real local receiver: several hubs
("replicas") claim from one queue, each event is received once, a hub that dies holding a lease has its delivery
made by another, a Redis restart is survived, a reset clears every replica's pending deliveries."""

from __future__ import annotations

import asyncio
import time

from webhook_receiver import WebhookReceiver

from mockprovider.engine.behaviour import WebhookFaults
from mockprovider.engine.clock import Clock
from mockprovider.engine.distributions import Fixed
from mockprovider.engine.engine import Engine
from mockprovider.engine.jobs import QUEUED, TERMINAL, Job, Plan
from mockprovider.engine.profile import ProfileLibrary
from mockprovider.state import Backend
from mockprovider.webhooks import StandardWebhooks, WebhookHub, WebhookPolicy

SCALE = 0.01
SECRET = StandardWebhooks("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
POLICY = WebhookPolicy(delay=Fixed(0.0), attempts=3, backoff=10.0, timeout=300.0, faults=WebhookFaults())


def render(job: Job, state: str, told: str | None, params: dict) -> list[tuple[str, dict]]:
    """A test provider's renderer: one event per state, from the job and the follow's parameters alone."""
    if state == QUEUED and told is not None:
        return []
    return [(state, {"id": job.id, "status": state, "tag": params["tag"], "told": told})]


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
    hub.register("tests", render, sign=lambda params: SECRET)
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
