"""Replicate's webhooks from a real mockprovider server to a real local receiver, each signature checked by the
replicate SDK's own ``Webhooks.validate``."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest
import replicate
from replicate.webhook import InvalidSignatureError, WebhookSigningSecret
from webhook_receiver import WebhookReceiver

from mockprovider.testing import MockServer

TOKEN = "r8_" + "w" * 37


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.02, seed=5) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(server, monkeypatch):
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")
    assert server.admin("POST", "/reset").status_code == 200


@pytest.fixture
def receiver():
    with WebhookReceiver() as r:
        yield r


def client(server) -> replicate.Client:
    return replicate.Client(api_token=TOKEN, base_url=server.url)


def profile(server, body: dict) -> None:
    reply = server.admin("PUT", "/profile", {"profile": body})
    assert reply.status_code == 200, reply.json()


def validate(c: replicate.Client, delivery: dict, secret: WebhookSigningSecret) -> None:
    """The SDK's own check (it returns None, or raises)."""
    assert c.webhooks.validate(headers=delivery["headers"], body=delivery["raw"].decode(), secret=secret,
                               tolerance=60) is None


def until_final(receiver: WebhookReceiver, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        received = receiver.wait_for(1, timeout)
        if received[-1]["body"]["status"] in ("succeeded", "failed", "canceled"):
            return received
        assert time.monotonic() < deadline, received
        time.sleep(0.01)


def test_default_filter_sends_one_signed_final_webhook(server, receiver):
    c = client(server)
    prediction = c.predictions.create(model="luma/ray", input={"prompt": "x"}, webhook=receiver.url())
    prediction.wait()
    [delivery] = receiver.wait_for(1)
    body = delivery["body"]
    assert body["id"] == prediction.id and body["status"] == "succeeded"
    assert body["webhook"] == receiver.url() and body["webhook_events_filter"] == ["output", "completed"]
    polled = httpx.get(prediction.urls["get"], headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert {k: v for k, v in body.items() if k != "output"} == {k: v for k, v in polled.items() if k != "output"}
    assert httpx.URL(body["output"]).path == httpx.URL(polled["output"]).path
    assert delivery["headers"]["content-type"] == "application/json"
    secret = c.webhooks.default.secret()
    validate(c, delivery, secret)
    tampered = {**delivery, "raw": delivery["raw"].replace(b"succeeded", b"failed")}
    with pytest.raises(InvalidSignatureError):
        validate(c, tampered, secret)
    other = replicate.Client(api_token="r8_" + "z" * 37, base_url=server.url).webhooks.default.secret()
    with pytest.raises(InvalidSignatureError):
        validate(c, delivery, other)


def test_start_logs_and_completed_with_logs_throttled(server, receiver):
    # the clock stands still and moves by hand a quarter of the throttle at a time: however loaded the machine,
    # only the throttle decides which logs webhooks go out
    profile(server, {"jobs": {"queue": "1s", "run": "10s"}})  # veo-3 logs 50 steps: one every 0.2 s
    assert server.admin("POST", "/clock", {"scale": 1e6}).status_code == 200
    c = client(server)
    prediction = c.predictions.create(model="google/veo-3", input={"prompt": "x", "duration": 4},
                                      webhook=receiver.url("/r?x=1"),
                                      webhook_events_filter=["start", "logs", "completed"])
    for _ in range(46):  # 11.5 s: past the end
        assert server.admin("POST", "/clock", {"advance": 0.25}).status_code == 200
    received = until_final(receiver)
    secret = c.webhooks.default.secret()
    for delivery in received:
        assert delivery["path"] == "/r?x=1"
        validate(c, delivery, secret)
    statuses = [d["body"]["status"] for d in received]
    assert statuses[0] == "starting" and received[0]["body"]["logs"] == ""
    assert statuses[-1] == "succeeded" and received[-1]["body"]["id"] == prediction.id
    logs = received[1:-1]
    assert logs and {d["body"]["status"] for d in logs} == {"processing"}
    steps = [replicate.prediction.Prediction.Progress.parse(d["body"]["logs"]).current for d in logs]
    # at most one logs webhook per 0.5 engine seconds (2.5 steps), not one per 0.2 s step, and one as soon as
    # the throttle allows while the logs grow: about 20 over the 10 s run
    assert steps[0] == 0 and all(later - sooner >= 2 for sooner, later in itertools.pairwise(steps)), steps
    assert 18 <= len(logs) <= 21, steps
    journal = server.admin("GET", f"/webhooks?provider=replicate&job={prediction.id}").json()["attempts"]
    assert [(a["event"], a["max_attempts"]) for a in journal] == [
        ("start", 1), *[("logs", 1)] * len(logs), ("completed", 5)]  # only the final webhook is retried
    assert len({d["headers"]["webhook-id"] for d in received}) == len(received)


def test_only_the_final_webhook_is_retried(server):
    with WebhookReceiver(statuses=[503, 500]) as receiver:
        c = client(server)
        prediction = c.predictions.create(model="luma/ray", input={"prompt": "x"}, webhook=receiver.url(),
                                          webhook_events_filter=["start", "completed"])
        prediction.wait()
        received = receiver.wait_for(3)
        assert [(d["body"]["status"], d["status"]) for d in received] == [
            ("starting", 503), ("succeeded", 500), ("succeeded", 200)]
        assert received[1]["headers"]["webhook-id"] == received[2]["headers"]["webhook-id"]
        assert received[0]["headers"]["webhook-id"] != received[1]["headers"]["webhook-id"]
        journal = server.admin("GET", "/webhooks?provider=replicate").json()
        assert [a["outcome"] for a in journal["attempts"]] == ["gave_up", "retrying", "delivered"]


def test_webhook_completed_and_cancellation(server, receiver):
    profile(server, {"jobs": {"queue": "0s", "run": "500s"}})
    c = client(server)
    prediction = c.predictions.create(model="luma/ray", input={"prompt": "x"}, webhook_completed=receiver.url())
    prediction.cancel()
    [delivery] = receiver.wait_for(1, timeout=5)  # now, not when the 500 s run would have ended (10 s real)
    assert delivery["body"]["status"] == "canceled" and delivery["body"]["webhook_events_filter"] == ["completed"]
    validate(c, delivery, c.webhooks.default.secret())


def test_a_failed_prediction_sends_completed_but_not_output(server, receiver):
    profile(server, {"jobs": {"failure_rate": {"internal": 1.0}}})
    c = client(server)
    failed = c.predictions.create(model="luma/ray", input={"prompt": "x"}, webhook=receiver.url("/a"),
                                  webhook_events_filter=["output"])
    done = c.predictions.create(model="luma/ray", input={"prompt": "x"}, webhook=receiver.url("/b"),
                                webhook_events_filter=["completed"])
    failed.wait()
    done.wait()
    [delivery] = receiver.wait_for(1)
    assert delivery["path"] == "/b" and delivery["body"]["status"] == "failed"
    assert delivery["body"]["error"] == "Prediction interrupted; please retry (code: PA)"


def test_prefer_wait_with_a_webhook_still_answers_the_finished_prediction(server, receiver):
    out = client(server).run("luma/ray", input={"prompt": "x"}, webhook=receiver.url())
    assert out.startswith(server.url)
    [delivery] = receiver.wait_for(1)
    assert httpx.URL(delivery["body"]["output"]).path == httpx.URL(out).path


def test_a_profile_secret_signs_and_is_served(server, receiver):
    key = "whsec_" + "C2FtcGxlc2VjcmV0MTIzNDU2Nzg5MA=="
    profile(server, {"providers": {"replicate": {"auth": {"webhook_secret": key}}}})
    c = client(server)
    assert c.webhooks.default.secret().key == key
    c.predictions.create(model="luma/ray", input={"prompt": "x"}, webhook=receiver.url()).wait()
    [delivery] = receiver.wait_for(1)
    validate(c, delivery, WebhookSigningSecret(key=key))
