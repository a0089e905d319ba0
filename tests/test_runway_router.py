"""runwayml 5.24.0's Model Router, unchanged, against a served mock: routers CRUD and pages, generate.video /
image / audio routed by capability, allow/deny lists, credit ceilings and optimizeFor; routed tasks run and their
outputs decode (PyAV); the routing story is listed under the router's requests."""

from __future__ import annotations

import io

import av
import httpx
import pytest
import runwayml
from runway_client import client

from mockprovider.testing import MockServer


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=17) as s:
        yield s


@pytest.fixture
def c(server):
    assert server.admin("POST", "/reset").status_code == 200
    return client(server.url)


def decoded(url: str) -> av.container.InputContainer:
    reply = httpx.get(url, timeout=120)
    assert reply.status_code == 200, reply.text
    return av.open(io.BytesIO(reply.content))


def test_router_crud_and_pages(c):
    made = c.routers.create(slug="production-video", name="Prod", settings={"optimizeFor": "quality"})
    assert made.slug == "production-video" and made.version == 1 and made.settings.optimize_for == "quality"
    assert c.routers.retrieve(made.id).name == "Prod"
    updated = c.routers.update(made.id, description="main", settings={"optimizeFor": "cost"})
    assert updated.version == 2 and updated.description == "main" and updated.settings.optimize_for == "cost"
    for i in range(3):
        c.routers.create(slug=f"r{i}")
    page = c.routers.list(limit=2)
    assert len(page.data) == 2 and page.next_cursor
    assert {r.slug for r in c.routers.list(limit=2)} == {"production-video", "r0", "r1", "r2"}  # auto-paging
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.routers.create(slug="r0", settings={"models": {"mode": "allowlist_only", "ids": ["no_such_model"]}})
    paths = [issue["path"] for issue in caught.value.body["issues"]]
    assert ["slug"] in paths and ["settings", "models", "ids", 0] in paths
    c.routers.delete(made.id)
    with pytest.raises(runwayml.NotFoundError):
        c.routers.retrieve(made.id)


def test_generate_video_routes_by_cost_quality_and_capability(c):
    c.routers.create(slug="cheap", settings={"optimizeFor": "cost"})
    c.routers.create(slug="best", settings={"optimizeFor": "quality"})
    cheap = c.generate.video.create(config_id="cheap", input={"promptText": "a fox", "duration": 5})
    assert cheap.routing.model == "kling3.0_standard" and cheap.routing.estimated_cost.credits == 50  # 10 credits/s
    best = c.generate.video.create(config_id="best", input={"promptText": "a fox", "duration": 8, "audio": True,
                                                            "aspectRatio": "9:16"})
    assert best.routing.model == "veo3.1" and best.routing.resolved_input.ratio == "720:1280"
    task = c.tasks.retrieve(best.id).wait_for_task_output(timeout=60)
    with decoded(task.output[0]) as media:
        stream = media.streams.video[0]
        assert (stream.width, stream.height) == (720, 1280) and media.streams.audio
    # an allowlist that only names a silent model cannot serve a request for audio
    c.routers.create(slug="silent", settings={"models": {"mode": "allowlist_only", "ids": ["gen4.5"]}})
    with pytest.raises(runwayml.BadRequestError):
        c.generate.video.create(config_id="silent", input={"promptText": "x", "audio": True})
    requests = c.routers.list_requests(c.routers.list(limit=10).data[0].id, limit=10).data
    assert requests[0].status == "no_eligible_model" and requests[0].emptied_by == ["allow_deny"]


def test_price_ceiling_and_deny_list(c):
    c.routers.create(slug="capped", settings={"maxCreditsPerGeneration": {"video": 50},
                                              "models": {"mode": "allow_new_except", "ids": ["gen4.5"]}})
    routed = c.generate.video.create(config_id="capped", input={"promptText": "x", "duration": 5})
    assert routed.routing.model != "gen4.5" and routed.routing.estimated_cost.credits <= 50
    assert routed.routing.resolved_settings.price_ceiling == 50
    router_id = c.routers.list(limit=1).data[0].id
    [record] = c.routers.list_requests(router_id, limit=5).data
    assert record.status == "routed" and record.task_id == routed.id and record.model == routed.routing.model


def test_generate_image_and_audio(c):
    c.routers.create(slug="any")
    images = c.generate.image.create(config_id="any", input={"promptText": "a mug", "outputCount": 2,
                                                             "aspectRatio": "3:2"})
    done = c.tasks.retrieve(images.id).wait_for_task_output(timeout=60)
    assert len(done.output) == 2
    with decoded(done.output[0]) as media:
        frame = next(media.decode(video=0))
        assert (frame.width, frame.height) == (1248, 832)
    speech = c.generate.audio.create(config_id="any", input={"type": "speech", "promptText": "hello " * 10})
    assert speech.routing.resolved_input.type == "speech"
    done = c.tasks.retrieve(speech.id).wait_for_task_output(timeout=60)
    with decoded(done.output[0]) as media:
        assert media.streams.audio[0].duration or media.duration


def test_generate_validation_in_runways_shape(c):
    with pytest.raises(runwayml.NotFoundError):
        c.generate.video.create(config_id="nobody", input={"promptText": "x"})
    c.routers.create(slug="v")
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.generate.video.create(config_id="v", input={"aspectRatio": "2:1", "referenceImages": [
            {"uri": "runway://made-up", "role": "first"}]})
    paths = [issue["path"] for issue in caught.value.body["issues"]]
    assert ["input", "aspectRatio"] in paths and ["input", "referenceImages", 0, "uri"] in paths
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.generate.audio.create(config_id="v", input={"promptText": "x"})
    assert caught.value.body["issues"][0]["path"] == ["input", "type"]


def test_null_settings_count_as_absent(c):
    c.routers.create(slug="nulls", settings={"optimizeFor": None, "models": None, "maxCreditsPerGeneration": None})
    routed = c.generate.video.create(config_id="nulls", input={"promptText": "x", "duration": None})
    assert routed.routing.resolved_settings.optimize_for == "cost"
