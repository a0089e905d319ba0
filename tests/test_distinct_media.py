"""Outputs that behave like real ones: no two outputs share bytes, the render cache still serves them, and an
option gives file sizes at realistic bitrates. Checked through the official SDKs and by decoding with PyAV."""

from __future__ import annotations

import hashlib
import io
import time

import av
import httpx
import pytest
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials
from runway_client import client

from mockprovider.media.kinds import render
from mockprovider.media.outputs import (
    BOX_TYPE,
    output_of,
    output_spec,
    read_tag,
    realistic_kbps,
    variant_of,
)
from mockprovider.media.render import PATTERN_VARIANTS, VideoSpec, render_mp4
from mockprovider.media.sound import AudioSpec
from mockprovider.media.stills import ImageSpec
from mockprovider.testing import MockServer


def decode(data: bytes) -> tuple[int, int, float, bytes]:
    """(width, height, seconds of frames, first frame's luma) after decoding every frame."""
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        first = None
        frames = 0
        for frame in container.decode(video=0):
            frames += 1
            if first is None:
                first = bytes(frame.planes[0])
        return video.width, video.height, frames / float(video.average_rate), first


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=3) as s:
        yield s


def test_every_variant_is_a_different_decodable_picture() -> None:
    firsts = set()
    for variant in range(PATTERN_VARIANTS):
        width, height, seconds, first = decode(render_mp4(VideoSpec(160, 96, 1, variant=variant)))
        assert (width, height, seconds) == (160, 96, 1.0)
        firsts.add(first)
    assert len(firsts) == PATTERN_VARIANTS


def test_output_tag_keeps_the_file_valid_and_names_the_output() -> None:
    out = output_of(VideoSpec(320, 240, 2, audio=True), "job-1", 1)
    data = render_mp4(out.spec) + out.tag
    assert read_tag(data) == {"job": "job-1", "sample": 1}
    assert BOX_TYPE in data
    width, height, seconds, _ = decode(data)
    assert (width, height, seconds) == (320, 240, 2.0)
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio and container.duration / av.time_base == pytest.approx(2.0, abs=0.05)


def test_outputs_of_one_spec_differ_by_job_and_sample() -> None:
    spec = VideoSpec(320, 240, 1)
    tags = {output_of(spec, job, index).tag for job in ("a", "b") for index in (0, 1)}
    assert len(tags) == 4
    variants = {variant_of(f"job-{n}", 0) for n in range(200)}
    assert variants == set(range(PATTERN_VARIANTS))  # all variants get used, so pictures differ too


def test_realistic_bitrate_hits_its_target() -> None:
    spec = output_spec(VideoSpec(1280, 720, 4), "j", 0, "realistic")
    assert spec.bitrate == realistic_kbps(1280, 720) == 6000
    data = render_mp4(spec)
    kbps = len(data) * 8 / 4 / 1000
    assert 0.95 * 6000 <= kbps <= 1.05 * 6000, kbps
    assert decode(data)[:3] == (1280, 720, 4.0)
    small = render_mp4(output_spec(VideoSpec(1280, 720, 4), "j", 0))
    assert len(small) * 10 < len(data)


@pytest.mark.parametrize("kwargs", [{"variant": PATTERN_VARIANTS}, {"variant": -1}, {"bitrate": -5},
                                    {"bitrate": 10**9}, {"variant": True}])
def test_bad_variant_or_bitrate_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        VideoSpec(320, 240, 1, **kwargs)


def test_runway_generations_never_share_bytes_yet_render_once(server) -> None:
    c = client(server.url)
    before = server.admin("GET", "/stats").json()["media"]["renders"]
    outputs = []
    for prompt in ("a red fox", "a blue whale", "a red fox"):
        task = c.text_to_video.create(model="veo3.1_fast", prompt_text=prompt, ratio="1280:720", duration=4)
        done = task.wait_for_task_output(timeout=30)
        outputs.append(httpx.get(done.output[0]).content)
    assert len({hashlib.sha256(o).hexdigest() for o in outputs}) == 3
    for data in outputs:
        assert decode(data)[:3] == (1280, 720, 4.0)
    renders = server.admin("GET", "/stats").json()["media"]["renders"] - before
    assert renders <= 3  # at most one render per picture variant; the rest is the per-output tag
    again = httpx.get(done.output[0]).content
    assert again == outputs[-1]  # the same output link serves the same bytes every time


