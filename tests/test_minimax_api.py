"""MiniMax's video API driven by a client written from MiniMax's docs (tests/minimax_client.py): create, poll,
files retrieve and download, the statuses, per-model validation, auth, limits and faults in ``base_resp``."""

from __future__ import annotations

import io

import av
import httpx
import pytest
from kling_client import png_base64
from minimax_client import (
    MiniMax,
    MiniMaxAuthError,
    MiniMaxError,
    MiniMaxRateLimitError,
    MiniMaxTaskFailed,
)

from mockprovider.testing import MockServer

KEY = "sk-api-test-0123"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=11) as s:
        yield s


@pytest.fixture
def mm(server):
    assert server.admin("POST", "/reset").status_code in (200, 204)
    with MiniMax(KEY, server.url) as client:
        yield client


def profile(server: MockServer, body: dict) -> None:
    r = server.admin("PUT", "/profile", json={"profile": {"extends": "happy", **body}})
    assert r.status_code == 200, r.text


def advance(server: MockServer, seconds: float) -> None:
    assert server.admin("POST", "/clock", json={"advance": f"{seconds}s"}).status_code == 200


def data_url(width: int, height: int) -> str:
    return "data:image/png;base64," + png_base64(width, height)


def decode(data: bytes) -> tuple[int, int, float]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return video.width, video.height, frames / 24


@pytest.mark.parametrize(("model", "fields", "size", "seconds"), [
    ("MiniMax-Hailuo-2.3", {"duration": 6, "resolution": "1080P"}, (1920, 1080), 6),
    ("MiniMax-Hailuo-2.3", {"duration": 10}, (1366, 768), 10),
    ("T2V-01-Director", {}, (1280, 720), 6),
])
def test_text_to_video_create_poll_retrieve_download(mm, model, fields, size, seconds):
    task, mp4 = mm.generate(model, "A man reads a book. [Static shot]", **fields)
    assert task["status"] == "Success" and task["file_id"].isdigit() and task["task_id"].isdigit()
    assert (task["video_width"], task["video_height"]) == size
    assert decode(mp4) == (*size, seconds)


def test_image_to_video_takes_the_image_aspect_ratio(mm):
    task, mp4 = mm.generate("MiniMax-Hailuo-2.3-Fast", first_frame_image=data_url(720, 1280))
    assert (task["video_width"], task["video_height"]) == (768, 1366)
    assert decode(mp4)[:2] == (768, 1366)
    task, _ = mm.generate("MiniMax-Hailuo-02", "she turns", first_frame_image="https://example.com/a.jpg",
                          resolution="512P")
    assert (task["video_width"], task["video_height"]) == (910, 512)


def test_first_last_frame_and_subject_reference(mm):
    task, _ = mm.generate("MiniMax-Hailuo-02", "a day passes", first_frame_image=data_url(640, 640),
                          last_frame_image=data_url(640, 640), resolution="1080P")
    assert (task["video_width"], task["video_height"]) == (1080, 1080)
    task, _ = mm.generate("S2V-01", "she walks", subject_reference=[
        {"type": "character", "image": [data_url(400, 600)]}])
    assert task["status"] == "Success"


def test_statuses_go_preparing_queueing_processing_success(server, mm):
    profile(server, {"jobs": {"queue": "100s", "run": "100s"}})
    # Preparing lasts one engine second: run the clock in real time while the test moves it by hand
    assert server.admin("POST", "/clock", json={"scale": 1.0}).status_code == 200
    try:
        task_id = mm.create("MiniMax-Hailuo-2.3", "a slow one")
        first = mm.query(task_id)
        assert first["status"] == "Preparing" and "file_id" not in first
        advance(server, 2)
        assert mm.query(task_id)["status"] == "Queueing"
        advance(server, 100)
        assert mm.query(task_id)["status"] == "Processing"
        advance(server, 100)
        done = mm.query(task_id)
        assert done["status"] == "Success" and done["base_resp"] == {"status_code": 0, "status_msg": "success"}
    finally:
        assert server.admin("POST", "/clock", json={"scale": 0.01}).status_code == 200


def test_the_files_endpoints(server, mm):
    task, mp4 = mm.generate("MiniMax-Hailuo-2.3", "a cat")
    file = mm.retrieve(task["file_id"])
    assert file["file_id"] == int(task["file_id"]) and file["bytes"] == len(mp4)
    assert file["purpose"] == "video_generation" and file["filename"].endswith(".mp4")
    assert mm.retrieve_content(task["file_id"]) == mp4
    assert [f["file_id"] for f in mm.list_files()] == [file["file_id"]]
    assert mm.list_files("voice_clone") == []
    with pytest.raises(MiniMaxError) as info:
        mm.list_files("nonsense")
    assert info.value.code == 2013
    mm.delete_file(file["file_id"])
    with pytest.raises(MiniMaxError, match="file not found"):
        mm.retrieve(task["file_id"])
    assert mm.list_files() == []
    with MiniMax("sk-api-other", server.url) as other, pytest.raises(MiniMaxError, match="file not found"):
        other.retrieve(task["file_id"])


