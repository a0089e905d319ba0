"""Kling's callbacks reach a real local receiver: flat task bodies, in order, retried after a failure, delayed
as the profile says, and every attempt in the admin journal."""

from __future__ import annotations

import time

import httpx
import pytest
from kling_client import Receiver, probe_mp4

from mockprovider.testing import MockServer

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
BODY = {"model_name": "kling-v2-6", "prompt": "a cat", "duration": "5", "mode": "std"}
ORDER = ["submitted", "processing", "succeed"]


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=3) as s:
        yield s


def use_callbacks(server: MockServer, **callbacks) -> None:
    profile = {"extends": "happy", "callbacks": {"delay": "0s", "backoff": "2s", "max_attempts": 3, **callbacks}}
    assert server.admin("PUT", "/profile", json={"profile": profile}).status_code == 200


def journal(server: MockServer, task_id: str) -> list[dict]:
    return server.admin("GET", "/kling/callbacks", params={"task_id": task_id}).json()["attempts"]


def test_each_state_change_is_posted_in_order_with_the_flat_body(server, kling):
    use_callbacks(server)
    with Receiver() as receiver:
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url, "external_task_id": "cb-1"})
        receiver.wait_for(lambda: len(receiver.accepted()) >= 3)
        time.sleep(0.1)  # nothing more should come
        bodies = receiver.accepted()
    assert [b["task_status"] for b in bodies] == ORDER
    assert all(b["task_id"] == task["task_id"] and "code" not in b for b in bodies)
    assert all(b["task_info"] == {"external_task_id": "cb-1"} for b in bodies)
    assert receiver.received[0]["content_type"] == "application/json"
    final = bodies[-1]
    assert final["updated_at"] >= bodies[0]["created_at"] and final["final_unit_deduction"] == "1.5"
    [video] = final["task_result"]["videos"]
    assert video["duration"] == "5"
    info = probe_mp4(httpx.get(video["url"], timeout=20).content)
    assert (info["width"], info["height"]) == (1280, 720)
    attempts = journal(server, task["task_id"])
    assert [(a["task_status"], a["attempt"], a["http_status"], a["delivered"]) for a in attempts] == [
        (s, 1, 200, True) for s in ORDER]


def test_a_failed_delivery_is_retried_and_order_is_kept(server, kling):
    use_callbacks(server)
    with Receiver(fail_first=1) as receiver:
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url})
        receiver.wait_for(lambda: len(receiver.accepted()) >= 3)
        received = list(receiver.received)
    assert [(r["status"], r["body"]["task_status"]) for r in received] == [
        (500, "submitted"), (200, "submitted"), (200, "processing"), (200, "succeed")]
    attempts = journal(server, task["task_id"])
    assert [(a["task_status"], a["attempt"], a["http_status"], a["delivered"]) for a in attempts] == [
        ("submitted", 1, 500, False), ("submitted", 2, 200, True), ("processing", 1, 200, True),
        ("succeed", 1, 200, True)]
    assert attempts[0]["retry_in_seconds"] == pytest.approx(0.02)  # 2 s of engine time at scale 0.01


def test_deliveries_give_up_after_the_profile_attempts(server, kling):
    use_callbacks(server, max_attempts=2)
    with Receiver(always_fail=True) as receiver:
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url})
        receiver.wait_for(lambda: len(receiver.received) >= 6)
        time.sleep(0.15)
        assert len(receiver.received) == 6
    attempts = journal(server, task["task_id"])
    assert [(a["task_status"], a["attempt"]) for a in attempts] == [
        (s, n) for s in ORDER for n in (1, 2)]
    assert not any(a["delivered"] for a in attempts)
    summary = server.admin("GET", "/kling/callbacks").json()
    assert summary["failed"] == 3 and summary["pending"] == 0
    assert server.admin("POST", "/reset").status_code in (200, 204)
    assert server.admin("GET", "/kling/callbacks").json()["attempts"] == []


def test_an_unreachable_receiver_is_journaled_not_fatal(server, kling):
    use_callbacks(server, max_attempts=1)
    with Receiver() as receiver:
        url = receiver.url
    task = kling.create("text2video", {**BODY, "callback_url": url})
    deadline = time.monotonic() + 10
    while len(journal(server, task["task_id"])) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    attempts = journal(server, task["task_id"])
    assert all(a["http_status"] is None and a["error"] for a in attempts)
    assert kling.wait("text2video", task["task_id"])["task_status"] == "succeed"


def test_the_delivery_delay_comes_from_the_profile_and_never_blocks_requests(server, kling):
    use_callbacks(server, delay="40s")  # 0.4 s of real time at scale 0.01
    with Receiver() as receiver:
        started = time.monotonic()
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url})
        assert time.monotonic() - started < 0.3
        assert kling.query("text2video", task["task_id"])["task_status"] in ("submitted", "processing", "succeed")
        assert receiver.received == []
        receiver.wait_for(lambda: len(receiver.accepted()) >= 1)
        assert time.monotonic() - started >= 0.35
        receiver.wait_for(lambda: len(receiver.accepted()) >= 3)
        assert [b["task_status"] for b in receiver.accepted()] == ORDER


def test_failed_tasks_are_posted_with_their_reason(server, kling):
    profile = {"extends": "happy", "jobs": {"failure_rate": {"content_policy": 1.0}},
               "callbacks": {"delay": "0s", "max_attempts": 1}}
    assert server.admin("PUT", "/profile", json={"profile": profile}).status_code == 200
    with Receiver() as receiver:
        kling.create("image2video", {"model_name": "kling-v2-5-turbo", "image": "https://example.com/cat.png",
                                     "callback_url": receiver.url})
        receiver.wait_for(lambda: receiver.accepted() and receiver.accepted()[-1]["task_status"] == "failed")
        final = receiver.accepted()[-1]
    assert "risk control" in final["task_status_msg"] and final["task_result"] == {}
