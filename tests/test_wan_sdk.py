"""Wan on DashScope through the official client, unchanged: dashscope 1.x ``VideoSynthesis`` (async_call, fetch,
wait, cancel, list: it returns errors as responses) and the 2.x ``Client().videos.jobs`` (which raises typed errors);
create, poll, download and decode; validation and each error class; limits; routing beside Runway."""

from __future__ import annotations

import time
import types

import dashscope
import dashscope.client.base_api as base_api
import httpx
import pytest
from dashscope import VideoSynthesis
from dashscope.common.error import InvalidTask
from dashscope.v2 import errors as v2_errors
from kling_client import png_base64, probe_mp4

from mockprovider.testing import MockServer

KEY = "sk-test-0123"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=11) as s:
        yield s


@pytest.fixture(autouse=True)
def fast_wait(monkeypatch):
    """VideoSynthesis.wait sleeps 1-5 s between polls; the engine's clock makes jobs short, so poll quickly."""
    monkeypatch.setattr(base_api, "time", types.SimpleNamespace(time=time.time, sleep=lambda s: time.sleep(s / 50)))


@pytest.fixture
def wan(server, monkeypatch):
    assert server.admin("POST", "/reset").status_code == 200
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{server.url}/api/v1")
    return VideoSynthesis


def use_profile(server, profile: dict) -> None:
    assert server.admin("PUT", "/profile", json={"profile": profile}).status_code == 200


def data_uri(width: int, height: int) -> str:
    return "data:image/png;base64," + png_base64(width, height)


def decoded(url: str) -> dict:
    media = httpx.get(url, timeout=20)
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    return probe_mp4(media.content)


def test_text_to_video_async_call_wait_download(wan):
    created = wan.async_call(model="wan2.6-t2v", prompt="a cat on a skateboard", size="1280*720", duration=5,
                             negative_prompt="blur", seed=42, api_key=KEY)
    assert created.status_code == 200 and created.output.task_status == "PENDING"
    assert len(created.output.task_id) == 36 and created.request_id
    done = wan.wait(created, api_key=KEY)
    assert done.status_code == 200 and done.output.task_status == "SUCCEEDED", done
    assert done.output.orig_prompt == "a cat on a skateboard" and done.output.actual_prompt
    assert done.output.submit_time <= done.output.scheduled_time <= done.output.end_time
    assert done.usage.output_video_duration == 5 and done.usage.SR == 720 and done.usage.video_count == 1
    info = decoded(done.output.video_url)
    assert (info["width"], info["height"]) == (1280, 720) and abs(info["duration"] - 5.0) < 0.1
    assert info["audio"]  # wan2.6 adds sound unless told not to
    fetched = wan.fetch(created.output.task_id, api_key=KEY)
    assert fetched.output.task_status == "SUCCEEDED" and fetched.output.video_url


