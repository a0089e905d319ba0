"""runwayml 5.24.0, unchanged, against a served mock: uploads, the generation resources (every model of each:
test_runway_sdk_types), usage, moderation codes, unknown paths, and the rate-limited profile.
Every output is decoded (PyAV)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import av
import httpx
import pytest
import runwayml
from runway_client import client
from runwayml.lib.polling import TaskFailedError

from mockprovider.testing import MockServer

IMAGE = "https://example.com/cat.png"
VIDEO = "https://example.com/in.mp4"
AUDIO = "https://example.com/in.mp3"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=11) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(server):
    assert server.admin("POST", "/reset").status_code == 200


@pytest.fixture
def c(server):
    return client(server.url)


def media_of(url: str) -> tuple[str, bytes]:
    reply = httpx.get(url, timeout=120)  # a cold render may queue behind others on a loaded machine
    assert reply.status_code == 200, reply.text
    return reply.headers["content-type"], reply.content


def video_info(data: bytes) -> tuple[int, int, float, bool]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return stream.width, stream.height, round(frames / float(stream.average_rate), 2), bool(
            container.streams.audio)


def audio_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        return sum(f.samples for f in container.decode(audio=0)) / stream.rate


def image_size(data: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def upload(c: runwayml.RunwayML, name: str, content_type: str, size: int = 4096) -> str:
    return c.uploads.create_ephemeral(file=(name, b"\x89PNG" + b"\0" * size, content_type)).uri


def test_upload_gives_a_runway_uri_that_media_fields_accept(c):
    uri = upload(c, "cat.png", "image/png")
    assert uri.startswith("runway://")
    done = c.image_to_video.create(model="gen4_turbo", prompt_image=uri, ratio="1280:720",
                                   duration=5).wait_for_task_output(timeout=30)
    kind, data = media_of(done.output[0])
    assert kind == "video/mp4" and video_info(data)[:3] == (1280, 720, 5.0)
    video = upload(c, "in.mp4", "video/mp4", 200_000)
    task = c.video_to_video.create(model="aleph2", video_uri=video, prompt_text="snow",
                                   keyframes=[{"seconds": 0.5, "uri": uri}])
    assert task.estimated_cost.credits >= 56  # aleph2: 28 credits/s, 56 minimum
    assert video_info(media_of(task.wait_for_task_output(timeout=30).output[0])[1])[0] > 0


def test_made_up_or_mismatched_runway_uris_are_refused(c):
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.image_to_video.create(model="gen4_turbo", prompt_image="runway://upload/" + "0" * 32, ratio="1280:720")
    assert caught.value.body["issues"][0]["path"] == ["promptImage"]
    audio = upload(c, "a.mp3", "audio/mpeg")
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.video_upscale.create(model="magnific_video_upscaler_creative", video_uri=audio)
    assert "video" in caught.value.body["issues"][0]["message"]
    other = client(c.base_url.__str__().rstrip("/"), key="key_" + "f" * 128)
    with pytest.raises(runwayml.BadRequestError):  # another organization's upload
        other.image_to_video.create(model="gen4_turbo", prompt_image=upload(c, "x.png", "image/png"),
                                    ratio="1280:720")


def test_upload_step_two_is_checked_like_a_bucket(server, c):
    reply = c.post("/v1/uploads", body={"filename": "a.png", "type": "ephemeral"}, cast_to=httpx.Response)
    target = reply.json()
    small = httpx.post(target["uploadUrl"], data=target["fields"], files={"file": ("a.png", b"x" * 10, "image/png")})
    assert small.status_code == 400 and b"EntityTooSmall" in small.content
    forged = httpx.post(target["uploadUrl"], data={**target["fields"], "policy": "nope"},
                        files={"file": ("a.png", b"x" * 600, "image/png")})
    assert forged.status_code == 403
    with pytest.raises(runwayml.BadRequestError):  # never completed
        c.image_to_video.create(model="gen4_turbo", prompt_image=target["runwayUri"], ratio="1280:720")
    with pytest.raises(runwayml.BadRequestError):
        c.post("/v1/uploads", body={"filename": "a.png", "type": "permanent"}, cast_to=httpx.Response)


def test_new_video_models_validate_and_render_their_size(c):
    done = c.text_to_video.create(model="kling3.0_pro", ratio="1080:1920", prompt_text="tall",
                                  duration=4).wait_for_task_output(timeout=30)
    assert video_info(media_of(done.output[0])[1])[:3] == (1080, 1920, 4.0)
    done = c.image_to_video.create(model="wan3", prompt_image=IMAGE, prompt_text="w", ratio="auto_720p",
                                   duration=3).wait_for_task_output(timeout=30)
    assert video_info(media_of(done.output[0])[1])[:2] == (1280, 720)
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.text_to_video.create(model="hailuo3", prompt_text="x", ratio="5:4")
    assert caught.value.body["issues"][0]["code"] == "invalid_value"
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.text_to_video.create(model="gemini_omni_flash", prompt_text="x", ratio="1280:720", duration=11)
    assert caught.value.body["issues"][0]["path"] == ["duration"]
    with pytest.raises(runwayml.BadRequestError) as caught:  # outputFormat is per model
        c.text_to_video.create(model="seedance2_5", prompt_text="x", output_format="prores")
    assert caught.value.body["issues"][0]["path"] == ["outputFormat"]


def test_auto_duration_is_estimated_at_the_maximum_and_charged_less(c):
    task = c.text_to_video.create(model="seedance2", prompt_text="auto", ratio="1280:720", duration="auto")
    assert task.estimated_cost.credits == 36 * 15
    done = task.wait_for_task_output(timeout=30)
    assert done.cost.credits == 36 * 5


def test_gen45_output_format_surcharge(c):
    plain = c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=5)
    prores = c.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=5,
                                    output_format="prores")
    assert prores.estimated_cost.credits - plain.estimated_cost.credits == 5 * 5


def test_video_resources_return_mp4s(c):
    reference = upload(c, "ref.mp4", "video/mp4", 100_000)
    for task in (
        c.character_performance.create(model="act_two", character={"type": "image", "uri": IMAGE},
                                       reference={"type": "video", "uri": reference}, ratio="960:960"),
        c.video_upscale.create(model="magnific_video_upscaler_creative", video_uri=VIDEO, resolution="1k"),
        c.video_upscale.create(model="enhance_frame_rate", video_uri=VIDEO, target_framerate="59_94"),
        c.video_to_hdr.create(model="ruby", video_uri=VIDEO),
        c.video_to_video.create(model="seedance2_5", prompt_video=VIDEO, mode="extend", prompt_text="on",
                                duration=4),
    ):
        kind, data = media_of(task.wait_for_task_output(timeout=30).output[0])
        width, _, seconds, _ = video_info(data)
        assert kind == "video/mp4" and width > 0 and seconds >= 1
    with pytest.raises(runwayml.BadRequestError):
        c.character_performance.create(model="act_two", character={"type": "image", "uri": IMAGE},
                                       reference={"type": "video", "uri": VIDEO}, expression_intensity=6)
    with pytest.raises(runwayml.BadRequestError):
        c.video_upscale.create(model="enhance_frame_rate", video_uri=VIDEO, target_framerate="61")


def test_text_to_image_formats_counts_and_costs(c):
    task = c.text_to_image.create(model="gen4_image", prompt_text="@cat", ratio="1920:1080",
                                  reference_images=[{"uri": IMAGE, "tag": "cat"}])
    assert task.estimated_cost.credits == 8  # 1080p
    kind, data = media_of(task.wait_for_task_output(timeout=30).output[0])
    assert kind == "image/png" and image_size(data) == (1920, 1080)
    done = c.text_to_image.create(model="muse_image", prompt_text="two", ratio="1600:1600", output_count=2,
                                  output_format="webp").wait_for_task_output(timeout=30)
    images = [media_of(url) for url in done.output]
    assert [k for k, _ in images] == ["image/webp"] * 2
    assert images[0][1] != images[1][1] and image_size(images[0][1]) == (1600, 1600)
    done = c.text_to_image.create(model="seedream5_pro", prompt_text="j", ratio="auto_2k",
                                  output_format="jpeg").wait_for_task_output(timeout=30)
    kind, data = media_of(done.output[0])
    assert kind == "image/jpeg" and image_size(data) == (2048, 2048)
    vector = c.text_to_image.create(model="recraft_v4_1_vector", prompt_text="logo").wait_for_task_output(timeout=30)
    kind, data = media_of(vector.output[0])
    assert kind == "image/svg+xml" and data.startswith(b"<svg")
    up = c.image_upscale.create(model="magnific_precision_upscaler_v2", image_uri=IMAGE, scale_factor=4)
    assert image_size(media_of(up.wait_for_task_output(timeout=30).output[0])[1]) == (4096, 4096)
    with pytest.raises(runwayml.BadRequestError) as caught:  # turbo needs 1-3 reference images
        c.text_to_image.create(model="gen4_image_turbo", prompt_text="x", ratio="1024:1024", reference_images=[])
    assert caught.value.body["issues"][0]["path"] == ["referenceImages"]


def alphas(data: bytes) -> tuple[str, set[int]]:
    """The decoded image's pixel format and the alpha values it holds (255 alone for an opaque one)."""
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
    rgba = frame.reformat(format="rgba")
    plane, row = rgba.planes[0], rgba.width * 4
    pixels, stride = bytes(plane), plane.line_size
    return frame.format.name, {a for y in range(rgba.height) for a in pixels[y * stride + 3:y * stride + row:4]}


