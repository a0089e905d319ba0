"""Kling under hostile input (hypothesis, over a real socket): bodies, query strings, task ids and JWTs whose
claims are absurd get Kling's own 1xxx envelopes, never a 500, and earlier tasks survive."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from fuzzing import (
    FUZZ_SETTINGS,
    Fuzzer,
    Raw,
    encode,
    field_sweep,
    header_values,
    hostile_values,
    mutated_bodies,
    path_segments,
    query_values,
)
from hypothesis import given
from hypothesis import strategies as st
from kling_client import png_base64, token

from mockprovider.testing import MockServer

TEXT = {"model_name": "kling-v3", "prompt": "a cat", "negative_prompt": "blur", "mode": "pro", "duration": "5",
        "aspect_ratio": "16:9", "sound": "on", "external_task_id": "ext-1", "watermark_info": {"enabled": True},
        "multi_shot": True, "shot_type": "customize",
        "multi_prompt": [{"index": 1, "prompt": "one", "duration": "2"},
                         {"index": 2, "prompt": "two", "duration": "3"}]}
CAMERA = {"model_name": "kling-v1", "prompt": "a dog", "mode": "std", "duration": "5", "cfg_scale": 0.5,
          "camera_control": {"type": "simple", "config": {"zoom": 5}}}
IMAGE = {"model_name": "kling-v1", "image": "https://example.com/a.png", "prompt": "x", "mode": "std",
         "static_mask": "https://example.com/m.png",
         "dynamic_masks": [{"mask": "https://example.com/d.png", "trajectories": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}]}


def auth(**claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(**claims)}", "Content-Type": "application/json"}


def forged(payload: bytes, secret: str = "sk_test") -> str:
    """A correctly signed HS256 token whose claims are ``payload`` as it is (JSON Python will not write)."""
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(payload)
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        reply = f.request("POST", "/v1/videos/text2video", auth(), json.dumps({"prompt": "kept"}).encode())
        assert reply.status == 200, reply.text()
        f.task = json.loads(reply.body)["data"]["task_id"]
        yield f
        f.assert_healthy(probes=[lambda: _task_still_there(f)])


def _task_still_there(f: Fuzzer) -> None:
    reply = f.request("GET", f"/v1/videos/text2video/{f.task}", auth())
    assert reply.status == 200 and json.loads(reply.body)["data"]["task_id"] == f.task


def _ok(reply) -> None:
    assert reply.status in (200, 400, 401, 404, 413, 414, 429, 431), reply.text()[:300]
    if reply.status != 200 and reply.headers.get("content-type") == "application/json":
        assert json.loads(reply.body)["code"] >= 1000, reply.text()[:300]


@FUZZ_SETTINGS
@given(body=mutated_bodies(TEXT, ["callback_url", "camera_control", "cfg_scale"]))
def test_text2video_bodies(fuzzer, body):
    _ok(fuzzer.expect_clean(fuzzer.request("POST", "/v1/videos/text2video", auth(), body)))


@FUZZ_SETTINGS
@given(body=mutated_bodies(IMAGE, ["image_tail", "voice_list", "element_list", "camera_control"]))
def test_image2video_bodies(fuzzer, body):
    _ok(fuzzer.expect_clean(fuzzer.request("POST", "/v1/videos/image2video", auth(), body)))


@pytest.mark.parametrize(("kind", "valid"), [("text2video", TEXT), ("text2video", CAMERA), ("image2video", IMAGE),
                                             ("image2video", {"image": png_base64(640, 360), "prompt": "p"})])
def test_every_field_with_every_edge_value(fuzzer, kind, valid):
    for _path, body in field_sweep(valid):
        _ok(fuzzer.expect_clean(fuzzer.request("POST", f"/v1/videos/{kind}", auth(), body)))


@FUZZ_SETTINGS
@given(task=path_segments(), kind=st.sampled_from(["text2video", "image2video"]))
def test_task_ids(fuzzer, task, kind):
    reply = fuzzer.expect_clean(fuzzer.request("GET", f"/v1/videos/{kind}/{task}", auth()))
    assert reply.status in (200, 307, 400, 404), reply.text()[:300]


@FUZZ_SETTINGS
@given(page=query_values(), size=query_values(), start=query_values())
def test_query_strings(fuzzer, page, size, start):
    for path in (f"/v1/videos/text2video?pageNum={page}&pageSize={size}", f"/account/costs?start_time={start}"
                 f"&end_time={size}"):
        _ok(fuzzer.expect_clean(fuzzer.request("GET", path, auth())))


def test_unicode_digits_in_query_strings_are_kling_errors(fuzzer):
    for path in ("/v1/videos/text2video?pageNum=%C2%B2", "/v1/videos/text2video?pageSize=" + "9" * 5000,
                 "/account/costs?start_time=%C2%B2", "/account/costs?end_time=" + "9" * 5000):
        reply = fuzzer.expect_clean(fuzzer.request("GET", path, auth()))
        assert reply.status == 400 and json.loads(reply.body)["code"] == 1201, (path, reply.text()[:200])


@FUZZ_SETTINGS
@given(value=hostile_values(), claim=st.sampled_from(["exp", "nbf", "iss", "iat"]))
def test_jwt_claims(fuzzer, value, claim):
    claims = {"iss": "ak_test", "exp": 4_000_000_000, "nbf": 0, claim: value}
    headers = {"Authorization": f"Bearer {forged(encode(claims))}"}
    _ok(fuzzer.expect_clean(fuzzer.request("GET", "/v1/videos/text2video", headers)))


@pytest.mark.parametrize("date", ["1" + "0" * 400, "9" * 5000, "NaN", "Infinity", "-Infinity", "1e400", "1e300"])
def test_absurd_jwt_dates_are_refused(fuzzer, date):
    for claim in ("exp", "nbf"):
        claims = {"iss": "ak_test", "exp": Raw("4000000000"), "nbf": Raw("0")}
        claims[claim] = Raw(date)
        headers = {"Authorization": f"Bearer {forged(encode(claims))}"}
        reply = fuzzer.expect_clean(fuzzer.request("GET", "/v1/videos/text2video", headers))
        assert reply.status == 401 and json.loads(reply.body)["code"] == 1002, (claim, date, reply.text()[:200])


@FUZZ_SETTINGS
@given(header=header_values())
def test_authorization_headers(fuzzer, header):
    _ok(fuzzer.expect_clean(fuzzer.request("GET", "/v1/videos/text2video", {"Authorization": header})))


def test_a_wrong_algorithm_or_signature_is_refused(fuzzer):
    none_alg = jwt.encode({"iss": "ak_test", "exp": 4_000_000_000}, key=None, algorithm="none")
    for value in (none_alg, forged(b'{"iss":"ak_test","exp":4000000000}', "wrong")):
        headers = {"Authorization": f"Bearer {value}"}
        reply = fuzzer.expect_clean(fuzzer.request("GET", "/v1/videos/text2video", headers))
        assert reply.status == 401, reply.text()[:200]
