"""Luma's and MiniMax's callbacks reach a real local receiver through the engine's webhook module: Luma posts the
Generation at dreaming and at the end, retried on a non-2xx; MiniMax validates the URL with its challenge first,
then posts the query body with a lower-case status."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import lumaai
import pytest
from lumaai.types import Generation
from minimax_client import MiniMax
from test_minimax_api import decode
from webhook_receiver import WebhookReceiver

from mockprovider.testing import MockServer

LUMA_KEY = "luma-test-0123"
MINIMAX_KEY = "sk-api-test-0123"


def challenge_receiver(statuses: list[int] | None = None, echo: bool = True) -> WebhookReceiver:
    """The shared receiver, echoing a MiniMax challenge (or a wrong one when ``echo`` is off)."""
    def reply(body: Any) -> bytes | None:
        if isinstance(body, dict) and "challenge" in body:
            return json.dumps({"challenge": body["challenge"] if echo else "wrong"}).encode()
        return None

    return WebhookReceiver(statuses, reply=reply, path="/callback")


def settled(receiver: WebhookReceiver, count: int, timeout: float = 15.0) -> list[Any]:
    """The accepted bodies once ``count`` came, and a moment more to see that nothing else follows."""
    receiver.wait_until(lambda: len(receiver.accepted()) >= count, timeout)
    time.sleep(0.1)
    return receiver.accepted()


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=21) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(server):
    assert server.admin("POST", "/reset").status_code in (200, 204)


def profile(server: MockServer, body: dict) -> None:
    r = server.admin("PUT", "/profile", json={"profile": {"extends": "happy", **body}})
    assert r.status_code == 200, r.text


def journal(server: MockServer, provider: str, job: str) -> list[dict]:
    reply = httpx.get(f"{server.url}/__mock/webhooks", params={"provider": provider, "job": job})
    return reply.json()["attempts"]


def luma(server: MockServer) -> lumaai.LumaAI:
    return lumaai.LumaAI(auth_token=LUMA_KEY, base_url=f"{server.url}/dream-machine/v1")


def test_luma_posts_the_generation_when_dreaming_and_when_completed(server):
    with challenge_receiver() as receiver:
        created = luma(server).generations.create(model="ray-2", prompt="a whale", resolution="540p",
                                                  callback_url=receiver.url())
        bodies = settled(receiver, 2)
    generations = [Generation.model_validate(b) for b in bodies]
    assert [(g.id, g.state) for g in generations] == [(created.id, "dreaming"), (created.id, "completed")]
    assert generations[0].assets is None and generations[1].request.callback_url == receiver.url()
    assert decode(httpx.get(generations[1].assets.video, timeout=30).content) == (960, 540, 5.0)
    assert receiver.received[0]["content_type"] == "application/json"
    assert [(a["event"], a["outcome"]) for a in journal(server, "luma", created.id)] == [
        ("dreaming", "delivered"), ("completed", "delivered")]


def test_luma_posts_failed_with_the_reason(server):
    profile(server, {"jobs": {"failure_rate": {"internal": 1.0}, "fail_at": 0.5}})
    with challenge_receiver() as receiver:
        luma(server).generations.create(model="ray-2", prompt="a whale", callback_url=receiver.url())
        bodies = settled(receiver, 2)
    assert [(b["state"], b["failure_reason"]) for b in bodies] == [("dreaming", None), ("failed", "Job failed")]


def test_luma_retries_a_refused_callback_three_times_100ms_apart(server):
    with challenge_receiver(statuses=[500, 503]) as receiver:
        created = luma(server).generations.create(model="ray-2", prompt="a whale", callback_url=receiver.url())
        settled(receiver, 2)
        assert [(r["status"], r["body"]["state"]) for r in receiver.received] == [
            (500, "dreaming"), (503, "dreaming"), (200, "dreaming"), (200, "completed")]
    attempts = journal(server, "luma", created.id)
    assert [(a["event"], a["attempt"], a["outcome"]) for a in attempts] == [
        ("dreaming", 1, "retrying"), ("dreaming", 2, "retrying"), ("dreaming", 3, "delivered"),
        ("completed", 1, "delivered")]
    assert attempts[0]["max_attempts"] == 4  # Luma: 3 retries
    # 100 ms of engine time at scale 0.01, evenly: Luma's retries are 100 ms apart (the profile's growth: 1)
    assert [a["retry_in_seconds"] for a in attempts[:2]] == [pytest.approx(0.001), pytest.approx(0.001)]


def test_minimax_validates_with_the_challenge_then_posts_lower_case_updates(server):
    with challenge_receiver() as receiver, MiniMax(MINIMAX_KEY, server.url) as mm:
        task_id = mm.create("MiniMax-Hailuo-2.3", "a cat", callback_url=receiver.url())
        bodies = settled(receiver, 3)
        assert set(bodies[0]) == {"challenge"} and len(bodies[0]["challenge"]) >= 16
        assert [(b["task_id"], b["status"]) for b in bodies[1:]] == [(task_id, "processing"), (task_id, "success")]
        final = bodies[2]
        assert final["base_resp"] == {"status_code": 0, "status_msg": "success"}
        assert final == {**mm.query(task_id), "status": "success"}
        assert decode(mm.download(mm.retrieve(final["file_id"])["download_url"])) == (1366, 768, 6.0)
    assert [(a["event"], a["outcome"]) for a in journal(server, "minimax", task_id)] == [
        ("challenge", "delivered"), ("processing", "delivered"), ("success", "delivered")]


def test_minimax_sends_no_updates_when_the_challenge_is_not_echoed(server):
    with challenge_receiver(echo=False) as receiver, MiniMax(MINIMAX_KEY, server.url) as mm:
        task_id = mm.create("MiniMax-Hailuo-2.3", "a cat", callback_url=receiver.url())
        settled(receiver, 1)
        mm.wait(task_id)
        time.sleep(0.2)
        assert len(receiver.received) == 1 and "challenge" in receiver.received[0]["body"]
    [attempt] = journal(server, "minimax", task_id)
    assert attempt["event"] == "challenge" and attempt["outcome"] == "gave_up"
    assert "did not pass the check" in attempt["error"]


def test_minimax_posts_failed(server):
    profile(server, {"jobs": {"failure_rate": {"content_policy": 1.0}, "fail_at": 0.5}})
    with challenge_receiver() as receiver, MiniMax(MINIMAX_KEY, server.url) as mm:
        task_id = mm.create("MiniMax-Hailuo-02", "a cat", callback_url=receiver.url())
        bodies = settled(receiver, 3)
    assert [b["status"] for b in bodies[1:]] == ["processing", "failed"]
    assert bodies[2]["task_id"] == task_id and bodies[2]["base_resp"]["status_code"] == 1027
