"""The official replicate SDK, unchanged, against a real mockprovider server on a loopback port."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import time
from datetime import datetime
from pathlib import Path

import av
import httpx
import pytest
import replicate
from replicate.exceptions import ModelError, ReplicateError
from replicate.helpers import FileOutput

from mockprovider.dialects.replicate.models import MODELS, Problem, validate
from mockprovider.engine.profile import ProfileLibrary
from mockprovider.testing import MockServer

TOKEN = "r8_" + "0123456789abcdefghijklmnopqrstuvwxyz0"[:37]
HAILUO = {"prompt": "a dog on a skateboard", "duration": 6, "resolution": "768p"}


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.02, seed=11, tls=True) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(server, monkeypatch):
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")
    assert server.admin("POST", "/reset").status_code == 200


class Recorder:
    """httpx event hooks (passed through the SDK's Client kwargs) that keep what went over the wire."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[str, str, dict, int, dict | None, dict]] = []

    def response(self, response: httpx.Response) -> None:
        response.read()
        try:
            body = response.json()
        except ValueError:
            body = None
        self.exchanges.append((response.request.method, response.request.url.path, dict(response.request.headers),
                               response.status_code, body, dict(response.headers)))

    def calls(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, *_ in self.exchanges]


def client(server, token: str | None = TOKEN, recorder: Recorder | None = None, **kwargs) -> replicate.Client:
    if recorder is not None:
        kwargs["event_hooks"] = {"response": [recorder.response]}
    return replicate.Client(api_token=token, base_url=server.url, **kwargs)


def profile(server, body: dict) -> None:
    reply = server.admin("PUT", "/profile", {"profile": body})
    assert reply.status_code == 200, reply.json()


def path_of(url: str) -> str:
    return httpx.URL(url).path


def decode(data: bytes) -> tuple[int, int, float, bool]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return video.width, video.height, frames / float(video.average_rate), bool(container.streams.audio)


# -- run() ------------------------------------------------------------------------------------------------------


def test_run_with_prefer_wait_answers_the_finished_prediction_and_a_playable_mp4(server):
    recorder = Recorder()
    out = client(server, recorder=recorder).run("minimax/hailuo-02", input=HAILUO)
    # over plain HTTP the SDK hands back the URL as a str (FileOutput needs https: or data:)
    assert isinstance(out, str) and out.startswith(server.url + "/__media/")
    assert recorder.calls() == [("POST", "/v1/models/minimax/hailuo-02/predictions")]
    _, _, headers, status, body, reply_headers = recorder.exchanges[0]
    assert headers["prefer"] == "wait" and headers["authorization"] == f"Bearer {TOKEN}"
    assert status == 201 and body["status"] == "succeeded" and body["version"] == "hidden"
    assert reply_headers["preference-applied"] == "wait"
    assert reply_headers["location"] == body["urls"]["get"]
    first = httpx.get(out).content
    assert decode(first) == (1366, 768, 6.0, False)
    again = client(server).run("minimax/hailuo-02", input=HAILUO)
    assert httpx.get(again).content != first  # every output its own bytes, as real generations are


def test_file_output_reads_over_tls_with_the_ca_trusted(server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))  # what a user exports; httpx honours it
    # our own transports (a documented httpx pass-through), closed at the end: an idle TLS keep-alive
    # connection left open holds up the server's shutdown
    transport = httpx.HTTPTransport()
    c = replicate.Client(api_token=TOKEN, base_url=server.tls_url, transport=transport)
    try:
        out = c.run("wan-video/wan-2.2-t2v-fast", input={"prompt": "x", "aspect_ratio": "9:16"})
        assert isinstance(out, FileOutput) and out.url.startswith(server.tls_url + "/__media/")
        data = out.read()
        assert decode(data) == (480, 832, 81 / 16, False)
        assert b"".join(out) == data
        plain = c.run("wan-video/wan-2.2-t2v-fast", input={"prompt": "x"}, use_file_output=False)
        assert type(plain) is str and plain.startswith("https://")
    finally:
        transport.close()

    async def read_async() -> bytes:
        transport = httpx.AsyncHTTPTransport()
        c = replicate.Client(api_token=TOKEN, base_url=server.tls_url, transport=transport)
        try:
            output = await c.async_run("luma/ray-flash-2-720p", input={"prompt": "x"})
            assert isinstance(output, FileOutput)
            chunks = [chunk async for chunk in output]
            whole = await output.aread()
            assert b"".join(chunks) == whole
            return whole
        finally:
            await transport.aclose()

    assert decode(asyncio.run(read_async()))[:3] == (1280, 720, 5.0)


