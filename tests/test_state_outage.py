"""A Redis outage while serving: every provider answers its own 503 (the envelope its other errors use), the log
says so once, and the server serves again by itself once Redis is back."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from kling_client import token
from redis_support import RedisServer

from mockprovider.testing import MockServer

VEO_MODEL = "veo-3.1-generate-preview"
RUNWAY = {"Authorization": "Bearer key_" + "ab" * 64, "X-Runway-Version": "2024-11-06"}
VEO = {"x-goog-api-key": "outage-key"}
LUMA = {"Authorization": "Bearer luma-outage"}
MINIMAX = {"Authorization": "Bearer sk-api-outage"}
REPLICATE = {"Authorization": "Bearer r8_" + "b" * 37}
FAL = {"Authorization": "Key outage-id:outage-secret"}
SEEDANCE = {"Authorization": "Bearer ark-outage"}
WAN = {"Authorization": "Bearer sk-outage"}
BAD = {"Authorization": "Bearer nope", "x-goog-api-key": "", "X-Runway-Version": "2024-11-06"}


def create(name: str, mock: str) -> tuple[str, str, dict[str, str], bytes | None]:
    """Make one job through the provider's API; how to poll it: (method, url, headers, body)."""
    if name == "runway":
        task = httpx.post(f"{mock}/v1/image_to_video", headers=RUNWAY, json={
            "model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}).json()
        return "GET", f"{mock}/v1/tasks/{task['id']}", RUNWAY, None
    if name == "veo-gemini":
        op = httpx.post(f"{mock}/v1beta/models/{VEO_MODEL}:predictLongRunning", headers=VEO,
                        json={"instances": [{"prompt": "a lighthouse"}]}).json()
        return "GET", f"{mock}/v1beta/{op['name']}", VEO, None
    if name == "veo-vertex":
        base = f"{mock}/v1beta1/publishers/google/models/{VEO_MODEL}"
        op = httpx.post(f"{base}:predictLongRunning", headers=VEO, json={"instances": [{"prompt": "x"}]}).json()
        return "POST", f"{base}:fetchPredictOperation", VEO, json.dumps({"operationName": op["name"]}).encode()
    if name == "kling":
        headers = {"Authorization": f"Bearer {token()}"}
        task = httpx.post(f"{mock}/v1/videos/text2video", headers=headers,
                          json={"model_name": "kling-v1", "prompt": "a lighthouse"}).json()
        return "GET", f"{mock}/v1/videos/text2video/{task['data']['task_id']}", headers, None
    if name == "luma":
        made = httpx.post(f"{mock}/dream-machine/v1/generations/video", headers=LUMA,
                          json={"model": "ray-2", "prompt": "a lighthouse"}).json()
        return "GET", f"{mock}/dream-machine/v1/generations/{made['id']}", LUMA, None
    if name == "minimax":
        task = httpx.post(f"{mock}/v1/video_generation", headers=MINIMAX,
                          json={"model": "MiniMax-Hailuo-2.3", "prompt": "a lighthouse"}).json()
        return "GET", f"{mock}/v1/query/video_generation?task_id={task['task_id']}", MINIMAX, None
    if name == "replicate":
        made = httpx.post(f"{mock}/v1/models/google/veo-3/predictions", headers=REPLICATE,
                          json={"input": {"prompt": "a lighthouse"}}).json()
        return "GET", made["urls"]["get"], REPLICATE, None
    if name == "fal":
        made = httpx.post(f"{mock}/fal-ai/kling-video/v2.5-turbo/pro/text-to-video", headers=FAL,
                          json={"prompt": "a lighthouse"}).json()
        return "GET", made["status_url"], FAL, None
    if name == "seedance":
        base = f"{mock}/api/v3/contents/generations/tasks"
        task = httpx.post(base, headers=SEEDANCE, json={"model": "seedance-1-0-pro-250528",
                                                         "content": [{"type": "text", "text": "x"}]}).json()
        return "GET", f"{base}/{task['id']}", SEEDANCE, None
    assert name == "wan"
    task = httpx.post(f"{mock}/api/v1/services/aigc/video-generation/video-synthesis",
                      headers={**WAN, "X-DashScope-Async": "enable"},
                      json={"model": "wan2.6-t2v", "input": {"prompt": "a lighthouse"}, "parameters": {}}).json()
    return "GET", f"{mock}/api/v1/tasks/{task['output']['task_id']}", WAN, None


PROVIDERS = ("runway", "veo-gemini", "veo-vertex", "kling", "luma", "minimax", "replicate", "fal", "seedance",
             "wan")


def shape(value: object) -> object:
    """The envelope of an answer: its keys, nested, without the values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k not in ("request_id", "trace_id", "detail")}
    return type(value).__name__ if not isinstance(value, (int, float)) else "number"


@pytest.fixture(scope="module")
def store():
    server = RedisServer(persistent=True).start()
    yield server
    server.stop()


def test_each_provider_answers_its_own_503_while_redis_is_away(store, caplog):
    caplog.set_level(logging.WARNING, logger="mockprovider")
    with MockServer(profile="happy", state=store.url) as server:
        polls = {name: create(name, server.url) for name in PROVIDERS}
        with httpx.Client(timeout=10) as http:
            for name, (method, url, headers, body) in polls.items():
                assert http.request(method, url, headers=headers, content=body).status_code < 300, name
            store.stop()
            try:
                for name, (method, url, headers, body) in polls.items():
                    down = http.request(method, url, headers=headers, content=body)
                    assert down.status_code == 503, (name, down.status_code, down.text)
                    # the same envelope as the provider's other errors (a poll with a bad key, say)
                    refused = http.request(method, url, headers={**headers, **BAD}, content=body)
                    assert refused.status_code >= 400, name
                    if refused.headers.get("content-type", "").startswith("application/json") and refused.content:
                        assert shape(down.json()).keys() == shape(refused.json()).keys(), (name, down.text,
                                                                                           refused.text)
            finally:
                store.start()
            lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
            assert len(lines) == 1, [r.getMessage() for r in lines]  # one line for the whole outage
            for name, (method, url, headers, body) in polls.items():
                assert http.request(method, url, headers=headers, content=body).status_code < 300, name


def test_more_requests_at_once_than_the_pool_has_connections_wait_for_one(store):
    """300 polls in flight at once on one replica: each waits for a pooled Redis connection (redis-py's default
    pool refuses past 100 with "Too many connections", which answered 503)."""
    import asyncio

    if not store.ping():
        store.start()
    with MockServer(profile="happy", state=store.url) as server:
        method, url, headers, body = create("runway", server.url)

        async def burst() -> list[int]:
            limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
            async with httpx.AsyncClient(limits=limits, timeout=30) as client:
                answers = await asyncio.gather(*(client.request(method, url, headers=headers, content=body)
                                                 for _ in range(300)))
            return [a.status_code for a in answers]

        statuses = asyncio.run(burst())
    assert statuses.count(200) == 300, sorted(set(statuses))
