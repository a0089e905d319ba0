"""Runway's newer endpoints under hostile input (hypothesis over a real socket, tests/fuzzing.py): every body gets
Runway's own 4xx or a task, never a 500, and the upload made before the storm still works afterwards."""

from __future__ import annotations

import json

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, mutated_bodies, raw_bodies
from hypothesis import given
from hypothesis import strategies as st

from mockprovider.testing import MockServer

KEY = "key_fuzz"
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
IMAGE = "https://example.com/a.png"
VIDEO = "https://example.com/v.mp4"
BODIES = {
    "/v1/video_to_video": {"model": "aleph2", "videoUri": VIDEO, "promptText": "snow", "targetAspectRatio": "16:9",
                           "keyframes": [{"seconds": 1.5, "uri": IMAGE, "range": {"start_seconds": 0,
                                                                                  "end_seconds": 3}}]},
    "/v1/text_to_video": {"model": "seedance2_5", "promptText": "x", "duration": "auto", "ratio": "1280:720",
                          "references": [{"uri": IMAGE}], "outputFormat": "mp4"},
    "/v1/image_to_video": {"model": "kling3.0_pro", "promptImage": [{"uri": IMAGE, "position": "first"}],
                           "ratio": "1920:1080", "duration": 5, "providerSettings": {"multiPrompt": [
                               {"prompt": "a", "duration": 2}], "shotType": "customize"}},
    "/v1/text_to_image": {"model": "gpt_image_2", "promptText": "cat", "ratio": "1024:1024", "outputCount": 2,
                          "quality": "high", "referenceImages": [{"uri": IMAGE, "tag": "cat"}]},
    "/v1/character_performance": {"model": "act_two", "character": {"type": "image", "uri": IMAGE},
                                  "reference": {"type": "video", "uri": VIDEO}, "expressionIntensity": 3},
    "/v1/video_to_hdr": {"model": "ruby", "videoUri": VIDEO, "outputFormat": "hdr_prores", "proresProfile": "4444"},
    "/v1/video_upscale": {"model": "magnific_video_upscaler_creative", "videoUri": VIDEO, "creativity": 50},
    "/v1/sound_effect": {"model": "mirelo_sfx_2_0", "promptText": "rain", "duration": 3.5, "numVariants": 2},
    "/v1/text_to_speech": {"model": "eleven_v3", "promptText": "hi", "speed": 1.0,
                           "voice": {"type": "runway-preset", "presetId": "Maya"}},
    "/v1/speech_to_speech": {"model": "eleven_multilingual_sts_v2", "media": {"type": "audio", "uri": VIDEO},
                             "voice": {"type": "runway-preset", "presetId": "Noah"}},
    "/v1/voice_dubbing": {"model": "eleven_voice_dubbing", "audioUri": VIDEO, "targetLang": "es", "numSpeakers": 2},
    "/v1/avatar_videos": {"model": "gwm1_avatars", "avatar": {"type": "runway-preset", "presetId": "influencer"},
                          "speech": {"type": "text", "text": "hello", "voice": {"type": "preset", "presetId": "mia"}}},
    "/v1/recipes/multi_shot_video": {"version": "2026-06", "mode": "custom", "ratio": "960:960",
                                     "shots": [{"prompt": "a", "duration": 2}, {"prompt": "b", "duration": 3}]},
    "/v1/recipes/product_swap": {"version": "unsafe-latest", "newProductImages": [{"uri": IMAGE, "view": "side"}],
                                 "originalProductImage": {"uri": IMAGE}, "referenceVideo": {"uri": VIDEO},
                                 "duration": 5, "resolution": "1080p"},
    "/v1/recipes/marketing_stock_image": {"version": "2026-06", "prompt": "mug", "outputCount": 2,
                                          "quality": "low", "referenceImage": {"uri": IMAGE}},
    "/v1/routers": {"slug": "fuzz-router", "name": "f", "settings": {
        "optimizeFor": "latency", "maxCreditsPerGeneration": {"video": 100, "image": 10},
        "models": {"mode": "allow_new_except", "ids": ["veo3.1"]}, "fallback": {"onCapacity": True},
        "schemaVersion": 1}},
    "/v1/generate/video": {"configId": "fuzz-router", "input": {
        "promptText": "a", "duration": 5, "aspectRatio": "16:9", "resolution": "720p", "audio": False,
        "referenceImages": [{"uri": IMAGE, "role": "first"}], "seed": 3}},
    "/v1/generate/image": {"configId": "fuzz-router", "input": {"promptText": "a", "outputCount": 2,
                                                                 "resolution": "2k", "aspectRatio": "4:5"}},
    "/v1/generate/audio": {"configId": "fuzz-router", "input": {"type": "audio", "promptText": "rain",
                                                                 "duration": 3.5, "loop": True}},
    "/v1/workflows/5b1c2f7e-0d6a-4e1b-9a43-1f0e6c1d2a03": {"nodeOutputs": {
        "image": {"frame": {"type": "image", "uri": IMAGE}}, "prompt": {"text": {"type": "primitive", "value": "a"}}}},
    "/v1/voices": {"name": "v", "description": "d", "from": {"type": "text", "model": "eleven_ttv_v3",
                                                             "prompt": "a warm low voice, slightly raspy"}},
    "/v1/avatars": {"name": "a", "personality": "kind", "referenceImage": IMAGE, "startScript": "hi",
                    "imageProcessing": "none", "voice": {"type": "runway-live-preset", "presetId": "mia"}},
    "/v1/voices/preview": {"model": "eleven_multilingual_ttv_v2", "prompt": "a calm voice for a museum guide"},
    "/v1/documents": {"name": "FAQ", "content": "# Returns\nWithin 30 days."},
    "/v1/uploads": {"filename": "a.png", "type": "ephemeral"},
    "/v1/organization/usage": {"startDate": "2026-11-01", "beforeDate": "2026-12-01"},
}


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        # happy's timings at 4 fps: the tasks' background renders (HEVC, ProRes...) stay cheap
        lean = {"jobs": {"queue": "100ms", "run": "1s"}, "outputs": {"fps": 4}}
        assert server.admin("PUT", "/profile", {"profile": lean}).status_code == 200
        reply = f.request("POST", "/v1/uploads", HEADERS, json.dumps(BODIES["/v1/uploads"]).encode())
        assert reply.status == 200, reply.text()
        f.upload = json.loads(reply.body)
        reply = f.request("POST", "/v1/routers", HEADERS, json.dumps(BODIES["/v1/routers"]).encode())
        assert reply.status == 200, reply.text()
        yield f
        f.assert_healthy(probes=[lambda: _upload_still_works(f)])


