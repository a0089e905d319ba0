"""The report's cost for jobs of models the price book gained (Seedance 2.0, wanx2.1, wan2.5) and corrected
(Kling v3 with sound, Veo 3.1 Fast), created over HTTP as each provider's clients send them, equals what the
reference's list prices (shared/reference/prices.md) give."""

from __future__ import annotations

import time

import httpx
import pytest
from kling_client import Kling

from mockprovider.insight.prices import default_book
from mockprovider.testing import MockServer

ARK = {"Authorization": "Bearer ark-prices", "Content-Type": "application/json"}
DASHSCOPE = {"Authorization": "Bearer sk-prices", "X-DashScope-Async": "enable", "Content-Type": "application/json"}
WAN_CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01) as s:
        reply = s.admin("PUT", "/profile", {"profile": {"jobs": {"queue": "0s", "run": "2s"}}, "name": "prices"})
        assert reply.status_code == 200, reply.content
        yield s


def finished_cost(server, provider: str, count: int) -> dict:
    deadline = time.monotonic() + 20
    while True:
        section = server.admin("GET", "/report").json()["providers"].get(provider)
        if (section and section["jobs"]["succeeded"] >= count) or time.monotonic() > deadline:
            assert section is not None and section["jobs"]["succeeded"] == count, section
            assert section["cost"]["unpriced_jobs"] == 0
            return section
        time.sleep(0.05)


def test_seedance_2_0_on_byteplus_ids(server):
    body = {"model": "dreamina-seedance-2-0-260128", "content": [{"type": "text", "text": "a fox"}],
            "resolution": "720p", "ratio": "16:9", "duration": 5}
    reply = httpx.post(f"{server.url}/api/v3/contents/generations/tasks", headers=ARK, json=body)
    assert reply.status_code == 200, reply.text
    job = server.admin("GET", f"/jobs/{reply.json()['id']}").json()
    tokens = job["usage"]["tokens"]
    assert 100_000 <= tokens <= 120_000  # about prices.md's 108,000 for 5 s of 720p at 24 fps (2.0's own size)
    section = finished_cost(server, "seedance", 1)
    # 46 CNY per million tokens without a video input, at the source's 7 CNY/USD
    assert section["cost_usd"] == pytest.approx(tokens * 46 / 7 / 1e6, abs=1e-5)


def test_minimax_h3_costs_by_resolution_and_h3_max_is_unpriced():
    book = default_book()
    assert book.quote("minimax", "MiniMax-H3", {"seconds": 5.0, "resolution": "768p"}).usd == pytest.approx(0.40)
    assert book.quote("minimax", "MiniMax-H3", {"seconds": 5.0, "resolution": "1440p"}).usd == pytest.approx(0.65)
    assert book.quote("minimax", "MiniMax-H3-Max", {"seconds": 5.0, "resolution": "768p"}) is None


@pytest.mark.parametrize("model,priced", [
    ("dreamina-seedance-2-0-260128", True), ("dreamina-seedance-2-0-fast-260128", True),
    ("dreamina-seedance-2-0-mini-260615", False), ("dreamina-seedance-2-5-260628", False)])
def test_seedance_models_without_a_list_price_are_unpriced_not_priced_by_a_pattern(model, priced):
    quote = default_book().quote("seedance", model, {"tokens": 108_000, "video_input": False})
    assert (quote is not None) is priced


@pytest.mark.parametrize("model,size,seconds,usd", [
    ("wanx2.1-t2v-turbo", "1280*720", 5, 0.24 / 7 * 5),  # 0.24 CNY/s (China), 7 CNY/USD
    ("wanx2.1-t2v-plus", "1280*720", 5, 0.70 / 7 * 5),
    ("wan2.5-t2v-preview", "1920*1080", 10, 0.1476 * 10),  # runware's 1080P rate
    ("wan2.5-t2v-preview", "1280*720", 5, 0.0946 * 5),
])
def test_wan_models_the_book_gained(server, model, size, seconds, usd):
    before = server.admin("GET", "/report").json()["providers"].get("wan", {}).get("cost_usd", 0.0)
    done_before = server.admin("GET", "/report").json()["providers"].get("wan", {}).get("jobs", {}).get(
        "succeeded", 0)
    body = {"model": model, "input": {"prompt": "a lighthouse"}, "parameters": {"size": size, "duration": seconds}}
    reply = httpx.post(f"{server.url}{WAN_CREATE}", headers=DASHSCOPE, json=body)
    assert reply.status_code == 200, reply.text
    section = finished_cost(server, "wan", done_before + 1)
    assert section["cost_usd"] - before == pytest.approx(usd, abs=1e-5)


def test_kling_v3_sound_is_one_and_a_half_times_the_silent_units(server):
    kling = Kling(server.url)
    try:
        std = kling.create("text2video", {"model_name": "kling-v3", "prompt": "a cat", "mode": "std",
                                          "duration": "5", "sound": "on"})
        pro = kling.create("text2video", {"model_name": "kling-v3", "prompt": "a cat", "mode": "pro",
                                          "duration": "10", "sound": "on"})
        done = [kling.wait("text2video", t["task_id"]) for t in (std, pro)]
    finally:
        kling.close()
    # 0.9 and 1.2 units per second with sound (prices.md 3; atlascloud: 10 s pro with audio = $1.68)
    assert [d["final_unit_deduction"] for d in done] == ["4.5", "12"]
    section = finished_cost(server, "kling", 2)
    assert section["cost"]["units"] == pytest.approx(16.5)
    assert section["cost_usd"] == pytest.approx(0.63 + 1.68)


def test_veo_fast_credits_count_the_book_price(server):
    """Veo 3.1 Fast at 1080p with audio is $0.12/s (Vertex pricing 2026-09-08): the job's cost (what a
    credits limit counts) and the report say the same."""
    op = httpx.post(f"{server.url}/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning",
                    headers={"x-goog-api-key": "k-prices"},
                    json={"instances": [{"prompt": "a lighthouse"}],
                          "parameters": {"durationSeconds": 8, "resolution": "1080p"}})
    assert op.status_code == 200, op.text
    section = finished_cost(server, "veo", 1)
    assert section["cost_usd"] == pytest.approx(0.96)
    jobs = server.admin("GET", "/jobs?provider=veo").json()
    listed = jobs["jobs"] if isinstance(jobs, dict) else jobs
    assert [j["cost"] for j in listed] == [pytest.approx(0.96)]
