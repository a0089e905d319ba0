"""Seedance (ModelArk) under hostile input (hypothesis, over a real socket): every create body, task id, query and
header a client can send gets ModelArk's own 4xx envelope, never a 500, and the task created first is still there."""

from __future__ import annotations

import json

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, header_values, mutated_bodies, path_segments, query_values
from hypothesis import given
from hypothesis import strategies as st
from kling_client import png_base64

from mockprovider.testing import MockServer

BASE = "/api/v3/contents/generations/tasks"
HEADERS = {"Authorization": "Bearer ark-fuzz", "Content-Type": "application/json"}
TEXT = {"model": "seedance-1-0-pro-250528", "content": [{"type": "text", "text": "a fox --rs 480p --dur 3"}],
        "ratio": "16:9", "resolution": "720p", "duration": 5, "seed": 7, "watermark": False, "camera_fixed": False,
        "service_tier": "flex", "execution_expires_after": 7200, "return_last_frame": None, "priority": 0,
        "callback_url": None, "safety_identifier": "u-1", "frames": None}
FRAMES = {"model": "seedance-1-5-pro-251215", "generate_audio": True, "draft": False, "duration": 4,
          "content": [{"type": "text", "text": "door"},
                      {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png_base64(400, 400)},
                       "role": "first_frame"},
                      {"type": "image_url", "image_url": {"url": "https://example.com/last.png"},
                       "role": "last_frame"}]}
REFERENCE = {"model": "dreamina-seedance-2-0-260128", "ratio": "adaptive",
             "content": [{"type": "text", "text": "dance"},
                         {"type": "image_url", "image_url": {"url": "https://example.com/a.png"},
                          "role": "reference_image"},
                         {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"},
                          "role": "reference_video"},
                         {"type": "audio_url", "audio_url": {"url": "https://example.com/a.mp3"},
                          "role": "reference_audio"}]}
ERROR_KEYS = {"code", "message", "param", "type"}


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        reply = f.request("POST", BASE, HEADERS, json.dumps(TEXT).encode())
        assert reply.status == 200, reply.text()
        f.task = json.loads(reply.body)["id"]
        yield f
        f.assert_healthy(probes=[lambda: _task_still_there(f)])


def _task_still_there(f: Fuzzer) -> None:
    reply = f.request("GET", f"{BASE}/{f.task}", HEADERS)
    assert reply.status == 200 and json.loads(reply.body)["id"] == f.task


def _modelark_shaped(reply) -> None:
    assert reply.status in (200, 400, 404, 413), reply.text()[:300]
    if reply.status != 200:
        assert set(json.loads(reply.body)["error"]) == ERROR_KEYS


@FUZZ_SETTINGS
@given(body=mutated_bodies(TEXT, ["content", "frames", "draft", "generate_audio"]))
def test_text_bodies(fuzzer, body):
    _modelark_shaped(fuzzer.expect_clean(fuzzer.request("POST", BASE, HEADERS, body)))


@FUZZ_SETTINGS
@given(body=st.one_of(mutated_bodies(FRAMES), mutated_bodies(REFERENCE)))
def test_image_and_reference_bodies(fuzzer, body):
    _modelark_shaped(fuzzer.expect_clean(fuzzer.request("POST", BASE, HEADERS, body)))


@FUZZ_SETTINGS
@given(task=path_segments(), method=st.sampled_from(["GET", "DELETE"]), auth=header_values(),
       client_id=header_values())
def test_task_paths_and_headers(fuzzer, task, method, auth, client_id):
    reply = fuzzer.expect_clean(fuzzer.request(method, f"{BASE}/{task}",
                                               {"Authorization": auth, "X-Client-Request-Id": client_id}))
    assert reply.status in (200, 400, 401, 404, 405, 307), reply.text()[:300]


@FUZZ_SETTINGS
@given(page=query_values(), size=query_values(), status=query_values(), ids=st.lists(query_values(), max_size=3))
def test_list_queries(fuzzer, page, size, status, ids):
    query = f"page_num={page}&page_size={size}&filter.status={status}" + "".join(
        f"&filter.task_ids={i}" for i in ids)
    reply = fuzzer.expect_clean(fuzzer.request("GET", f"{BASE}?{query}", HEADERS))
    assert reply.status in (200, 400), reply.text()[:300]


@pytest.mark.parametrize("valid", [TEXT, FRAMES, REFERENCE])
def test_every_field_with_every_edge_value(fuzzer, valid):
    for _path, body in field_sweep(valid):
        _modelark_shaped(fuzzer.expect_clean(fuzzer.request("POST", BASE, HEADERS, body)))
