"""Luma's Dream Machine API driven by the official ``lumaai`` SDK, unchanged but for its base URL: the lifecycle,
every create form, list/delete/credits, each error class, limits, faults and expiring links."""

from __future__ import annotations

import io

import av
import httpx
import lumaai
import pytest

from mockprovider.testing import MockServer

KEY = "luma-test-0123"
IMAGE = "https://example.com/a.png"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=5) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(server):
    assert server.admin("POST", "/reset").status_code in (200, 204)


def client(server: MockServer, key: str = KEY, **kwargs) -> lumaai.LumaAI:
    return lumaai.LumaAI(auth_token=key, base_url=f"{server.url}/dream-machine/v1", **kwargs)


def profile(server: MockServer, body: dict) -> None:
    r = server.admin("PUT", "/profile", json={"profile": {"extends": "happy", **body}})
    assert r.status_code == 200, r.text


def advance(server: MockServer, seconds: float) -> None:
    assert server.admin("POST", "/clock", json={"advance": f"{seconds}s"}).status_code == 200


def wait(luma: lumaai.LumaAI, generation_id: str, timeout: float = 20.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        generation = luma.generations.get(generation_id)
        if generation.state in ("completed", "failed"):
            return generation
        assert time.monotonic() < deadline, generation
        time.sleep(0.02)


def decode(data: bytes) -> tuple[int, int, int, bool]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return video.width, video.height, frames, bool(container.streams.audio)


@pytest.mark.parametrize(("ratio", "resolution", "duration", "size"), [
    ("16:9", "720p", "5s", (1280, 720)),
    ("9:16", "540p", "9s", (540, 960)),
    ("4:3", "540p", "5s", (720, 540)),
])
def test_text_to_video_runs_to_a_playable_mp4_of_the_requested_size(server, ratio, resolution, duration, size):
    luma = client(server)
    created = luma.generations.create(model="ray-2", prompt="a whale breaching at dawn", aspect_ratio=ratio,
                                      resolution=resolution, duration=duration)
    assert created.state == "queued" and created.assets is None and created.created_at is not None
    assert created.request.model == "ray-2" and created.request.duration == duration
    done = wait(luma, created.id)
    assert done.state == "completed" and done.failure_reason is None and done.model == "ray-2"
    data = httpx.get(done.assets.video, timeout=20).content  # no Authorization, like a CDN link
    assert decode(data) == (*size, int(duration[:-1]) * 24, False)
    thumbnail = httpx.get(done.assets.image, timeout=20)
    assert thumbnail.headers["content-type"] == "image/jpeg"
    with av.open(io.BytesIO(thumbnail.content)) as still:
        assert (still.streams.video[0].width, still.streams.video[0].height) == size


def test_states_are_queued_then_dreaming_then_completed(server):
    profile(server, {"jobs": {"queue": "1h", "run": "1h"}})
    luma = client(server)
    generation = luma.generations.create(model="ray-flash-2", prompt="a fox in snow")
    assert luma.generations.get(generation.id).state == "queued"
    advance(server, 3601)
    assert luma.generations.get(generation.id).state == "dreaming"
    assert luma.generations.get(generation.id).assets is None
    advance(server, 3600)
    done = luma.generations.get(generation.id)
    assert done.state == "completed" and done.assets.video.startswith(server.url)


def test_keyframes_extend_and_interpolate(server):
    luma = client(server)
    start = luma.generations.create(model="ray-2", prompt="a car drives", keyframes={
        "frame0": {"type": "image", "url": IMAGE}})
    both = luma.generations.create(model="ray-2", keyframes={
        "frame0": {"type": "image", "url": IMAGE}, "frame1": {"type": "image", "url": IMAGE}})
    assert both.request.prompt is None and both.request.keyframes.frame1.url == IMAGE
    assert wait(luma, start.id).state == "completed"
    extended = luma.generations.create(model="ray-2", prompt="it keeps driving", keyframes={
        "frame0": {"type": "generation", "id": start.id}})
    interpolated = luma.generations.create(model="ray-2", prompt="between", keyframes={
        "frame0": {"type": "generation", "id": start.id}, "frame1": {"type": "image", "url": IMAGE}})
    for generation in (both, extended, interpolated):
        assert wait(luma, generation.id).state == "completed"
    with pytest.raises(lumaai.BadRequestError) as info:
        luma.generations.create(model="ray-2", prompt="extend a stranger", keyframes={
            "frame0": {"type": "generation", "id": "00000000-0000-4000-8000-000000000000"}})
    assert "not found" in info.value.body["detail"]


def test_the_legacy_create_path_and_concepts(server):
    reply = httpx.post(f"{server.url}/dream-machine/v1/generations", headers={"Authorization": f"Bearer {KEY}"},
                       json={"model": "ray-2", "prompt": "an orbit", "concepts": [{"key": "orbit_left"}]})
    assert reply.status_code == 201 and reply.json()["request"]["concepts"] == [{"key": "orbit_left"}]
    luma = client(server)
    concepts = luma.generations.concepts.list()
    assert "dolly_zoom" in concepts and "orbit_left" in concepts
    with pytest.raises(lumaai.BadRequestError, match="concepts are not supported"):
        luma.generations.create(model="ray-1-6", prompt="an orbit", concepts=[{"key": "orbit_left"}])


def test_list_is_newest_first_and_pages_and_delete_removes(server):
    luma = client(server)
    ids = [luma.generations.create(model="ray-2", prompt=f"shot {i}").id for i in range(5)]
    page = luma.generations.list(limit=2, offset=1)
    assert [g.id for g in page.generations] == [ids[3], ids[2]]
    assert (page.count, page.has_more, page.limit, page.offset) == (2, True, 2, 1)
    assert luma.generations.list(limit=10).has_more is False
    assert client(server, "luma-someone-else").generations.list().generations == []
    assert luma.generations.delete(ids[4]) is None
    with pytest.raises(lumaai.NotFoundError):
        luma.generations.get(ids[4])
    assert ids[4] not in [g.id for g in luma.generations.list().generations]


def test_credits_are_cents_charged_per_pixel_and_refunded_on_failure(server):
    profile(server, {"limits": {"credits": 1000}})
    luma = client(server)
    assert luma.credits.get().credit_balance == 1000
    ok = luma.generations.create(model="ray-2", prompt="a whale", resolution="720p", duration="5s")
    assert luma.credits.get().credit_balance == pytest.approx(1000 - 40)  # 8 cents/s x 5 s at 720p
    wait(luma, ok.id)
    profile(server, {"limits": {"credits": 1000}, "jobs": {"failure_rate": {"internal": 1.0}}})
    failed = wait(luma, luma.generations.create(model="ray-2", prompt="a whale", resolution="1080p").id)
    assert failed.state == "failed" and failed.failure_reason == "Job failed" and failed.assets is None
    assert luma.credits.get().credit_balance == pytest.approx(1000 - 40)
    profile(server, {"limits": {"credits": 50}})
    with pytest.raises(lumaai.APIStatusError) as info:
        luma.generations.create(model="ray-2", prompt="a whale", resolution="1080p")  # 90 cents
    assert info.value.status_code == 402 and info.value.body == {"detail": "Insufficient credits"}


def test_moderation_fails_the_generation_with_luma_reasons(server):
    profile(server, {"jobs": {"failure_rate": {"content_policy": 1.0}, "fail_at": 0.0}})
    luma = client(server)
    failed = wait(luma, luma.generations.create(model="ray-2", prompt="something flagged").id)
    assert (failed.state, failed.failure_reason) == ("failed", "Advanced prompt moderation failed")


def test_upscale_and_audio_make_new_generations(server):
    luma = client(server)
    source = wait(luma, luma.generations.create(model="ray-2", prompt="a river", resolution="540p").id)
    upscaled = luma.generations.upscale(source.id, resolution="1080p")
    assert upscaled.id != source.id and upscaled.request.generation_type == "upscale_video"
    assert decode(httpx.get(wait(luma, upscaled.id).assets.video, timeout=30).content)[:2] == (1920, 1080)
    voiced = luma.generations.audio(source.id, prompt="water sounds")
    assert decode(httpx.get(wait(luma, voiced.id).assets.video, timeout=30).content)[3] is True
    with pytest.raises(lumaai.BadRequestError, match="higher"):
        luma.generations.upscale(source.id, resolution="540p")
    profile(server, {"jobs": {"queue": "1h"}})
    pending = luma.generations.create(model="ray-2", prompt="not yet")
    with pytest.raises(lumaai.BadRequestError, match="not completed"):
        luma.generations.upscale(pending.id, resolution="1080p")


def test_modify_and_reframe(server):
    luma = client(server)
    modified = luma.generations.video.modify(generation_type="modify_video", media={"url": IMAGE},
                                             mode="flex_1", model="ray-2", prompt="make it night")
    reframed = luma.generations.video.reframe(generation_type="reframe_video", media={"url": IMAGE},
                                              aspect_ratio="9:16", model="ray-flash-2")
    assert modified.request.mode == "flex_1"
    assert decode(httpx.get(wait(luma, reframed.id).assets.video, timeout=30).content)[:2] == (720, 1280)
    with pytest.raises(lumaai.UnprocessableEntityError):
        luma.generations.video.modify(generation_type="modify_video", media={"url": IMAGE}, mode="wild",
                                      model="ray-2")


@pytest.mark.parametrize(("fields", "message"), [
    ({"prompt": "hi"}, "Prompt is too short, minimum length is 3 characters"),
    ({"prompt": "x" * 5001}, "Prompt is too long, maximum length is 5000 characters"),
    ({}, "Prompt is required"),
    ({"keyframes": {}}, "No keyframes provided"),
    ({"prompt": "a loop", "loop": True, "keyframes": {"frame1": {"type": "image", "url": IMAGE}}},
     "Loop is not supported for end frame"),
    ({"prompt": "a loop", "loop": True, "keyframes": {"frame0": {"type": "image", "url": IMAGE},
                                                      "frame1": {"type": "image", "url": IMAGE}}},
     "Loop is not supported for keyframes"),
    ({"prompt": "too long", "duration": "10s"}, "Invalid duration '10s' for model ray-2; supported durations: 5s, 9s"),
    ({"prompt": "too big", "resolution": "8k"}, "Invalid resolution '8k' for model ray-2"),
])
def test_bad_requests_are_400_with_luma_messages(server, fields, message):
    with pytest.raises(lumaai.BadRequestError) as info:
        client(server).generations.create(model="ray-2", **fields)
    assert info.value.status_code == 400 and info.value.body["detail"].startswith(message)


@pytest.mark.parametrize(("fields", "loc"), [
    ({"model": "ray-9"}, ["body", "model"]),
    ({"model": "ray-2", "aspect_ratio": "2:1"}, ["body", "aspect_ratio"]),
    ({"model": "ray-2", "loop": "yes"}, ["body", "loop"]),
    ({"model": "ray-2", "callback_url": "not a url"}, ["body", "callback_url"]),
    ({"model": "ray-2", "keyframes": {"frame0": {"type": "video", "url": IMAGE}}}, ["body", "keyframes", "frame0",
                                                                                     "type"]),
])
def test_schema_errors_are_fastapi_422s(server, fields, loc):
    with pytest.raises(lumaai.UnprocessableEntityError) as info:
        client(server).generations.create(prompt="a valid prompt", **fields)
    [problem] = info.value.body["detail"]
    assert problem["loc"] == loc and problem["msg"]


def test_auth_errors(server):
    profile(server, {"providers": {"luma": {"auth": {"keys": [KEY]}}}})
    assert client(server).ping.check().message == "pong"
    with pytest.raises(lumaai.AuthenticationError) as info:
        client(server, "luma-wrong").generations.list()
    assert info.value.body == {"detail": "Invalid API key is provided"}
    bare = httpx.get(f"{server.url}/dream-machine/v1/generations")
    assert (bare.status_code, bare.json()) == (401, {"detail": "Not authenticated"})
    with pytest.raises(lumaai.LumaAIError):
        lumaai.LumaAI(auth_token=None, base_url=f"{server.url}/dream-machine/v1")


def test_concurrency_and_rate_limits_are_429s_with_retry_after(server):
    profile(server, {"limits": {"concurrent_jobs": 1}, "jobs": {"run": "1h"}})
    luma = client(server, max_retries=0)
    luma.generations.create(model="ray-2", prompt="first")
    with pytest.raises(lumaai.RateLimitError) as info:
        luma.generations.create(model="ray-2", prompt="second")
    assert "concurrent" in info.value.body["detail"] and int(info.value.response.headers["retry-after"]) >= 1
    profile(server, {"providers": {"luma": {"models": {"ray-2": {"limits": {"requests_per_minute": 2}}}}}})
    luma.generations.create(model="ray-2", prompt="one")
    luma.generations.create(model="ray-2", prompt="two")
    for _ in range(3):
        luma.generations.list()  # polls do not count against the create RPM
    with pytest.raises(lumaai.RateLimitError):
        luma.generations.create(model="ray-2", prompt="three")
    luma.generations.create(model="ray-flash-2", prompt="another model")
    advance(server, 61)
    luma.generations.create(model="ray-2", prompt="next minute")


@pytest.mark.parametrize(("status", "error"), [(500, lumaai.InternalServerError), (503, lumaai.InternalServerError),
                                               (429, lumaai.RateLimitError), (403, lumaai.PermissionDeniedError)])
def test_injected_errors_raise_the_sdk_classes(server, status, error):
    profile(server, {"faults": {"create": [{"kind": "error", "status": status, "rate": 1.0}]}})
    with pytest.raises(error) as info:
        client(server, max_retries=0).generations.create(model="ray-2", prompt="a whale")
    assert isinstance(info.value.body["detail"], str)


def test_output_links_expire(server):
    profile(server, {"outputs": {"url_ttl": "1h"}})  # 36 s real at this time scale: no link runs out by itself
    luma = client(server)
    done = wait(luma, luma.generations.create(model="ray-2", prompt="a whale").id)
    assert httpx.get(done.assets.video, timeout=30).status_code == 200
    advance(server, 3601)
    assert httpx.get(done.assets.video, timeout=30).status_code == 403
    assert httpx.get(done.assets.image, timeout=30).status_code == 403
    assert httpx.get(done.assets.image.replace("sig=", "sig=0")).status_code == 403
    fresh = luma.generations.get(done.id).assets.video
    assert fresh != done.assets.video and httpx.get(fresh, timeout=30).status_code == 200


def test_generations_are_private_to_their_key(server):
    generation = client(server).generations.create(model="ray-2", prompt="mine")
    with pytest.raises(lumaai.NotFoundError):
        client(server, "luma-other").generations.get(generation.id)
    with pytest.raises(lumaai.NotFoundError):
        client(server, "luma-other").generations.delete(generation.id)


def test_async_client_works_too(server):
    import asyncio

    async def run() -> str:
        async with lumaai.AsyncLumaAI(auth_token=KEY, base_url=f"{server.url}/dream-machine/v1") as luma:
            generation = await luma.generations.create(model="ray-2", prompt="async whale")
            while generation.state not in ("completed", "failed"):
                await asyncio.sleep(0.02)
                generation = await luma.generations.get(generation.id)
            return generation.state

    assert asyncio.run(run()) == "completed"


def test_finished_generations_feed_the_cost_ledger(server):
    luma = client(server)
    wait(luma, luma.generations.create(model="ray-2", prompt="a whale", duration="9s").id)
    profile(server, {"jobs": {"failure_rate": {"internal": 1.0}}})
    assert wait(luma, luma.generations.create(model="ray-2", prompt="a whale").id).state == "failed"
    report = server.admin("GET", "/report").json()["providers"]["luma"]
    assert report["cost_usd"] == pytest.approx(9 * 0.08)  # ray-2 at $0.08 a second (the price book)
    assert report["jobs"]["succeeded"] == 1 and report["jobs"]["failed"] == 1


def test_an_unfinished_generation_answers_as_rendered_afresh_and_a_replayed_id_gets_its_own(server):
    """Polls of a queued or dreaming generation answer the body its creation rendered (kept, by id and state,
    for that very generation); after a reset the seeded ids repeat and a new generation's body is its own."""
    profile(server, {"jobs": {"queue": "1000s", "run": "1000s"}})
    headers = {"Authorization": f"Bearer {KEY}"}
    base = f"{server.url}/dream-machine/v1/generations"

    def create(prompt: str) -> httpx.Response:
        return httpx.post(f"{base}/video", headers=headers, json={"model": "ray-2", "prompt": prompt})

    made = create("a lighthouse")
    polls = [httpx.get(f"{base}/{made.json()['id']}", headers=headers) for _ in range(3)]
    assert {p.content for p in polls} == {made.content} and polls[0].json()["state"] == "queued"
    advance(server, 1000)
    dreaming = [httpx.get(f"{base}/{made.json()['id']}", headers=headers).json() for _ in range(2)]
    assert dreaming[0] == dreaming[1] == {**made.json(), "state": "dreaming"}
    assert server.admin("POST", "/reset").status_code in (200, 204)
    profile(server, {"jobs": {"queue": "1000s", "run": "1000s"}})
    again = create("a red fox")
    assert again.json()["id"] == made.json()["id"]  # the same seed, the same ids
    assert httpx.get(f"{base}/{again.json()['id']}", headers=headers).content == again.content
