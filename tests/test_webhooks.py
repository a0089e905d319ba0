"""The neutral webhook module over real sockets: Kling's callbacks as the dialect that uses it, a real local
receiver, the profile's delivery faults, the journal at /__mock/webhooks, the target rules and the bounds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from webhook_receiver import WebhookReceiver

from mockprovider.engine.behaviour import WebhookFaults
from mockprovider.engine.distributions import Fixed
from mockprovider.engine.rng import stream
from mockprovider.testing import MockServer, free_port
from mockprovider.webhooks import Ed25519Key, Message, StandardWebhooks, TargetRules, WebhookPolicy

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
BODY = {"model_name": "kling-v2-6", "prompt": "a cat", "duration": "5", "mode": "std"}
ORDER = ["submitted", "processing", "succeed"]


@pytest.fixture(scope="module")
def proxy_port():
    return free_port()


@pytest.fixture(scope="module")
def server(proxy_port):
    with MockServer(profile="happy", time_scale=0.01, seed=5,
                    extra={"proxy": True, "proxy_port": proxy_port}) as s:
        yield s


def use(server: MockServer, jobs: dict | None = None, **callbacks) -> None:
    profile = {"extends": "happy", "callbacks": {"delay": "0s", "backoff": "1s", "max_attempts": 2, **callbacks}}
    if jobs:
        profile["jobs"] = jobs
    reply = server.admin("PUT", "/profile", json={"profile": profile})
    assert reply.status_code == 200, reply.json()


def journal(server: MockServer, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    reply = server.admin("GET", f"/webhooks?{query}")
    assert reply.status_code == 200, reply.json()
    return reply.json()


def wait_journal(server: MockServer, count: int, timeout: float = 15, **params) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        attempts = journal(server, **params)["attempts"]
        if len(attempts) >= count:
            return attempts
        assert time.monotonic() < deadline, attempts
        time.sleep(0.02)


def test_the_journal_filters_by_provider_job_and_outcome(server, kling):
    use(server)
    with WebhookReceiver(statuses=[500]) as receiver:
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url()})
        receiver.wait_for(4)
    attempts = wait_journal(server, 4, job=task["task_id"])
    assert [(a["event"], a["attempt"], a["outcome"]) for a in attempts] == [
        ("submitted", 1, "retrying"), ("submitted", 2, "delivered"), ("processing", 1, "delivered"),
        ("succeed", 1, "delivered")]
    assert all(a["provider"] == "kling" and a["job"] == task["task_id"] for a in attempts)
    assert attempts[0]["message_id"] == attempts[1]["message_id"] != attempts[2]["message_id"]
    assert [a["event"] for a in journal(server, outcome="retrying")["attempts"]] == ["submitted"]
    assert journal(server, provider="runway")["attempts"] == []
    summary = journal(server, provider="kling")
    assert (summary["delivered"], summary["retried"], summary["pending"]) == (3, 1, 0)
    old = server.admin("GET", "/kling/callbacks", params={}).json()  # the alias keeps its old shape
    assert [a["task_status"] for a in old["attempts"]] == ["submitted", "submitted", "processing", "succeed"]
    for bad in ("limit=x", "limit=%C2%B2", "limit=" + "9" * 5000, "outcome=maybe"):
        assert server.admin("GET", f"/webhooks?{bad}").status_code == 400


def test_drop_and_duplicate_faults(server, kling):
    use(server, faults={"drop": 1.0})
    with WebhookReceiver() as receiver:
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url()})
        kling.wait("text2video", task["task_id"])
        attempts = wait_journal(server, 3, job=task["task_id"])
        time.sleep(0.1)
        assert receiver.received == []
    assert {a["outcome"] for a in attempts} == {"dropped"}

    use(server, faults={"duplicate": 1.0})
    with WebhookReceiver() as receiver:
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url()})
        got = receiver.wait_for(6)
    assert [r["body"]["task_status"] for r in got] == [s for s in ORDER for _ in (1, 2)]
    attempts = journal(server, job=task["task_id"])["attempts"]
    assert [a["duplicate"] for a in attempts] == [False, True] * 3
    assert attempts[0]["message_id"] == attempts[1]["message_id"]


def test_reorder_lets_the_next_delivery_overtake(server, kling):
    use(server, jobs={"queue": "20s", "run": "20s"}, faults={"reorder": 1.0})
    with WebhookReceiver() as receiver:
        kling.create("text2video", {**BODY, "callback_url": receiver.url()})
        got = receiver.wait_for(3)
    # each delivery waits for the next one: submitted is overtaken by processing, which in turn waits for
    # succeed, and the last one has nothing to wait for but its bounded hold
    assert [r["body"]["task_status"] for r in got] != ORDER
    assert sorted(r["body"]["task_status"] for r in got) == sorted(ORDER)


def test_late_deliveries_come_after_late_by(server, kling):
    use(server, faults={"late": 1.0, "late_by": "50s"})  # 0.5 s of real time
    with WebhookReceiver() as receiver:
        started = time.monotonic()
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url()})
        done = kling.wait("text2video", task["task_id"])
        assert receiver.received == []  # the job finished (1 s of engine time); nothing has come yet
        got = receiver.wait_for(3)
    assert done["task_status"] == "succeed"
    assert got[0]["at"] - started >= 0.45
    assert [r["body"]["task_status"] for r in got] == ORDER


def test_early_deliveries_arrive_before_polls_show_the_state(server, kling):
    # a 300 s run is 3 s real; "succeed" is posted 250 s (2.5 s real) before a poll can see it
    use(server, jobs={"queue": "0s", "run": "300s"}, faults={"early": 1.0, "early_by": "250s"})
    with WebhookReceiver() as receiver:
        task = kling.create("text2video", {**BODY, "callback_url": receiver.url()})
        got = receiver.wait_for(3)
        seen_by_poll = kling.query("text2video", task["task_id"])["task_status"]
        assert [r["body"]["task_status"] for r in got] == ORDER
        assert seen_by_poll == "processing"
        time.sleep(0.2)
        assert len(receiver.received) == 3  # the real change does not post it again
    entry = journal(server, job=task["task_id"])["attempts"][-1]
    assert entry["early"] and entry["event"] == "succeed"
    assert kling.wait("text2video", task["task_id"], timeout=20)["task_status"] == "succeed"


@pytest.mark.parametrize("target", ["own_admin", "own_by_name", "proxy_api", "metadata", "metadata_v6",
                                    "mapped_metadata"])
def test_deliveries_never_reach_the_admin_api_the_proxy_api_or_metadata(server, kling, proxy_port, target):
    use(server, max_attempts=3)
    url = {
        "own_admin": f"{server.url}/__mock/reset",
        "own_by_name": f"http://localhost:{server.settings.port}/__mock/reset",
        "proxy_api": f"http://127.0.0.1:{proxy_port}/reset",
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "metadata_v6": "http://[fd00:ec2::254]/latest/meta-data/",
        "mapped_metadata": "http://[::ffff:169.254.169.254]/latest/meta-data/",
    }[target]
    assert server.admin("PUT", "/profile", json={"profile": {
        "extends": "happy", "callbacks": {"delay": "0s", "max_attempts": 3},
        "network": {"proxies": [{"name": "keep", "listen": f"127.0.0.1:{free_port()}",
                                 "upstream": "127.0.0.1:9"}]}}}).status_code == 200
    task = kling.create("text2video", {**BODY, "callback_url": url})
    attempts = wait_journal(server, 3, job=task["task_id"])
    assert [a["outcome"] for a in attempts] == ["refused"] * 3  # one per update, each never retried
    assert all(a["error"].startswith("refused:") for a in attempts)
    assert server.admin("GET", f"/jobs/{task['task_id']}").status_code == 200  # not reset
    import httpx

    assert [p["name"] for p in httpx.get(f"http://127.0.0.1:{proxy_port}/proxies").json().values()] == ["keep"]


def test_private_and_loopback_receivers_stay_allowed_and_the_allow_list_restricts():
    rules = TargetRules([("127.0.0.1", 8000), ("127.0.0.1", 8474)])
    assert rules.check_url("http://127.0.0.1:9000/hook") is None
    assert rules.check_url("http://10.1.2.3/hook") is None and rules.check_url("http://[::1]:9000/") is None
    assert rules.check_url("http://127.0.0.1:8000/anything") is not None
    assert rules.check_url("http://0.0.0.0:8474/reset") is not None
    assert rules.check_url("http://169.254.170.2/v2/credentials") is not None
    assert rules.check_url("ftp://example.com/") is not None and rules.check_url("http://[x/") is not None
    everywhere = TargetRules([("0.0.0.0", 8000)])
    assert everywhere.check_url("http://127.0.0.5:8000/") is not None
    assert everywhere.check_url("http://127.0.0.5:8001/") is None
    allowed = TargetRules([("127.0.0.1", 8000)], ["10.0.0.0/8", ".example.com", "receiver:9000"])
    assert allowed.check_url("http://10.9.9.9/") is None and allowed.check_url("http://192.168.1.2/") is not None
    assert allowed.problem("hooks.example.com", None, 443) is None
    assert allowed.problem("receiver", None, 9000) is None and allowed.problem("receiver", None, 9001)
    assert allowed.problem("evil.com", None, 443) is not None


def test_the_allow_list_flag_restricts_a_served_process():
    with MockServer(profile="happy", time_scale=0.01, webhook_allow=["127.0.0.2"]) as server:
        from kling_client import Kling

        client = Kling(server.url)
        use(server, max_attempts=1)
        with WebhookReceiver() as receiver:
            task = client.create("text2video", {**BODY, "callback_url": receiver.url()})
            attempts = wait_journal(server, 3, job=task["task_id"])
        client.close()
    assert {a["outcome"] for a in attempts} == {"refused"}
    assert "allow-list" in attempts[0]["error"]


def test_pending_stays_right_across_reset_and_is_bounded(server, kling):
    use(server, delay="1h")
    with WebhookReceiver() as receiver:
        for _ in range(5):
            kling.create("text2video", {**BODY, "callback_url": receiver.url()})
        deadline = time.monotonic() + 10
        while journal(server)["pending"] < 5:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert server.admin("POST", "/reset").status_code == 200
        time.sleep(0.1)
        after = journal(server)
        assert (after["pending"], after["lanes"], after["attempts"]) == (0, 0, [])
        server.call(setattr, server.app.ctx.webhooks, "max_pending", 4)
        try:
            use(server, delay="1h")
            for _ in range(3):
                kling.create("text2video", {**BODY, "callback_url": receiver.url()})
            time.sleep(0.3)
            summary = journal(server)
            assert summary["pending"] == 4 and summary["dropped"] >= 1
        finally:
            server.call(setattr, server.app.ctx.webhooks, "max_pending", 10_000)
            server.admin("POST", "/reset")
        assert journal(server)["pending"] == 0


def test_standard_webhooks_signature_verifies_by_the_spec():
    secret = StandardWebhooks.generate(stream(1, "t"))
    message = Message(id="msg_1", provider="p", job="j", event="e")
    headers = secret.headers(message, b'{"a":1}', 1700000000)
    key = base64.b64decode(secret.secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()).decode()
    assert headers == {"webhook-id": "msg_1", "webhook-timestamp": "1700000000",
                       "webhook-signature": f"v1,{expected}"}


def test_ed25519_key_publishes_a_jwk_that_verifies():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519Key.generate(stream(1, "k"))
    jwk = key.jwk()
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"]))
    public.verify(key.sign(b"hello"), b"hello")
    assert Ed25519Key.generate(stream(1, "k")).jwk() == jwk  # replayable from the seed


def test_policy_defaults():
    policy = WebhookPolicy(delay=Fixed(0), attempts=1, backoff=1, timeout=1, faults=WebhookFaults())
    assert policy.late_by.describe() and policy.early_by.describe()


def test_a_profiles_retry_waits_grow_by_its_growth_and_stop_at_a_day():
    from mockprovider.engine.profile import ProfileError, ProfileLibrary
    from mockprovider.webhooks import policy_for

    library = ProfileLibrary()
    profile = library.load_inline({"extends": "happy", "callbacks": {"backoff": "2s", "growth": 3, "max_attempts": 20}})
    policy = policy_for(profile.resolve("kling"))
    assert [policy.retry_in(n) for n in (1, 2, 3)] == [2.0, 6.0, 18.0]
    assert policy.retry_in(19) == 86_400.0  # 2 x 3^18 s would be over 24,000 years
    for growth in (0.5, 11, "fast"):
        with pytest.raises(ProfileError):
            library.load_inline({"extends": "happy", "callbacks": {"growth": growth}})