def test_run_without_wait_polls_until_done(server):
    recorder = Recorder()
    out = client(server, recorder=recorder).run("google/veo-3-fast", input={"prompt": "a cat", "duration": 4,
                                                                           "resolution": "720p"}, wait=False)
    calls = recorder.calls()
    assert calls[0] == ("POST", "/v1/models/google/veo-3-fast/predictions")
    assert "prefer" not in recorder.exchanges[0][2]
    assert recorder.exchanges[0][4]["status"] == "starting"
    assert len(calls) >= 2 and all(c == ("GET", calls[1][1]) for c in calls[1:])
    width, height, seconds, audio = decode(httpx.get(out).content)
    assert (width, height, audio) == (1280, 720, True)
    assert seconds == pytest.approx(4.0, abs=1 / 24)


def test_a_wait_that_runs_out_answers_starting_and_run_polls_to_the_output(server):
    profile(server, {"jobs": {"queue": "0s", "run": "30s"}})  # 0.6 s of real time
    recorder = Recorder()
    out = client(server, recorder=recorder).run("kwaivgi/kling-v2.1-master", input={"prompt": "x"}, wait=1)
    first = recorder.exchanges[0]
    assert first[2]["prefer"] == "wait=1"
    assert first[3] == 201 and first[4]["status"] == "starting" and first[4]["output"] is None
    assert first[5]["preference-applied"] == "wait"
    assert len(recorder.calls()) > 2
    assert recorder.exchanges[-1][4]["status"] == "succeeded"
    assert decode(httpx.get(out).content)[:3] == (1920, 1080, 5.0)


def test_run_with_a_version_reads_the_version_and_its_schema(server):
    c = client(server)
    model = c.models.get("bytedance/seedance-1-pro")
    assert model.latest_version is not None and len(model.latest_version.id) == 64
    schema = model.latest_version.openapi_schema["components"]["schemas"]
    assert schema["Output"] == {"type": "string", "title": "Output", "format": "uri"}
    assert schema["Input"]["required"] == ["prompt"]
    assert schema["Input"]["properties"]["aspect_ratio"]["enum"][:2] == ["16:9", "4:3"]
    recorder = Recorder()
    ref = f"bytedance/seedance-1-pro:{model.latest_version.id}"
    out = client(server, recorder=recorder).run(ref, input={"prompt": "x", "duration": 3, "resolution": "480p",
                                                            "aspect_ratio": "9:16"})
    assert recorder.calls() == [("POST", "/v1/predictions"),
                                ("GET", f"/v1/models/bytedance/seedance-1-pro/versions/{model.latest_version.id}")]
    assert recorder.exchanges[0][4]["version"] == model.latest_version.id
    assert decode(httpx.get(out).content) == (480, 854, 3.0, False)
    version = c.models.get("bytedance/seedance-1-pro").versions.get(model.latest_version.id)
    assert version.cog_version and isinstance(version.created_at, datetime)


def test_a_failed_prediction_raises_model_error(server):
    profile(server, {"jobs": {"failure_rate": {"content_policy": 1.0}}})
    with pytest.raises(ModelError) as caught:
        client(server).run("luma/ray-2-720p", input={"prompt": "x"})
    assert caught.value.prediction.status == "failed"
    assert "E005" in str(caught.value)


# -- predictions API --------------------------------------------------------------------------------------------