def _upload_still_works(f: Fuzzer) -> None:
    body = {"model": "gen4_turbo", "promptImage": f.upload["runwayUri"], "ratio": "1280:720"}
    reply = f.request("POST", "/v1/image_to_video", HEADERS, json.dumps(body).encode())
    assert reply.status == 400  # created but never uploaded: refused, and the server still answers


def allowed(endpoint: str) -> tuple[int, ...]:
    """200 (a task), 400 or 413; a generate call naming no router of the caller's is Runway's 404."""
    return (200, 400, 404, 413) if endpoint.startswith("/v1/generate/") else (200, 400, 413)


@FUZZ_SETTINGS
@given(data=st.data(), endpoint=st.sampled_from(sorted(BODIES)))
def test_endpoint_bodies(fuzzer, data, endpoint):
    body = data.draw(mutated_bodies(BODIES[endpoint]))
    reply = fuzzer.expect_clean(fuzzer.request("POST", endpoint, HEADERS, body))
    assert reply.status in allowed(endpoint), reply.text()[:300]


@FUZZ_SETTINGS
@given(body=raw_bodies(), endpoint=st.sampled_from(sorted(BODIES)))
def test_raw_bodies(fuzzer, body, endpoint):
    reply = fuzzer.expect_clean(fuzzer.request("POST", endpoint, HEADERS, body))
    assert reply.status in allowed(endpoint), reply.text()[:300]


