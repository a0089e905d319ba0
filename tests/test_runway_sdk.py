"""The official runwayml SDK, unchanged, against a real mockprovider server on a loopback port."""

from __future__ import annotations

import io
import itertools
import math
import time

import av
import httpx
import pytest
import runwayml
from runway_client import KEY, client, image_to_video
from runwayml.lib.polling import TaskFailedError

from mockprovider.testing import MockServer


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.02, seed=7) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(server):
    assert server.admin("POST", "/reset").status_code == 200
    yield


def profile(server, body: dict, key: str | None = None) -> None:
    path = f"/keys/{key}/profile" if key else "/profile"
    reply = server.admin("PUT", path, body)
    assert reply.status_code == 200, reply.json()


def decode(data: bytes) -> tuple[int, int, float, bool]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        has_audio = bool(container.streams.audio)
        return video.width, video.height, frames / float(video.average_rate), has_audio


def test_image_to_video_runs_to_a_playable_mp4(server):
    c = client(server.url)
    created = image_to_video(c, ratio="720:1280", duration=5)
    assert created.estimated_cost.credits == 25.0
    done = created.wait_for_task_output(timeout=30)
    assert done.status == "SUCCEEDED"
    assert done.cost.credits == 25
    reply = httpx.get(done.output[0])
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "video/mp4"
    assert decode(reply.content) == (720, 1280, 5.0, False)


def test_text_to_video_with_audio(server):
    c = client(server.url)
    created = c.text_to_video.create(model="veo3.1", prompt_text="a dog", ratio="1920:1080", duration=4)
    done = created.wait_for_task_output(timeout=30)
    width, height, seconds, audio = decode(httpx.get(done.output[0]).content)
    assert (width, height, audio) == (1920, 1080, True)
    assert seconds == pytest.approx(4.0, abs=1 / 24)


def test_running_task_reports_progress_then_output_links_are_resigned(server):
    profile(server, {"profile": {"jobs": {"queue": "0s", "run": "100s"}}})
    c = client(server.url)
    task = image_to_video(c)
    time.sleep(0.5)  # 25 engine seconds at this time scale
    running = c.tasks.retrieve(task.id)
    assert running.status == "RUNNING"
    assert 0.05 < running.progress < 0.6
    server.admin("POST", "/clock", {"advance": "200s"})
    first = c.tasks.retrieve(task.id)
    time.sleep(0.05)
    second = c.tasks.retrieve(task.id)
    assert first.status == "SUCCEEDED"
    assert first.output[0] != second.output[0]  # signed afresh on every read
    assert httpx.get(first.output[0]).status_code == 200


def test_failed_task_raises_task_failed_error_with_runway_failure_code(server):
    profile(server, {"profile": {"jobs": {"queue": "0s", "run": "2s", "failure_rate": {"content_policy": 1.0},
                                          "fail_at": 0.5}}})
    c = client(server.url)
    with pytest.raises(TaskFailedError) as caught:
        image_to_video(c).wait_for_task_output(timeout=30)
    details = caught.value.task_details
    assert details.status == "FAILED"
    assert details.failure_code.startswith("SAFETY.")
    assert details.cost.credits == 25  # moderated generations are charged


def test_concurrency_limit_throttles_the_third_task_until_a_slot_frees(server):
    profile(server, {"profile": {"jobs": {"queue": "0s", "run": "60s"}, "limits": {"concurrent_jobs": 2}}})
    c = client(server.url)
    tasks = [image_to_video(c) for _ in range(3)]
    states = [c.tasks.retrieve(t.id).status for t in tasks]
    assert states[:2] in (["RUNNING", "RUNNING"], ["PENDING", "RUNNING"], ["RUNNING", "PENDING"])
    assert states[2] == "THROTTLED"
    c.tasks.delete(tasks[0].id)  # cancelling frees a slot: the throttled task starts now
    assert c.tasks.retrieve(tasks[0].id).status == "CANCELLED"
    assert c.tasks.retrieve(tasks[2].id).status == "RUNNING"


def test_throttled_tasks_start_in_submission_order_when_slots_free(server):
    profile(server, {"profile": {"jobs": {"queue": "0s", "run": {"uniform": ["30s", "90s"]}},
                                 "limits": {"concurrent_jobs": 1}}})
    c = client(server.url)
    ids = [image_to_video(c).id for _ in range(4)]
    jobs = [server.admin("GET", f"/jobs/{i}").json() for i in ids]
    starts = [j["admitted"] for j in jobs]
    assert starts == sorted(starts)
    for earlier, later in itertools.pairwise(jobs):
        assert later["admitted"] == pytest.approx(earlier["ends"])