def vertex(server: MockServer) -> genai.Client:
    return genai.Client(vertexai=True, project="p", location="us-central1", credentials=Credentials(token="t"),
                        http_options=types.HttpOptions(base_url=server.url))


def wait(c: genai.Client, op):
    deadline = time.monotonic() + 30
    while not op.done:
        assert time.monotonic() < deadline
        time.sleep(0.01)
        op = c.operations.get(op)
    return op


def test_vertex_samples_of_one_request_differ(server) -> None:
    c = vertex(server)
    op = wait(c, c.models.generate_videos(
        model="veo-3.1-fast-generate-001", source=types.GenerateVideosSource(prompt="two takes"),
        config=types.GenerateVideosConfig(number_of_videos=2, duration_seconds=4, generate_audio=False)))
    first, second = (v.video.video_bytes for v in op.response.generated_videos)
    assert first != second
    assert read_tag(first)["sample"] == 0 and read_tag(second)["sample"] == 1
    assert decode(first)[:3] == decode(second)[:3] == (1280, 720, 4.0)


def test_gcs_md5_matches_each_distinct_object(server, monkeypatch) -> None:
    from google.cloud import storage

    c = vertex(server)
    op = wait(c, c.models.generate_videos(
        model="veo-3.1-fast-generate-001", source=types.GenerateVideosSource(prompt="stored"),
        config=types.GenerateVideosConfig(number_of_videos=2, duration_seconds=4, output_gcs_uri="gs://my-bucket/out/")))
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    bucket = storage.Client(project="p", credentials=Credentials(token="t")).bucket("my-bucket")
    blobs = []
    for video in op.response.generated_videos:
        blob = bucket.blob(video.video.uri.removeprefix("gs://my-bucket/"))
        data = blob.download_as_bytes()  # google-cloud-storage checks the md5 it was given against the bytes
        blob.reload()
        assert blob.size == len(data)
        blobs.append(data)
    assert blobs[0] != blobs[1]


def test_realistic_bitrate_option_over_the_wire(server_factory) -> None:
    server = server_factory(profile="happy", time_scale=0.01, media_bitrate="realistic")
    c = client(server.url)
    done = c.text_to_video.create(model="veo3.1_fast", prompt_text="big", ratio="1280:720",
                                  duration=4).wait_for_task_output(timeout=30)
    data = httpx.get(done.output[0]).content
    assert 0.95 * 6000 <= len(data) * 8 / 4 / 1000 <= 1.1 * 6000
    assert decode(data)[:3] == (1280, 720, 4.0)


@pytest.mark.parametrize("spec", [ImageSpec(320, 180, "png"), ImageSpec(320, 180, "jpeg"), AudioSpec(2.0, "mp3"),
                                  AudioSpec(2.0, "wav")], ids=lambda s: s.format)
def test_image_and_audio_outputs_share_a_render_yet_differ(spec) -> None:
    outputs = [output_of(spec, f"job-{n}", 0) for n in range(40)]
    assert len({o.spec for o in outputs}) <= PATTERN_VARIANTS  # one cached render per variant
    files = [o.finish(render(o.spec)) for o in outputs[:3]]
    assert len(set(files)) == 3
    for n, data in enumerate(files):
        with av.open(io.BytesIO(data)) as container:
            if isinstance(spec, ImageSpec):
                frame = next(container.decode(video=0))
                assert (frame.width, frame.height) == (320, 180)
            else:
                seconds = sum(f.samples for f in container.decode(audio=0)) / container.streams.audio[0].rate
                assert seconds == pytest.approx(2.0, abs=0.05)
                assert f"job-{n}/0" in container.metadata.values()
