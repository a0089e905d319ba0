"""Kling's newer task families under hostile input (hypothesis over a real socket, tests/fuzzing.py): every body
gets Kling's own 1xxx envelope or a task, never a 500, and the server still answers afterwards."""

from __future__ import annotations

import json

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, mutated_bodies, raw_bodies
from hypothesis import given
from hypothesis import strategies as st
from kling_client import token

from mockprovider.testing import MockServer

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
IMAGE = "https://example.com/a.png"
BODIES = {
    "/v1/videos/omni-video": {"model_name": "kling-v3-omni", "prompt": "x", "mode": "std", "aspect_ratio": "16:9",
                              "duration": "5", "image_list": [{"image_url": IMAGE, "type": "first_frame"}],
                              "element_list": [{"element_id": 7}], "sound": "off",
                              "watermark_info": {"enabled": True}, "external_task_id": "o-1"},
    "/v1/videos/multi-image2video": {"image_list": [{"image": IMAGE}, {"image": IMAGE}], "prompt": "x",
                                     "mode": "pro", "duration": "10", "aspect_ratio": "1:1"},
    "/v1/videos/video-extend": {"video_id": "866889456698785798", "prompt": "x", "cfg_scale": 0.5},
    "/v1/videos/advanced-lip-sync": {"session_id": "s", "face_choose": [
        {"face_id": "0", "sound_file": "https://example.com/a.mp3", "sound_start_time": 0, "sound_end_time": 3000,
         "sound_insert_time": 0, "sound_volume": 1}]},
    "/v1/videos/identify-face": {"video_url": "https://example.com/v.mp4"},
    "/v1/videos/effects": {"effect_scene": "hug", "input": {"model_name": "kling-v1-6", "mode": "pro",
                                                            "images": [IMAGE, IMAGE], "duration": "5"}},
    "/v1/images/generations": {"model_name": "kling-v1-5", "prompt": "x", "image": IMAGE,
                               "image_reference": "subject", "image_fidelity": 0.5, "human_fidelity": 0.4,
                               "resolution": "2k", "n": 2, "aspect_ratio": "21:9"},
}


def headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        yield f
        f.assert_healthy(probes=[lambda: _still_answers(f)])


def _still_answers(f: Fuzzer) -> None:
    reply = f.request("POST", "/v1/images/generations", headers(), json.dumps({"prompt": "after"}).encode())
    assert reply.status == 200, reply.text()


@FUZZ_SETTINGS
@given(data=st.data(), path=st.sampled_from(sorted(BODIES)))
def test_family_bodies(fuzzer, data, path):
    body = data.draw(mutated_bodies(BODIES[path]))
    reply = fuzzer.expect_clean(fuzzer.request("POST", path, headers(), body))
    assert reply.status in (200, 400, 404, 413, 429), reply.text()[:300]


@FUZZ_SETTINGS
@given(body=raw_bodies(), path=st.sampled_from(sorted(BODIES)))
def test_raw_bodies(fuzzer, body, path):
    reply = fuzzer.expect_clean(fuzzer.request("POST", path, headers(), body))
    assert reply.status in (200, 400, 404, 413, 429), reply.text()[:300]


@pytest.mark.parametrize("path", sorted(BODIES))
def test_every_field_with_every_edge_value(fuzzer, path):
    for _path, body in field_sweep(BODIES[path]):
        reply = fuzzer.expect_clean(fuzzer.request("POST", path, headers(), body))
        assert reply.status in (200, 400, 404, 413, 429), reply.text()[:300]