def test_a_transparent_background_is_an_image_with_alpha(c):
    clear = c.text_to_image.create(model="gpt_image_2", prompt_text="a logo", ratio="1920:1920",
                                   background="transparent").wait_for_task_output(timeout=30)
    kind, data = media_of(clear.output[0])
    assert kind == "image/png" and image_size(data) == (1920, 1920)
    assert alphas(data) == ("rgba", {0, 255})  # a transparent margin around an opaque subject
    opaque = c.text_to_image.create(model="gpt_image_2", prompt_text="a logo", ratio="1920:1920",
                                    background="opaque").wait_for_task_output(timeout=30)
    assert alphas(media_of(opaque.output[0])[1]) == ("rgb24", {255})


def test_audio_resources_return_playable_audio(c):
    cases = [
        (c.sound_effect.create(model="eleven_text_to_sound_v2", prompt_text="rain", duration=4.5, loop=True),
         "audio/mpeg", 4.5),
        (c.sound_effect.create(model="mirelo_sfx_2_0", prompt_text="door", duration=3, format="wav"),
         "audio/wav", 3.0),
        (c.text_to_speech.create(model="eleven_multilingual_v2", prompt_text="hello " * 10,
                                 voice={"type": "runway-preset", "preset_id": "Maya"}), "audio/mpeg", 4.0),
        (c.text_to_speech.create(model="seed_audio", prompt_text="hi there", output_format="ogg_opus"),
         "audio/ogg", 1.0),
        (c.speech_to_speech.create(model="eleven_multilingual_sts_v2", media={"type": "audio", "uri": AUDIO},
                                   voice={"type": "runway-preset", "preset_id": "Noah"}), "audio/mpeg", None),
        (c.voice_isolation.create(model="eleven_voice_isolation", audio_uri=AUDIO), "audio/mpeg", None),
        (c.voice_dubbing.create(model="eleven_voice_dubbing", audio_uri=AUDIO, target_lang="es", num_speakers=2),
         "audio/mpeg", None),
        (c.video_to_audio.create(model="mirelo_sfx_2_0", video_uri=VIDEO, duration=2.0, format="flac"),
         "audio/flac", 2.0),
    ]
    for task, content_type, seconds in cases:
        assert task.estimated_cost.credits > 0
        kind, data = media_of(task.wait_for_task_output(timeout=30).output[0])
        assert kind == content_type
        measured = audio_seconds(data)
        assert measured > 0.5
        if seconds is not None:
            assert measured == pytest.approx(seconds, abs=0.1)
    with pytest.raises(runwayml.BadRequestError):
        c.text_to_speech.create(model="eleven_v3", prompt_text="x", voice={"type": "runway-preset",
                                                                           "preset_id": "Nobody"})
    with pytest.raises(runwayml.BadRequestError):
        c.sound_effect.create(model="eleven_text_to_sound_v2", prompt_text="x", duration=31)