def test_download_urls_expire_after_the_profile_ttl(server, mm):
    profile(server, {"providers": {"minimax": {"outputs": {"url_ttl": "9h"}}}})
    task, _ = mm.generate("MiniMax-Hailuo-2.3", "a cat")
    url = mm.retrieve(task["file_id"])["download_url"]
    advance(server, 9 * 3600 - 60)
    assert httpx.get(url, timeout=30).status_code == 200
    advance(server, 120)
    assert httpx.get(url).status_code == 403


@pytest.mark.parametrize(("body", "needle"), [
    ({"model": "MiniMax-Hailuo-9"}, "unknown model"),
    ({"prompt": "no model"}, "model is required"),
    ({"model": "MiniMax-Hailuo-2.3", "prompt": "x", "duration": 10, "resolution": "1080P"}, "duration 10"),
    ({"model": "MiniMax-Hailuo-2.3", "prompt": "x", "duration": "6"}, "duration must be an integer"),
    ({"model": "MiniMax-Hailuo-2.3", "prompt": "x", "resolution": "768p"}, "resolution 768p"),
    ({"model": "MiniMax-Hailuo-2.3", "prompt": "x", "resolution": "512P"}, "resolution 512P"),
    ({"model": "MiniMax-Hailuo-2.3-Fast", "prompt": "x"}, "first_frame_image is required"),
    ({"model": "MiniMax-Hailuo-2.3", "prompt": "x", "first_frame_image": "https://e.com/a.png",
      "last_frame_image": "https://e.com/b.png"}, "does not support first-last-frame"),
    ({"model": "MiniMax-Hailuo-02", "prompt": "x", "last_frame_image": "https://e.com/b.png"},
     "needs first_frame_image"),
    ({"model": "T2V-01", "prompt": "x", "first_frame_image": "https://e.com/a.png"}, "does not support"),
    ({"model": "MiniMax-Hailuo-2.3"}, "prompt is required"),
    ({"model": "MiniMax-Hailuo-2.3", "prompt": "x" * 2001}, "exceeds 2000"),
    ({"model": "I2V-01", "first_frame_image": "data:image/png;base64," + png_base64(200, 200)}, "short side"),
    ({"model": "I2V-01", "first_frame_image": "data:image/png;base64," + png_base64(1500, 400)}, "between 2:5"),
    ({"model": "I2V-01", "first_frame_image": "data:image/gif;base64,R0lGOD"}, "data URL must be"),
    ({"model": "I2V-01", "first_frame_image": "ftp://e.com/a.png"}, "public URL or a data URL"),
    ({"model": "S2V-01", "prompt": "x", "subject_reference": [{"type": "object", "image": ["https://e.com"]}]},
     "character"),
    ({"model": "S2V-01", "prompt": "x"}, "subject_reference is required for S2V-01"),
    ({"model": "T2V-01", "prompt": "x", "callback_url": "not a url"}, "callback_url"),
    ({"model": "T2V-01", "prompt": "x", "prompt_optimizer": "yes"}, "prompt_optimizer must be a boolean"),
])
def test_invalid_params_are_2013_with_http_200(server, body, needle):
    reply = httpx.post(f"{server.url}/v1/video_generation", json=body, headers={"Authorization": f"Bearer {KEY}"})
    answer = reply.json()
    assert reply.status_code == 200 and answer["task_id"] == ""
    assert answer["base_resp"]["status_code"] == 2013 and needle in answer["base_resp"]["status_msg"]


def test_malformed_json_is_2013(server):
    reply = httpx.post(f"{server.url}/v1/video_generation", content=b'{"model": ', headers={
        "Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert reply.status_code == 200 and reply.json()["base_resp"]["status_code"] == 2013


def test_auth_by_bearer_or_x_api_key_and_the_codes(server, mm):
    with MiniMax(KEY, server.url, header="x-api-key") as by_header:
        assert by_header.create("T2V-01", "hello")
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"x-api-key": "a b"}):
        reply = httpx.post(f"{server.url}/v1/video_generation", json={"model": "T2V-01", "prompt": "hi"},
                           headers=headers)
        assert reply.status_code == 200 and reply.json()["base_resp"]["status_code"] == 1004
    profile(server, {"providers": {"minimax": {"auth": {"keys": [KEY]}}}})
    assert mm.create("T2V-01", "hello")
    with MiniMax("sk-api-unknown", server.url) as stranger, pytest.raises(MiniMaxAuthError) as info:
        stranger.create("T2V-01", "hello")
    assert (info.value.code, info.value.message) == (2049, "invalid api key")