def test_image_to_video_keeps_the_image_ratio(wan):
    created = wan.async_call(model="wan2.2-i2v-flash", img_url=data_uri(720, 1280), prompt="waves",
                             resolution="720P", api_key=KEY)
    done = wan.wait(created, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED"
    assert done.usage.video_duration == 5 and done.usage.video_ratio == "720*1280"  # older models' usage
    info = decoded(done.output.video_url)
    assert (info["width"], info["height"]) == (720, 1280) and not info["audio"]


def test_first_and_last_frame_models_use_the_image2video_path(wan, server):
    created = wan.async_call(model="wan2.2-kf2v-flash", first_frame_url=data_uri(640, 640),
                             last_frame_url="https://example.com/last.png", prompt="bloom", resolution="480P",
                             api_key=KEY)
    done = wan.wait(created, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED"
    info = decoded(done.output.video_url)
    assert (info["width"], info["height"]) == (624, 624)
    wrong = httpx.post(f"{server.url}/api/v1/services/aigc/video-generation/video-synthesis",
                       headers={"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"},
                       json={"model": "wan2.2-kf2v-flash", "input": {"first_frame_url": "https://x/a.png"}})
    assert wrong.status_code == 400 and wrong.json()["code"] == "InvalidParameter"


def test_wan_2_7_media_protocol(wan):
    created = wan.async_call(model="wan2.7-i2v", prompt="rain",
                             media=[{"type": "first_frame", "url": data_uri(960, 960)},
                                    {"type": "driving_audio", "url": "https://example.com/a.mp3"}],
                             resolution="720P", duration=3, api_key=KEY)
    done = wan.wait(created, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED", done
    info = decoded(done.output.video_url)
    assert (info["width"], info["height"]) == (960, 960) and abs(info["duration"] - 3.0) < 0.1
    t2v = wan.wait(wan.async_call(model="wan2.7-t2v", prompt="x", resolution="720P", ratio="4:3", duration=2,
                                  api_key=KEY), api_key=KEY)
    info = decoded(t2v.output.video_url)
    assert (info["width"], info["height"], t2v.usage.output_video_duration) == (1104, 832, 2)
    edit = wan.wait(wan.async_call(model="wan2.7-videoedit", prompt="clay style",
                                   media=[{"type": "video", "url": "https://example.com/in.mp4"},
                                          {"type": "reference_image", "url": "https://example.com/style.png"}],
                                   resolution="720P", audio_setting="origin", api_key=KEY), api_key=KEY)
    assert edit.output.task_status == "SUCCEEDED" and edit.usage.input_video_duration == 5
    assert edit.usage.duration == 10  # billed on the input's seconds and the output's
    no_video = wan.async_call(model="wan2.7-videoedit", prompt="x",
                              media=[{"type": "reference_image", "url": "https://example.com/style.png"}], api_key=KEY)
    assert no_video.status_code == 400 and no_video.code == "InvalidParameter"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"model": "wan9-t2v", "prompt": "x"}, "InvalidParameter"),
    ({"model": "wan2.6-t2v", "prompt": "x", "size": "1280x720"}, "InvalidParameter"),
    ({"model": "wan2.2-t2v-plus", "prompt": "x", "size": "1280*720"}, "InvalidParameter"),  # no 720P tier
    ({"model": "wan2.6-t2v", "prompt": "x", "duration": 16}, "InvalidParameter"),
    ({"model": "wan2.5-t2v-preview", "prompt": "x", "duration": 7}, "InvalidParameter"),
    ({"model": "wanx2.1-t2v-plus", "prompt": "x", "duration": 10}, "InvalidParameter"),
    ({"model": "wan2.6-i2v", "prompt": "x", "img_url": "https://x/a.png", "resolution": "480P"},
     "InvalidParameter"),
    ({"model": "wan2.6-i2v", "prompt": "x"}, "InvalidParameter"),
    ({"model": "wan2.6-i2v", "img_url": "ftp://x/a.png"}, "InvalidURL"),
    ({"model": "wan2.6-i2v", "img_url": "data:image/png;base64,AAAA"}, "InvalidParameter.DataInspection"),
    ({"model": "wan2.6-t2v", "prompt": "x", "seed": -1}, "InvalidParameter"),
    ({"model": "wan2.6-t2v", "prompt": "x", "shot_type": "multi", "prompt_extend": False}, "InvalidParameter"),
    ({"model": "wan2.2-t2v-plus", "prompt": "x", "audio": True}, "InvalidParameter"),
    ({"model": "wan2.6-t2v", "prompt": ""}, "InvalidParameter"),
])
def test_invalid_requests_come_back_as_responses(wan, kwargs, code):
    reply = wan.async_call(api_key=KEY, **kwargs)
    assert reply.status_code == 400 and reply.code == code, reply
    assert reply.output is None and reply.request_id and reply.message
    with pytest.raises(InvalidTask):  # the 1.x SDK's own error when waiting on a failed create
        wan.wait(reply, api_key=KEY)


def test_auth_async_header_and_unknown_tasks(wan, server):
    bad = wan.async_call(model="wan2.6-t2v", prompt="x", api_key="not-a-dashscope-key")
    assert bad.status_code == 401 and bad.code == "InvalidApiKey"
    sync = httpx.post(f"{server.url}/api/v1/services/aigc/video-generation/video-synthesis",
                      headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "wan2.6-t2v", "input": {"prompt": "x"}, "parameters": {}})
    assert sync.status_code == 403 and sync.json()["code"] == "AccessDenied"
    assert sync.headers["content-type"].startswith("application/json")
    unknown = wan.fetch("0385dc79-5ff8-4d82-bcb6-000000000000", api_key=KEY)
    assert unknown.status_code == 200 and unknown.output.task_status == "UNKNOWN"
    assert wan.wait("0385dc79-5ff8-4d82-bcb6-000000000000", api_key=KEY).output.task_status == "UNKNOWN"
    mine = wan.async_call(model="wan2.6-t2v", prompt="x", api_key=KEY).output.task_id
    assert wan.fetch(mine, api_key="sk-someone-else").output.task_status == "UNKNOWN"