def test_tier_and_usage_reflect_the_run(server, c):
    c.text_to_video.create(model="gen4.5", prompt_text="a", ratio="1280:720", duration=5).wait_for_task_output(
        timeout=30)
    c.text_to_image.create(model="gen4_image_turbo", prompt_text="b", ratio="1024:1024",
                           reference_images=[{"uri": IMAGE}]).wait_for_task_output(timeout=30)
    server.admin("PUT", "/profile", {"profile": {"extends": "happy", "jobs": {"queue": "0s", "run": "600s"}}})
    cancelled = c.text_to_video.create(model="veo3.1", prompt_text="c", ratio="1280:720")
    day = dt.datetime.now(dt.timezone.utc).date()
    window = {"start_date": day.isoformat(), "before_date": (day + dt.timedelta(days=1)).isoformat()}
    assert c.organization.retrieve_usage().results == []  # the default window ends before today (exclusive)
    report = c.organization.retrieve_usage(**window)
    today = [r for r in report.results if r.date == day]
    assert today, report
    used = {u.model: u.amount for u in today[0].used_credits}
    assert used["gen4.5"] == 60 and used["gen4_image_turbo"] == 2 and used["veo3.1"] == 320
    assert set(report.models) == {"gen4.5", "gen4_image_turbo", "veo3.1"}
    c.tasks.delete(cancelled.id)
    assert c.tasks.retrieve(cancelled.id).status == "CANCELLED"
    used = {u.model: u.amount for u in c.organization.retrieve_usage(**window).results[0].used_credits}
    assert used.get("veo3.1", 0) in (0, 320)  # refunded unless it had started running
    start = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    assert c.organization.retrieve_usage(start_date=start).results == []
    with pytest.raises(runwayml.BadRequestError):
        c.organization.retrieve_usage(start_date="2026-01-01", before_date="2026-12-01")  # over 90 days


