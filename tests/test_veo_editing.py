"""What google-genai 3.6.1 can send to Veo on Vertex beyond the core path: veo-2.0-generate-exp mask editing and
STYLE reference images, and the SDK's upper-case enum values (PersonGeneration, compression, resize, mask modes)."""

from __future__ import annotations

import io
import time

import av
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from mockprovider.testing import MockServer

PNG = types.Image(image_bytes=b"\x89PNG\r\n\x1a\n" + b"\0" * 64, mime_type="image/png")


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=21) as s:
        yield s


@pytest.fixture
def client(server):
    return genai.Client(vertexai=True, project="p", location="us-central1", credentials=Credentials(token="t"),
                        http_options=types.HttpOptions(base_url=server.url))


def wait(client: genai.Client, op):
    deadline = time.monotonic() + 60
    while not op.done:
        assert time.monotonic() < deadline
        time.sleep(0.01)
        op = client.operations.get(op)
    return op


def decoded(video: types.Video) -> tuple[int, int, float]:
    with av.open(io.BytesIO(video.video_bytes)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return stream.width, stream.height, frames / float(stream.average_rate)


def test_mask_editing_with_veo_2_exp_keeps_the_input_length(client):
    source = wait(client, client.models.generate_videos(
        model="veo-2.0-generate-001", source=types.GenerateVideosSource(prompt="a street"),
        config=types.GenerateVideosConfig(duration_seconds=6)))
    clip = source.response.generated_videos[0].video
    op = client.models.generate_videos(
        model="veo-2.0-generate-exp",
        source=types.GenerateVideosSource(prompt="a red car", video=types.Video(video_bytes=clip.video_bytes,
                                                                              mime_type="video/mp4")),
        config=types.GenerateVideosConfig(
            aspect_ratio="16:9", mask=types.VideoGenerationMask(image=PNG, mask_mode="insert"),
            compression_quality="lossless", number_of_videos=2))
    done = wait(client, op)
    videos = done.response.generated_videos
    assert len(videos) == 2 and videos[0].video.video_bytes != videos[1].video.video_bytes
    width, height, seconds = decoded(videos[0].video)
    assert (width, height) == (1280, 720) and seconds == pytest.approx(6.0, abs=0.1)  # the inline input's length
    extended = wait(client, client.models.generate_videos(
        model="veo-2.0-generate-001", source=types.GenerateVideosSource(
            prompt="further", video=types.Video(video_bytes=clip.video_bytes, mime_type="video/mp4"))))
    assert decoded(extended.response.generated_videos[0].video)[2] == pytest.approx(13.0, abs=0.1)  # 6 + 7 s


def test_mask_editing_is_only_for_veo_2_exp_and_needs_a_video(client):
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_videos(
            model="veo-3.1-generate-001",
            source=types.GenerateVideosSource(prompt="x", video=types.Video(uri="gs://bkt/in.mp4",
                                                                            mime_type="video/mp4")),
            config=types.GenerateVideosConfig(mask=types.VideoGenerationMask(image=PNG, mask_mode="REMOVE")))
    assert caught.value.code == 400 and "veo-2.0-generate-exp" in caught.value.message
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_videos(
            model="veo-2.0-generate-exp", source=types.GenerateVideosSource(prompt="x"),
            config=types.GenerateVideosConfig(mask=types.VideoGenerationMask(image=PNG, mask_mode="OUTPAINT")))
    assert "video" in caught.value.message


def test_style_reference_images_only_where_documented(client):
    style = [types.VideoGenerationReferenceImage(image=PNG, reference_type="style")]
    done = wait(client, client.models.generate_videos(
        model="veo-2.0-generate-exp", source=types.GenerateVideosSource(prompt="in this style"),
        config=types.GenerateVideosConfig(reference_images=style, duration_seconds=5)))
    assert decoded(done.response.generated_videos[0].video)[2] == pytest.approx(5.0, abs=0.1)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_videos(model="veo-3.1-generate-001",
                                      source=types.GenerateVideosSource(prompt="in this style"),
                                      config=types.GenerateVideosConfig(reference_images=style, duration_seconds=8))
    assert "STYLE" in caught.value.message
    with pytest.raises(errors.ClientError):  # one STYLE image, not with others
        client.models.generate_videos(
            model="veo-2.0-generate-exp", source=types.GenerateVideosSource(prompt="x"),
            config=types.GenerateVideosConfig(reference_images=style * 2))


def test_sdk_enum_forms_are_accepted(client):
    done = wait(client, client.models.generate_videos(
        model="veo-3.1-fast-generate-001", source=types.GenerateVideosSource(prompt="people"),
        config=types.GenerateVideosConfig(person_generation=types.PersonGeneration.ALLOW_ADULT,
                                          resize_mode=types.ImageResizeMode.PAD,
                                          compression_quality=types.VideoCompressionQuality.OPTIMIZED,
                                          duration_seconds=4, generate_audio=False)))
    assert decoded(done.response.generated_videos[0].video)[:2] == (1280, 720)
    done = wait(client, client.models.generate_videos(
        model="veo-3.1-fast-generate-001", source=types.GenerateVideosSource(prompt="people"),
        config=types.GenerateVideosConfig(person_generation="dont_allow", duration_seconds=4)))
    assert done.error is None
    with pytest.raises(errors.ClientError):
        client.models.generate_videos(model="veo-3.1-fast-generate-001",
                                      source=types.GenerateVideosSource(prompt="people"),
                                      config=types.GenerateVideosConfig(person_generation="everyone"))


def test_an_inline_videos_length_is_read_from_its_header_and_garbage_is_unknown():
    from mockprovider.dialects.veo.inputs import mp4_seconds
    from mockprovider.media.render import VideoSpec, render_mp4

    data = render_mp4(VideoSpec(160, 96, 3))
    assert mp4_seconds(data) == pytest.approx(3.0)
    for cut in range(0, len(data), max(1, len(data) // 97)):  # truncated anywhere: never raises
        assert mp4_seconds(data[:cut]) in (None, pytest.approx(3.0))
    assert mp4_seconds(b"\x00\x00\x00\x01moov" + b"\xff" * 8) is None  # a 64-bit size past the end
    assert mp4_seconds(b"\x00\x00\x00\x10moov\x00\x00\x00\x00mvhd") is None
