"""Veo on Vertex AI with google-genai 3.x: project/location mode (OAuth token) and express mode (API key),
inline bytes and gs:// outputs fetched with google-cloud-storage through STORAGE_EMULATOR_HOST."""

from __future__ import annotations

import io
import time

import av
import pytest
from google import genai
from google.cloud import storage
from google.genai import errors, types
from google.oauth2.credentials import Credentials
from veo_support import assign_all

from mockprovider.testing import MockServer

MODEL = "veo-3.1-generate-001"


TIME_SCALE = 0.01

@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=TIME_SCALE, seed=5) as server:
        assign_all(server)
        yield server


def project_client(server: MockServer, token: str = "k-happy") -> genai.Client:
    return genai.Client(vertexai=True, project="proj", location="us-central1", credentials=Credentials(token=token),
                        http_options=types.HttpOptions(base_url=server.url))


def express_client(server: MockServer, key: str = "k-happy") -> genai.Client:
    return genai.Client(vertexai=True, api_key=key, http_options=types.HttpOptions(base_url=server.url))


def generate(client: genai.Client, model: str = MODEL, **config) -> types.GenerateVideosOperation:
    return client.models.generate_videos(model=model, source=types.GenerateVideosSource(prompt="a dog surfing"),
                                         config=types.GenerateVideosConfig(**config))


def wait(client: genai.Client, op: types.GenerateVideosOperation) -> types.GenerateVideosOperation:
    deadline = time.monotonic() + 30
    while not op.done:
        assert time.monotonic() < deadline, op.name
        time.sleep(0.01)
        op = client.operations.get(op)
    return op


def probe(data: bytes) -> tuple[int, int, float, bool]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        return video.width, video.height, container.duration / av.time_base, bool(container.streams.audio)


def test_project_mode_inline_bytes(server: MockServer) -> None:
    client = project_client(server)
    op = generate(client, duration_seconds=4, aspect_ratio="9:16")
    assert op.name.startswith(f"projects/proj/locations/us-central1/publishers/google/models/{MODEL}/operations/")
    op = wait(client, op)
    assert op.error is None and op.response.rai_media_filtered_count == 0
    [video] = op.response.generated_videos
    assert video.video.mime_type == "video/mp4" and video.video.uri is None
    width, height, duration, audio = probe(video.video.video_bytes)
    assert (width, height) == (720, 1280)
    assert duration == pytest.approx(4.0, abs=0.1)
    assert audio  # Veo 3 generates audio unless generateAudio is false


def test_storage_uri_outputs_download_with_google_cloud_storage(server: MockServer, monkeypatch) -> None:
    client = project_client(server)
    op = wait(client, generate(client, output_gcs_uri="gs://my-bucket/veo/out/", resolution="1080p",
                               generate_audio=False, number_of_videos=2))
    uris = [v.video.uri for v in op.response.generated_videos]
    assert len(uris) == 2 and all(u.startswith("gs://my-bucket/veo/out/") for u in uris)
    assert all(v.video.video_bytes is None for v in op.response.generated_videos)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    gcs = storage.Client()
    blob = storage.Blob.from_uri(uris[1], client=gcs)
    width, height, duration, audio = probe(blob.download_as_bytes())
    assert (width, height, audio) == (1920, 1080, False)
    assert duration == pytest.approx(8.0, abs=0.1)
    meta = gcs.bucket("my-bucket").get_blob(blob.name)
    assert meta.content_type == "video/mp4" and meta.size > 0 and meta.md5_hash
    assert gcs.bucket("my-bucket").get_blob("veo/out/nothing/sample_0.mp4") is None


def test_express_mode(server: MockServer) -> None:
    client = express_client(server)
    op = generate(client, model="veo-2.0-generate-001", duration_seconds=5, number_of_videos=2)
    assert op.name.startswith("publishers/google/models/veo-2.0-generate-001/operations/")
    op = wait(client, op)
    videos = op.response.generated_videos
    assert len(videos) == 2
    width, height, duration, audio = probe(videos[0].video.video_bytes)
    assert (width, height, audio) == (1280, 720, False)
    assert duration == pytest.approx(5.0, abs=0.1)


