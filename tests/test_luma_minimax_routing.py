"""Luma and MiniMax share one port with every other provider: no route shadows another's either way, and each
provider's unrouted paths still answer in that provider's own error shape."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.routing import Match, Route

from mockprovider.testing import MockServer
from mockprovider.web.endpoint import Endpoint

MINE = ("luma", "minimax")


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01) as s:
        yield s


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "123456789012345678", path)


def provider_routes(server: MockServer) -> list[tuple[str, str, str]]:
    """(provider, method, concrete path) of every provider endpoint on the server."""
    out = []
    for route in server.app.routes:
        if isinstance(route, Route) and isinstance(route.app, Endpoint):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                out.append((route.app.dialect.name, method, concrete(route.path)))
    return out


def owner_of(server: MockServer, method: str, path: str) -> str | None:
    """The provider whose route Starlette picks for ``method path`` (the first full match, in app order)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}
    for route in server.app.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route.app.dialect.name if isinstance(getattr(route, "app", None), Endpoint) else "other"
    return None


def test_every_provider_route_reaches_its_own_provider(server):
    routes = provider_routes(server)
    assert {p for p, _, _ in routes} >= {"runway", "kling", "veo", *MINE}
    wrong = [(p, m, path, owner_of(server, m, path)) for p, m, path in routes if owner_of(server, m, path) != p]
    assert wrong == []


def test_the_fast_router_agrees_with_the_full_one(server):
    for provider, method, path in provider_routes(server):
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
                 "headers": []}
        route = server.app.router.fast_match(scope)
        if route is not None:
            assert route.app.dialect.name == provider, (method, path)


def test_unrouted_paths_are_claimed_only_by_their_own_provider(server):
    dialects = {d.name: d for d in server.app.dialects}
    for provider, _, path in provider_routes(server):
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
