"""Run inside the google-genai 2.x virtual environment (see ``test_veo_gemini.py``): drive Veo through the
Gemini API against a live mockprovider and print what the SDK saw, as JSON on stdout.

    python veo_gemini_client.py <base url> <scenario> [<scenario> ...]
"""

from __future__ import annotations

import io
import json
import sys
import time

import av
from google import genai
from google.genai import errors, types

MODEL = "veo-3.1-generate-preview"


def client_for(url: str, key: str) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=url))


def wait(client: genai.Client, op: types.GenerateVideosOperation) -> types.GenerateVideosOperation:
    deadline = time.monotonic() + 30
    while not op.done:
        if time.monotonic() > deadline:
            raise TimeoutError(op.name)
        time.sleep(0.01)
        op = client.operations.get(op)
    return op


def probe(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {"width": video.width, "height": video.height, "duration": container.duration / av.time_base,
                "frames": frames, "audio": bool(container.streams.audio)}


def api_error(exc: errors.APIError) -> dict:
    return {"class": type(exc).__name__, "code": exc.code, "status": exc.status, "message": exc.message,
            "details": exc.details}


def generate(client: genai.Client, **config) -> types.GenerateVideosOperation:
    return client.models.generate_videos(model=MODEL, source=types.GenerateVideosSource(prompt="a cat on a skateboard"),
                                         config=types.GenerateVideosConfig(**config))


def download(url: str) -> dict:
    client = client_for(url, "k-happy")
    op = wait(client, generate(client, duration_seconds=6, aspect_ratio="9:16"))
    video = op.response.generated_videos[0]
    data = client.files.download(file=video)
    return {"name": op.name, "uri": video.video.uri, **probe(data)}


def filtered(url: str) -> dict:
    client = client_for(url, "k-filtered")
    op = wait(client, generate(client))
    return {"error": op.error, "generated_videos": op.response.generated_videos,
            "rai_media_filtered_count": op.response.rai_media_filtered_count,
            "rai_media_filtered_reasons": op.response.rai_media_filtered_reasons}


def failed(url: str) -> dict:
    client = client_for(url, "k-failed")
    op = wait(client, generate(client))
    return {"done": op.done, "error": op.error, "response": op.response}


def bad_key(url: str) -> dict:
    try:
        generate(client_for(url, "k-bad"))
    except errors.APIError as exc:
        return api_error(exc)
    return {"error": "no exception"}


def invalid(url: str) -> dict:
    try:
        generate(client_for(url, "k-happy"), duration_seconds=5)
    except errors.APIError as exc:
        return api_error(exc)
    return {"error": "no exception"}


def limited(url: str) -> dict:
    client = client_for(url, "k-limited")
    generate(client)
    try:
        generate(client)
    except errors.APIError as exc:
        return api_error(exc)
    return {"error": "no exception"}


def webhook(url: str) -> dict:
    """A per-request webhookConfig (Gemini API only in 2.x); the sink URL comes from MOCK_WEBHOOK_SINK."""
    import os

    client = client_for(url, "k-happy")
    config = types.WebhookConfig(uris=[os.environ["MOCK_WEBHOOK_SINK"]], user_metadata={"job": "42"})
    op = wait(client, generate(client, webhook_config=config))
    return {"done": op.done, "error": op.error, "samples": len(op.response.generated_videos or [])}


def vertex_edit(url: str) -> dict:
    """2.x on Vertex: veo-2.0-generate-exp mask editing and a STYLE reference, with the SDK's enum members."""
    from google.oauth2.credentials import Credentials

    client = genai.Client(vertexai=True, project="p", location="us-central1", credentials=Credentials(token="t"),
                          http_options=types.HttpOptions(base_url=url))
    png = types.Image(image_bytes=b"\x89PNG\r\n\x1a\n" + b"\0" * 64, mime_type="image/png")
    source = wait(client, client.models.generate_videos(
        model="veo-2.0-generate-001", source=types.GenerateVideosSource(prompt="a street"),
        config=types.GenerateVideosConfig(duration_seconds=6)))
    clip = source.response.generated_videos[0].video
    edit = wait(client, client.models.generate_videos(
        model="veo-2.0-generate-exp",
        source=types.GenerateVideosSource(prompt="no cars", video=types.Video(video_bytes=clip.video_bytes,
                                                                            mime_type="video/mp4")),
        config=types.GenerateVideosConfig(
            aspect_ratio="16:9", mask=types.VideoGenerationMask(image=png,
                                                                mask_mode=types.VideoGenerationMaskMode.REMOVE),
            compression_quality=types.VideoCompressionQuality.LOSSLESS,
            person_generation=types.PersonGeneration.ALLOW_ADULT)))
    style = wait(client, client.models.generate_videos(
        model="veo-2.0-generate-exp", source=types.GenerateVideosSource(prompt="in this style"),
        config=types.GenerateVideosConfig(reference_images=[types.VideoGenerationReferenceImage(
            image=png, reference_type=types.VideoGenerationReferenceType.STYLE)])))
    return {"edit": probe(edit.response.generated_videos[0].video.video_bytes),
            "style": len(style.response.generated_videos or [])}


SCENARIOS = {f.__name__: f for f in (download, filtered, failed, bad_key, invalid, limited, webhook, vertex_edit)}


def main() -> None:
    url, names = sys.argv[1], sys.argv[2:]
    out = {"version": genai.__version__}
    for name in names:
        try:
            out[name] = SCENARIOS[name](url)
        except Exception as exc:  # report, so the test shows what went wrong
            out[name] = {"unexpected": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