def test_cancel_then_delete(server):
    profile(server, {"profile": {"jobs": {"queue": "0s", "run": "600s"}}})
    c = client(server.url)
    task = image_to_video(c)
    assert c.tasks.delete(task.id) is None
    assert c.tasks.retrieve(task.id).status == "CANCELLED"
    c.tasks.delete(task.id)  # a finished task is deleted
    with pytest.raises(runwayml.NotFoundError):
        c.tasks.retrieve(task.id)
    with pytest.raises(runwayml.NotFoundError):
        c.tasks.delete(task.id)


def test_error_classes(server):
    with pytest.raises(runwayml.AuthenticationError):
        client(server.url, key="not-a-runway-key").tasks.retrieve("00000000-0000-4000-8000-000000000000")
    with pytest.raises(runwayml.NotFoundError):
        client(server.url).tasks.retrieve("00000000-0000-4000-8000-000000000000")
    with pytest.raises(runwayml.BadRequestError) as caught:
        image_to_video(client(server.url), ratio="1:1", prompt_text="x" * 1001)
    issues = caught.value.body["issues"]
    assert {tuple(i["path"]) for i in issues} == {("ratio",), ("promptText",)}
    assert caught.value.body["error"] == "Validation of body failed"
    old_version = client(server.url, default_headers={"X-Runway-Version": "2023-01-01"})
    with pytest.raises(runwayml.BadRequestError) as caught:
        image_to_video(old_version)
    assert "X-Runway-Version" in caught.value.body["error"]


def test_insufficient_credits_is_a_400_and_the_organization_reflects_limits(server):
    profile(server, {"profile": {"limits": {"credits": 60, "concurrent_jobs": 3, "daily_jobs": 10}}})
    c = client(server.url)
    image_to_video(c, duration=10)  # 50 credits
    with pytest.raises(runwayml.BadRequestError) as caught:
        image_to_video(c, duration=5)  # 25 more would overdraw
    assert caught.value.body["error"] == "You do not have enough credits to run this task."
    org = c.organization.retrieve()
    assert org.credit_balance == 10
    assert org.tier.models["gen4_turbo"].max_concurrent_generations == 3
    assert org.tier.models["gen4_turbo"].max_daily_generations == 10
    assert org.usage.models["gen4_turbo"].daily_generations == 1


def test_daily_cap_is_a_429_with_retry_after_until_the_next_day(server):
    profile(server, {"profile": {"limits": {"daily_jobs": 1}}})
    c = client(server.url)
    image_to_video(c)
    with pytest.raises(runwayml.RateLimitError) as caught:
        image_to_video(c)
    # Retry-After is real time: the rest of the engine day at this time scale (0.02)
    retry_after_ms = int(caught.value.response.headers["retry-after-ms"])
    now = server.admin("GET", "/clock").json()["now"]
    assert retry_after_ms / 1000 == pytest.approx((86400 - now % 86400) * 0.02, abs=0.1)
    assert int(caught.value.response.headers["retry-after"]) == math.ceil(retry_after_ms / 1000)


def test_request_rate_limit_429_frees_after_the_window(server):
    profile(server, {"profile": {"limits": {"requests_per_minute": 3}}})
    c = client(server.url)
    for _ in range(3):
        c.organization.retrieve()
    with pytest.raises(runwayml.RateLimitError) as caught:
        c.organization.retrieve()
    assert 0 < int(caught.value.response.headers["retry-after-ms"]) <= 60 * 0.02 * 1000
    server.admin("POST", "/clock", {"advance": "61s"})
    c.organization.retrieve()


@pytest.mark.parametrize("status,error", [(500, runwayml.InternalServerError), (502, runwayml.InternalServerError),
                                          (503, runwayml.InternalServerError), (429, runwayml.RateLimitError)])
def test_injected_http_errors_raise_the_sdk_classes(server, status, error):
    profile(server, {"profile": {"faults": {"create": [{"kind": "error", "status": status, "rate": 1.0}]}}})
    with pytest.raises(error) as caught:
        image_to_video(client(server.url))
    assert caught.value.status_code == status
    assert "error" in caught.value.body


def test_injected_reset_and_truncation_are_connection_errors(server):
    profile(server, {"profile": {"faults": {"status": [{"kind": "reset", "rate": 1.0}],
                                            "account": [{"kind": "truncate", "rate": 1.0}]}}})
    c = client(server.url)
    with pytest.raises(runwayml.APIConnectionError):
        c.tasks.retrieve("00000000-0000-4000-8000-000000000000")
    with pytest.raises(runwayml.APIConnectionError):
        c.organization.retrieve()


def test_injected_hang_outlasts_the_client_timeout(server):
    profile(server, {"profile": {"faults": {"account": [{"kind": "hang", "rate": 1.0, "hold": "600s"}]}}})
    with pytest.raises(runwayml.APITimeoutError):
        client(server.url, timeout=0.5).organization.retrieve()


