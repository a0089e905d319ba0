"""MiniMax's v2 video API (MiniMax-H3, MiniMax-H3-Max) driven by a client written from the API's published fields
(tests/minimax_client.py MiniMaxV2): create with the ``content`` list, poll ``/v2/query/video_generation/{id}``,
download ``task.content.url`` and decode it; per-model validation, auth, limits, cancel, callbacks, the price book,
and routing beside fal's catch-all."""

from __future__ import annotations

import io

import av
import httpx
import pytest
from minimax_client import (
    MiniMax,
    MiniMaxAuthError,
    MiniMaxError,
    MiniMaxRateLimitError,
    MiniMaxV2,
    MiniMaxV2TaskFailed,
)
from test_luma_minimax_callbacks import challenge_receiver, settled
from test_minimax_api import advance, data_url, profile

from mockprovider.testing import MockServer

KEY = "sk-api-v2-0123"
IMG = MiniMaxV2.item


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=13) as s:
        yield s


@pytest.fixture
def mm(server):
    assert server.admin("POST", "/reset").status_code in (200, 204)
    with MiniMaxV2(KEY, server.url) as client:
        yield client


def decode(data: bytes) -> tuple[int, int, float, int]:
    """(width, height, seconds from the decoded frames at 24 fps, audio streams)."""
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return video.width, video.height, frames / 24, len(container.streams.audio)


@pytest.mark.parametrize(("model", "fields", "size"), [
    ("MiniMax-H3", {"resolution": "768P", "duration": 4, "ratio": "16:9"}, (1366, 768)),
    ("MiniMax-H3-Max", {"resolution": "480P", "duration": 5, "ratio": "9:16"}, (480, 854)),
])
def test_text_to_video_create_poll_download(mm, model, fields, size):
    task, mp4 = mm.generate(model, "A lantern drifting over a quiet lake", **fields)
    assert task["status"] == "succeeded" and task["_seen"][-1] == "succeeded" and task["id"].isdigit()
    assert (task["model"], task["resolution"], task["duration"], task["ratio"]) == (
        model, fields["resolution"], fields["duration"], fields["ratio"])
    assert task["usage"]["output_seconds"] == fields["duration"]
    assert decode(mp4) == (*size, fields["duration"], 1)  # H3 renders its sound track too


def test_first_and_last_frame_take_the_image_ratio(mm):
    frames = [IMG("image_url", data_url(640, 480), "first_frame"), IMG("image_url", data_url(640, 480), "last_frame")]
    task, mp4 = mm.generate("MiniMax-H3", "the day passes", media=frames, resolution="768P", duration=4,
                            ratio="16:9")  # ignored for frames
    assert decode(mp4)[:3] == (1024, 768, 4)
    # a lone image without a role is the first frame; a linked one (not fetched) gives 16:9
    task = mm.wait(mm.create("MiniMax-H3-Max", "she turns", media=[IMG("image_url", "https://example.com/a.jpg")],
                             resolution="768P", duration=5))
    assert task["status"] == "succeeded" and task["ratio"] == "adaptive"


def test_reference_to_video_with_images_video_and_audio(mm):
    media = [IMG("image_url", "https://example.com/hero.png", "reference_image"),
             IMG("image_url", "mm_file://305104010022912", "reference_image"),
             IMG("video_url", "https://example.com/motion.mp4", "reference_video"),
             IMG("audio_url", "data:audio/mpeg;base64,SUQz", "reference_audio")]
    task, mp4 = mm.generate("MiniMax-H3", "the hero walks to the beat", media=media, resolution="768P",
                            duration=4, ratio="1:1")
    assert task["usage"]["input_image_count"] == 2
    assert decode(mp4)[:3] == (768, 768, 4)


