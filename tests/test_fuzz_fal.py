"""fal under hostile input (hypothesis, over a real socket): submit and run bodies, webhook URLs, request ids,
headers, upload calls and query strings get fal's own 4xx (422 ``detail[]``, 401, 404, ...) or a queued request
whose result is a 422, never a 500; requests made before the storm are still there."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, header_values, mutated_bodies, path_segments, query_values
from hypothesis import given
from hypothesis import strategies as st

from mockprovider.dialects.fal.models import ENDPOINTS
from mockprovider.testing import MockServer

AUTH = {"Authorization": "Key fuzz:secret"}
KLING = "fal-ai/kling-video/v3/pro/text-to-video"
KLING_BODY = {"multi_prompt": [{"prompt": "a cat", "duration": "3"}, {"prompt": "a dog", "duration": "4"}],
              "aspect_ratio": "9:16", "generate_audio": False, "cfg_scale": 0.4, "shot_type": "customize"}
WAN = "fal-ai/wan/v2.2-a14b/image-to-video"
WAN_BODY = {"prompt": "a cat", "image_url": "https://example.com/cat.png", "num_frames": 81, "frames_per_second": 16,
            "num_interpolated_frames": 2, "guidance_scale": 3.5, "seed": 7, "resolution": "480p"}
SEEDANCE = "fal-ai/bytedance/seedance/v1/pro/text-to-video"
SEEDANCE_BODY = {"prompt": "a cat", "resolution": "480p", "duration": "3", "num_frames": 72, "seed": -1}


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        reply = f.request("POST", f"/{KLING}", AUTH, json.dumps(KLING_BODY).encode())
        assert reply.status == 200, reply.text()
        f.request_id = json.loads(reply.body)["request_id"]
        yield f
        f.assert_healthy(probes=[lambda: _still_there(f)])


def _still_there(f: Fuzzer) -> None:
    reply = f.request("GET", f"/fal-ai/kling-video/requests/{f.request_id}", AUTH)
    assert reply.status == 200 and "video" in json.loads(reply.body), reply.text()[:300]


@FUZZ_SETTINGS
@given(body=mutated_bodies(KLING_BODY, ["prompt", "duration", "negative_prompt"]),
       host=st.sampled_from(["", "/run"]))
def test_kling_bodies_on_the_queue_and_the_run_host(fuzzer, body, host):
    reply = fuzzer.expect_clean(fuzzer.request("POST", f"{host}/{KLING}", AUTH, body))
    assert reply.status in (200, 413, 422), reply.text()[:300]


@FUZZ_SETTINGS
@given(body=mutated_bodies(WAN_BODY, ["aspect_ratio", "interpolator_model"]))
def test_wan_bodies(fuzzer, body):
    reply = fuzzer.expect_clean(fuzzer.request("POST", f"/run/{WAN}", AUTH, body))
    assert reply.status in (200, 413, 422), reply.text()[:300]


@FUZZ_SETTINGS
@given(endpoint=st.sampled_from(sorted(ENDPOINTS)), body=mutated_bodies({"prompt": "a cat",
                                                                         "image_url": "https://example.com/a.png"},
                                                                        ["duration", "resolution", "seed"]))
def test_every_endpoint_takes_hostile_bodies(fuzzer, endpoint, body):
    reply = fuzzer.expect_clean(fuzzer.request("POST", f"/{endpoint}", AUTH, body))
    assert reply.status in (200, 413, 422), reply.text()[:300]


@FUZZ_SETTINGS
@given(webhook=query_values(), timeout=header_values(), priority=header_values())
def test_submit_query_and_headers(fuzzer, webhook, timeout, priority):
    reply = fuzzer.expect_clean(fuzzer.request(
        "POST", f"/{SEEDANCE}?fal_webhook={webhook}", {**AUTH, "X-Fal-Request-Timeout": timeout,
                                                      "X-Fal-Queue-Priority": priority},
        json.dumps(SEEDANCE_BODY).encode()))
    assert reply.status in (200, 400, 422), reply.text()[:300]


@FUZZ_SETTINGS
@given(owner=path_segments(), alias=path_segments(), request_id=path_segments(),
       tail=st.sampled_from(["", "/status", "/status/stream", "/cancel"]),
       method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]), auth=header_values(), logs=query_values())
def test_request_paths_and_credentials(fuzzer, owner, alias, request_id, tail, method, auth, logs):
    path = f"/{owner}/{alias}/requests/{request_id}{tail}?logs={logs}"
    streaming = tail == "/status/stream"
    reply = fuzzer.expect_clean(fuzzer.request(method, path, {"Authorization": auth}, keep_alive=not streaming))
    assert reply.status < 500, reply.text()[:300]


@FUZZ_SETTINGS
@given(name=header_values(), kind=header_values(), body=st.binary(max_size=2048), token=header_values(),
       initiate=mutated_bodies({"file_name": "a.png", "content_type": "image/png"}))
def test_storage_calls(fuzzer, name, kind, body, token, initiate):
    for method, path, headers, payload in (
            ("POST", "/fal-rest/storage/auth/token?storage_type=fal-cdn-v3", AUTH, b"{}"),
            ("POST", "/fal-cdn/files/upload", {"Authorization": f"Bearer {token}", "Content-Type": kind,
                                               "X-Fal-File-Name": name}, body),
            ("POST", "/fal-rest/storage/upload/initiate?storage_type=gcs", AUTH, initiate),
            ("PUT", f"/fal-cdn/upload/{quote(name, safe='')}", {"Content-Type": kind}, body),
            ("GET", f"/fal-cdn/files/{quote(token, safe='')}/{quote(name, safe='')}", {}, b"")):
        fuzzer.expect_clean(fuzzer.request(method, path, headers, payload))


@pytest.mark.parametrize(("endpoint", "valid"), [(KLING, KLING_BODY), (WAN, WAN_BODY), (SEEDANCE, SEEDANCE_BODY)])
def test_every_field_with_every_edge_value(fuzzer, endpoint, valid):
    for _path, body in field_sweep(valid):
        reply = fuzzer.expect_clean(fuzzer.request("POST", f"/{endpoint}", AUTH, body))
        assert reply.status in (200, 413, 422), reply.text()[:300]