def test_cancel_only_pending_and_list(wan, server):
    use_profile(server, {"jobs": {"queue": "1000s", "run": "1000s"}})
    first = wan.async_call(model="wan2.6-t2v", prompt="a", api_key=KEY).output.task_id
    second = wan.async_call(model="wanx2.1-t2v-turbo", prompt="b", api_key=KEY).output.task_id
    canceled = wan.cancel(first, api_key=KEY)
    assert canceled.status_code == 200 and canceled.request_id
    assert wan.fetch(first, api_key=KEY).output.task_status == "CANCELED"
    again = wan.cancel(first, api_key=KEY)
    assert again.status_code == 400 and again.code == "UnsupportedOperation"
    server.admin("POST", "/clock", {"advance": "1500s"})
    assert wan.fetch(second, api_key=KEY).output.task_status == "RUNNING"
    assert wan.cancel(second, api_key=KEY).code == "UnsupportedOperation"
    listed = wan.list(api_key=KEY, page_size=1)
    assert listed.status_code == 200 and listed.output["total"] == 2
    assert [t["task_id"] for t in listed.output["tasks"]] == [second]
    assert [t["task_id"] for t in wan.list(api_key=KEY, status="CANCELED").output["tasks"]] == [first]
    assert wan.list(api_key=KEY, model_name="wan2.6-t2v").output["total"] == 1
    assert wan.list(api_key=KEY, page_size=101).code == "InvalidParameter"


def test_failures_limits_and_faults(wan, server):
    use_profile(server, {"jobs": {"run": "1s", "failure_rate": {"content_policy": 1.0}}})
    failed = wan.wait(wan.async_call(model="wan2.6-t2v", prompt="x", api_key=KEY), api_key=KEY)
    assert failed.status_code == 200 and failed.output.task_status == "FAILED"
    assert failed.output.code == "DataInspectionFailed" and failed.output.message
    use_profile(server, {"jobs": {"reject_at_submit": 1.0}})
    assert wan.async_call(model="wan2.6-t2v", prompt="x", api_key=KEY).code == "DataInspectionFailed"
    server.admin("POST", "/reset")
    use_profile(server, {"jobs": {"queue": "0s", "run": "1000s"},
                         "providers": {"wan": {"limits": {"concurrent_jobs": 1}}}})
    ids = [wan.async_call(model="wan2.6-t2v", prompt=f"{i}", api_key=KEY).output.task_id for i in range(2)]
    assert [wan.fetch(i, api_key=KEY).output.task_status for i in ids] == ["RUNNING", "PENDING"]  # queued
    server.admin("POST", "/reset")
    use_profile(server, {"limits": {"credits": 1.0}})
    assert wan.async_call(model="wan2.6-t2v", prompt="x", size="1920*1080", api_key=KEY).status_code == 200
    broke = wan.async_call(model="wan2.6-t2v", prompt="x", size="1920*1080", api_key=KEY)
    assert broke.status_code == 400 and broke.code == "Arrearage"
    use_profile(server, {"limits": {"requests_per_minute": 1}})
    wan.list(api_key=KEY)
    throttled = wan.list(api_key=KEY)
    assert throttled.status_code == 429 and throttled.code == "Throttling.RateQuota"
    use_profile(server, {"faults": {"status": [{"kind": "error", "status": 500, "rate": 1.0}]}})
    assert wan.fetch(ids[0], api_key=KEY).code == "InternalError"


def test_submissions_and_concurrent_tasks_count_per_model(wan, server):
    """DashScope's task-submission RPS and concurrent tasks are per model: one model's tasks neither use another's
    window nor hold its slots (engine time stands still meanwhile, so the 1 s window does not depend on wall time)."""
    assert server.admin("POST", "/clock", {"scale": 1e6}).status_code == 200
    use_profile(server, {"jobs": {"queue": "0s", "run": "1000s"},
                         "providers": {"wan": {"limits": {"submissions_per_second": 2, "concurrent_jobs": 1}}}})

    def submit(model: str):
        return wan.async_call(model=model, prompt="x", api_key=KEY)

    try:
        first = [submit("wan2.6-t2v") for _ in range(3)]
        assert [r.status_code for r in first] == [200, 200, 429] and first[2].code == "Throttling"
        other = [submit("wan2.2-t2v-plus") for _ in range(2)]
        assert [r.status_code for r in other] == [200, 200]
        ids = [r.output.task_id for r in (*first[:2], *other)]
        assert [wan.fetch(i, api_key=KEY).output.task_status for i in ids] == ["RUNNING", "PENDING"] * 2
    finally:
        server.admin("POST", "/clock", {"scale": 0.01})