def test_statuses_queued_running_succeeded_on_the_engine_clock(server, mm):
    profile(server, {"jobs": {"queue": "100s", "run": "100s"}})
    task_id = mm.create("MiniMax-H3", "a slow one", resolution="2K", duration=4, ratio="16:9")
    first = mm.query(task_id)
    assert first["status"] == "queued" and "content" not in first and first["resolution"] == "2K"
    advance(server, 101)
    assert mm.query(task_id)["status"] == "running"
    advance(server, 100)
    done = mm.query(task_id)
    assert done["status"] == "succeeded" and done["content"]["url"].startswith(server.url)
    with av.open(io.BytesIO(mm.download(done["content"]["url"]))) as container:  # 2K is 2560x1440 [2nd]
        video = container.streams.video[0]
        assert (video.width, video.height, round(container.duration / 1e6)) == (2560, 1440, 4)


def test_the_link_is_signed_once_and_expires_after_the_profile_ttl(server, mm):
    profile(server, {"providers": {"minimax": {"outputs": {"url_ttl": "9h"}}}})
    task = mm.wait(mm.create("MiniMax-H3", "a cat", resolution="768P", duration=4, ratio="4:3"))
    advance(server, 9 * 3600 - 60)
    assert mm.query(task["id"])["content"]["url"] == task["content"]["url"]  # a poll does not extend it
    assert httpx.get(task["content"]["url"], timeout=30).status_code == 200
    advance(server, 120)
    assert httpx.get(task["content"]["url"], timeout=30).status_code == 403


T2V = {"model": "MiniMax-H3", "content": [{"type": "text", "text": "x"}], "resolution": "768P", "duration": 5,
       "ratio": "16:9"}
FIRST = {"type": "image_url", "image_url": {"url": "https://e.com/a.png"}, "role": "first_frame"}
REF = {"type": "image_url", "image_url": {"url": "https://e.com/r.png"}, "role": "reference_image"}