def test_filtered_output(server: MockServer) -> None:
    client = project_client(server, "k-filtered")
    op = wait(client, generate(client))
    assert op.error is None
    assert op.response.generated_videos is None
    assert op.response.rai_media_filtered_count == 1
    assert len(op.response.rai_media_filtered_reasons) == 1


def test_failure_inside_the_operation(server: MockServer) -> None:
    client = express_client(server, "k-failed")
    op = wait(client, generate(client))
    assert op.done and op.response is None
    assert op.error["code"] == 13 and op.error["message"]


def test_bad_credentials(server: MockServer) -> None:
    with pytest.raises(errors.ClientError) as caught:
        generate(project_client(server, "k-bad"))
    assert (caught.value.code, caught.value.status) == (401, "UNAUTHENTICATED")
    with pytest.raises(errors.ClientError) as caught:
        generate(express_client(server, "k-bad"))
    assert (caught.value.code, caught.value.status) == (400, "INVALID_ARGUMENT")
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


@pytest.mark.parametrize(("model", "config", "words"), [
    (MODEL, {"duration_seconds": 5}, "durationSeconds"),
    (MODEL, {"resolution": "1080p", "duration_seconds": 4}, "8 second"),
    (MODEL, {"resolution": "8k"}, "resolution"),
    (MODEL, {"aspect_ratio": "1:1"}, "aspectRatio"),
    (MODEL, {"number_of_videos": 5}, "sampleCount"),
    (MODEL, {"seed": -1}, "seed"),
    (MODEL, {"fps": 0}, "fps"),
    (MODEL, {"output_gcs_uri": "s3://bucket/x"}, "storageUri"),
    ("veo-2.0-generate-001", {"generate_audio": True}, "generateAudio"),
    ("veo-3.0-generate-001", {"resolution": "4k"}, "resolution"),
])
def test_invalid_parameters(server: MockServer, model: str, config: dict, words: str) -> None:
    with pytest.raises(errors.ClientError) as caught:
        generate(project_client(server), model=model, **config)
    assert (caught.value.code, caught.value.status) == (400, "INVALID_ARGUMENT")
    assert words in caught.value.message


def test_unknown_model_is_404(server: MockServer) -> None:
    with pytest.raises(errors.ClientError) as caught:
        generate(project_client(server), model="veo-9.0-generate-001")
    assert (caught.value.code, caught.value.status) == (404, "NOT_FOUND")
    assert "Publisher Model `projects/proj/locations/us-central1/publishers/google/models/veo-9.0-generate-001`" \
        in caught.value.message


def _retry_delay(exc: errors.APIError) -> float:
    """RetryInfo's retryDelay in engine seconds: the server gives the real wait, which the time scale shrinks."""
    [delay] = [d["retryDelay"] for d in exc.details["error"]["details"] if d["@type"].endswith("RetryInfo")]
    assert delay.endswith("s")
    return float(delay[:-1]) / TIME_SCALE


def test_rate_limit_429(server: MockServer) -> None:
    client = project_client(server, "k-limited")
    generate(client)
    with pytest.raises(errors.ClientError) as caught:
        generate(client)
    assert (caught.value.code, caught.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert "Quota exceeded for aiplatform.googleapis.com" in caught.value.message
    assert 0 < _retry_delay(caught.value) <= 60


def test_concurrency_429_retry_delay_is_when_the_slot_frees(server: MockServer) -> None:
    client = express_client(server, "k-busy")
    generate(client)
    with pytest.raises(errors.ClientError) as caught:
        generate(client)
    assert caught.value.code == 429
    assert 50 <= _retry_delay(caught.value) <= 61  # the first job runs 60 s of engine time