def test_create_and_wait_shows_the_lifecycle_logs_progress_and_metrics(server):
    profile(server, {"jobs": {"queue": "2s", "run": "40s"}})
    c = client(server)
    prediction = c.predictions.create(model="google/veo-3.1", input={"prompt": "waves", "duration": 6,
                                                                     "generate_audio": False, "seed": 42})
    assert prediction.status == "starting" and prediction.logs == "" and prediction.started_at is None
    assert len(prediction.id) == 26 and prediction.urls["get"] == f"{server.url}/v1/predictions/{prediction.id}"
    seen, progress = [], []
    while prediction.status not in ("succeeded", "failed", "canceled"):
        seen.append(prediction.status)
        if prediction.progress is not None:
            progress.append(prediction.progress.percentage)
        prediction.reload()
    assert seen[0] == "starting" and "processing" in seen
    assert progress == sorted(progress) and progress
    prediction.wait()
    assert prediction.status == "succeeded"
    assert prediction.progress.percentage == 1.0
    assert prediction.progress.current == prediction.progress.total == 50
    assert prediction.logs.startswith("Using seed: 42\n")
    assert prediction.metrics["predict_time"] == pytest.approx(40.0)
    assert prediction.metrics["total_time"] == pytest.approx(42.0)
    created, started, done = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in
                              (prediction.created_at, prediction.started_at, prediction.completed_at))
    assert created < started < done
    assert prediction.input == {"prompt": "waves", "aspect_ratio": "16:9", "duration": 6, "image": None,
                                "last_frame": None, "reference_images": None, "negative_prompt": None,
                                "resolution": "1080p", "generate_audio": False, "seed": 42}
    assert decode(httpx.get(prediction.output).content) == (1920, 1080, 6.0, False)


def test_cancel_a_running_prediction_and_a_finished_one(server):
    profile(server, {"jobs": {"queue": "0s", "run": "500s"}})
    c = client(server)
    prediction = c.predictions.create(model="minimax/hailuo-2.3", input={"prompt": "x"})
    prediction.cancel()
    assert prediction.status == "canceled" and prediction.output is None and prediction.completed_at
    assert c.predictions.get(prediction.id).status == "canceled"
    # run() does not raise for a canceled prediction: it returns no output
    profile(server, {"jobs": {"queue": "0s", "run": "1s"}})
    done = c.predictions.create(model="minimax/hailuo-2.3", input={"prompt": "x"}, wait=True)
    done.wait()
    again = c.predictions.cancel(done.id)
    assert again.status == "succeeded" and path_of(again.output) == path_of(done.output)


def test_a_held_request_answers_as_soon_as_another_cancels_its_prediction(server):
    profile(server, {"jobs": {"queue": "0s", "run": "2000s"}})
    headers = {"Authorization": f"Bearer {TOKEN}", "Prefer": "wait=60"}
    server.admin("POST", "/clock", {"scale": 0.1})  # the hold lasts 6 s of real time
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            held = pool.submit(httpx.post, f"{server.url}/v1/models/luma/ray/predictions", headers=headers,
                               json={"input": {"prompt": "x"}}, timeout=20)
            c = client(server)
            while not c.predictions.list().results:
                time.sleep(0.01)
            c.predictions.cancel(c.predictions.list().results[0].id)
            reply = held.result()
    finally:
        server.admin("POST", "/clock", {"scale": 0.02})
    assert reply.status_code == 201 and reply.json()["status"] == "canceled"
    assert time.monotonic() - started < 4  # well before the hold runs out


def test_deployments_run_their_model(server):
    c = client(server)
    deployment = c.deployments.get("acme/hailuo-02")
    assert deployment.current_release.model == "minimax/hailuo-02"
    prediction = deployment.predictions.create(input={"prompt": "x", "duration": 10, "resolution": "768p"})
    prediction.wait()
    assert prediction.status == "succeeded"
    assert decode(httpx.get(prediction.output).content)[2] == 10.0
    with pytest.raises(ReplicateError) as caught:
        c.deployments.predictions.create("acme/not-a-model", input={"prompt": "x"})
    assert caught.value.status == 404