@pytest.mark.parametrize(("body", "needle"), [
    ({k: v for k, v in T2V.items() if k != "model"}, "model is required"),
    (T2V | {"model": "MiniMax-Hailuo-2.3"}, "served by /v1/video_generation"),
    (T2V | {"content": []}, "content is required"),
    (T2V | {"content": "a cat"}, "content is required"),
    (T2V | {"content": [FIRST]}, "exactly one non-empty text"),
    (T2V | {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, "exactly one"),
    (T2V | {"content": [{"type": "text", "text": "x" * 7001}]}, "exceeds 7000"),
    (T2V | {"content": [{"type": "html", "text": "x"}]}, "type must be one of"),
    (T2V | {"content": T2V["content"] + [FIRST | {"role": "reference_video"}]}, "role must be one of"),
    (T2V | {"content": T2V["content"] + [{"type": "image_url"}]}, "image_url is required"),
    (T2V | {"content": T2V["content"] + [FIRST | {"image_url": {"url": "ftp://e.com/a"}}]}, "public URL"),
    (T2V | {"content": T2V["content"] + [FIRST | {"image_url": {"url": data_url(200, 200)}}]}, "short side"),
    (T2V | {"content": T2V["content"] + [FIRST, FIRST]}, "at most 1 first_frame"),
    (T2V | {"content": T2V["content"] + [REF] * 10}, "at most 9 reference_image"),
    (T2V | {"content": T2V["content"] + [IMG("video_url", "https://e.com/v.mp4")] * 4}, "at most 3 reference_video"),
    (T2V | {"content": T2V["content"] + [IMG("audio_url", "https://e.com/a.mp3")] * 4}, "at most 3 reference_audio"),
    (T2V | {"content": T2V["content"] + [IMG("audio_url", "data:image/png;base64,AA")]}, "data:audio/"),
    (T2V | {"content": T2V["content"] + [FIRST, REF]}, "cannot be combined"),
    (T2V | {"content": T2V["content"] + [FIRST | {"role": None}, REF | {"role": None}]}, "role is required"),
    (T2V | {"model": "MiniMax-H3-Max", "content": T2V["content"] + [REF]}, "does not support reference"),
    ({k: v for k, v in T2V.items() if k != "resolution"}, "resolution is required"),
    (T2V | {"resolution": "1080P"}, "resolution 1080P is not supported by MiniMax-H3"),
    (T2V | {"model": "MiniMax-H3-Max", "resolution": "2K"}, "resolution 2K is not supported by MiniMax-H3-Max"),
    ({k: v for k, v in T2V.items() if k != "duration"}, "duration is required"),
    (T2V | {"duration": 16}, "duration 16 is not supported"),
    (T2V | {"duration": 3}, "supported: 4-15"),
    (T2V | {"model": "MiniMax-H3-Max", "duration": 4}, "supported: 5-15"),
    (T2V | {"duration": 5.0}, "duration must be an integer"),
    ({k: v for k, v in T2V.items() if k != "ratio"}, "ratio is required for text-to-video"),
    (T2V | {"ratio": "adaptive"}, "cannot be adaptive"),
    (T2V | {"ratio": "2:1"}, "ratio must be one of"),
    (T2V | {"seed": 2**32}, "seed must be"),
    (T2V | {"aigc_watermark": "yes"}, "aigc_watermark must be a boolean"),
    (T2V | {"callback_url": "not a url"}, "callback_url"),
])
def test_invalid_params_are_2013_with_http_200(server, body, needle):
    reply = httpx.post(f"{server.url}/v2/video_generation", json=body, headers={"Authorization": f"Bearer {KEY}"})
    answer = reply.json()
    assert reply.status_code == 200 and answer["task_id"] == "", reply.text
    assert answer["base_resp"]["status_code"] == 2013 and needle in answer["base_resp"]["status_msg"], reply.text


def test_malformed_json_is_2013_and_v1_points_h3_to_v2(server):
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    reply = httpx.post(f"{server.url}/v2/video_generation", content=b'{"model": ', headers=headers)
    assert reply.status_code == 200 and reply.json()["base_resp"]["status_code"] == 2013
    reply = httpx.post(f"{server.url}/v1/video_generation", json={"model": "MiniMax-H3", "prompt": "x"},
                       headers=headers)
    assert "/v2/video_generation" in reply.json()["base_resp"]["status_msg"]


def test_auth_codes_as_on_v1(server, mm):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
        for method, path in (("POST", "/v2/video_generation"), ("GET", "/v2/query/video_generation/1"),
                             ("DELETE", "/v2/video_generation/1")):
            reply = httpx.request(method, server.url + path, json=T2V, headers=headers)
            assert reply.status_code == 200 and reply.json()["base_resp"]["status_code"] == 1004, reply.text
    with MiniMaxV2(KEY, server.url, header="x-api-key") as by_header:
        assert by_header.create("MiniMax-H3", "hello", resolution="768P", duration=5, ratio="16:9")
    profile(server, {"providers": {"minimax": {"auth": {"keys": [KEY]}}}})
    with MiniMaxV2("sk-api-unknown", server.url) as stranger, pytest.raises(MiniMaxAuthError) as info:
        stranger.create("MiniMax-H3", "hello", resolution="768P", duration=5, ratio="16:9")
    assert (info.value.code, info.value.message) == (2049, "invalid api key")


def test_unknown_foreign_and_v1_task_ids_are_2013(server, mm):
    task_id = mm.create("MiniMax-H3", "mine", resolution="768P", duration=5, ratio="16:9")
    for bad in ("123", "not-a-number", "9" * 40):
        with pytest.raises(MiniMaxError) as info:
            mm.query(bad)
        assert info.value.code == 2013 and "task not found" in info.value.message
    with MiniMaxV2("sk-api-other", server.url) as other, pytest.raises(MiniMaxError):
        other.query(task_id)
    with MiniMax(KEY, server.url) as v1:
        v1_task = v1.create("T2V-01", "a v1 task")
        with pytest.raises(MiniMaxError):
            v1.query(task_id)  # a v2 task is not a v1 one, and the other way round
    with pytest.raises(MiniMaxError):
        mm.query(v1_task)


def test_cancel_a_queued_task_refuse_a_running_one_delete_a_finished_one(server, mm):
    profile(server, {"limits": {"concurrent_jobs": 1}, "jobs": {"queue": "0s", "run": "100s"}})
    running = mm.create("MiniMax-H3", "one", resolution="768P", duration=5, ratio="16:9")
    queued = mm.create("MiniMax-H3", "two", resolution="768P", duration=5, ratio="16:9")
    advance(server, 1)
    assert (mm.query(running)["status"], mm.query(queued)["status"]) == ("running", "queued")
    mm.cancel(queued)
    assert mm.query(queued)["status"] == "cancelled"
    with pytest.raises(MiniMaxV2TaskFailed):
        mm.wait(queued)
    with pytest.raises(MiniMaxError, match="is running"):
        mm.cancel(running)
    advance(server, 100)
    assert mm.query(running)["status"] == "succeeded"
    mm.cancel(running)
    with pytest.raises(MiniMaxError, match="task not found"):
        mm.query(running)


def test_failed_tasks_carry_an_error(server, mm):
    profile(server, {"jobs": {"failure_rate": {"content_policy": 1.0}, "fail_at": 0.5}})
    with pytest.raises(MiniMaxV2TaskFailed) as info:
        mm.wait(mm.create("MiniMax-H3", "flagged output", resolution="768P", duration=5, ratio="16:9"))
    task = info.value.task
    assert task["status"] == "failed" and task["error"]["code"] == 1027 and "content" not in task
    profile(server, {"jobs": {"reject_at_submit": 1.0}})
    with pytest.raises(MiniMaxError) as rejected:
        mm.create("MiniMax-H3", "flagged input", resolution="768P", duration=5, ratio="16:9")
    assert rejected.value.code == 1026


def test_limits_through_the_engine(server, mm):
    profile(server, {"providers": {"minimax": {"models": {"MiniMax-H3": {"limits": {"requests_per_minute": 1}}}}}})
    mm.create("MiniMax-H3", "one", resolution="768P", duration=5, ratio="16:9")
    with pytest.raises(MiniMaxRateLimitError) as info:
        mm.create("MiniMax-H3", "two", resolution="768P", duration=5, ratio="16:9")
    assert info.value.code == 1002 and info.value.body["task_id"] == ""
    profile(server, {"limits": {"credits": 1.1}})  # $0.40 spent above
    mm.create("MiniMax-H3", "$0.65 at 2K", resolution="2K", duration=5, ratio="16:9")
    with pytest.raises(MiniMaxError) as balance:
        mm.create("MiniMax-H3", "another $0.65", resolution="2K", duration=5, ratio="16:9")
    assert balance.value.code == 1008


def test_callbacks_challenge_then_the_query_body(server, mm):
    with challenge_receiver() as receiver:
        task_id = mm.create("MiniMax-H3", "a cat", resolution="768P", duration=4, ratio="16:9",
                            callback_url=receiver.url())
        bodies = settled(receiver, 3)
        assert set(bodies[0]) == {"challenge"}
        assert [(b["task"]["id"], b["task"]["status"]) for b in bodies[1:]] == [
            (task_id, "running"), (task_id, "succeeded")]
        assert bodies[2]["task"] == mm.query(task_id)


def test_finished_tasks_are_priced_by_the_price_book(server, mm):
    mm.generate("MiniMax-H3", "a cat", resolution="768P", duration=5, ratio="16:9")
    report = server.admin("GET", "/report").json()["providers"]["minimax"]
    # the book's MiniMax-H3 rows: $0.08 a second at 768P ($0.13 at 2K)
    assert report["cost_usd"] == pytest.approx(5 * 0.08)


def test_v2_paths_answer_minimax_never_fal_and_fal_still_serves_its_own(server):
    for method, path, status in (("POST", "/v2/video_generation", 200), ("GET", "/v2/query/video_generation/1", 200),
                                 ("GET", "/v2/video_generation", 405), ("GET", "/v2/query/video_generation", 404)):
        reply = httpx.request(method, server.url + path, timeout=10)
        assert reply.status_code == status and "base_resp" in reply.json(), (path, reply.text)
    fal = {"Authorization": "Key v2-routing:secret"}
    reply = httpx.post(f"{server.url}/fal-ai/luma-dream-machine/ray-2", json={"prompt": "a dog"}, headers=fal)
    assert reply.status_code == 200 and "base_resp" not in reply.json(), reply.text
    status = httpx.get(reply.json()["status_url"], headers=fal)
    assert status.status_code in (200, 202) and status.json()["status"] in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    assert httpx.post(f"{server.url}/fal-ai/luma-dream-machine/ray-2", json={}).status_code == 401

