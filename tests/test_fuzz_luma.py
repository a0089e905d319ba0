"""Luma under hostile input (hypothesis, over a real socket): every create, follow-up and list request a client can
send gets Luma's own 4xx (``{"detail": ...}``), never a 500, and the generation made before the storm is intact."""

from __future__ import annotations

import json

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, header_values, mutated_bodies, path_segments, query_values
from hypothesis import given
from hypothesis import strategies as st

from mockprovider.testing import MockServer

BASE = "/dream-machine/v1"
HEADERS = {"Authorization": "Bearer luma-fuzz"}
VIDEO = {"model": "ray-2", "prompt": "a whale at dawn", "aspect_ratio": "16:9", "resolution": "720p",
         "duration": "5s", "loop": False, "callback_url": "http://127.0.0.1:9/cb", "concepts": [{"key": "zoom_in"}],
         "keyframes": {"frame0": {"type": "image", "url": "https://example.com/a.png"},
                       "frame1": {"type": "generation", "id": "00000000-0000-4000-8000-000000000000"}}}
MODIFY = {"generation_type": "modify_video", "media": {"url": "https://example.com/v.mp4"}, "mode": "flex_1",
          "model": "ray-2", "prompt": "night", "first_frame": {"url": "https://example.com/a.png"}}
REFRAME = {"generation_type": "reframe_video", "media": {"url": "https://example.com/v.mp4"}, "aspect_ratio": "9:16",
           "model": "ray-flash-2", "x_start": 0, "x_end": 100, "grid_position_x": 3}
IMAGE = {"model": "photon-1", "prompt": "a lighthouse", "aspect_ratio": "4:3", "format": "png",
         "callback_url": "http://127.0.0.1:9/cb", "image_ref": [{"url": "https://example.com/a.png", "weight": 0.4}],
         "style_ref": [{"url": "https://example.com/s.png", "weight": 0.8}],
         "character_ref": {"identity0": {"images": ["https://example.com/c.png"]}},
         "modify_image_ref": {"url": "https://example.com/m.png", "weight": 1.0}, "sync": False,
         "sync_timeout": 1.5}
IMAGE_REFRAME = {"generation_type": "reframe_image", "media": {"url": "https://example.com/a.png"},
                 "aspect_ratio": "21:9", "model": "photon-flash-1", "format": "jpg", "y_start": 0, "y_end": 90}
UPSCALE = {"generation_type": "upscale_video", "resolution": "1080p", "callback_url": "http://127.0.0.1:9/cb"}
AUDIO = {"generation_type": "add_audio", "prompt": "waves", "negative_prompt": "music"}
STATUSES = (200, 201, 400, 401, 402, 404, 413, 422, 429)


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        reply = f.request("POST", f"{BASE}/generations/video", HEADERS,
                          json.dumps({"model": "ray-2", "prompt": "the survivor", "resolution": "540p"}).encode())
        assert reply.status == 201, reply.text()
        f.generation = json.loads(reply.body)["id"]
        yield f
        f.assert_healthy(probes=[lambda: _still_there(f)])


def _still_there(f: Fuzzer) -> None:
    reply = f.request("GET", f"{BASE}/generations/{f.generation}", HEADERS)
    assert reply.status == 200 and json.loads(reply.body)["id"] == f.generation


def _detail(reply) -> None:
    if reply.status >= 400:
        assert "detail" in json.loads(reply.body), reply.text()[:300]


def _post(fuzzer: Fuzzer, path: str, body: bytes) -> None:
    """A create-like POST: one of Luma's statuses, errors with a ``detail``."""
    reply = fuzzer.expect_clean(fuzzer.request("POST", BASE + path, HEADERS, body))
    assert reply.status in STATUSES, reply.text()[:300]
    _detail(reply)


@FUZZ_SETTINGS
@given(body=mutated_bodies(VIDEO, ["generation_type"]), path=st.sampled_from(["/generations/video", "/generations"]))
def test_create_bodies(fuzzer, body, path):
    _post(fuzzer, path, body)


@FUZZ_SETTINGS
@given(body=st.one_of(mutated_bodies(MODIFY).map(lambda b: ("modify", b)),
                      mutated_bodies(REFRAME).map(lambda b: ("reframe", b))))
def test_modify_and_reframe_bodies(fuzzer, body):
    kind, raw = body
    _post(fuzzer, f"/generations/video/{kind}", raw)


@FUZZ_SETTINGS
@given(body=st.one_of(mutated_bodies(IMAGE).map(lambda b: ("", b)),
                      mutated_bodies(IMAGE_REFRAME).map(lambda b: ("/reframe", b))))
def test_image_bodies(fuzzer, body):
    kind, raw = body
    _post(fuzzer, f"/generations/image{kind}", raw)


@FUZZ_SETTINGS
@given(body=st.one_of(mutated_bodies(UPSCALE).map(lambda b: ("upscale", b)),
                      mutated_bodies(AUDIO).map(lambda b: ("audio", b))))
def test_follow_up_bodies(fuzzer, body):
    kind, raw = body
    _post(fuzzer, f"/generations/{fuzzer.generation}/{kind}", raw)


@FUZZ_SETTINGS
@given(generation=path_segments(), method=st.sampled_from(["GET", "DELETE"]), auth=header_values(),
       suffix=st.sampled_from(["", "/upscale", "/audio"]))
def test_generation_paths_and_headers(fuzzer, generation, method, auth, suffix):
    if suffix:
        method = "POST"
    reply = fuzzer.expect_clean(fuzzer.request(method, f"{BASE}/generations/{generation}{suffix}",
                                               {"Authorization": auth}))
    if reply.status == 400 and len(generation) > 8000:
        return  # a request line of tens of kilobytes is refused by the HTTP server itself, before any route
    assert reply.status in (*STATUSES, 204, 307, 405), reply.text()[:300]  # 307: a trailing slash, as FastAPI


@FUZZ_SETTINGS
@given(limit=query_values(), offset=query_values())
def test_list_queries(fuzzer, limit, offset):
    reply = fuzzer.expect_clean(fuzzer.request("GET", f"{BASE}/generations?limit={limit}&offset={offset}", HEADERS))
    # a request line of tens of kilobytes is refused by the HTTP server itself, before any route
    assert reply.status in (200, 422) or (reply.status == 400 and len(limit + offset) > 8000), reply.text()[:300]


@pytest.mark.parametrize(("path", "valid"), [("/generations/video", VIDEO), ("/generations/video/modify", MODIFY),
                                             ("/generations/video/reframe", REFRAME),
                                             ("/generations/image", IMAGE),
                                             ("/generations/image/reframe", IMAGE_REFRAME)])
def test_every_field_with_every_edge_value(fuzzer, path, valid):
    for _field, body in field_sweep(valid):
        reply = fuzzer.expect_clean(fuzzer.request("POST", BASE + path, HEADERS, body))
        assert reply.status in STATUSES, reply.text()[:300]