def test_list_pages_newest_first_with_cursors(server):
    c = client(server)
    ids = [c.predictions.create(model="wan-video/wan-2.2-t2v-fast", input={"prompt": str(n)}).id
           for n in range(103)]
    other = client(server, token="r8_someone_else").predictions.create(model="luma/ray", input={"prompt": "x"})
    pages = list(replicate.paginate(c.predictions.list))
    assert [len(p.results) for p in pages] == [100, 3]
    listed = [p.id for page in pages for p in page.results]
    assert listed == ids[::-1] and other.id not in listed
    assert pages[0].previous is None and pages[1].next is None
    back = c.predictions.list(pages[1].previous)
    assert [p.id for p in back.results] == listed[:100]


def test_files_upload_as_model_inputs(server):
    c = client(server)
    image = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    image.name = "cat.png"
    prediction = c.predictions.create(model="kwaivgi/kling-v2.1", input={"prompt": "x", "start_image": image})
    url = prediction.input["start_image"]
    assert url.startswith(f"{server.url}/v1/files/")
    file_id = url.rsplit("/", 1)[1]
    uploaded = c.files.get(file_id)
    assert (uploaded.name, uploaded.content_type, uploaded.size) == ("cat.png", "image/png", 108)
    assert [f.id for f in c.files.list()] == [file_id]
    assert c.files.delete(file_id) is True
    with pytest.raises(ReplicateError) as caught:
        c.files.get(file_id)
    assert caught.value.status == 404
    # with the base64 strategy the file goes inline as a data: URI (predictions.create(model=...) drops the
    # strategy, as it drops wait: replicate 1.0.7 pops both before delegating to models.predictions.create)
    prediction = c.models.predictions.create(model="kwaivgi/kling-v2.1", input={"prompt": "x", "start_image": image},
                                             file_encoding_strategy="base64")
    assert prediction.input["start_image"].startswith("data:image/png;base64,")


def test_async_variants(server):
    async def scenario() -> None:
        c = client(server)
        out = await c.async_run("luma/ray-flash-2-540p", input={"prompt": "x", "duration": 5})
        assert out.startswith(server.url)
        prediction = await c.predictions.async_create(model="google/veo-3", input={"prompt": "x", "duration": 4})
        await prediction.async_wait()
        assert prediction.status == "succeeded"
        profile(server, {"jobs": {"queue": "0s", "run": "500s"}})
        slow = await c.models.predictions.async_create(model="google/veo-3", input={"prompt": "x"})
        await slow.async_cancel()
        assert slow.status == "canceled"
        page = await c.predictions.async_list()
        assert [p.id for p in page.results] == [slow.id, prediction.id, page.results[2].id]
        got = await c.predictions.async_get(prediction.id)
        assert path_of(got.output) == path_of(prediction.output)

    asyncio.run(scenario())


# -- errors -----------------------------------------------------------------------------------------------------


def test_auth_errors(server, monkeypatch):
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    with pytest.raises(ReplicateError) as caught:
        client(server, token=None).predictions.get("x")
    assert (caught.value.status, caught.value.title) == (401, "Unauthenticated")
    assert caught.value.detail == "You did not pass an authentication token"
    with pytest.raises(ReplicateError) as caught:
        client(server, token="sk-not-replicate").run("google/veo-3", input={"prompt": "x"})
    assert caught.value.status == 401 and "valid authentication token" in caught.value.detail
    profile(server, {"providers": {"replicate": {"auth": {"keys": ["team-token"]}}}})
    assert client(server, token="team-token").predictions.list().results == []
    with pytest.raises(ReplicateError):
        client(server).predictions.list()


