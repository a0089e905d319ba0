"""The journal and the report across replicas: two servers on one real redis-server (``state=redis://...``);
requests to either show in the journal, the count and the report of both; the journal keeps its bound in Redis;
DELETE /__mock/requests and reset clear them for both."""

from __future__ import annotations

import time

import httpx
import pytest
from runway_client import KEY, client

from mockprovider.insight.journal import fingerprint
from mockprovider.testing import MockServer

SCALE = 0.01
OTHER = "key_" + "cd" * 64


@pytest.fixture(scope="module")
def pair(redis_server):
    assert redis_server.command("FLUSHALL").startswith(b"+OK")
    servers = [MockServer(profile="happy", time_scale=SCALE, journal_size=20, state=redis_server.url).start()
               for _ in range(2)]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(autouse=True)
def fresh(pair):
    for server in pair:
        assert server.admin("PUT", "/profile", {"profile": {"jobs": {"queue": "0s", "run": "20s"}},
                                                "name": "shared"}).status_code == 200
    assert pair[0].admin("POST", "/reset").status_code == 200
    for server in pair:
        server.admin("POST", "/clock", {"scale": SCALE})
        server.admin("PUT", "/profile", {"profile": {"jobs": {"queue": "0s", "run": "20s"}}, "name": "shared"})


