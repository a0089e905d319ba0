"""Wan (DashScope) under hostile input (hypothesis, over a real socket): every create body, task id, query and
header gets DashScope's own ``{request_id, code, message}`` 4xx, never a 500, and the first task survives."""

from __future__ import annotations

import json

import pytest
from fuzzing import (
    FUZZ_SETTINGS,
    Fuzzer,
    field_sweep,
    header_values,
    mutated_bodies,
    path_segments,
    query_values,
    raw_bodies,
)
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
UPLOAD = "/api/v1/uploads/oss"


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


@FUZZ_SETTINGS
@given(action=query_values(), model=query_values(), auth=header_values())
def test_upload_policy_queries(fuzzer, action, model, auth):
    reply = fuzzer.expect_clean(fuzzer.request("GET", f"/api/v1/uploads?action={action}&model={model}",
                                               {"Authorization": auth}))
    assert reply.status in (200, 400, 401), reply.text()[:300]
    if reply.status != 200:
        assert set(json.loads(reply.body)) == ERROR_KEYS


def _multipart(fields: dict[str, str], boundary: str = "fuzzb") -> bytes:
    out = b""
    for name, value in fields.items():
        extra = '; filename="a.png"' if name == "file" else ""
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode() + \
            value.encode("utf-8", "surrogatepass") + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@FUZZ_SETTINGS
@given(body=raw_bodies(), content_type=header_values(),
       fields=st.dictionaries(st.sampled_from(["OSSAccessKeyId", "Signature", "policy", "key", "file",
                                               "x-oss-content-type"]), query_values(), max_size=6))
def test_upload_bodies(fuzzer, body, content_type, fields):
    for headers, payload in (({"Content-Type": content_type}, body),
                             ({"Content-Type": "multipart/form-data; boundary=fuzzb"}, _multipart(fields))):
        reply = fuzzer.expect_clean(fuzzer.request("POST", UPLOAD, headers, payload))
        assert reply.status in (400, 403, 413), reply.text()[:300]
        assert set(json.loads(reply.body)) == ERROR_KEYS


def test_oss_urls_in_create_bodies(fuzzer):
    """Every media field with a made-up or hostile oss:// URL: DashScope's 400, never a task."""
    for url in ("oss://", "oss://x", "oss://dashscope-instant/a/b/c.png", "oss://" + "a" * 5000, "oss://a\x00b",
                "oss://../../etc/passwd"):
        for valid in (I2V, KF2V, MEDIA):
            body = json.loads(json.dumps(valid))
            if "img_url" in body["input"]:
                body["input"]["img_url"] = url
            elif "first_frame_url" in body["input"]:
                body["input"]["first_frame_url"] = url
            else:
                body["input"]["media"][0]["url"] = url
            path = KEYFRAMES if valid is KF2V else CREATE
            headers = {**HEADERS, "X-DashScope-OssResourceResolve": "enable"}
            reply = fuzzer.expect_clean(fuzzer.request("POST", path, headers, json.dumps(body).encode()))
            assert reply.status == 400 and set(json.loads(reply.body)) == ERROR_KEYS, reply.text()[:300]
