"""runwayml 5.24.0, unchanged, against a served mock: avatar_videos and the seven recipes, with their request
shapes, Zod-style validation, credit cost, task lifecycle and decoded outputs (PyAV)."""

from __future__ import annotations

import io

import av
import httpx
import pytest
import runwayml
from runway_client import client

from mockprovider.testing import MockServer

IMAGE = "https://example.com/product.png"
VIDEO = "https://example.com/ad.mp4"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=13) as s:
        yield s


@pytest.fixture
def c(server):
    return client(server.url)


def download(url: str) -> tuple[str, bytes]:
    reply = httpx.get(url, timeout=120)  # a cold render may queue behind others on a loaded machine
    assert reply.status_code == 200, reply.text
    return reply.headers["content-type"], reply.content


def video_info(data: bytes) -> tuple[int, int, float, bool]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return stream.width, stream.height, round(frames / float(stream.average_rate), 2), bool(
            container.streams.audio)


def image_size(data: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def issues_of(excinfo) -> list[dict]:
    return excinfo.value.body["issues"]


def test_avatar_video_speaks_its_text_for_as_long_as_it_takes(c):
    text = "Welcome to the spring collection, " * 3  # 102 characters: ~6.8 s at 15 characters a second
    created = c.avatar_videos.create(model="gwm1_avatars", avatar={"type": "runway-preset", "presetId": "influencer"},
                                     speech={"type": "text", "text": text,
                                             "voice": {"type": "preset", "presetId": "clara"}})
    assert created.id
    task = c.tasks.retrieve(created.id)
    assert task.status in ("PENDING", "THROTTLED", "RUNNING", "SUCCEEDED")
    done = created.wait_for_task_output(timeout=60)
    kind, data = download(done.output[0])
    width, height, seconds, audio = video_info(data)
    assert kind == "video/mp4" and (width, height) == (720, 1280) and audio
    assert abs(seconds - len(text) / 15) < 0.2


def test_avatar_video_validation_in_runways_shape(c):
    with pytest.raises(runwayml.BadRequestError) as excinfo:
        c.avatar_videos.create(model="gwm1_avatars", avatar={"type": "runway-preset", "presetId": "nobody"},
                               speech={"type": "text", "text": "hi"})
    assert excinfo.value.status_code == 400
    assert any(issue["path"][:2] == ["avatar", "presetId"] for issue in issues_of(excinfo))
    with pytest.raises(runwayml.BadRequestError) as excinfo:
        c.avatar_videos.create(model="gwm1_avatars", avatar={"type": "custom", "avatarId": "av_unknown"},
                               speech={"type": "audio", "audio": "runway://made-up"})
    paths = [issue["path"] for issue in issues_of(excinfo)]
    assert ["avatar", "avatarId"] in paths and ["speech", "audio"] in paths
    with pytest.raises(runwayml.BadRequestError) as excinfo:
        c.post("/v1/avatar_videos", cast_to=object, body={"model": "gwm2", "avatar": {}, "speech": {}})
    assert issues_of(excinfo)[0]["path"] == ["model"] and issues_of(excinfo)[0]["code"] == "invalid_value"


def test_avatar_video_from_an_uploaded_voice_track(c):
    uri = c.uploads.create_ephemeral(file=("line.mp3", b"ID3" + b"\0" * 200_000, "audio/mpeg")).uri
    created = c.avatar_videos.create(model="gwm1_avatars",
                                     avatar={"type": "runway-preset", "presetId": "tennis-coach"},
                                     speech={"type": "audio", "audio": uri})
    done = created.wait_for_task_output(timeout=60)
    _, data = download(done.output[0])
    assert video_info(data)[2] == pytest.approx(200_003 * 8 / 1_000_000, abs=0.1)


@pytest.mark.parametrize(("call", "args", "size", "seconds", "credits"), [
    ("product_ad", {"product_images": [{"uri": IMAGE}], "duration": 8, "ratio": "720:1280", "audio": False},
     (720, 1280), 8.0, 120),
    ("product_ugc", {"character_image": {"uri": IMAGE}, "product_image": {"uri": IMAGE}, "ratio": "1080:1920",
                     "duration": 6}, (1080, 1920), 6.0, 90),
    ("product_swap", {"new_product_images": [{"uri": IMAGE, "view": "front"}],
                      "original_product_image": {"uri": IMAGE}, "reference_video": {"uri": VIDEO},
                      "duration": 5, "resolution": "720p"}, (1280, 720), 5.0, 75),
    ("multi_shot_video", {"mode": "custom", "shots": [{"prompt": "pour", "duration": 3},
                                                      {"prompt": "sip", "duration": 4}], "ratio": "960:960"},
     (960, 960), 7.0, 105),
    ("multi_shot_video", {"mode": "auto", "prompt": "a coffee ad", "duration": 10}, (1280, 720), 10.0, 150),
])
def test_video_recipes_render_what_was_asked(c, call, args, size, seconds, credits):
    raw = getattr(c.recipes.with_raw_response, call)(version="2026-06", **args)
    assert raw.http_response.json()["estimatedCost"] == {"credits": float(credits)}
    created = raw.parse()
    done = created.wait_for_task_output(timeout=60)
    kind, data = download(done.output[0])
    width, height, got_seconds, audio = video_info(data)
    assert kind == "video/mp4" and (width, height) == size and got_seconds == seconds
    assert audio is (args.get("audio", True))
    assert c.tasks.retrieve(created.id).to_dict().get("status") == "SUCCEEDED"


def test_recipe_estimates_and_image_outputs(server, c):
    headers = {"Authorization": "Bearer key_test", "X-Runway-Version": "2024-11-06"}
    reply = httpx.post(f"{server.url}/v1/recipes/product_ad", headers=headers,
                       json={"version": "2026-07", "productImages": [{"uri": IMAGE}], "duration": 8})
    assert reply.status_code == 200 and reply.json()["estimatedCost"] == {"credits": 120.0}
    created = c.recipes.marketing_stock_image(version="unsafe-latest", prompt="a mug on a desk", output_count=2,
                                              quality="high")
    done = created.wait_for_task_output(timeout=60)
    assert len(done.output) == 2
    bodies = [download(url) for url in done.output]
    assert all(kind == "image/png" and image_size(data) == (1024, 1024) for kind, data in bodies)
    assert bodies[0][1] != bodies[1][1]
    done = c.recipes.ad_localization(version="2026-06", reference_image={"uri": IMAGE},
                                     target_language="ja").wait_for_task_output(timeout=60)
    assert image_size(download(done.output[0])[1]) == (1024, 1024)
    done = c.recipes.product_campaign_image(version="2026-06", image={"uri": IMAGE},
                                            prompt="on a beach").wait_for_task_output(timeout=60)
    assert done.status == "SUCCEEDED" and len(done.output) == 1


def test_recipe_validation_in_runways_shape(c):
    with pytest.raises(runwayml.BadRequestError) as excinfo:
        c.recipes.product_ad(version="2025-01", product_images=[{"uri": IMAGE}])
    assert issues_of(excinfo)[0]["path"] == ["version"]
    with pytest.raises(runwayml.BadRequestError) as excinfo:
        c.recipes.product_ad(version="2026-06", product_images=[{"uri": "http://insecure.example/x.png"}],
                             duration=60, ratio="1:1")
    paths = {tuple(issue["path"]) for issue in issues_of(excinfo)}
    assert {("productImages", 0, "uri"), ("duration",), ("ratio",)} <= paths
    with pytest.raises(runwayml.BadRequestError) as excinfo:
        c.post("/v1/recipes/multi_shot_video", cast_to=object, body={"version": "2026-06", "mode": "custom"})
    assert issues_of(excinfo)[0]["path"] == ["shots"]
    with pytest.raises(runwayml.BadRequestError) as excinfo:
        c.recipes.product_swap(version="2026-06", new_product_images=[{"uri": IMAGE}],
                               original_product_image={"uri": IMAGE}, reference_video={"uri": "runway://nope"})
    assert issues_of(excinfo)[0]["path"] == ["referenceVideo", "uri"]


def test_recipes_are_not_listed_as_models(c):
    models = c.organization.retrieve().tier.models
    assert "gwm1_avatars" in models and "2026-06" not in models
