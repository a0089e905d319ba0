"""Insight with real clients over real sockets: the journal, the client-behaviour report (polls, intervals,
detection lag, retries honouring Retry-After or not, downloads) and the cost ledger, checked against what each
test did itself."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import httpx
import pytest
import runwayml
from kling_client import Kling
from runway_client import KEY, client

from mockprovider.insight.journal import fingerprint
from mockprovider.testing import MockServer

RUNWAY_HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
SCALE = 0.01  # 1 engine second = 10 ms


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=SCALE) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(server):
    assert server.admin("POST", "/reset").status_code == 200
    server.admin("POST", "/clock", {"scale": SCALE})


def use(server, profile: dict) -> None:
    reply = server.admin("PUT", "/profile", {"profile": profile, "name": "test"})
    assert reply.status_code == 200, reply.content


def report(server) -> dict:
    reply = server.admin("GET", "/report")
    assert reply.status_code == 200
    return reply.json()


def runway_key(name: str) -> str:
    return "key_" + name * (128 // len(name))


def test_sdk_polls_downloads_and_cost(server):
    """Three gen4_turbo tasks through runwayml, polled by its own wait_for_task_output (every 50 ms here),
    and each output downloaded once."""
    use(server, {"jobs": {"queue": "0s", "run": "30s"}})  # 0.3 s real
    c = client(server.url)
    downloaded = 0
    ids = []
    for _ in range(3):
        created = c.image_to_video.create(model="gen4_turbo", prompt_image="https://example.com/a.png",
                                          ratio="1280:720", duration=5)
        done = created.wait_for_task_output(timeout=30)
        ids.append(done.id)
        downloaded += len(httpx.get(done.output[0]).content)
    r = report(server)
    runway = r["providers"]["runway"]
    assert runway["jobs"]["created"] == 3 and runway["jobs"]["succeeded"] == 3
    assert runway["jobs"]["in_flight"] == 0
    polls = [len(server_requests(server, job=i, endpoint="status")) for i in ids]
    assert runway["polls_per_job"]["count"] == 3
    assert runway["polls_per_job"]["mean"] == pytest.approx(sum(polls) / 3)
    assert runway["polls_per_job"]["p95"] == max(polls)
    # runwayml polls every POLL_TIME (0.05 s, tests/conftest.py) plus the request's own time
    assert 0.045 <= runway["poll_interval_s"]["p50"] <= 0.25
    assert runway["detection_lag_s"]["count"] == 3
    assert 0 <= runway["detection_lag_s"]["p95"] <= 0.3
    assert runway["downloads"] == {"count": 3, "per_succeeded_job": 1.0, "media_bytes": downloaded}
    # gen4_turbo: 5 credits per second at $0.01 a credit -> 5 s = 25 credits = $0.25
    assert runway["cost_usd"] == pytest.approx(0.75)
    assert runway["cost"]["units"] == pytest.approx(75) and runway["cost"]["unit"] == "credit"
    assert runway["cost"]["by_model_usd"] == {"gen4_turbo": pytest.approx(0.75)}
    assert r["total_cost_usd"] == pytest.approx(0.75)
    assert list(runway["keys"]) == [fingerprint(KEY)]
    job = server.admin("GET", f"/jobs/{ids[0]}").json()
    assert job["cost_usd"] == 0.25 and job["cost_units"] == {"amount": 25.0, "unit": "credit"}
    assert job["usage"]["seconds"] == 5 and job["polls"] == polls[0]


def server_requests(server, **filters) -> list[dict]:
    reply = server.admin("GET", "/requests?" + "&".join(f"{k}={v}" for k, v in filters.items()))
    assert reply.status_code == 200, reply.content
    return reply.json()["requests"]


def test_client_that_polls_too_fast(server):
    use(server, {"jobs": {"queue": "0s", "run": "100s"}})  # 1 s real
    key = runway_key("fa")
    headers = {**RUNWAY_HEADERS, "Authorization": f"Bearer {key}"}
    sent: list[float] = []
    with httpx.Client(base_url=server.url, headers=headers) as http:
        task = http.post("/v1/image_to_video", json={"model": "gen4_turbo", "promptImage": "https://e.com/a.png",
                                                      "ratio": "1280:720", "duration": 5}).json()
        while True:  # no sleep at all between polls
            sent.append(time.monotonic())
            if http.get(f"/v1/tasks/{task['id']}").json()["status"] == "SUCCEEDED":
                break
    polls = len(sent)
    gaps = sorted(b - a for a, b in itertools.pairwise(sent))
    figures = report(server)["providers"]["runway"]["keys"][fingerprint(key)]
    assert polls >= 5
    assert figures["polls_per_job"] == {"count": 1, "mean": polls, "p50": polls, "p95": polls}
    assert figures["poll_interval_s"]["count"] == polls - 1
    # the server sees the gaps the client left, give or take scheduling noise
    assert figures["poll_interval_s"]["p50"] == pytest.approx(gaps[len(gaps) // 2], rel=0.5, abs=0.005)
    assert figures["detection_lag_s"]["count"] == 1
    assert figures["detection_lag_s"]["p50"] <= gaps[-1] + 0.01
    assert len(server_requests(server, job=task["id"], endpoint="status")) == polls


def test_retries_after_429_with_and_without_honouring_retry_after(server):
    """Two requests per engine minute (0.6 s real): runwayml waits the Retry-After it is given; a hand-written
    client retries at once three times, then waits the hint."""
    use(server, {"limits": {"requests_per_minute": 2}})
    polite_key, rude_key = runway_key("aa"), runway_key("bb")
    polite = client(server.url, key=polite_key, max_retries=3)
    for _ in range(3):
        polite.organization.retrieve()  # the third is refused with a hint, and retried after it

    headers = {**RUNWAY_HEADERS, "Authorization": f"Bearer {rude_key}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        assert http.get("/v1/organization").status_code == 200
        assert http.get("/v1/organization").status_code == 200
        answers = [http.get("/v1/organization") for _ in range(4)]  # the first, then three at once
        assert [a.status_code for a in answers] == [429] * 4
        wait = int(answers[-1].headers["retry-after-ms"]) / 1000
        time.sleep(wait + 0.05)
        assert http.get("/v1/organization").status_code == 200

    keys = report(server)["providers"]["runway"]["keys"]
    good, bad = keys[fingerprint(polite_key)]["retries"], keys[fingerprint(rude_key)]["retries"]
    assert good["after_429"] >= 1 and good["with_hint"] == good["after_429"]
    assert good["early"] == 0 and good["early_fraction"] == 0
    assert bad["after_429"] == 4 and bad["with_hint"] == 4
    assert bad["early"] == 3 and bad["early_fraction"] == 0.75
    assert 0.3 <= bad["early_by_s"]["p50"] <= 0.6 + 0.01
    assert server_requests(server, status="429", key=rude_key)[-1]["retry_hint_s"] > 0


def test_retries_after_injected_faults_and_5xx(server):
    use(server, {"faults": {"account": [{"kind": "error", "status": 503, "rate": 1.0}]}})
    c = client(server.url, max_retries=2)
    with pytest.raises(runwayml.InternalServerError):
        c.organization.retrieve()
    figures = report(server)["providers"]["runway"]
    assert figures["retries"]["after_fault"] == 2 and figures["retries"]["with_hint"] == 0
    faults = server_requests(server, endpoint="account")
    assert [f["fault"] for f in faults] == ["error"] * 3 and {f["status"] for f in faults} == {503}


def test_failed_jobs_cost_what_each_provider_charges(server):
    """Runway charges a failed (moderated) task; Kling charges nothing for a failed one."""
    use(server, {"jobs": {"queue": "0s", "run": "10s", "failure_rate": {"content_policy": 1.0}}})
    c = client(server.url)
    task = c.image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png", ratio="1280:720",
                                   duration=10)
    with pytest.raises(runwayml.TaskFailedError):
        task.wait_for_task_output(timeout=30)
    kling = Kling(server.url)
    try:
        created = kling.create("text2video", {"model_name": "kling-v1", "prompt": "a cat", "mode": "pro"})
        kling.wait("text2video", created["task_id"])
    finally:
        kling.close()
    providers = report(server)["providers"]
    assert providers["runway"]["jobs"]["failed_by_reason"] == {"content_policy": 1}
    assert providers["runway"]["cost_usd"] == pytest.approx(0.50)  # 10 s x 5 credits x $0.01
    assert providers["kling"]["jobs"]["failed_by_reason"] == {"content_policy": 1}
    assert providers["kling"]["cost_usd"] == 0
    assert report(server)["total_cost_usd"] == pytest.approx(0.50)


def test_kling_and_veo_jobs_priced_from_the_book(server):
    use(server, {"jobs": {"queue": "0s", "run": "5s"}})
    kling = Kling(server.url)
    try:
        created = kling.create("text2video", {"model_name": "kling-v1", "prompt": "a cat", "mode": "pro",
                                              "duration": "10"})
        kling.wait("text2video", created["task_id"])
    finally:
        kling.close()
    op = httpx.post(f"{server.url}/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning",
                    headers={"x-goog-api-key": "k"},
                    json={"instances": [{"prompt": "a lighthouse"}], "parameters": {"durationSeconds": 8}})
    assert op.status_code == 200, op.text
    time.sleep(0.2)
    providers = report(server)["providers"]
    assert providers["kling"]["cost_usd"] == pytest.approx(0.98)  # v1 pro, 10 s = 7 units x $0.14
    assert providers["kling"]["cost"]["units"] == pytest.approx(7)
    assert providers["veo"]["cost_usd"] == pytest.approx(0.80)  # Fast, 720p with audio: $0.10/s x 8 s


def test_a_profile_overrides_prices_and_bad_prices_are_refused(server):
    use(server, {"jobs": {"queue": "0s", "run": "1s"}, "prices": {"runway": {"usd_per_unit": 0.005}}})
    c = client(server.url)
    c.image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png", ratio="1280:720",
                            duration=10).wait_for_task_output(timeout=30)
    assert report(server)["providers"]["runway"]["cost_usd"] == pytest.approx(0.25)
    assert server.admin("GET", "/prices").json()["providers"]["runway"]["usd_per_unit"] == 0.005
    bad = server.admin("PUT", "/profile", {"profile": {"prices": {"runway": {"models": {"x": {"per": "hours"}}}}}})
    assert bad.status_code == 400
    assert any("per" in p for p in bad.json()["problems"])


def test_cancelled_and_in_flight_jobs(server):
    use(server, {"jobs": {"queue": "0s", "run": "1h"}})
    c = client(server.url)
    first = c.image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png", ratio="1280:720",
                                    duration=5)
    c.image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png", ratio="1280:720", duration=5)
    c.tasks.delete(first.id)
    jobs = report(server)["providers"]["runway"]["jobs"]
    assert jobs["cancelled"] == 1 and jobs["in_flight"] == 1 and jobs["created"] == 2
    assert jobs["in_flight_by_state"]["running"] == 1
    assert jobs["peak_concurrent"] == 2
    runway = report(server)["providers"]["runway"]
    assert runway["cost"]["in_flight_usd"] == pytest.approx(0.25)
    assert runway["cost"]["finished_usd"] == pytest.approx(0.25)  # Runway keeps a cancelled task's charge


def test_journal_filters_count_clear_and_bound(server_factory):
    s = server_factory(profile="happy", journal_size=5)
    c = client(s.url)
    for _ in range(3):
        c.organization.retrieve()
    with pytest.raises(runwayml.NotFoundError):
        c.tasks.retrieve("00000000-0000-4000-8000-000000000000")
    httpx.get(f"{s.url}/v1/organization")  # no key: 401
    body = s.admin("GET", "/requests").json()
    assert body["total"] == 5 and body["dropped"] == 0 and len(body["requests"]) == 5
    first = body["requests"][0]
    assert first["provider"] == "runway" and first["endpoint"] == "account" and first["method"] == "GET"
    assert first["key"] == fingerprint(KEY) and KEY not in str(body)
    assert s.admin("GET", "/requests/count?status=4xx").json() == {"count": 2}
    assert s.admin("GET", "/requests/count?endpoint=status&status=404").json() == {"count": 1}
    assert s.admin("GET", f"/requests/count?key={KEY}").json() == {"count": 4}
    assert s.admin("GET", f"/requests/count?key={fingerprint(KEY)}").json() == {"count": 4}
    newest = s.admin("GET", "/requests?limit=2").json()["requests"]
    assert [r["status"] for r in newest] == [404, 401]
    later = s.admin("GET", f"/requests?since={first['at'] + 1e-6}").json()
    assert later["total"] == 4
    c.organization.retrieve()
    body = s.admin("GET", "/requests").json()
    assert len(body["requests"]) == 5 and body["dropped"] == 1  # bounded: the oldest went
    assert s.admin("GET", "/requests?status=abc").status_code == 400
    assert s.admin("DELETE", "/requests").status_code == 204
    assert s.admin("GET", "/requests/count").json() == {"count": 0}


def test_journal_off_still_reports(server_factory):
    s = server_factory(profile="happy", journal_size=0)
    client(s.url).organization.retrieve()
    assert s.admin("GET", "/requests").json()["total"] == 0
    assert s.admin("GET", "/report").json()["providers"]["runway"]["requests"] == 1


def test_admin_token_guards_the_journal_and_a_metrics_token_opens_metrics(server_factory):
    s = server_factory(profile="happy", admin_token="adm1n", metrics_token="scr4pe")
    assert httpx.get(f"{s.url}/__mock/requests").status_code == 401
    assert httpx.get(f"{s.url}/__mock/report").status_code == 401
    assert httpx.get(f"{s.url}/__mock/metrics").status_code == 401
    assert httpx.get(f"{s.url}/__mock/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{s.url}/__mock/metrics", headers={"Authorization": "Bearer scr4pe"}).status_code == 200
    assert httpx.get(f"{s.url}/__mock/metrics", headers={"Authorization": "Bearer adm1n"}).status_code == 200
    assert s.admin("GET", "/report").status_code == 200


def test_report_command_prints_a_table(server):
    use(server, {"jobs": {"queue": "0s", "run": "1s"}})
    client(server.url).image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png",
                                             ratio="1280:720", duration=5).wait_for_task_output(timeout=30)
    out = subprocess.run([sys.executable, "-m", "mockprovider", "report", "--url", server.url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "runway" in out.stdout and "$0.25" in out.stdout and "polls/job" in out.stdout
    as_json = subprocess.run([sys.executable, "-m", "mockprovider", "report", "--url", server.url, "--json"],
                             capture_output=True, text=True, timeout=60)
    assert '"total_cost_usd": 0.25' in as_json.stdout
    down = subprocess.run([sys.executable, "-m", "mockprovider", "report", "--url", "http://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and "cannot read" in down.stderr


def test_webhook_deliveries_count_and_a_delivered_end_is_detection(server):
    """Kling callbacks through the webhook hub: each delivery is counted, and the delivered final update is
    the client learning of the end (no poll at all here)."""
    from kling_client import Receiver

    use(server, {"jobs": {"queue": "0s", "run": "10s"}, "callbacks": {"delay": "0s"}})
    kling = Kling(server.url)
    try:
        with Receiver() as receiver:
            created = kling.create("text2video", {"model_name": "kling-v1", "prompt": "a cat",
                                                  "callback_url": receiver.url})
            receiver.wait_for(lambda: any(b["task_status"] == "succeed" for b in receiver.accepted()))
            delivered = len(receiver.accepted())
    finally:
        kling.close()
    time.sleep(0.05)
    kling_report = report(server)["providers"]["kling"]
    assert kling_report["webhooks"] == {"delivered": delivered, "failed": 0, "acknowledged": 1}
    assert kling_report["detection_lag_s"]["count"] == 1
    assert kling_report["polls_per_job"]["mean"] == 0
    assert server_requests(server, job=created["task_id"])[0]["endpoint"] == "create"