def test_validation_unknown_models_versions_and_predictions(server):
    c = client(server)
    with pytest.raises(ReplicateError) as caught:
        c.run("minimax/hailuo-02", input={"duration": 7, "resolution": "4k", "prompt_optimizer": "yes"})
    error = caught.value
    assert (error.status, error.title) == (422, "Input validation failed")
    assert error.detail.splitlines() == [
        "- input: prompt is required",
        "- input.duration: duration must be one of the following: 6, 10",
        '- input.resolution: resolution must be one of the following: "512p", "768p", "1080p"',
        "- input.prompt_optimizer: Invalid type. Expected: boolean, given: string",
    ]
    with pytest.raises(ReplicateError) as caught:
        c.run("minimax/hailuo-02", input={"prompt": "x", "duration": 10, "resolution": "1080p"})
    assert caught.value.status == 422 and "768p" in caught.value.detail
    with pytest.raises(ReplicateError) as caught:
        c.run("nobody/nothing", input={"prompt": "x"})
    assert (caught.value.status, caught.value.detail) == (404, "The requested resource could not be found.")
    with pytest.raises(ReplicateError) as caught:
        c.predictions.create(version="0" * 64, input={"prompt": "x"})
    assert (caught.value.status, caught.value.title) == (422, "Invalid version or not permitted")
    with pytest.raises(ReplicateError) as caught:
        c.predictions.get("doesnotexist")
    assert caught.value.status == 404
    with pytest.raises(ReplicateError) as caught:
        c.models.get("google/veo-9")
    assert caught.value.status == 404


def test_invalid_fields_on_the_wire(server):
    reply = httpx.post(f"{server.url}/v1/models/google/veo-3/predictions",
                       headers={"Authorization": f"Token {TOKEN}"},
                       json={"input": {"prompt": "x", "aspect_ratio": "1:1", "seed": -1}, "extra": 1})
    assert reply.status_code == 422
    body = reply.json()
    assert body["invalid_fields"] == [
        {"type": "additional_property_not_allowed", "field": "(root)",
         "description": "Additional property extra is not allowed"}]
    reply = httpx.post(f"{server.url}/v1/models/google/veo-3/predictions",
                       headers={"Authorization": f"Token {TOKEN}"},
                       json={"input": {"prompt": "x", "aspect_ratio": "1:1", "seed": -1}})
    assert [f["type"] for f in reply.json()["invalid_fields"]] == ["enum", "number_gte"]
    assert reply.json()["invalid_fields"][0]["description"] == \
        'aspect_ratio must be one of the following: "16:9", "9:16"'


def test_out_of_credit_is_402(server):
    profile(server, {"limits": {"credits": 0.5}})
    c = client(server)
    c.predictions.create(model="minimax/hailuo-02", input=HAILUO)  # $0.27
    with pytest.raises(ReplicateError) as caught:
        c.predictions.create(model="minimax/hailuo-02", input=HAILUO)
    assert (caught.value.status, caught.value.title) == (402, "Insufficient credit")


