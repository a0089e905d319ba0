"""Webhooks from two ``mockprovider serve`` replicas on one real redis-server, to real local receivers: Kling
tasks created on one replica have each callback received exactly once, whichever replica sends it, and when the
replica that created the jobs is SIGKILLed mid-delivery (slow receivers) the other makes what it held: a Kling
callback, MiniMax's callback challenge and the updates it gates, Replicate's logs webhooks and the final one."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pytest
import replicate
from kling_client import Kling
from minimax_client import MiniMax
from replicas import Replicas, admin, until
from webhook_receiver import WebhookReceiver

SCALE = 0.02  # engine seconds run 50 times faster
BODY = {"model_name": "kling-v1", "prompt": "a lighthouse"}
STATUSES = ("submitted", "processing", "succeed")
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture(scope="module")
def group(redis_server):
    with Replicas(2, redis_server.url, args=["--profile", "happy", "--time-scale", str(SCALE)]) as replicas:
        yield replicas


@pytest.fixture(autouse=True)
def clean(group):
    group.heal_and_reset()





def create(url: str, callback: str) -> str:
    reply = Kling(url).post("/v1/videos/text2video", {**BODY, "callback_url": callback})
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["task_id"]


def test_tasks_made_on_one_replica_have_each_callback_received_once(group):
    a, b = group.urls
    group.use_profile({"extends": "happy", "callbacks": {"delay": "0s"},
                        "jobs": {"queue": "2s", "run": "6s"}}, "hooks")
    with WebhookReceiver() as receiver:
        ids = [create(a, receiver.url(f"/{n}")) for n in range(6)]
        receiver.wait_for(len(ids) * len(STATUSES), timeout=30)
        time.sleep(0.5)  # nothing more comes
        got = Counter((r["body"]["task_id"], r["body"]["task_status"]) for r in receiver.received)
    assert got == {(task, status): 1 for task in ids for status in STATUSES}
    for task in ids:
        mine = [r["body"]["task_status"] for r in receiver.received if r["body"]["task_id"] == task]
        assert mine == list(STATUSES)
    journals = [admin(url, "GET", "/webhooks?outcome=delivered").json() for url in (a, b)]
    assert journals[0]["attempts"] == journals[1]["attempts"]
    assert journals[1]["delivered"] == len(ids) * len(STATUSES) and journals[1]["pending"] == 0


def echo_challenge(body) -> bytes | None:
    if isinstance(body, dict) and "challenge" in body:
        return json.dumps({"challenge": body["challenge"]}).encode()
    return None


def test_the_creating_replica_killed_mid_delivery_loses_no_webhook(group):
    """B is stopped (SIGSTOP) while A creates a Kling task, a MiniMax task and a Replicate prediction, so A holds
    all three; A is SIGKILLed while slow receivers hold its Kling callback and its MiniMax challenge, and while
    Replicate's logs flow. B (SIGCONT) takes each over once its lease lapses: the Kling callback and the
    challenge are sent again, then the updates the challenge gates, and the logs go on in order, then
    completed."""
    creator, other = group
    group.use_profile({"extends": "happy", "callbacks": {"delay": "0s"}, "jobs": {"queue": "0s", "run": "250s"},
                        # Kling's attempts may take 150 engine s (3 s real): the holder's lease is that plus 2 s
                        "providers": {"kling": {"callbacks": {"timeout": "150s"}}}},
                "mid-way")  # a 5 s run (real); veo-3's 50 logs steps: one every 0.1 s
    with (WebhookReceiver(delays=[20.0]) as kling,  # the first POST hangs past the holder's death
          WebhookReceiver(delays=[20.0], reply=echo_challenge) as minimax,
          WebhookReceiver() as predictions):
        other.process.send_signal(signal.SIGSTOP)
        try:
            kling_task = create(creator.url, kling.url())
            with MiniMax("sk-api-replicas", creator.url) as mm:
                task = mm.create("MiniMax-Hailuo-2.3", "a cat", callback_url=minimax.url())
            prediction = replicate.Client(api_token="r8_" + "q" * 37, base_url=creator.url).predictions.create(
                model="google/veo-3", input={"prompt": "x", "duration": 4}, webhook=predictions.url(),
                webhook_events_filter=["start", "logs", "completed"])
            until(lambda: kling.arrivals >= 1 and minimax.arrivals >= 1 and len(predictions.received) >= 4, 10)
            assert group.kill(creator.index) == -9
        finally:
            other.process.send_signal(signal.SIGCONT)
        assert until(lambda: len(kling.received) >= 1, 15) < 8  # the lease covered one attempt's timeout
        kling.wait_until(lambda: kling.received[-1]["body"]["task_status"] == "succeed", 20)
        minimax.wait_until(lambda: any(b.get("status") == "success" for b in minimax.accepted()), 20)
        predictions.wait_until(lambda: predictions.received[-1]["body"]["status"] == "succeeded", 20)
        time.sleep(0.2)  # nothing more comes
        statuses = [(r["body"]["task_id"], r["body"]["task_status"]) for r in kling.received]
        challenges = [b for b in minimax.accepted() if "challenge" in b]
        updates = [(b["task_id"], b["status"]) for b in minimax.accepted() if "challenge" not in b]
        hooks = [(d["headers"]["webhook-id"], d["body"]) for d in predictions.received]

    def journal(job: str) -> list[dict]:
        return admin(other.url, "GET", f"/webhooks?job={job}").json()["attempts"]

    assert list(dict.fromkeys(statuses)) == [(kling_task, status) for status in STATUSES]  # (+ the held one, late)
    assert [(e["event"], e["outcome"], e["replica"].split("-")[0]) for e in journal(kling_task)] == [
        (status, "delivered", str(other.pid)) for status in STATUSES]
    assert len({c["challenge"] for c in challenges}) == 1 and updates == [(task, "processing"), (task, "success")]

    def journal(job: str) -> list[dict]:
        return admin(other.url, "GET", f"/webhooks?job={job}").json()["attempts"]

    assert [(e["event"], e["outcome"], e["replica"].split("-")[0]) for e in journal(task)] == [
        ("challenge", "delivered", str(other.pid)), ("processing", "delivered", str(other.pid)),
        ("success", "delivered", str(other.pid))]
    # Replicate: start, then the logs in order (one sent as A died may come again, under its own id), then the end
    unique = list(dict(hooks).items())
    assert [b["status"] for _, b in unique[:1] + unique[-1:]] == ["starting", "succeeded"]
    again = [n for n in Counter(hook_id for hook_id, _ in hooks).values() if n > 1]
    assert again in ([], [2])
    steps = [replicate.prediction.Prediction.Progress.parse(b["logs"]).current for _, b in unique[1:-1]]
    assert steps == sorted(set(steps)) and len(steps) >= 10, steps
    senders = {e["replica"].split("-")[0] for e in journal(prediction.id) if e["event"] == "logs"}
    assert senders == {str(creator.pid), str(other.pid)}
    [final] = [e for e in journal(prediction.id) if e["event"] == "completed"]
    assert final["outcome"] == "delivered" and final["replica"].split("-")[0] == str(other.pid)
    summary = admin(other.url, "GET", "/webhooks").json()
    assert (summary["pending"], summary["pending_bytes"]) == (0, 0)  # nothing A counted is left counted
