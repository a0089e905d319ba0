"""Runway under hostile input (hypothesis, over a real socket): every create body, task id and header a client
can send gets Runway's own 4xx, never a 500, and the tasks created before the storm are still there."""

from __future__ import annotations

import json

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, field_sweep, header_values, mutated_bodies, path_segments
from hypothesis import given
from hypothesis import strategies as st

from mockprovider.testing import MockServer

KEY = "key_fuzz"
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
IMAGE = {"model": "gen4_turbo", "promptImage": "https://example.com/cat.png", "promptText": "a cat",
         "ratio": "1280:720", "duration": 5, "seed": 7, "contentModeration": {"publicFigureThreshold": "auto"}}
IMAGE_LIST = {"model": "veo3.1", "promptImage": [{"uri": "https://example.com/a.png", "position": "first"},
                                                  {"uri": "https://example.com/b.png", "position": "last"}],
              "ratio": "1280:720", "duration": 8, "audio": True}
TEXT = {"model": "gen4.5", "promptText": "a dog", "ratio": "1280:720", "duration": 5, "negativePrompt": "blur"}


@pytest.fixture(scope="module")
def fuzzer():
    with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
        f.server = server
        reply = f.request("POST", "/v1/image_to_video", HEADERS, json.dumps(IMAGE).encode())
        assert reply.status == 200, reply.text()
        f.task = json.loads(reply.body)["id"]
        yield f
        f.assert_healthy(probes=[lambda: _task_still_there(f)])


def _task_still_there(f: Fuzzer) -> None:
    reply = f.request("GET", f"/v1/tasks/{f.task}", HEADERS)
    assert reply.status == 200 and json.loads(reply.body)["id"] == f.task


@FUZZ_SETTINGS
@given(body=mutated_bodies(IMAGE, ["promptImage", "seed", "audio"]), endpoint=st.just("/v1/image_to_video"))
def test_image_to_video_bodies(fuzzer, body, endpoint):
    reply = fuzzer.expect_clean(fuzzer.request("POST", endpoint, HEADERS, body))
    assert reply.status in (200, 400, 413), reply.text()[:300]


@FUZZ_SETTINGS
@given(body=mutated_bodies(IMAGE_LIST))
def test_image_list_bodies(fuzzer, body):
    reply = fuzzer.expect_clean(fuzzer.request("POST", "/v1/image_to_video", HEADERS, body))
    assert reply.status in (200, 400, 413), reply.text()[:300]


@FUZZ_SETTINGS
@given(body=mutated_bodies(TEXT))
def test_text_to_video_bodies(fuzzer, body):
    reply = fuzzer.expect_clean(fuzzer.request("POST", "/v1/text_to_video", HEADERS, body))
    assert reply.status in (200, 400, 413), reply.text()[:300]


@FUZZ_SETTINGS
@given(task=path_segments(), method=st.sampled_from(["GET", "DELETE"]), auth=header_values(),
       version=st.one_of(st.just("2024-11-06"), header_values()))
def test_tasks_and_headers(fuzzer, task, method, auth, version):
    reply = fuzzer.expect_clean(fuzzer.request(method, f"/v1/tasks/{task}",
                                               {"Authorization": auth, "X-Runway-Version": version}))
    assert reply.status in (400, 401, 404, 405, 204, 200, 307), reply.text()[:300]


@FUZZ_SETTINGS
@given(auth=header_values())
def test_organization_headers(fuzzer, auth):
    fuzzer.expect_clean(fuzzer.request("GET", "/v1/organization", {"Authorization": auth,
                                                                  "X-Runway-Version": "2024-11-06"}))


@pytest.mark.parametrize(("endpoint", "valid"), [("/v1/image_to_video", IMAGE), ("/v1/image_to_video", IMAGE_LIST),
                                                 ("/v1/text_to_video", TEXT)])
def test_every_field_with_every_edge_value(fuzzer, endpoint, valid):
    for _path, body in field_sweep(valid):
        reply = fuzzer.expect_clean(fuzzer.request("POST", endpoint, HEADERS, body))
        assert reply.status in (200, 400, 413), reply.text()[:300]