def test_the_2x_client_raises_its_typed_errors(server):
    assert server.admin("POST", "/reset").status_code == 200
    client = dashscope.Client(api_key=KEY, base_url=f"{server.url}/api/v1", max_retries=0)
    job = client.videos.jobs.create(model="wan2.6-t2v", prompt="a fox", size="960*960")
    done = client.videos.jobs.wait(job, poll_interval=0.02, max_interval=0.05, timeout=30)
    assert done.status == "SUCCEEDED" and decoded(done.video_url)["width"] == 960
    assert client.videos.jobs.list(page_size=5).total == 1
    with pytest.raises(v2_errors.BadRequestError) as caught:
        client.videos.jobs.create(model="wan2.6-t2v", prompt="x", duration=99)
    assert caught.value.code == "InvalidParameter" and caught.value.status_code == 400
    with pytest.raises(v2_errors.AuthenticationError):
        dashscope.Client(api_key="sk-bad key", base_url=f"{server.url}/api/v1", max_retries=0).videos.jobs.fetch(
            job.task_id)
    use_profile(server, {"limits": {"requests_per_minute": 0}})
    with pytest.raises(v2_errors.RateLimitError):
        client.videos.jobs.fetch(job.task_id)
    use_profile(server, {"limits": {"credits": 0}})
    with pytest.raises(v2_errors.PermissionDeniedError):  # Arrearage
        client.videos.jobs.create(model="wan2.6-t2v", prompt="x")
    use_profile(server, {"jobs": {"reject_at_submit": 1.0}})
    with pytest.raises(v2_errors.ContentFilterError):
        client.videos.jobs.create(model="wan2.6-t2v", prompt="x")
    use_profile(server, {"faults": {"status": [{"kind": "error", "status": 503, "rate": 1.0}]}})
    with pytest.raises(v2_errors.ServiceUnavailableError):
        client.videos.jobs.fetch(job.task_id)
    server.admin("DELETE", "/profile")