def test_tasks_are_private_and_unknown_ids_are_2013(server, mm):
    task_id = mm.create("T2V-01", "mine")
    with MiniMax("sk-api-other", server.url) as other, pytest.raises(MiniMaxError) as info:
        other.query(task_id)
    assert info.value.code == 2013
    with pytest.raises(MiniMaxError):
        mm.query("123")


def test_failed_tasks_report_fail_with_a_reason(server, mm):
    profile(server, {"jobs": {"failure_rate": {"content_policy": 1.0}, "fail_at": 0.5}})
    with pytest.raises(MiniMaxTaskFailed) as info:
        mm.wait(mm.create("MiniMax-Hailuo-2.3", "flagged output"))
    task = info.value.task
    assert task["status"] == "Fail" and task["base_resp"]["status_code"] == 1027 and "file_id" not in task
    profile(server, {"jobs": {"reject_at_submit": 1.0}})
    with pytest.raises(MiniMaxError) as rejected:
        mm.create("MiniMax-Hailuo-2.3", "flagged input")
    assert rejected.value.code == 1026


def test_create_rpm_per_model_is_1002_and_polls_do_not_count(server, mm):
    profile(server, {"providers": {"minimax": {"models": {"MiniMax-Hailuo-2.3": {
        "limits": {"requests_per_minute": 2}}}}}})
    first = mm.create("MiniMax-Hailuo-2.3", "one")
    mm.create("MiniMax-Hailuo-2.3", "two")
    for _ in range(5):
        mm.query(first)
    with pytest.raises(MiniMaxRateLimitError) as info:
        mm.create("MiniMax-Hailuo-2.3", "three")
    assert info.value.code == 1002 and info.value.body["task_id"] == ""
    mm.create("MiniMax-Hailuo-02", "another model")
    advance(server, 61)
    mm.create("MiniMax-Hailuo-2.3", "the next minute")


def test_over_concurrency_tasks_queue(server, mm):
    profile(server, {"limits": {"concurrent_jobs": 1}, "jobs": {"queue": "0s", "run": "1h"}})
    first = mm.create("MiniMax-Hailuo-2.3", "one")
    second = mm.create("MiniMax-Hailuo-2.3", "two")
    advance(server, 5)
    assert (mm.query(first)["status"], mm.query(second)["status"]) == ("Processing", "Queueing")
    advance(server, 3600)
    assert (mm.query(first)["status"], mm.query(second)["status"]) == ("Success", "Processing")


def test_balance_and_daily_quota(server, mm):
    profile(server, {"limits": {"credits": 0.5}})
    mm.create("MiniMax-Hailuo-2.3", "a 768P 6 s clip")  # $0.28
    with pytest.raises(MiniMaxError) as info:
        mm.create("MiniMax-Hailuo-2.3", "another")
    assert info.value.code == 1008
    profile(server, {"providers": {"minimax": {"models": {"MiniMax-Hailuo-2.3": {"limits": {"daily_jobs": 3}}}}}})
    mm.create("MiniMax-Hailuo-2.3", "one")
    [remains] = mm.remains()
    assert remains["model_name"] == "MiniMax-Hailuo-2.3"
    assert (remains["current_interval_total_count"], remains["current_interval_usage_count"]) == (3, 1)
    assert remains["end_time"] - remains["start_time"] == 86_400_000 and remains["remains_time"] > 0
    mm.create("MiniMax-Hailuo-2.3", "two")
    with pytest.raises(MiniMaxError) as daily:
        mm.create("MiniMax-Hailuo-2.3", "three")
    assert daily.value.code == 2056


@pytest.mark.parametrize(("status", "code"), [(500, 1000), (503, 1024), (429, 1002), (401, 1004)])
def test_injected_errors_keep_the_base_resp_envelope(server, status, code):
    profile(server, {"faults": {"create": [{"kind": "error", "status": status, "rate": 1.0}]}})
    reply = httpx.post(f"{server.url}/v1/video_generation", json={"model": "T2V-01", "prompt": "hi"},
                       headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == status and reply.json()["base_resp"]["status_code"] == code


def test_finished_tasks_feed_the_cost_ledger(server, mm):
    mm.generate("MiniMax-Hailuo-2.3", "a cat", duration=6, resolution="1080P")
    mm.generate("MiniMax-Hailuo-2.3-Fast", first_frame_image="https://example.com/a.png", duration=10)
    report = server.admin("GET", "/report").json()["providers"]["minimax"]
    # the price book: 2.3 at $0.077/s for 1080P, 2.3-Fast at $0.026/s below 1080P
    assert report["cost_usd"] == pytest.approx(6 * 0.077 + 10 * 0.026)
    assert report["downloads"]["count"] >= 2