@FUZZ_SETTINGS
@given(ident=st.text(min_size=1, max_size=80))
def test_workflow_and_invocation_ids(fuzzer, ident):
    from urllib.parse import quote
    for path in ("/v1/workflows/", "/v1/workflow_invocations/", "/v1/voices/", "/v1/avatars/", "/v1/documents/"):
        reply = fuzzer.expect_clean(fuzzer.request("GET", path + quote(ident, safe=""), HEADERS, b""))
        # an id ending in "/" (sent as %2F, decoded by the server) is Starlette's trailing-slash redirect
        assert reply.status in (200, 404) or (reply.status == 307 and ident.endswith("/")), reply.text()[:300]


PATCHES = {"/v1/voices/": "/v1/voices", "/v1/avatars/": "/v1/avatars", "/v1/documents/": "/v1/documents"}


@FUZZ_SETTINGS
@given(data=st.data(), item=st.sampled_from(sorted(PATCHES)))
def test_updates_of_a_real_item(fuzzer, data, item):
    """PATCH bodies against an item that exists: Runway's 4xx or the updated item (200, a document 204)."""
    made = fuzzer.request("POST", PATCHES[item], HEADERS, json.dumps(BODIES[PATCHES[item]]).encode())
    assert made.status == 200, made.text()[:300]
    body = data.draw(mutated_bodies(BODIES[PATCHES[item]]))
    reply = fuzzer.expect_clean(fuzzer.request("PATCH", item + json.loads(made.body)["id"], HEADERS, body))
    assert reply.status in (200, 204, 400, 413), reply.text()[:300]
    fuzzer.request("DELETE", item + json.loads(made.body)["id"], HEADERS, b"")


@FUZZ_SETTINGS
@given(ident=st.text(min_size=1, max_size=60), exp=st.text(max_size=20), sig=st.text(max_size=70))
def test_voice_preview_links(fuzzer, ident, exp, sig):
    """A forged, expired or garbled preview link is a 403, never a 500 (a real one is an MP3: test_runway_personas)."""
    from urllib.parse import quote, urlencode
    path = f"/__runway/voice_previews/{quote(ident, safe='')}.mp3?{urlencode({'exp': exp, 'sig': sig})}"
    reply = fuzzer.expect_clean(fuzzer.request("GET", path, {}, b""))
    assert reply.status in (403, 404) or (reply.status == 307 and "/" in ident), reply.text()[:300]


@FUZZ_SETTINGS
@given(query=st.dictionaries(st.sampled_from(["limit", "cursor", "sort", "order"]), st.text(max_size=30)))
def test_list_queries(fuzzer, query):
    from urllib.parse import urlencode
    for path in ("/v1/voices", "/v1/avatars", "/v1/documents"):
        reply = fuzzer.expect_clean(fuzzer.request("GET", f"{path}?{urlencode(query)}", HEADERS, b""))
        assert reply.status in (200, 400), reply.text()[:300]


@FUZZ_SETTINGS
@given(body=st.binary(max_size=4096), content_type=st.sampled_from(
    ["multipart/form-data; boundary=xyz", "multipart/form-data", "text/plain", "multipart/form-data; boundary=\"\""]))
def test_upload_step_two_bodies(fuzzer, body, content_type):
    path = fuzzer_path(fuzzer)
    reply = fuzzer.expect_clean(fuzzer.request("POST", path, {"Content-Type": content_type}, body))
    assert reply.status in (204, 400, 403, 404), reply.text()[:300]


def fuzzer_path(f: Fuzzer) -> str:
    url = f.upload["uploadUrl"]
    return url[url.index("/__uploads"):]


@pytest.mark.parametrize("endpoint", sorted(BODIES))
def test_every_field_with_every_edge_value(fuzzer, endpoint):
    for _path, body in field_sweep(BODIES[endpoint]):
        reply = fuzzer.expect_clean(fuzzer.request("POST", endpoint, HEADERS, body))
        assert reply.status in allowed(endpoint), reply.text()[:300]
