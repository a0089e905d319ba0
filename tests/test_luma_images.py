"""Luma's Photon image generations through the official ``lumaai`` SDK (``generations.image.create`` / ``reframe``,
then ``generations.get``): a real JPEG or PNG at the ratio in ``assets.image``, ``sync`` mode, per-megapixel credits,
and the SDK's own error classes."""

from __future__ import annotations

import io
import time

import av
import httpx
import lumaai
import pytest

from mockprovider.media.imagesize import image_size
from mockprovider.testing import MockServer

KEY = "luma-image-0123"
IMAGE = "https://example.com/a.png"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=9) as s:
        yield s


@pytest.fixture(scope="module")
def luma(server):
    return lumaai.LumaAI(auth_token=KEY, base_url=f"{server.url}/dream-machine/v1", max_retries=0)


def finished(luma: lumaai.LumaAI, generation_id: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        generation = luma.generations.get(generation_id)
        if generation.state in ("completed", "failed"):
            return generation
        assert time.monotonic() < deadline, generation
        time.sleep(0.02)


def fetch_still(url: str) -> tuple[str, tuple[int, int]]:
    reply = httpx.get(url, timeout=20)
    assert reply.status_code == 200, reply.text
    with av.open(io.BytesIO(reply.content)) as container:  # a real, decodable still
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == image_size(reply.content)
    return reply.headers["content-type"], (frame.width, frame.height)


@pytest.mark.parametrize(("model", "ratio", "fmt", "size", "mime"), [
    ("photon-1", "16:9", None, (1920, 1080), "image/jpeg"),
    ("photon-flash-1", "9:16", "png", (1080, 1920), "image/png"),
    ("photon-1", "1:1", "jpg", (1080, 1080), "image/jpeg"),
])
def test_image_create_poll_and_download(luma, model, ratio, fmt, size, mime):
    extra = {"format": fmt} if fmt else {}
    created = luma.generations.image.create(model=model, prompt="a lighthouse at dusk", aspect_ratio=ratio,
                                            image_ref=[{"url": IMAGE, "weight": 0.5}], **extra)
    assert created.state == "queued" and created.generation_type == "image" and created.assets is None
    assert created.request.model == model
    done = finished(luma, created.id)
    assert done.state == "completed" and done.assets.video is None
    assert fetch_still(done.assets.image) == (mime, size)


def test_sync_mode_answers_with_the_finished_image(luma):
    done = luma.generations.image.create(model="photon-flash-1", prompt="a red kite", sync=True, sync_timeout=30)
    assert done.state == "completed"
    assert fetch_still(done.assets.image) == ("image/jpeg", (1920, 1080))


def test_reframe_image(luma):
    done = luma.generations.image.reframe(model="photon-flash-1", generation_type="reframe_image",
                                          aspect_ratio="21:9", media={"url": IMAGE}, format="png",
                                          x_start=10, x_end=500)
    assert done.request.generation_type == "reframe_image"
    assert fetch_still(finished(luma, done.id).assets.image) == ("image/png", (2520, 1080))


def test_images_are_listed_charged_per_megapixel_and_deleted(luma):
    before = luma.credits.get().credit_balance
    created = luma.generations.image.create(model="photon-1", prompt="a quiet harbour", aspect_ratio="1:1")
    assert before - luma.credits.get().credit_balance == pytest.approx(32.0 * 1080 * 1080 / 1e6, abs=0.01)
    assert created.id in [g.id for g in luma.generations.list(limit=5).generations]
    luma.generations.delete(created.id)
    with pytest.raises(lumaai.NotFoundError):
        luma.generations.get(created.id)


@pytest.mark.parametrize(("fields", "error", "text"), [
    ({"model": "photon-9", "prompt": "a cat"}, lumaai.UnprocessableEntityError, "literal_error"),
    ({"model": "photon-1"}, lumaai.BadRequestError, "Prompt is required"),
    ({"model": "photon-1", "prompt": "a cat", "image_ref": [{"url": IMAGE}] * 5}, lumaai.BadRequestError,
     "maximum is 4"),
    ({"model": "photon-1", "prompt": "a cat", "style_ref": [{"url": IMAGE, "weight": 2}]},
     lumaai.UnprocessableEntityError, "less_than_equal"),
    ({"model": "photon-1", "prompt": "a cat", "format": "gif"}, lumaai.UnprocessableEntityError, "literal_error"),
    ({"model": "photon-1", "prompt": "a cat", "character_ref": {"identity0": {"images": ["ftp://x"]}}},
     lumaai.UnprocessableEntityError, "url_parsing"),
])
def test_bad_image_requests_raise_the_sdk_classes(luma, fields, error, text):
    with pytest.raises(error) as info:
        luma.generations.image.create(**fields)
    assert text in str(info.value.body)


def test_video_follow_ups_refuse_image_generations(luma):
    image = luma.generations.image.create(model="photon-flash-1", prompt="a still", sync=True)
    assert image.state == "completed"
    with pytest.raises(lumaai.BadRequestError, match="not a video"):
        luma.generations.upscale(image.id, resolution="1080p")
    with pytest.raises(lumaai.BadRequestError, match="not a video"):
        luma.generations.create(model="ray-2", prompt="extend it", keyframes={
            "frame0": {"type": "generation", "id": image.id}})
