"""Replicate under hostile input (hypothesis, over a real socket): every create body, header, prediction id, cursor
and upload a client can send gets Replicate's own 4xx problem details, never a 500, and the predictions created
before the storm are still there."""

from __future__ import annotations

import json

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, header_values, mutated_bodies, path_segments, query_values
from hypothesis import given
from hypothesis import strategies as st

from mockprovider.dialects.replicate.models import MODELS
from mockprovider.testing import MockServer

TOKEN = "r8_" + "f" * 37
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
VEO = {"input": {"prompt": "a cat", "aspect_ratio": "16:9", "duration": 8, "image": "https://example.com/a.png",
                 "reference_images": ["https://example.com/r.png"], "resolution": "720p", "generate_audio": False,
                 "seed": 7, "negative_prompt": "blur", "last_frame": "data:image/png;base64,iVBORw0KGgo="},
       "webhook": "http://127.0.0.1:9/hook", "webhook_events_filter": ["start", "completed"]}
SEEDANCE = {"version": MODELS["bytedance/seedance-1-pro"].version,
            "input": {"prompt": "x", "duration": 12, "fps": 24, "camera_fixed": True, "aspect_ratio": "21:9"}}
WAN = {"input": {"prompt": "x", "image": "https://example.com/a.png", "num_frames": 121, "sample_shift": 2.5,
                 "frames_per_second": 30}, "stream": False, "webhook_completed": "https://example.com/done"}
LUMA = {"input": {"prompt": "x", "concepts": ["zoom_in", "pan_left"], "duration": 9, "loop": True}}
CREATES = [("/v1/models/google/veo-3.1/predictions", VEO), ("/v1/predictions", SEEDANCE),
           ("/v1/deployments/acme/wan-2.2-i2v-fast/predictions", WAN), ("/v1/models/luma/ray-2-720p/predictions",
                                                                        LUMA)]
PROFILE = {"callbacks": {"max_attempts": 1, "timeout": "1s"}}


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        assert server.admin("PUT", "/profile", {"profile": PROFILE}).status_code == 200
        f.server = server
        f.ids = []
        for path, body in CREATES:
            reply = f.request("POST", path, HEADERS, json.dumps(body).encode())
            assert reply.status == 201, reply.text()
            f.ids.append(json.loads(reply.body)["id"])
        yield f
        f.assert_healthy(probes=[lambda: _predictions_still_there(f)])


def _predictions_still_there(f: Fuzzer) -> None:
    for prediction in f.ids:
        reply = f.request("GET", f"/v1/predictions/{prediction}", HEADERS)
        assert reply.status == 200 and json.loads(reply.body)["id"] == prediction


def _problem(reply) -> None:
    if reply.status >= 400:
        body = json.loads(reply.body)
        assert body["status"] == reply.status and "detail" in body, reply.text()[:300]


@FUZZ_SETTINGS
@given(case=st.sampled_from(CREATES).flatmap(lambda c: st.tuples(st.just(c[0]), mutated_bodies(
    c[1], ["input", "version", "webhook", "webhook_events_filter", "stream", "webhook_completed"]))))
def test_create_bodies(fuzzer, case):
    path, body = case
    reply = fuzzer.expect_clean(fuzzer.request("POST", path, HEADERS, body))
    assert reply.status in (201, 400, 404, 413, 422), reply.text()[:300]
    _problem(reply)


@FUZZ_SETTINGS
@given(auth=header_values(), prefer=header_values(), cancel_after=header_values())
def test_create_headers(fuzzer, auth, prefer, cancel_after):
    headers = {"Authorization": auth, "Prefer": prefer, "Cancel-After": cancel_after}
    reply = fuzzer.expect_clean(fuzzer.request("POST", "/v1/models/luma/ray/predictions", headers,
                                               b'{"input": {"prompt": "x"}}'))
    assert reply.status in (201, 400, 401, 422), reply.text()[:300]
    _problem(reply)


@FUZZ_SETTINGS
@given(prediction=path_segments(), method=st.sampled_from(["GET", "POST"]), auth=header_values())
def test_prediction_ids(fuzzer, prediction, method, auth):
    path = f"/v1/predictions/{prediction}" + ("/cancel" if method == "POST" else "")
    for headers in (HEADERS, {"Authorization": auth}):
        reply = fuzzer.expect_clean(fuzzer.request(method, path, headers))
        assert reply.status in (200, 307, 400, 401, 404, 405), reply.text()[:300]


@FUZZ_SETTINGS
@given(cursor=query_values(), after=query_values(), owner=path_segments(), name=path_segments())
def test_lists_and_lookups(fuzzer, cursor, after, owner, name):
    for path in (f"/v1/predictions?cursor={cursor}", f"/v1/predictions?created_after={after}",
                 f"/v1/predictions?created_before={cursor}&created_after={after}", f"/v1/models/{owner}/{name}",
                 f"/v1/models/{owner}/{name}/versions/{cursor}", f"/v1/deployments/{owner}/{name}",
                 f"/v1/files/{cursor}", f"/v1/models/{owner}/{name}/predictions"):
        method = "POST" if path.endswith("/predictions") else "GET"
        reply = fuzzer.expect_clean(fuzzer.request(method, path, HEADERS, b'{"input": {}}' if method == "POST"
                                                   else b""))
        assert reply.status < 500


@FUZZ_SETTINGS
@given(name=st.text(max_size=300), content_type=header_values(), payload=st.binary(max_size=2000),
       metadata=st.one_of(st.text(max_size=40), st.just('{"a": 1}')), boundary=st.sampled_from(["b0", "x" * 70]))
def test_file_uploads(fuzzer, name, content_type, payload, metadata, boundary):
    safe_name = name.encode("utf-8", "surrogatepass").decode("latin-1")
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode("latin-1", "replace") + payload + (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{metadata}\r\n'
        f"--{boundary}--\r\n").encode("utf-8", "surrogatepass")
    for kind in (f"multipart/form-data; boundary={boundary}", "multipart/form-data", content_type):
        reply = fuzzer.expect_clean(fuzzer.request("POST", "/v1/files", {**HEADERS, "Content-Type": kind}, body))
        assert reply.status in (201, 400, 413, 415, 422), reply.text()[:300]
        _problem(reply)


@pytest.mark.parametrize(("path", "valid"), CREATES)
def test_every_field_with_every_edge_value(fuzzer, path, valid):
    for _field, body in field_sweep(valid):
        reply = fuzzer.expect_clean(fuzzer.request("POST", path, HEADERS, body))
        assert reply.status in (201, 400, 413, 422), reply.text()[:300]
        _problem(reply)
