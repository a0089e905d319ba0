"""Luma and MiniMax share one port with every other provider: no route shadows another's either way, and each
provider's unrouted paths still answer in that provider's own error shape."""

from __future__ import annotations

import httpx
import pytest
from routing_support import fast_owner, owner_of, provider_routes

from mockprovider.testing import MockServer

MINE = ("luma", "minimax")


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01) as s:
        yield s


def test_every_provider_route_reaches_its_own_provider(server):
    routes = provider_routes(server.app)
    assert {p for p, _, _ in routes} >= {"runway", "kling", "veo", *MINE}
    wrong = [(p, m, path, owner_of(server.app, m, path)) for p, m, path in routes
             if owner_of(server.app, m, path) != p]
    assert wrong == []


def test_the_fast_router_agrees_with_the_full_one(server):
    for provider, method, path in provider_routes(server.app):
        assert fast_owner(server.app, method, path) in (None, provider), (method, path)


def test_unrouted_paths_are_claimed_only_by_their_own_provider(server):
    dialects = {d.name: d for d in server.app.dialects}
    for provider, _, path in provider_routes(server.app):
        for name in MINE:
            if name != provider:
                assert not dialects[name].owns(path), (name, path)
        if provider in MINE:
            others = [n for n, d in dialects.items() if n != provider and d.owns(path)]
            assert others == [], (provider, path)
    for path in ("/v1/predictions", "/v1/predictions/abc", "/v1/models/a/b/predictions", "/v1/videos/x",
                 "/v1/tasks/x", "/api/v1/tasks/x", "/api/v3/contents/generations/tasks"):
        assert not dialects["minimax"].owns(path) and not dialects["luma"].owns(path), path


@pytest.mark.parametrize(("method", "path", "status", "shape"), [
    ("POST", "/v1/video_generation", 200, "base_resp"),  # MiniMax: auth errors travel with HTTP 200
    ("GET", "/v1/query/video_generation", 200, "base_resp"),
    ("GET", "/v1/files/retrieve", 200, "base_resp"),
    ("GET", "/v1/files/retrieve/extra", 404, "base_resp"),
    ("POST", "/v1/files/retrieve", 405, "base_resp"),
    ("POST", "/v1/videos/text2video", 401, "code"),  # Kling
    ("GET", "/v1/videos/text2video/123", 401, "code"),
    ("GET", "/v1/videos/nothing-here", 404, "code"),
    ("GET", "/v1/tasks/abc", 401, "error"),  # Runway
    ("POST", "/v1/text_to_video", 401, "error"),
    ("GET", "/dream-machine/v1/generations/abc", 401, "detail"),  # Luma
    ("POST", "/dream-machine/v1/generations/video", 401, "detail"),
    ("GET", "/dream-machine/v1/nothing-here", 404, "detail"),
])
def test_each_neighbour_answers_in_its_own_shape_over_one_port(server, method, path, status, shape):
    reply = httpx.request(method, server.url + path, timeout=10)
    assert reply.status_code == status, reply.text
    assert shape in reply.json(), reply.text