def test_dashscope_and_runway_tasks_share_one_port_without_shadowing(server):
    from runwayml import NotFoundError, RunwayML

    assert server.admin("POST", "/reset").status_code == 200
    runway = RunwayML(api_key="key_test", base_url=server.url, max_retries=0)
    runway_id = runway.text_to_video.create(model="veo3.1", prompt_text="x", ratio="1280:720").id
    dashscope.base_http_api_url = f"{server.url}/api/v1"
    wan_id = VideoSynthesis.async_call(model="wan2.6-t2v", prompt="x", api_key=KEY).output.task_id
    assert runway.tasks.retrieve(runway_id).id == runway_id
    assert VideoSynthesis.fetch(wan_id, api_key=KEY).output.task_status in ("PENDING", "RUNNING", "SUCCEEDED")
    assert VideoSynthesis.fetch(runway_id, api_key=KEY).output.task_status == "UNKNOWN"
    with pytest.raises(NotFoundError):
        runway.tasks.retrieve(wan_id)
    lost = httpx.get(f"{server.url}/api/v1/nothing", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert lost.status_code == 404 and set(lost.json()) == {"request_id", "code", "message"}
    runway_lost = httpx.get(f"{server.url}/v1/tasks", timeout=10)
    assert "docUrl" in runway_lost.json()


def test_bundled_profiles_carry_the_published_figures():
    from mockprovider.engine.profile import ProfileLibrary

    realistic = ProfileLibrary().load("realistic")
    for provider, model in (("wan", "wan2.6-t2v"), ("seedance", "seedance-1-0-pro-250528")):
        run = realistic.resolve(provider, model).run.describe()
        assert 60 <= run["p50"] <= 180 and run["p99"] <= 300 and run["min"] >= 30  # "1 to 5 minutes"
    assert realistic.resolve("wan", "wan2.2-t2v-plus").limits.concurrent_jobs == 2  # wan2.1/2.2: 2 concurrent
    assert realistic.resolve("wan", "wan2.6-t2v").limits.concurrent_jobs is None
    assert realistic.auth("seedance")["max_queued"] == 120
    ray = realistic.resolve("luma", "ray-2")  # Luma: 30-60 s for a 5 s Ray2 clip, ~3 min at worst
    assert 30 <= ray.queue.describe()["p50"] + ray.run.describe()["p50"] <= 60 and ray.run.describe()["p99"] >= 180
    assert realistic.resolve("luma", "ray-flash-2").run.describe()["p50"] < ray.run.describe()["p50"]
    assert (ray.callback_attempts, ray.callback_backoff, ray.callback_growth, ray.callback_timeout) == (
        4, 0.1, 1.0, 5.0)  # 3 retries, 100 ms apart
    for model in ("MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast", "MiniMax-Hailuo-02"):
        hailuo = realistic.resolve("minimax", model)
        assert hailuo.limits.requests_per_minute == 5 and hailuo.url_ttl == 9 * 3600  # 5 RPM; links live 9 h
        assert hailuo.run.describe()["p50"] >= 60  # minutes, not seconds
    assert realistic.resolve("seedance").url_ttl == realistic.resolve("wan").url_ttl == 24 * 3600
    limited = ProfileLibrary().load("rate-limited")
    assert {p: limited.resolve(p).limits.credits for p in ("seedance", "wan", "minimax", "luma")} == {
        "seedance": 5, "wan": 5, "minimax": 5, "luma": 500}  # dollars, and Luma's cents


def test_finished_tasks_feed_the_cost_ledger(wan, server):
    wan.wait(wan.async_call(model="wan2.6-t2v", prompt="x", size="1920*1080", duration=4, api_key=KEY), api_key=KEY)
    wan.wait(wan.async_call(model="wan2.6-t2v", prompt="y", size="1280*720", duration=10, api_key=KEY), api_key=KEY)
    report = server.admin("GET", "/report").json()["providers"]["wan"]
    assert report["cost_usd"] == pytest.approx(4 * 0.15 + 10 * 0.10)  # $0.15/s at 1080P, $0.10/s at 720P


def test_task_ids_and_video_urls_are_valid_for_24_hours(wan, server):
    task_id = wan.async_call(model="wan2.6-t2v", prompt="x", size="1280*720", duration=2,
                             api_key=KEY).output.task_id
    url = wan.wait(task_id, api_key=KEY).output.video_url
    assert server.admin("POST", "/clock", {"scale": 1e6}).status_code == 200  # engine time stands still
    try:
        server.admin("POST", "/clock", {"advance": "23h"})
        assert wan.fetch(task_id, api_key=KEY).output.task_status == "SUCCEEDED"
        server.admin("POST", "/clock", {"advance": "3540s"})  # 23 h 59 min: the link still works
        assert httpx.get(url, timeout=20).status_code == 200
        assert wan.fetch(task_id, api_key=KEY).output.video_url == url  # signed once, when the task ended
        server.admin("POST", "/clock", {"advance": "120s"})
        assert httpx.get(url, timeout=20).status_code == 403
        server.admin("POST", "/clock", {"advance": "1h"})
        assert wan.fetch(task_id, api_key=KEY).output.task_status == "UNKNOWN"
    finally:
        server.admin("POST", "/clock", {"scale": 0.01})


def test_seedance_and_wan_routes_and_unrouted_paths_belong_to_them_alone(server):
    from routing_support import owner_of, provider_routes

    app = server.app
    routes = provider_routes(app)
    ours = [(p, m, path) for p, m, path in routes if p in ("seedance", "wan")]
    assert {p for p, _, _ in ours} == {"seedance", "wan"}
    assert [(p, path, owner_of(app, m, path)) for p, m, path in ours if owner_of(app, m, path) != p] == []
    dialects = {d.name: d for d in server.app.dialects}
    for provider, _, path in routes:  # ours claim none of the others' paths, and theirs none of ours
        for name in ("seedance", "wan"):
            assert dialects[name].owns(path) == (provider == name), (name, provider, path)
    for path in ("/api/v1/tasks/x/y/z", "/api/v1/services/aigc/nothing"):
        assert [n for n, d in dialects.items() if d.owns(path)] == ["wan"], path
    assert [n for n, d in dialects.items() if d.owns("/api/v3/chat/completions")] == ["seedance"]
