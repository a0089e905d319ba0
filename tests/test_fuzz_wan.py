"""Wan (DashScope) under hostile input (hypothesis, over a real socket): every create body, task id, query and
header gets DashScope's own ``{request_id, code, message}`` 4xx, never a 500, and the first task survives."""

from __future__ import annotations

import json

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, header_values, mutated_bodies, path_segments, query_values
from hypothesis import given
from hypothesis import strategies as st
from kling_client import png_base64

from mockprovider.testing import MockServer

CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"
KEYFRAMES = "/api/v1/services/aigc/image2video/video-synthesis"
HEADERS = {"Authorization": "Bearer sk-fuzz", "X-DashScope-Async": "enable", "Content-Type": "application/json"}
T2V = {"model": "wan2.6-t2v", "input": {"prompt": "a cat", "negative_prompt": "blur", "extend_prompt": True,
                                         "function": "video-synthesis", "audio_url": "https://example.com/a.mp3"},
       "parameters": {"size": "1280*720", "duration": 5, "seed": 1, "prompt_extend": True, "watermark": False,
                      "shot_type": "multi", "audio": True}}
I2V = {"model": "wan2.6-i2v", "input": {"prompt": "waves", "img_url": "data:image/png;base64," + png_base64(400, 400)},
       "parameters": {"resolution": "720P", "duration": 10}}
MEDIA = {"model": "wan2.7-r2v", "input": {"prompt": "dance", "media": [
    {"type": "reference_image", "url": "https://example.com/a.png"},
    {"type": "reference_video", "url": "https://example.com/v.mp4"}]},
    "parameters": {"resolution": "720P", "ratio": "9:16", "duration": 4}}
EDIT = {"model": "wan2.7-videoedit", "input": {"prompt": "clay", "media": [
    {"type": "video", "url": "https://example.com/in.mp4"}, {"type": "reference_image", "url": "https://x.io/a.png"}]},
    "parameters": {"resolution": "720P", "duration": 0, "audio_setting": "auto", "ratio": "1:1"}}
KF2V = {"model": "wan2.2-kf2v-flash", "input": {"first_frame_url": "https://example.com/a.png",
                                                 "last_frame_url": "https://example.com/b.png", "prompt": "x"},
        "parameters": {"resolution": "480P"}}
ERROR_KEYS = {"request_id", "code", "message"}


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        reply = f.request("POST", CREATE, HEADERS, json.dumps(T2V).encode())
        assert reply.status == 200, reply.text()
        f.task = json.loads(reply.body)["output"]["task_id"]
        yield f
        f.assert_healthy(probes=[lambda: _task_still_there(f)])


def _task_still_there(f: Fuzzer) -> None:
    reply = f.request("GET", f"/api/v1/tasks/{f.task}", HEADERS)
    assert reply.status == 200 and json.loads(reply.body)["output"]["task_status"] != "UNKNOWN"


def _dashscope_shaped(reply) -> None:
    assert reply.status in (200, 400, 413), reply.text()[:300]
    assert reply.headers["content-type"].startswith("application/json")
    if reply.status != 200:
        assert set(json.loads(reply.body)) == ERROR_KEYS


@FUZZ_SETTINGS
@given(body=st.one_of(mutated_bodies(T2V), mutated_bodies(I2V), mutated_bodies(MEDIA), mutated_bodies(EDIT)))
def test_create_bodies(fuzzer, body):
    _dashscope_shaped(fuzzer.expect_clean(fuzzer.request("POST", CREATE, HEADERS, body)))


@FUZZ_SETTINGS
@given(body=mutated_bodies(KF2V))
def test_keyframe_bodies(fuzzer, body):
    _dashscope_shaped(fuzzer.expect_clean(fuzzer.request("POST", KEYFRAMES, HEADERS, body)))


@FUZZ_SETTINGS
@given(task=path_segments(), auth=header_values(), cancel=st.booleans(), asynchronous=header_values())
def test_task_paths_and_headers(fuzzer, task, auth, cancel, asynchronous):
    headers = {"Authorization": auth, "X-DashScope-Async": asynchronous}
    if cancel:
        reply = fuzzer.request("POST", f"/api/v1/tasks/{task}/cancel", headers)
    else:
        reply = fuzzer.request("GET", f"/api/v1/tasks/{task}", headers)
    fuzzer.expect_clean(reply)
    assert reply.status in (200, 400, 401, 404, 405, 307), reply.text()[:300]


@FUZZ_SETTINGS
@given(page=query_values(), size=query_values(), status=query_values(), start=query_values())
def test_list_queries(fuzzer, page, size, status, start):
    reply = fuzzer.expect_clean(fuzzer.request(
        "GET", f"/api/v1/tasks?page_no={page}&page_size={size}&status={status}&start_time={start}", HEADERS))
    assert reply.status in (200, 400), reply.text()[:300]


@pytest.mark.parametrize(("path", "valid"), [(CREATE, T2V), (CREATE, I2V), (CREATE, MEDIA), (CREATE, EDIT),
                                                (KEYFRAMES, KF2V)])
def test_every_field_with_every_edge_value(fuzzer, path, valid):
    for _path, body in field_sweep(valid):
        _dashscope_shaped(fuzzer.expect_clean(fuzzer.request("POST", path, HEADERS, body)))
