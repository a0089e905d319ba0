"""Veo (Gemini API, Vertex AI, the Cloud Storage paths) and the signed media links under hostile input
(hypothesis, over a real socket): Google's own 4xx shapes, never a 500; files only for the key that made them."""

from __future__ import annotations

import json
import time

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, header_values, mutated_bodies, path_segments, query_values
from hypothesis import given
from hypothesis import strategies as st

from mockprovider.testing import MockServer

GEMINI = "/v1beta/models/veo-3.1-generate-preview"
VERTEX = "/v1/projects/p/locations/us-central1/publishers/google/models/veo-3.1-generate-001"
KEY = {"x-goog-api-key": "k-fuzz"}
BODY = {"instances": [{"prompt": "a kite", "image": {"bytesBase64Encoded": "aGVsbG8=", "mimeType": "image/png"}}],
        "parameters": {"durationSeconds": 8, "aspectRatio": "16:9", "sampleCount": 1, "negativePrompt": "x",
                       "personGeneration": "allow_adult", "resolution": "720p", "seed": 3, "generateAudio": True}}
VERTEX_BODY = {"instances": [{"prompt": "a kite"}],
               "parameters": {"durationSeconds": 8, "sampleCount": 2, "storageUri": "gs://bucket/out",
                              "enhancePrompt": True, "compressionQuality": "optimized", "fps": 24}}


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        reply = f.request("POST", f"{GEMINI}:predictLongRunning", KEY, json.dumps({"instances": [
            {"prompt": "kept"}]}).encode())
        assert reply.status == 200, reply.text()
        f.operation = json.loads(reply.body)["name"]
        yield f
        f.assert_healthy(probes=[lambda: _still_there(f)])


def _still_there(f: Fuzzer) -> None:
    reply = f.request("GET", f"/v1beta/{f.operation}", KEY)
    assert reply.status == 200 and json.loads(reply.body)["name"] == f.operation


def _google(reply) -> None:
    assert reply.status in (200, 400, 401, 403, 404, 413, 429), reply.text()[:300]
    if reply.status >= 400 and reply.headers.get("content-type", "").startswith("application/json"):
        assert "error" in json.loads(reply.body)


@FUZZ_SETTINGS
@given(body=mutated_bodies(BODY, ["video", "lastFrame", "referenceImages"]))
def test_gemini_bodies(fuzzer, body):
    _google(fuzzer.expect_clean(fuzzer.request("POST", f"{GEMINI}:predictLongRunning", KEY, body)))


@FUZZ_SETTINGS
@given(body=mutated_bodies(VERTEX_BODY))
def test_vertex_bodies(fuzzer, body):
    _google(fuzzer.expect_clean(fuzzer.request("POST", f"{VERTEX}:predictLongRunning",
                                               {"Authorization": "Bearer ya29.fuzz"}, body)))


@pytest.mark.parametrize(("path", "valid"), [(f"{GEMINI}:predictLongRunning", BODY),
                                             (f"{VERTEX}:predictLongRunning", VERTEX_BODY)])
def test_every_field_with_every_edge_value(fuzzer, path, valid):
    for _path, body in field_sweep(valid):
        _google(fuzzer.expect_clean(fuzzer.request("POST", path, KEY, body)))


@FUZZ_SETTINGS
@given(model=path_segments(), op=path_segments(), file=path_segments(), key=header_values(),
       query=query_values())
def test_paths_keys_and_queries(fuzzer, model, op, file, key, query):
    for method, path, body in (("GET", f"/v1beta/models/{model}/operations/{op}?key={query}", b""),
                               ("GET", f"/v1beta/files/{file}:download?alt=media", b""),
                               ("POST", f"/v1/publishers/google/models/{model}:fetchPredictOperation",
                                json.dumps({"operationName": op}).encode()),
                               ("GET", f"/storage/v1/b/{model}/o/{file}?alt=media&generation={query}", b""),
                               ("GET", f"/__media/{file}/{query}.mp4?exp={query}&sig={op}", b"")):
        reply = fuzzer.expect_clean(fuzzer.request(method, path, {"x-goog-api-key": key}, body))
        assert reply.status < 500


def test_media_links_with_odd_signatures_and_indexes(fuzzer):
    for path in ("/__media/x/0.mp4?exp=%C2%B2&sig=a", "/__media/x/0.mp4?exp=1&sig=%C3%A9",
                 "/__media/x/" + "9" * 5000 + ".mp4?exp=1&sig=a", "/__media/x/0.mp4?exp=" + "9" * 5000 + "&sig=a",
                 "/__media/x/-1.mp4?exp=1&sig=a", "/__media/x/0.mp4"):
        reply = fuzzer.expect_clean(fuzzer.request("GET", path))
        assert reply.status in (403, 404), (path[:80], reply.status)


def test_gemini_files_only_for_the_key_that_made_them(fuzzer):
    reply = fuzzer.request("POST", f"{GEMINI}:predictLongRunning", KEY, json.dumps({"instances": [
        {"prompt": "mine"}]}).encode())
    name = json.loads(reply.body)["name"]
    deadline = time.monotonic() + 10
    while True:
        op = json.loads(fuzzer.request("GET", f"/v1beta/{name}", KEY).body)
        if op.get("done"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    uri = op["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    path = uri.split("//", 1)[1].split("/", 1)[1]
    assert fuzzer.request("GET", "/" + path, KEY).status == 200
    other = fuzzer.expect_clean(fuzzer.request("GET", "/" + path, {"x-goog-api-key": "someone-else"}))
    assert other.status == 404, other.text()[:200]


@FUZZ_SETTINGS
@given(range_header=st.one_of(st.sampled_from(["bytes=\u00b2-", "bytes=-" + "9" * 5000, "bytes=5-1", "bytes=x",
                                               "bytes=0-0,1-2", "bytes=" + "9" * 40 + "-"]), header_values()))
def test_range_headers_on_a_real_file(fuzzer, range_header):
    reply = fuzzer.request("GET", f"/v1beta/{fuzzer.operation}", KEY)
    op = json.loads(reply.body)
    if not op.get("done"):
        return
    uri = op["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    path = "/" + uri.split("//", 1)[1].split("/", 1)[1]
    reply = fuzzer.expect_clean(fuzzer.request("GET", path, {**KEY, "Range": range_header}))
    assert reply.status in (200, 206, 416), reply.status