def eventually(check, timeout: float = 15.0):
    """``check()``'s value once it is truthy (another replica's figures arrive within its next flush)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, "never became true"
            return value
        time.sleep(0.05)


def test_requests_to_either_replica_show_on_both(pair):
    a, b = pair
    task = client(a.url).image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png",
                                               ratio="1280:720", duration=5)
    done = task.wait_for_task_output(timeout=30)  # polled on A
    client(b.url, key=OTHER).organization.retrieve()
    client(b.url, key=OTHER).organization.retrieve()
    for server in (a, b):
        journal = eventually(lambda s=server: (j := s.admin("GET", "/requests").json())
                             and [r["endpoint"] for r in j["requests"]].count("account") == 2 and j)
        endpoints = [r["endpoint"] for r in journal["requests"]]
        assert endpoints[0] == "create" and endpoints[-2:] == ["account", "account"]
        assert {r["key"] for r in journal["requests"]} == {fingerprint(KEY), fingerprint(OTHER)}
        assert KEY not in str(journal) and OTHER not in str(journal)
        assert server.admin("GET", f"/requests/count?key={OTHER}").json() == {"count": 2}
        assert server.admin("GET", f"/requests/count?key={fingerprint(KEY)}&endpoint=status").json()["count"] >= 1
        assert server.admin("GET", f"/requests?job={done.id}&endpoint=create").json()["total"] == 1

    def both_seen(server):
        runway = server.admin("GET", "/report").json()["providers"].get("runway")
        return runway if runway and runway["jobs"]["succeeded"] == 1 and len(runway["keys"]) == 2 else None

    for server in (a, b):
        runway = eventually(lambda s=server: both_seen(s))
        assert runway["jobs"]["created"] == 1 and runway["cost_usd"] == pytest.approx(0.25)
        assert runway["keys"][fingerprint(OTHER)]["requests"] == 2
        polls = runway["keys"][fingerprint(KEY)]["polls_per_job"]
        assert polls["count"] == 1 and polls["mean"] >= 1
        assert runway["requests"] == runway["keys"][fingerprint(KEY)]["requests"] + 2


def test_the_journal_keeps_its_bound_in_redis_and_clears_for_both(pair):
    a, b = pair
    for server in (a, b) * 6:
        client(server.url).organization.retrieve()
        client(server.url).organization.retrieve()
    journal = eventually(lambda: (j := b.admin("GET", "/requests").json())["total"] + j["dropped"] == 24 and j)
    assert journal["total"] == 20 and journal["dropped"] == 4 and len(journal["requests"]) == 20  # size 20
    assert a.admin("GET", "/requests").json()["dropped"] == 4
    assert b.admin("DELETE", "/requests").status_code == 204
    assert a.admin("GET", "/requests/count").json() == {"count": 0}
    assert b.admin("GET", "/requests").json()["dropped"] == 0
    client(a.url).organization.retrieve()
    assert eventually(lambda: b.admin("GET", "/requests/count").json()["count"] == 1)


def test_reset_on_one_replica_clears_the_report_of_both(pair):
    a, b = pair
    client(b.url).organization.retrieve()
    eventually(lambda: "runway" in a.admin("GET", "/report").json()["providers"])
    assert a.admin("POST", "/reset").status_code == 200
    for server in (a, b):
        assert server.admin("GET", "/report").json()["providers"] == {}
        assert server.admin("GET", "/requests/count").json() == {"count": 0}
    time.sleep(0.3)  # B's next flushes: it cleared its own figures instead of bringing them back
    assert a.admin("GET", "/report").json()["providers"] == {}
    client(b.url).organization.retrieve()
    runway = eventually(lambda: a.admin("GET", "/report").json()["providers"].get("runway"))
    assert runway["requests"] == 1


def test_a_request_right_after_a_reset_is_kept_by_the_replica_that_heard_of_it(pair):
    """B hears of A's reset from the engine and must not clear, at its next flush, a request it served after the
    reset answered (it used to: the report's generation was bumped after the news went out)."""
    a, b = pair
    for attempt in range(5):
        client(b.url).organization.retrieve()
        assert a.admin("POST", "/reset").status_code == 200
        client(b.url).organization.retrieve()  # at once, before B's next flush
        runway = eventually(lambda: a.admin("GET", "/report").json()["providers"].get("runway"))
        time.sleep(0.25)  # B's flushes after it: still counted
        assert a.admin("GET", "/report").json()["providers"]["runway"]["requests"] == 1, attempt
        assert runway["requests"] == 1
        assert b.admin("GET", "/requests/count").json() == {"count": 1}


def test_a_reset_on_one_replica_makes_the_others_forget_their_own_dialect_state(pair):
    """Dialects' per-process state (ids drawn from the seed) restarts on every replica from the reset's new
    seed: the two replicas draw the same Seedance request ids again, as two fresh processes would."""
    a, b = pair

    def request_ids(server: MockServer) -> list[str]:
        url = f"{server.url}/api/v3/contents/generations/tasks/cgt-missing"
        return [httpx.get(url, headers={"Authorization": "Bearer ark-key"}).headers["x-request-id"][-24:]
                for _ in range(2)]

    request_ids(b)  # B's stream moves on; A's does not
    assert a.admin("POST", "/reset").status_code == 200
    time.sleep(0.2)  # B hears of the reset through Redis's pub/sub
    assert request_ids(a) == request_ids(b)


def test_served_replicas_share_the_journal_and_a_killed_one_keeps_its_counts(replicas):
    """``mockprovider serve`` processes as a user runs them: what a replica flushed outlives it (SIGKILL)."""
    served = replicas(2, args=["--profile", "happy"])
    a, b = served.urls
    client(a, key=OTHER).organization.retrieve()
    client(a, key=OTHER).organization.retrieve()
    client(b).organization.retrieve()

    def report_of(url: str) -> dict:
        return httpx.get(f"{url}/__mock/report", timeout=10).json()["providers"].get("runway") or {}

    runway = eventually(lambda: report_of(b).get("requests") == 3 and report_of(b))
    assert runway["keys"][fingerprint(OTHER)]["requests"] == 2
    assert httpx.get(f"{a}/__mock/requests/count?key={OTHER}").json() == {"count": 2}
    served.kill(0)
    runway = report_of(b)
    assert runway["requests"] == 3 and runway["keys"][fingerprint(OTHER)]["requests"] == 2
    assert httpx.get(f"{b}/__mock/requests/count").json() == {"count": 3}


def test_a_job_cancelled_on_the_other_replica_counts_as_cancelled(pair):
    """Created on A (whose ledger settles it), cancelled through B: A re-reads its jobs in flight and counts
    the cancel, with Runway's charge for it."""
    a, b = pair
    for server in pair:
        server.admin("PUT", "/profile", {"profile": {"jobs": {"queue": "0s", "run": "1h"}}, "name": "long"})
    task = client(a.url).image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png",
                                               ratio="1280:720", duration=5)
    client(b.url).tasks.delete(task.id)

    def cancelled(server):
        jobs = (server.admin("GET", "/report").json()["providers"].get("runway") or {}).get("jobs") or {}
        return jobs if jobs.get("cancelled") == 1 else None

    for server in pair:
        jobs = eventually(lambda s=server: cancelled(s))
        assert jobs["in_flight"] == 0 and jobs["succeeded"] == 0 and jobs["created"] == 1


def test_a_redis_outage_answers_503_and_the_figures_come_back(pair, redis_server):
    """While Redis is down the insight routes say so (503); once it returns (without its data) both replicas
    answer again with what they had (a restart is not a reset)."""
    a, b = pair
    client(a.url).organization.retrieve()
    redis_server.kill()
    try:
        for path in ("/report", "/requests", "/requests/count"):
            reply = a.admin("GET", path)
            assert reply.status_code == 503 and "Redis" in reply.json()["error"]
    finally:
        redis_server.start()
    # the journal records Redis held are gone with its data; each replica's figures are written again
    assert eventually(lambda: (b.admin("GET", "/report").json()["providers"].get("runway") or {}).get("requests")
                      == 1)
    assert b.admin("GET", "/requests/count").status_code == 200
