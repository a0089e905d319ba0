"""Bad input never gets a 500: every route of every dialect and of the admin API is sent malformed JSON,
wrong JSON types, oversized bodies, garbage credentials and odd path values, over a real socket."""

from __future__ import annotations

import re

import httpx
import pytest
from plain_http import PlainClient
from starlette.routing import Mount, Route

from mockprovider.testing import MockServer

BODIES = [b"", b"{", b"null", b"[]", b'"text"', b"123", b'{"model": 5}', b'{"model": "gen4_turbo", "ratio": []}',
          b'{"instances": "x", "parameters": 7}', b'{"model_name": {}, "duration": 5}', b"\xff\xfe\x00",
          b'{"name": {"x": 1}, "ttl": []}', b'{"profile": "jobs: [1, 2"}', b'{"advance": "-5s", "scale": "x"}']
HEADER_SETS = [
    {},
    {"Authorization": "Bearer key_fuzz", "X-Runway-Version": "2024-11-06"},
    {"Authorization": "Bearer not.a.jwt"},
    {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOjF9.x"},
    {"x-goog-api-key": "fuzz"},
    {"Authorization": "Basic Zm9vOmJhcg=="},
]


def concrete(path: str) -> list[str]:
    values = ["x", "0", "..%2F..", "a" * 300, "models%2Fveo", "%00"]
    return [re.sub(r"\{[^}]+\}", v, path) for v in values]


def all_routes(app) -> list[tuple[str, set[str]]]:
    out = []
    for route in app.routes:
        if isinstance(route, Mount):
            out += [(route.path + r.path, set(r.methods or ())) for r in route.routes if isinstance(r, Route)]
        elif isinstance(route, Route):
            out.append((route.path, set(route.methods or ())))
    return out


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01) as s:
        yield s


def test_no_route_answers_500_to_bad_input(server):
    routes = all_routes(server.app)
    assert len(routes) > 30
    failures = []
    with PlainClient(server.url) as client:  # httpx's requests, at a fraction of its CPU (about 12,000 of them)
        for template, methods in routes:
            for i, path in enumerate(concrete(template)):
                for method in sorted(methods - {"HEAD"}):
                    bodies = BODIES if method in ("POST", "PUT", "PATCH") else [b""]
                    # Every route meets every header set and every body, header sets rotating against path
                    # values and bodies rather than their full product (which grew with the routes to 90 s).
                    for j, body in enumerate(bodies if len(bodies) > 1 else bodies * len(HEADER_SETS)):
                        headers = HEADER_SETS[(i + j) % len(HEADER_SETS)]
                        status, answer = client.request(method, path, headers, body)
                        if status >= 500:
                            failures.append((method, path, headers, body, status, answer[:200]))
    assert not failures, failures[:5]
    # and the server still works
    assert server.admin("GET", "/health").status_code == 200


def test_oversized_bodies_are_refused_in_each_provider_s_words(server):
    big = b"{" + b" " * (9 * 2**20) + b"}"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        runway = {"Authorization": "Bearer key_x", "X-Runway-Version": "2024-11-06"}
        for path, headers, status in [
            ("/v1/image_to_video", runway, 413),
            # Google answers an oversized payload with 400 INVALID_ARGUMENT "Request payload size exceeds..."
            ("/v1beta/models/veo-3.1-generate-preview:predictLongRunning", {"x-goog-api-key": "k"}, 400),
            ("/__mock/profile", {}, 413),
        ]:
            reply = client.post(path, headers=headers, content=big)
            assert reply.status_code == status, (path, reply.status_code, reply.text[:200])
            assert "exceed" in reply.text or "larger than" in reply.text
