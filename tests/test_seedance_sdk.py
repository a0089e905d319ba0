"""Seedance on BytePlus ModelArk through the official client, unchanged (byteplus-python-sdk-v2's
``Ark().content_generation.tasks``): create, poll, download and decode; validation and each error class; list and
delete; limits; expiry."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from byteplussdkarkruntime import Ark
from byteplussdkarkruntime._exceptions import (
    ArkAuthenticationError,
    ArkBadRequestError,
    ArkInternalServerError,
    ArkNotFoundError,
    ArkPermissionDeniedError,
    ArkRateLimitError,
)
from kling_client import png_base64, probe_mp4

from mockprovider.engine.rng import stream
from mockprovider.testing import MockServer

PRO = "seedance-1-0-pro-250528"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=7) as s:
        yield s


@pytest.fixture
def ark(server):
    assert server.admin("POST", "/reset").status_code == 200
    server.admin("DELETE", "/profile")
    client = Ark(api_key="ark-test-0123", base_url=f"{server.url}/api/v3", max_retries=0)
    yield client
    client.close()


def use_profile(server, profile: dict) -> None:
    assert server.admin("PUT", "/profile", json={"profile": profile}).status_code == 200


def text(prompt: str) -> list[dict]:
    return [{"type": "text", "text": prompt}]


def image(width: int, height: int, role: str | None = None) -> dict:
    item = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png_base64(width, height)}}
    if role:
        item["role"] = role
    return item


def wait(ark: Ark, task_id: str, seen: list[str] | None = None):
    deadline = time.monotonic() + 30
    while True:
        task = ark.content_generation.tasks.get(task_id=task_id)
        if seen is not None and (not seen or seen[-1] != task.status):
            seen.append(task.status)
        if task.status not in ("queued", "running") or time.monotonic() > deadline:
            return task
        time.sleep(0.02)


def test_text_to_video_to_a_decodable_mp4(ark):
    created = ark.content_generation.tasks.create(model=PRO, content=text("a red fox in snow"), ratio="16:9",
                                                  resolution="720p", duration=5, safety_identifier="user-1")
    assert created.id.startswith("cgt-") and len(created.id) == len("cgt-20260405024433-sbj8r")
    assert created.safety_identifier == "user-1"
    seen: list[str] = []
    task = wait(ark, created.id, seen)
    assert task.status == "succeeded", task
    assert set(seen) <= {"queued", "running", "succeeded"}
    assert task.model == PRO and task.error is None
    assert (task.resolution, task.ratio, task.duration, task.framespersecond) == ("720p", "16:9", 5, 24)
    assert task.usage.completion_tokens == 1248 * 704 * 121 // 1024
    assert isinstance(task.created_at, int) and task.updated_at >= task.created_at > 1_700_000_000
    assert task.safety_identifier == "user-1" and task.seed >= 0
    media = httpx.get(task.content.video_url, timeout=20)
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    info = probe_mp4(media.content)
    assert (info["width"], info["height"]) == (1248, 704)
    assert abs(info["duration"] - 5.0) < 0.1 and not info["audio"]


def test_image_to_video_follows_the_first_frame(ark):
    created = ark.content_generation.tasks.create(model="seedance-1-0-lite-i2v-250428",
                                                  content=[*text("waves"), image(720, 1280)], duration=3,
                                                  resolution="480p")
    task = wait(ark, created.id)
    assert task.status == "succeeded" and task.ratio == "adaptive"
    info = probe_mp4(httpx.get(task.content.video_url, timeout=20).content)
    assert (info["width"], info["height"]) == (480, 864) and abs(info["duration"] - 3.0) < 0.1


def test_first_and_last_frame_and_audio_on_1_5_pro(ark):
    content = [*text("a door opens"), image(640, 640, "first_frame"), image(640, 640, "last_frame")]
    created = ark.content_generation.tasks.create(model="seedance-1-5-pro-251215", content=content, duration=4,
                                                  ratio="1:1", generate_audio=True)
    task = wait(ark, created.id)
    assert task.status == "succeeded" and task.generate_audio is True
    info = probe_mp4(httpx.get(task.content.video_url, timeout=20).content)
    assert (info["width"], info["height"]) == (960, 960) and info["audio"]


def test_seedance_2_0_renders_1080p(ark):  # 2.0 fast does not (test_invalid_parameters_raise_bad_request)
    created = ark.content_generation.tasks.create(model="dreamina-seedance-2-0-260128", content=text("a kite"),
                                                  resolution="1080p", duration=4, ratio="16:9")
    task = wait(ark, created.id)
    assert task.status == "succeeded" and task.resolution == "1080p"
    info = probe_mp4(httpx.get(task.content.video_url, timeout=30).content)
    assert (info["width"], info["height"]) == (1920, 1080) and abs(info["duration"] - 4.0) < 0.1
    assert task.usage.completion_tokens == 1920 * 1080 * 97 // 1024


def test_seedance_2_5_makes_30_seconds_from_audio_alone_and_2_0_mini_is_validated(ark):
    audio = {"type": "audio_url", "audio_url": {"url": "https://example.com/a.mp3"}, "role": "reference_audio"}
    created = ark.content_generation.tasks.create(model="dreamina-seedance-2-5-260628", resolution="480p",
                                                  content=[*text("a song"), audio], duration=30)
    task = wait(ark, created.id)
    assert task.status == "succeeded" and task.duration == 30
    info = probe_mp4(httpx.get(task.content.video_url, timeout=30).content)
    assert (info["width"], info["height"]) == (864, 496) and abs(info["duration"] - 30.0) < 0.1 and info["audio"]
    refused = [("dreamina-seedance-2-5-260628", {"duration": 31}, "duration"),
               ("dreamina-seedance-2-5-260628", {"content": [*text("x"), *[image(640, 640, "reference_image")] * 31]},
                "content"),
               ("dreamina-seedance-2-0-260128", {"content": [*text("x"), audio]}, "content"),  # 2.0: not alone
               ("dreamina-seedance-2-0-mini-260615", {"resolution": "1080p"}, "resolution")]
    for model, fields, param in refused:
        with pytest.raises(ArkBadRequestError) as caught:
            ark.content_generation.tasks.create(model=model, **{"content": text("x"), **fields})
        assert caught.value.param == param, (model, fields)
    mini = wait(ark, ark.content_generation.tasks.create(model="dreamina-seedance-2-0-mini-260615", content=text("y"),
                                                         duration=4, resolution="480p").id)
    assert mini.status == "succeeded" and mini.model == "dreamina-seedance-2-0-mini-260615"


def rgb_bytes(frame) -> bytes:
    plane = frame.reformat(format="rgb24").planes[0]
    raw, row = bytes(plane), frame.width * 3
    return b"".join(raw[y * plane.line_size : y * plane.line_size + row] for y in range(frame.height))


def mean_difference(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a[::7], b[::7], strict=True)) / len(a[::7])


def test_return_last_frame_gives_a_png_of_the_final_frame(ark):
    import io

    import av

    created = ark.content_generation.tasks.create(model=PRO, content=text("x"), resolution="480p", ratio="4:3",
                                                  duration=2, return_last_frame=True)
    task = wait(ark, created.id)
    reply = httpx.get(task.content.last_frame_url, timeout=20)
    assert reply.status_code == 200 and reply.headers["content-type"] == "image/png"
    with av.open(io.BytesIO(reply.content)) as still:
        picture = next(still.decode(video=0))
    assert (picture.width, picture.height) == (736, 544)
    with av.open(io.BytesIO(httpx.get(task.content.video_url, timeout=20).content)) as video:
        last = list(video.decode(video=0))[-1]
    still_rgb, last_rgb = rgb_bytes(picture), rgb_bytes(last)
    difference = mean_difference(still_rgb, last_rgb)
    assert difference < 12, difference  # the video's last frame, up to H.264's loss
    with av.open(io.BytesIO(httpx.get(task.content.video_url, timeout=20).content)) as video:
        first = rgb_bytes(next(video.decode(video=0)))
    assert mean_difference(still_rgb, first) > difference
    forged = task.content.last_frame_url.replace("sig=", "sig=0")
    assert httpx.get(forged, timeout=10).status_code == 403
    plain = wait(ark, ark.content_generation.tasks.create(model=PRO, content=text("y")).id)
    assert plain.content.last_frame_url is None


def test_reference_images_and_prompt_flags(ark):
    content = [{"type": "text", "text": "a cat --rs 480p --rt 9:16 --dur 2"},
               image(640, 640, "reference_image"), image(800, 600, "reference_image")]
    created = ark.content_generation.tasks.create(model="seedance-1-0-lite-i2v-250428", content=content)
    task = wait(ark, created.id)
    assert (task.resolution, task.ratio, task.duration) == ("480p", "9:16", 2)
    info = probe_mp4(httpx.get(task.content.video_url, timeout=20).content)
    assert (info["width"], info["height"]) == (480, 864) and abs(info["duration"] - 2.0) < 0.1


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"model": PRO, "content": text("x"), "duration": 13}, "duration"),
    ({"model": "seedance-1-5-pro-251215", "content": text("x"), "duration": 3}, "duration"),
    ({"model": "dreamina-seedance-2-0-260128", "content": text("x"), "duration": 16}, "duration"),
    ({"model": "seedance-1-5-pro-251215", "content": text("x"), "resolution": "1080p"}, "resolution"),
    ({"model": "dreamina-seedance-2-0-fast-260128", "content": text("x"), "resolution": "1080p"}, "resolution"),
    ({"model": PRO, "content": text("x"), "resolution": "4k"}, "resolution"),
    ({"model": PRO, "content": text("x"), "ratio": "2:1"}, "ratio"),
    ({"model": PRO, "content": text("x"), "generate_audio": True}, "generate_audio"),
    ({"model": PRO, "content": text("x"), "draft": True}, "draft"),
    ({"model": PRO, "content": text("x"), "seed": 2**32}, "seed"),
    ({"model": PRO, "content": text("x"), "service_tier": "gold"}, "service_tier"),
    ({"model": PRO, "content": text("x"), "execution_expires_after": 60}, "execution_expires_after"),
    ({"model": PRO, "content": text("x"), "callback_url": "ftp://x"}, "callback_url"),
    ({"model": "seedance-1-0-lite-t2v-250428", "content": [*text("x"), image(640, 640)]}, "content"),
    ({"model": "seedance-1-0-pro-fast-251015",
      "content": [*text("x"), image(640, 640, "first_frame"), image(640, 640, "last_frame")]}, "content"),
    ({"model": PRO, "content": [*text("x"), image(200, 200)]}, "content[1].image_url.url"),
    ({"model": PRO, "content": [*text("x"), image(640, 640, "last_frame")]}, "content"),
    ({"model": PRO, "content": [{"type": "video_url", "video_url": {"url": "https://x/v.mp4"}}]}, "content"),
    ({"model": PRO, "content": [{"type": "sound"}]}, "content[0].type"),
])
def test_invalid_parameters_raise_bad_request(ark, kwargs, param):
    with pytest.raises(ArkBadRequestError) as caught:
        ark.content_generation.tasks.create(**kwargs)
    error = caught.value
    assert error.status_code == 400 and error.code == "InvalidParameter" and error.type == "BadRequest"
    assert error.param == param, error.body
    assert "Request id: 021" in error.message


def test_missing_parameters_unknown_models_and_keys(ark, server):
    with pytest.raises(ArkBadRequestError) as caught:
        ark.content_generation.tasks.create(model=PRO, content=[])
    assert caught.value.code == "InvalidParameter"
    with pytest.raises(ArkBadRequestError) as caught:
        ark.content_generation.tasks.create(model=PRO, content=text("  "))
    assert caught.value.code == "MissingParameter"
    with pytest.raises(ArkNotFoundError) as caught:
        ark.content_generation.tasks.create(model="seedance-9-0", content=text("x"))
    assert caught.value.code == "InvalidEndpointOrModel.NotFound" and caught.value.status_code == 404
    with pytest.raises(ArkNotFoundError) as caught:
        ark.content_generation.tasks.get(task_id="cgt-20260101000000-zzzzz")
    assert caught.value.code == "ResourceNotFound"
    use_profile(server, {"providers": {"seedance": {"auth": {"keys": ["ark-good", "ark-other"],
                                                             "endpoints": {"ep-20260101-abc": PRO}}}}})
    with pytest.raises(ArkAuthenticationError) as caught:
        ark.content_generation.tasks.create(model=PRO, content=text("x"))
    assert caught.value.code == "AuthenticationError" and caught.value.type == "Unauthorized"
    good = Ark(api_key="ark-good", base_url=f"{server.url}/api/v3", max_retries=0)
    created = good.content_generation.tasks.create(model="ep-20260101-abc", content=text("x"))
    assert good.content_generation.tasks.get(task_id=created.id).model == PRO
    other = Ark(api_key="ark-other", base_url=f"{server.url}/api/v3", max_retries=0)
    with pytest.raises(ArkNotFoundError):  # another account's task does not exist for this one
        other.content_generation.tasks.get(task_id=created.id)


def test_list_filters_and_pages(ark):
    ids = [ark.content_generation.tasks.create(model=PRO, content=text(f"p{i}")).id for i in range(3)]
    lite = ark.content_generation.tasks.create(model="seedance-1-0-lite-t2v-250428", content=text("q"),
                                               service_tier="flex").id
    page = ark.content_generation.tasks.list(page_num=1, page_size=2)
    assert page.total == 4 and [t.id for t in page.items] == [lite, ids[2]]
    assert [t.id for t in ark.content_generation.tasks.list(page_num=2, page_size=2).items] == [ids[1], ids[0]]
    assert [t.id for t in ark.content_generation.tasks.list(model=PRO).items] == ids[::-1]
    assert [t.id for t in ark.content_generation.tasks.list(service_tier="flex").items] == [lite]
    assert {t.id for t in ark.content_generation.tasks.list(task_ids=[ids[0], lite]).items} == {ids[0], lite}
    wait(ark, ids[2])
    assert ids[2] in {t.id for t in ark.content_generation.tasks.list(status="succeeded", page_size=10).items}
    with pytest.raises(ArkBadRequestError):
        ark.content_generation.tasks.list(page_size=501)
    with pytest.raises(ArkBadRequestError):
        ark.content_generation.tasks.list(status="done")


def test_delete_cancels_queued_refuses_running_and_deletes_finished(ark, server):
    use_profile(server, {"jobs": {"queue": "1000s", "run": "1000s"}})
    queued = ark.content_generation.tasks.create(model=PRO, content=text("a")).id
    assert ark.content_generation.tasks.get(task_id=queued).status == "queued"
    ark.content_generation.tasks.delete(queued)
    assert ark.content_generation.tasks.get(task_id=queued).status == "cancelled"
    with pytest.raises(ArkBadRequestError):  # a cancelled task is neither cancelled nor deleted again
        ark.content_generation.tasks.delete(queued)
    use_profile(server, {"jobs": {"queue": "0s", "run": "1000s"}})
    running = ark.content_generation.tasks.create(model=PRO, content=text("b")).id
    assert ark.content_generation.tasks.get(task_id=running).status == "running"
    with pytest.raises(ArkBadRequestError) as caught:
        ark.content_generation.tasks.delete(running)
    assert "running" in caught.value.message
    server.admin("POST", "/clock", {"advance": "20m"})
    assert ark.content_generation.tasks.get(task_id=running).status == "succeeded"
    ark.content_generation.tasks.delete(running)
    with pytest.raises(ArkNotFoundError):
        ark.content_generation.tasks.get(task_id=running)
    server.admin("POST", "/clock", {"advance": "25h"})  # cancelled tasks are deleted after 24 hours
    with pytest.raises(ArkNotFoundError):
        ark.content_generation.tasks.get(task_id=queued)


def test_tasks_past_execution_expires_after_expire(ark, server):
    use_profile(server, {"jobs": {"queue": "0s", "run": "3h"}})
    short = ark.content_generation.tasks.create(model=PRO, content=text("a"), execution_expires_after=3600).id
    long = ark.content_generation.tasks.create(model=PRO, content=text("b")).id
    server.admin("POST", "/clock", {"advance": "3601s"})
    expired = ark.content_generation.tasks.get(task_id=short)
    assert expired.status == "expired" and expired.execution_expires_after == 3600 and expired.content is None
    assert ark.content_generation.tasks.get(task_id=long).status == "running"
    assert [t.id for t in ark.content_generation.tasks.list(status="expired").items] == [short]
    ark.content_generation.tasks.delete(short)  # expired tasks are finished: deleting removes them


def test_video_urls_are_signed_once_for_24_hours(ark, server):
    task = wait(ark, ark.content_generation.tasks.create(model=PRO, content=text("x"), resolution="480p",
                                                         duration=2, return_last_frame=True).id)
    links = (task.content.video_url, task.content.last_frame_url)
    assert server.admin("POST", "/clock", {"scale": 1e6}).status_code == 200  # engine time stands still
    try:
        server.admin("POST", "/clock", {"advance": f"{24 * 3600 - 60}s"})
        assert [httpx.get(link, timeout=20).status_code for link in links] == [200, 200]
        server.admin("POST", "/clock", {"advance": "120s"})
        assert [httpx.get(link, timeout=20).status_code for link in links] == [403, 403]
        again = ark.content_generation.tasks.get(task_id=task.id).content  # signed once: polling brings no new one
        assert (again.video_url, again.last_frame_url) == links
    finally:
        server.admin("POST", "/clock", {"scale": 0.01})


def test_failures_are_failed_tasks_with_the_provider_code(ark, server):
    use_profile(server, {"jobs": {"run": "1s", "failure_rate": {"content_policy": 1.0}, "fail_at": "0.5"}})
    created = ark.content_generation.tasks.create(model=PRO, content=text("x"))
    task = wait(ark, created.id)
    assert task.status == "failed" and task.error.code == "OutputVideoSensitiveContentDetected"
    assert task.content is None and task.usage is None
    use_profile(server, {"jobs": {"reject_at_submit": 1.0}})
    with pytest.raises(ArkBadRequestError) as caught:
        ark.content_generation.tasks.create(model=PRO, content=text("x"))
    assert caught.value.code == "InputTextSensitiveContentDetected"
    use_profile(server, {"faults": {"status": [{"kind": "error", "status": 500, "rate": 1.0}]}})
    with pytest.raises(ArkInternalServerError) as caught:
        ark.content_generation.tasks.get(task_id=created.id)
    assert caught.value.code == "InternalServiceError"


def test_limits_queue_then_refuse_with_modelark_codes(ark, server):
    use_profile(server, {"jobs": {"queue": "0s", "run": "1000s"}, "providers": {"seedance": {
        "limits": {"concurrent_jobs": 1}, "auth": {"max_queued": 2}}}})
    ids = [ark.content_generation.tasks.create(model=PRO, content=text(f"{i}")).id for i in range(3)]
    assert [ark.content_generation.tasks.get(task_id=i).status for i in ids] == ["running", "queued", "queued"]
    with pytest.raises(ArkRateLimitError) as caught:  # over the account's queued tasks: refused
        ark.content_generation.tasks.create(model=PRO, content=text("3"))
    assert caught.value.code == "QuotaExceeded" and caught.value.type == "TooManyRequests"
    server.admin("POST", "/reset")
    use_profile(server, {"limits": {"credits": 0.3}})
    ark.content_generation.tasks.create(model=PRO, content=text("x"), resolution="720p")  # about $0.26
    with pytest.raises(ArkPermissionDeniedError) as caught:
        ark.content_generation.tasks.create(model=PRO, content=text("y"), resolution="720p")
    assert caught.value.code == "AccountOverdueError"
    use_profile(server, {"limits": {"requests_per_minute": 1}})
    ark.content_generation.tasks.list()
    with pytest.raises(ArkRateLimitError) as caught:
        ark.content_generation.tasks.list()
    assert caught.value.code == "RateLimitExceeded.EndpointRPMExceeded"


def test_unrouted_api_v3_paths_answer_in_modelark_shape(server):
    reply = httpx.get(f"{server.url}/api/v3/contents/generations/nothing", timeout=10)
    assert reply.status_code == 404 and reply.json()["error"]["type"] == "NotFound"
    reply = httpx.put(f"{server.url}/api/v3/contents/generations/tasks", timeout=10)
    assert reply.status_code == 405 and set(reply.json()["error"]) == {"code", "message", "param", "type"}


def test_callback_url_gets_the_task_at_each_status_change(ark, server):
    from kling_client import Receiver

    use_profile(server, {"jobs": {"queue": "2s", "run": "3s"}})
    with Receiver() as receiver:
        created = ark.content_generation.tasks.create(model=PRO, content=text("x"), callback_url=receiver.url)
        receiver.wait_for(lambda: any(b["status"] == "succeeded" for b in receiver.accepted()))
        bodies = receiver.accepted()
        assert [b["status"] for b in bodies] == ["queued", "running", "succeeded"]
        assert {b["id"] for b in bodies} == {created.id}
        final = bodies[-1]
        assert final["usage"]["completion_tokens"] > 0 and probe_mp4(httpx.get(final["content"]["video_url"],
                                                                               timeout=20).content)["width"] == 1920
        polled = ark.content_generation.tasks.get(task_id=created.id).model_dump(exclude_none=True)
        same = {k: v for k, v in polled.items() if k != "content"} | {"error": None}
        assert {k: v for k, v in final.items() if k != "content"} == same  # the body GET shows (links re-signed)
        use_profile(server, {"jobs": {"queue": "1000s", "run": "3s"}})
        queued = ark.content_generation.tasks.create(model=PRO, content=text("y"), callback_url=receiver.url)
        ark.content_generation.tasks.delete(queued.id)
        # at once, not when the task would have left the queue (1000 s of engine time, 10 s real)
        receiver.wait_for(lambda: any(b["status"] == "cancelled" for b in receiver.accepted()), timeout=5)
    journal = server.admin("GET", "/webhooks?provider=seedance").json()
    assert journal["attempts"] and all(a["outcome"] == "delivered" for a in journal["attempts"])


def test_finished_tasks_feed_the_cost_ledger(ark, server):
    task = wait(ark, ark.content_generation.tasks.create(model=PRO, content=text("x"), resolution="720p").id)
    failing = {"jobs": {"run": "1s", "failure_rate": {"internal": 1.0}}}
    use_profile(server, failing)
    assert wait(ark, ark.content_generation.tasks.create(model=PRO, content=text("y")).id).status == "failed"
    seedance = server.admin("GET", "/report").json()["providers"]["seedance"]
    # $2.50 per million tokens (the price book); failed tasks are free
    assert seedance["cost_usd"] == pytest.approx(task.usage.completion_tokens * 2.5 / 1e6)
    assert seedance["cost"]["unit"] == "token" and seedance["cost"]["units"] == task.usage.completion_tokens


def test_a_1_5_pro_draft_is_rendered_from_its_draft_task(ark):
    model = "seedance-1-5-pro-251215"
    draft = wait(ark, ark.content_generation.tasks.create(model=model, content=text("x"), draft=True).id)
    assert draft.status == "succeeded" and draft.draft is True and draft.resolution == "480p"
    final = ark.content_generation.tasks.create(model=model, resolution="720p",
                                                content=[{"type": "draft_task", "draft_task": {"id": draft.id}}])
    assert wait(ark, final.id).status == "succeeded"
    plain = wait(ark, ark.content_generation.tasks.create(model=model, content=text("y")).id)
    for bad_id in (plain.id, "cgt-20260101000000-zzzzz"):
        with pytest.raises(ArkBadRequestError) as caught:
            ark.content_generation.tasks.create(model=model, content=[{"type": "draft_task",
                                                                       "draft_task": {"id": bad_id}}])
        assert caught.value.param == "content"


def test_polls_carry_a_fresh_request_id_and_the_clients_own(ark, server):
    use_profile(server, {"jobs": {"queue": "1h"}})
    task_id = ark.content_generation.tasks.create(model=PRO, content=text("a")).id
    url = f"{server.url}/api/v3/contents/generations/tasks/{task_id}"
    mine = "c" * 200
    replies = [httpx.get(url, headers={"Authorization": "Bearer ark-test-0123", "X-Client-Request-Id": mine})
               for _ in range(2)]
    ids = [r.headers["x-request-id"] for r in replies]
    assert all(re.fullmatch(r"021\d{13}[0-9a-f]{24}", i) for i in ids) and ids[0] != ids[1]
    draws = stream(7, "seedance", "request_ids")  # the server's seed, from the reset on: the create drew first
    assert [i[-24:] for i in ids] == [f"{draws.getrandbits(96):024x}" for _ in range(3)][1:]
    assert [r.headers["x-client-request-id"] for r in replies] == [mine[:128]] * 2
    assert replies[0].content == replies[1].content and replies[0].json()["status"] == "queued"
    assert replies[0].headers["content-length"] == str(len(replies[0].content))
    bare = httpx.get(url, headers={"Authorization": "Bearer ark-test-0123"})
    assert "x-client-request-id" not in bare.headers and bare.content == replies[0].content