def test_video_endpoints_refuse_unknown_keys_and_text_to_image_ignores_them(c):
    """Runway's strictness is per endpoint (the reference's live probe): image_to_video and text_to_video
    answer 400 `unrecognized_keys` for keys the model does not take, text_to_image with gen4_image accepts them."""
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.image_to_video.create(model="gen4_turbo", prompt_image=IMAGE, ratio="1280:720",
                                extra_body={"callbackUrl": "https://example.com/hook", "motion": 3})
    assert caught.value.body["issues"] == [{"code": "unrecognized_keys", "keys": ["callbackUrl", "motion"], "path": [],
                                            "message": 'Unrecognized keys: "callbackUrl", "motion"'}]
    with pytest.raises(runwayml.BadRequestError) as caught:  # every issue at once, the unknown key among them
        c.text_to_video.create(model="veo3.1", prompt_text="x", ratio="1280:720", duration=7,
                               extra_body={"style": "noir"})
    assert {i["code"] for i in caught.value.body["issues"]} >= {"unrecognized_keys"}
    assert len(caught.value.body["issues"]) >= 2
    task = c.text_to_image.create(model="gen4_image", prompt_text="a cat", ratio="1920:1080",
                                  extra_body={"style": "noir"})
    assert task.id


def test_moderation_codes_match_the_flagged_input(server, c):
    server.admin("PUT", "/profile", {"profile": {"jobs": {"queue": "0s", "run": "1s",
                                                          "failure_rate": {"content_policy": 1.0}, "fail_at": 0.0}}})
    with pytest.raises(TaskFailedError) as caught:
        c.image_to_video.create(model="gen4_turbo", prompt_image=IMAGE, ratio="1280:720").wait_for_task_output(
            timeout=30)
    assert caught.value.task_details.failure_code == "SAFETY.INPUT.IMAGE"  # no prompt text was sent
    with pytest.raises(TaskFailedError) as caught:
        c.text_to_video.create(model="veo3.1", prompt_text="x", ratio="1280:720").wait_for_task_output(timeout=30)
    assert caught.value.task_details.failure_code == "SAFETY.INPUT.TEXT"
    with pytest.raises(TaskFailedError) as caught:
        c.voice_isolation.create(model="eleven_voice_isolation", audio_uri=AUDIO).wait_for_task_output(timeout=30)
    assert caught.value.task_details.failure_code == "SAFETY.INPUT.AUDIO"
    with pytest.raises(TaskFailedError) as caught:  # the media object names its own kind
        c.speech_to_speech.create(model="eleven_multilingual_sts_v2", media={"type": "video", "uri": VIDEO},
                                  voice={"type": "runway-preset", "preset_id": "Noah"}).wait_for_task_output(timeout=30)
    assert caught.value.task_details.failure_code == "SAFETY.INPUT.VIDEO"
    server.admin("PUT", "/profile", {"profile": {"jobs": {"queue": "0s", "run": "1s",
                                                          "failure_rate": {"content_policy": 1.0}, "fail_at": 0.9}}})
    with pytest.raises(TaskFailedError) as caught:
        c.text_to_image.create(model="gen4_image", prompt_text="x", ratio="1024:1024").wait_for_task_output(
            timeout=30)
    assert caught.value.task_details.failure_code == "SAFETY.OUTPUT.IMAGE"