def test_throttled_creates_raise_429_and_throttled_reads_are_retried(server):
    profile(server, {"providers": {"replicate": {"limits": {"requests_per_minute": 3},
                                                 "auth": {"create_requests_per_minute": 1}}}})
    c = client(server)
    first = c.predictions.create(model="luma/ray", input={"prompt": "x"})
    with pytest.raises(ReplicateError) as caught:  # the SDK never retries a POST
        c.predictions.create(model="luma/ray", input={"prompt": "x"})
    assert caught.value.status == 429 and caught.value.detail.startswith("Request was throttled.")
    reply = httpx.get(f"{server.url}/v1/predictions/{first.id}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200
    reply = httpx.get(f"{server.url}/v1/predictions/{first.id}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 429 and reply.headers["retry-after"].isdigit()
    assert int(reply.headers["retry-after"]) <= 2  # the window is 60 engine seconds: 1.2 s at this time scale
    before = server.app.ctx.metrics.requests.get(("replicate", "status", 429), 0)
    assert c.predictions.get(first.id).id == first.id  # GETs are retried after Retry-After
    assert server.app.ctx.metrics.requests.get(("replicate", "status", 429), 0) > before


def test_webhook_secret_and_account(server):
    c = client(server)
    secret = c.webhooks.default.secret()
    assert secret.key.startswith("whsec_") and secret.key.count("_") == 1
    assert c.webhooks.default.secret().key == secret.key
    assert client(server, token="r8_other").webhooks.default.secret().key != secret.key
    account = c.accounts.current()
    assert account.type == "user" and account.username.startswith("mock-")


DEFAULT_VIDEOS = {  # (width, height, seconds, audio) of each model's output with only its required inputs
    "google/veo-3": (1920, 1080, 8, True), "google/veo-3-fast": (1920, 1080, 8, True),
    "google/veo-3.1": (1920, 1080, 8, True), "google/veo-3.1-fast": (1920, 1080, 8, True),
    "kwaivgi/kling-v2.1": (1280, 720, 5, False),
    "kwaivgi/kling-v2.1-master": (1920, 1080, 5, False), "kwaivgi/kling-v2.5-turbo-pro": (1920, 1080, 5, False),
    "minimax/hailuo-02": (1920, 1080, 6, False), "minimax/hailuo-2.3": (1366, 768, 6, False),
    "bytedance/seedance-1-pro": (1920, 1080, 5, False), "wan-video/wan-2.2-t2v-fast": (832, 480, 81 / 16, False),
    "wan-video/wan-2.2-i2v-fast": (832, 480, 81 / 16, False), "luma/ray": (1280, 720, 5, False),
    "luma/ray-2-720p": (1280, 720, 5, False), "luma/ray-2-540p": (960, 540, 5, False),
    "luma/ray-flash-2-720p": (1280, 720, 5, False), "luma/ray-flash-2-540p": (960, 540, 5, False),
}


def test_every_catalogued_model_makes_its_default_video():
    """Each model's defaults make a valid prediction whose video is what its page promises (the MP4s themselves
    are decoded in the tests above, for one model of each family)."""
    assert set(DEFAULT_VIDEOS) == set(MODELS)
    for ref, model in MODELS.items():
        required = {i.name: ("https://example.com/a.png" if i.kind == "uri" else "x")
                    for i in model.inputs if i.required}
        params = validate(model, required)
        assert not isinstance(params, list), (ref, params)
        assert (params.width, params.height, params.duration, params.audio) == DEFAULT_VIDEOS[ref], ref
        assert params.price > 0, ref
        assert validate(model, {}) == [Problem("required", "input", f"{name} is required") for name in required]


def test_cancel_after_header_cancels_by_itself(server):
    profile(server, {"jobs": {"queue": "0s", "run": "500s"}})
    headers = {"Authorization": f"Bearer {TOKEN}", "Cancel-After": "10s"}
    reply = httpx.post(f"{server.url}/v1/models/luma/ray/predictions", headers=headers,
                       json={"input": {"prompt": "x"}})
    assert reply.status_code == 201
    server.admin("POST", "/clock", {"advance": "11s"})
    got = httpx.get(reply.json()["urls"]["get"], headers=headers).json()
    assert got["status"] == "canceled"
    bad = httpx.post(f"{server.url}/v1/models/luma/ray/predictions", headers={**headers, "Cancel-After": "soon"},
                     json={"input": {"prompt": "x"}})
    assert bad.status_code == 400


def test_outputs_and_inputs_are_removed_an_hour_after_completion(server):
    c = client(server)
    prediction = c.predictions.create(model="luma/ray", input={"prompt": "x"})
    prediction.wait()
    assert prediction.output and prediction.logs
    server.admin("POST", "/clock", {"advance": "3601s"})
    later = c.predictions.get(prediction.id)
    assert later.status == "succeeded"
    assert (later.input, later.output, later.logs) == (None, None, None)
    raw = httpx.get(prediction.urls["get"], headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert raw["data_removed"] is True
    assert httpx.get(prediction.output).status_code == 403  # the link expired with the data


def test_usage_reaches_the_cost_report(server):
    c = client(server)
    c.run("google/veo-3.1", input={"prompt": "x", "duration": 4, "generate_audio": False})  # $0.20 a second
    c.run("google/veo-3.1", input={"prompt": "x", "duration": 6})  # $0.40 a second with audio
    c.run("luma/ray", input={"prompt": "x"})  # not in the price book: counted, not invented
    cost = server.admin("GET", "/report").json()["providers"]["replicate"]["cost"]
    assert cost["by_model_usd"] == {"google/veo-3.1": pytest.approx(0.8 + 2.4)}
    assert cost["unpriced_jobs"] == 1


def test_bundled_profiles_give_replicate_its_published_limits():
    library = ProfileLibrary([Path(__file__).resolve().parent.parent / "profiles"])
    realistic = library.load("realistic")
    behaviour = realistic.resolve("replicate", "google/veo-3")
    assert behaviour.limits.requests_per_minute == 3000
    assert realistic.auth("replicate")["create_requests_per_minute"] == 600
    assert behaviour.url_ttl == 3600 and behaviour.callback_attempts == 6
    assert realistic.resolve("replicate", "wan-video/wan-2.2-t2v-fast").run.describe() != behaviour.run.describe()
    tight = library.load("rate-limited")
    assert tight.auth("replicate")["create_requests_per_minute"] == 6
    assert tight.resolve("replicate", "luma/ray").limits.credits == 5


def test_over_the_concurrency_limit_predictions_wait_in_starting(server):
    profile(server, {"limits": {"concurrent_jobs": 1}, "jobs": {"queue": "0s", "run": "20s"}})
    c = client(server)
    first = c.predictions.create(model="luma/ray", input={"prompt": "x"})
    second = c.predictions.create(model="luma/ray", input={"prompt": "x"})  # accepted, not refused
    time.sleep(0.1)  # 5 engine seconds
    assert (c.predictions.get(first.id).status, c.predictions.get(second.id).status) == ("processing", "starting")
    second.wait()
    first.reload()
    assert first.status == second.status == "succeeded"
    assert first.completed_at <= second.started_at


def test_injected_faults_raise_replicate_error_and_reads_ride_out_503s(server):
    profile(server, {"faults": {"create": [{"kind": "error", "status": 500, "rate": 1.0}],
                                "status": [{"kind": "error", "status": 503, "rate": 0.5}]}})
    c = client(server)
    with pytest.raises(ReplicateError) as caught:
        c.predictions.create(model="luma/ray", input={"prompt": "x"})
    assert caught.value.status == 500 and caught.value.title == "Internal server error"
    profile(server, {"faults": {"status": [{"kind": "error", "status": 503, "rate": 0.5}]}})
    prediction = c.predictions.create(model="luma/ray", input={"prompt": "x"})
    before = server.app.ctx.metrics.requests.get(("replicate", "status", 503), 0)
    for _ in range(6):
        assert c.predictions.get(prediction.id).id == prediction.id  # the SDK retries GETs on 503
    assert server.app.ctx.metrics.requests.get(("replicate", "status", 503), 0) > before


def test_list_filters_by_creation_time_across_pages(server):
    c = client(server)
    early = c.predictions.create(model="luma/ray", input={"prompt": "x"})
    server.admin("POST", "/clock", {"advance": "10s"})
    late = [c.predictions.create(model="luma/ray", input={"prompt": "x"}) for _ in range(101)]
    cut = late[0].created_at.replace("Z", "+00:00")
    page = c.predictions.list(f"/v1/predictions?created_after={early.created_at}")
    assert len(page.results) == 100 and early.id not in [p.id for p in page.results]
    rest = c.predictions.list(page.next)
    assert [p.id for p in rest.results] == [late[0].id]
    before = c.predictions.list(f"/v1/predictions?created_before={httpx.QueryParams({'x': cut})['x']}")
    assert [p.id for p in before.results] == [early.id]
    with pytest.raises(ReplicateError) as caught:
        c.predictions.list("/v1/predictions?created_after=yesterday")
    assert caught.value.status == 400


def test_run_returns_none_for_a_prediction_canceled_meanwhile_and_video_models_do_not_stream(server):
    profile(server, {"jobs": {"queue": "0s", "run": "500s"}})
    c = client(server)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(c.run, "luma/ray", input={"prompt": "x"}, wait=False)
        while not c.predictions.list().results:
            time.sleep(0.01)
        c.predictions.cancel(c.predictions.list().results[0].id)
        assert running.result(timeout=10) is None  # run() does not raise for canceled
    with pytest.raises(ReplicateError, match="does not support streaming"):
        list(c.stream("luma/ray", input={"prompt": "x"}))