def test_sdk_retries_injected_503_and_then_succeeds(server):
    profile(server, {"profile": {"faults": {"account": [{"kind": "error", "status": 503, "rate": 1.0,
                                                         "during": {"end": "0.3s"}}]}}})
    # The fault window closes after 0.3 engine seconds (6 ms real); the SDK's retry lands after it.
    client(server.url, max_retries=2).organization.retrieve()


def test_unknown_api_version_and_missing_header(server):
    reply = httpx.get(f"{server.url}/v1/organization", headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 400
    assert "X-Runway-Version" in reply.json()["error"]


def test_malformed_and_oversized_bodies_are_4xx(server):
    headers = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06",
               "Content-Type": "application/json"}
    bad = httpx.post(f"{server.url}/v1/image_to_video", headers=headers, content=b"{not json")
    assert bad.status_code == 400 and bad.json()["error"] == "Validation of body failed"
    wrong_type = httpx.post(f"{server.url}/v1/image_to_video", headers=headers, content=b"[1, 2]")
    assert wrong_type.status_code == 400
    wrong_field = httpx.post(f"{server.url}/v1/image_to_video", headers=headers,
                             json={"model": "gen4_turbo", "promptImage": 5, "ratio": "1280:720", "duration": "5"})
    assert wrong_field.status_code == 400
    assert {tuple(i["path"]) for i in wrong_field.json()["issues"]} == {("promptImage",), ("duration",)}
    unknown_model = httpx.post(f"{server.url}/v1/image_to_video", headers=headers, json={"model": "gen9"})
    assert unknown_model.status_code == 400
    huge = httpx.post(f"{server.url}/v1/image_to_video", headers=headers, content=b"{" + b" " * (9 * 2**20) + b"}")
    assert huge.status_code == 413
    empty = httpx.post(f"{server.url}/v1/text_to_video", headers=headers, content=b"")
    assert empty.status_code == 400


def test_prompt_image_forms(server):
    c = client(server.url)
    png = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
           "AAAABJRU5ErkJggg==")
    image_to_video(c, prompt_image=png)
    uploaded = c.uploads.create_ephemeral(file=("a.png", b"\x89PNG" + b"\0" * 600, "image/png")).uri
    image_to_video(c, prompt_image=uploaded)
    c.image_to_video.create(model="veo3.1", ratio="1280:720", prompt_image=[
        {"uri": "https://example.com/a.png", "position": "first"},
        {"uri": "https://example.com/b.png", "position": "last"}])
    for bad in ("https://10.0.0.1/a.png", "ftp://example.com/a.png", "data:image/png;base64,@@@",
                "runway://upload/abc",
                [{"uri": "https://example.com/a.png", "position": "last"}]):
        with pytest.raises(runwayml.BadRequestError):
            image_to_video(c, prompt_image=bad)


def test_output_links_expire_and_forged_links_are_refused(server):
    profile(server, {"profile": {"jobs": {"queue": "0s", "run": "1s"}, "outputs": {"url_ttl": "10m"}}})
    c = client(server.url)
    done = image_to_video(c).wait_for_task_output(timeout=30)
    url = done.output[0]
    forged = url.replace("sig=", "sig=0")
    assert httpx.get(forged).status_code == 403
    assert httpx.get(url.replace("/0.mp4", "/1.mp4")).status_code == 403
    ranged = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    server.admin("POST", "/clock", {"advance": "11m"})
    expired = httpx.get(url)
    assert expired.status_code == 403 and "expired" in expired.text
    assert httpx.get(c.tasks.retrieve(done.id).output[0]).status_code == 200


def test_tasks_are_private_to_their_key(server):
    task = image_to_video(client(server.url))
    with pytest.raises(runwayml.NotFoundError):
        client(server.url, key="key_other").tasks.retrieve(task.id)


def test_same_seed_and_requests_replay_the_same_tasks_and_plans():
    runs = []
    for _ in range(2):
        with MockServer(profile="realistic", time_scale=0.02, seed=1234) as s:
            c = client(s.url)
            ids = [image_to_video(c).id for _ in range(3)] + [image_to_video(client(s.url, key="key_b")).id]
            runs.append([(i, s.admin("GET", f"/jobs/{i}").json()["plan"]) for i in ids])
    assert runs[0] == runs[1]
    assert len({i for i, _ in runs[0]}) == 4


def test_a_full_job_store_answers_503_and_keeps_its_jobs():
    with MockServer(profile="happy", time_scale=0.02, max_jobs=2) as s:
        s.admin("PUT", "/profile", {"profile": {"jobs": {"run": "1h"}}})
        c = client(s.url)
        kept = [image_to_video(c).id for _ in range(2)]
        with pytest.raises(runwayml.InternalServerError) as caught:
            image_to_video(c)
        assert caught.value.status_code == 503
        assert [c.tasks.retrieve(i).status for i in kept] == ["RUNNING", "RUNNING"]