def test_unknown_paths_under_runway_prefixes_answer_in_runways_shape(server, c):
    with pytest.raises(runwayml.NotFoundError) as caught:
        c.voices.retrieve("no-such-voice")
    assert set(caught.value.body) == {"error", "docUrl"}
    for path in ("/v1/tasks", "/v1/organization/nope", "/v1/recipes/no_such_recipe", "/v1/text_to_image/x"):
        reply = httpx.post(server.url + path, json={})
        assert reply.status_code in (404, 405) and set(reply.json()) == {"error", "docUrl"}, path


def test_rate_limited_profile_never_429s_task_polls(server_factory):
    server = server_factory(profile="rate-limited", time_scale=1)
    c = client(server.url)
    tasks = [c.image_to_video.create(model="gen4_turbo", prompt_image=IMAGE, ratio="1280:720") for _ in range(3)]
    assert c.tasks.retrieve(tasks[2].id).status == "THROTTLED"  # concurrency 2 throttles, does not refuse
    for _ in range(40):  # more than the profile's 30 requests a minute
        for task in tasks:
            c.tasks.retrieve(task.id)
    org = c.organization.retrieve()
    assert org.tier.models["gen4_turbo"].max_daily_generations == 50


def test_no_bundled_profile_limits_or_429s_runway_task_polls():
    from mockprovider.engine.profile import ProfileLibrary

    library = ProfileLibrary()
    assert {"default", "happy", "realistic", "degraded", "rate-limited", "outage"} <= set(library.names())
    for name in library.names():
        for model in (None, "gen4_turbo", "gen4.5", "veo3.1"):
            resolved = library.load(name).resolve("runway", model)
            assert resolved.limits.requests_per_minute is None, (name, model)
            assert all(rule.status != 429 for rule in resolved.faults.get("status", ())), (name, model)


def test_outputs_of_distinct_tasks_never_share_bytes(c):
    hashes = set()
    for prompt in ("a red fox", "a blue whale"):
        done = c.text_to_image.create(model="gen4_image", prompt_text=prompt, ratio="1024:1024").wait_for_task_output(
            timeout=30)
        hashes.add(hashlib.sha256(media_of(done.output[0])[1]).hexdigest())
    assert len(hashes) == 2
