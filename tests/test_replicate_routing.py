"""Replicate's /v1/... routes beside Runway's /v1/tasks, Kling's /v1/videos/..., MiniMax's /v1/files/retrieve and
every other provider on one port: no shadowing either way, and unrouted paths answer in their owner's shape."""

from __future__ import annotations

import re

import httpx
import pytest
from routing_support import fast_owner, owner_of, provider_routes

from mockprovider.testing import MockServer

FILE_ID = "TjJKaU5qa3dZVE5rWWpobU1UTTVaV00yT0dWbE5HUmpaV1l4TWpka01EVQ"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01) as s:
        yield s


def concrete(path: str) -> str:
    path = re.sub(r"\{[^}]+:replicate_file\}", FILE_ID, path)
    return re.sub(r"\{[^}:]+(:[a-z]+)?\}", "abc123", path)


def routes(server: MockServer) -> list[tuple[str, str, str]]:
    return provider_routes(server.app, concrete)


def test_no_route_shadows_another_either_way(server):
    everything = routes(server)
    mine = [r for r in everything if r[0] == "replicate"]
    assert len(mine) == 18
    for provider, method, path in everything:
        assert owner_of(server.app, method, path) == provider, (provider, method, path)
        assert fast_owner(server.app, method, path) in (None, provider), (provider, method, path)


def test_unrouted_paths_are_claimed_by_replicate_only_when_they_are_its_own(server):
    dialects = {d.name: d for d in server.app.dialects}
    replicate = dialects["replicate"]
    for provider, _, path in routes(server):
        if provider == "replicate":
            assert [n for n, d in dialects.items() if n != provider and d.owns(path)] == [], path
        else:
            assert not replicate.owns(path), (provider, path)
    for path in ("/v1/files/retrieve", "/v1/files/retrieve_content", "/v1/files/list", "/v1/files/delete",
                 "/v1/files/upload", "/v1/tasks/x", "/v1/videos/text2video", "/v1/video_generation"):
        assert not replicate.owns(path), path


@pytest.mark.parametrize(("method", "path", "status", "keys"), [
    ("GET", "/v1/predictions/abc/nothing", 404, {"detail", "status"}),
    ("DELETE", "/v1/predictions", 405, {"title", "detail", "status"}),
    ("PUT", f"/v1/files/{FILE_ID}", 405, {"title", "detail", "status"}),
    ("GET", "/v1/models/a/b/c/d", 404, {"detail", "status"}),
    ("GET", "/v1/files/retrieve", 200, {"base_resp"}),  # MiniMax, answering its auth error with HTTP 200
    ("GET", "/v1/tasks/abc", 401, {"error"}),  # Runway
    ("GET", "/v1/videos/text2video/123", 401, {"code"}),  # Kling
    ("GET", "/v1/predictions/abc", 401, {"title", "detail", "status"}),
    ("GET", f"/v1/files/{FILE_ID}", 401, {"title", "detail", "status"}),
])
def test_each_provider_answers_in_its_own_shape(server, method, path, status, keys):
    reply = httpx.request(method, server.url + path, timeout=10)
    assert reply.status_code == status, reply.text
    assert set(reply.json()) >= keys, reply.text
