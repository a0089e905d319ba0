"""mockprovider's pytest plugin (installed with the package, entry point ``pytest11``).

Fixtures:

``mockprovider_server``
    A running server (mockprovider.testing.MockServer) on a free loopback port. Settings come from the test's
    marker, e.g. ``@pytest.mark.mockprovider(profile="realistic", seed=7, time_scale=0.01)``; tests with the
    same settings share one server, reset (jobs, journal, report, profile, clock scale) before each test.
    ``--mockprovider-url URL`` points every test at a server you run yourself instead.
``mockprovider_admin``
    An ``Admin`` client for it: the journal (``requests``, ``count``, ``verify``), the ``report``,
    ``use_profile`` (a context manager), ``jobs``, ``advance`` and ``reset``.
``mockprovider_report``
    A callable returning the client-behaviour report (``GET /__mock/report``).
``mockprovider_factory``
    ``start(**settings)`` for a server of your own (stopped after the test).
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import MockServer

DEFAULTS: dict[str, Any] = {"profile": "happy", "seed": 0, "time_scale": 1.0}


class AdminError(AssertionError):
    pass


class Admin:
    """The admin API of one server, for tests: ``Admin("http://127.0.0.1:8000", token=None)``."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, verb: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        target = f"{self.url}/__mock{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(target, data=data, method=verb)
        if data is not None:
            request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("x-mockprovider-admin-token", self.token)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            raise AdminError(f"{verb} {path} answered {exc.code}: {exc.read()[:500].decode(errors='replace')}"
                             ) from None
        return json.loads(raw) if raw else None

    # -- the journal ----------------------------------------------------------------------------------------

    def requests(self, *, provider: str | None = None, endpoint: str | None = None, status: str | int | None = None,
                 key: str | None = None, job: str | None = None, method: str | None = None,
                 since: float | None = None, limit: int | None = 10_000) -> list[dict[str, Any]]:
        """Journal entries matching every given filter, oldest first (``key`` may be the key or its fingerprint;
        ``status`` may be ``429``, ``"4xx"``, ``"500-599"``)."""
        query = {"provider": provider, "endpoint": endpoint, "status": status, "key": key, "job": job,
                 "method": method, "since": since, "limit": limit}
        return self.call("GET", "/requests", query=query)["requests"]

    def count(self, **filters: Any) -> int:
        """How many journalled requests match (the same filters as ``requests``)."""
        return self.call("GET", "/requests/count", query=filters)["count"]

    def verify(self, *, count: int | None = None, at_least: int | None = None, at_most: int | None = None,
               **filters: Any) -> list[dict[str, Any]]:
        """Assert how many journalled requests match ``filters`` (provider, endpoint, status, key, job, method,
        since); returns them. With no bound given, at least one must match."""
        found = self.requests(**filters)
        n = len(found)
        if count is None and at_least is None and at_most is None:
            at_least = 1
        wrong = (count is not None and n != count) or (at_least is not None and n < at_least) or \
            (at_most is not None and n > at_most)
        if wrong:
            want = " and ".join(f"{name} {v}" for name, v in (("exactly", count), ("at least", at_least),
                                                              ("at most", at_most)) if v is not None)
            described = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None) or "any request"
            recent = self.requests(limit=10)
            lines = [f"  {r['method']} {r['path']} -> {r['status']} ({r['provider']}/{r['endpoint']})"
                     for r in recent]
            raise AssertionError(f"expected {want} request(s) matching {described}, found {n}. "
                                 "Last requests in the journal:\n" + ("\n".join(lines) or "  (none)"))
        return found

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    # -- the rest -------------------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        return self.call("GET", "/report")

    def jobs(self, provider: str | None = None, state: str | None = None, limit: int = 1000) -> list[dict]:
        return self.call("GET", "/jobs", query={"provider": provider, "state": state, "limit": limit})["jobs"]

    def reset(self) -> None:
        self.call("POST", "/reset")

    def advance(self, seconds: float | str) -> None:
        """Move the engine clock forward (``30``, ``"5m"``)."""
        self.call("POST", "/clock", {"advance": seconds})

    def set_scale(self, scale: float) -> None:
        self.call("POST", "/clock", {"scale": scale})

    @contextlib.contextmanager
    def use_profile(self, profile: str | dict[str, Any], *, key: str | None = None,
                    ttl: str | float | None = None) -> Iterator[dict[str, Any]]:
        """Switch to a profile (a name, or inline settings) for the ``with`` block, globally or for one API key;
        the previous one comes back afterwards."""
        body: dict[str, Any] = {"name": profile} if isinstance(profile, str) else {"profile": profile}
        if ttl is not None:
            body["ttl"] = ttl
        if key is not None:
            yield self.call("PUT", f"/keys/{urllib.parse.quote(key, safe='')}/profile", body)
            with contextlib.suppress(AdminError):
                self.call("DELETE", f"/keys/{urllib.parse.quote(key, safe='')}/profile")
            return
        before = self.call("GET", "/profile")
        assignment = self.call("PUT", "/profile", body)
        try:
            yield assignment
        finally:
            try:
                self.call("PUT", "/profile", {"name": before["name"]})
            except AdminError:  # it was an inline profile
                self.call("PUT", "/profile", {"profile": before["profile"], "name": before["name"]})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockprovider")
    group.addoption("--mockprovider-url", default=None,
                    help="run mockprovider fixtures against this server instead of starting one")
    group.addoption("--mockprovider-admin-token", default=None, help="admin token of --mockprovider-url")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mockprovider(**settings): settings of the mockprovider_server fixture "
                                       "(profile, seed, time_scale, admin_token, journal_size, ...)")


class _Servers:
    """Servers shared by tests with the same settings, for the whole session."""

    def __init__(self) -> None:
        self.running: dict[str, MockServer] = {}

    def get(self, settings: dict[str, Any]) -> MockServer:
        key = json.dumps(settings, sort_keys=True, default=str)
        server = self.running.get(key)
        if server is None:
            from .testing import MockServer

            server = self.running[key] = MockServer(**settings).start()
        return server

    def stop(self) -> None:
        for server in self.running.values():
            server.stop()
        self.running.clear()


@pytest.fixture(scope="session")
def _mockprovider_servers() -> Iterator[_Servers]:
    servers = _Servers()
    yield servers
    servers.stop()


class External:
    """Stands in for a MockServer when the tests run against ``--mockprovider-url``."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        self.admin_token = token


@pytest.fixture
def mockprovider_server(request: pytest.FixtureRequest, _mockprovider_servers: _Servers) -> Any:
    marker = request.node.get_closest_marker("mockprovider")
    settings = {**DEFAULTS, **(marker.kwargs if marker else {})}
    external = request.config.getoption("--mockprovider-url")
    if external:
        server: Any = External(external, request.config.getoption("--mockprovider-admin-token"))
        token = server.admin_token
    else:
        server = _mockprovider_servers.get(settings)
        token = server.settings.admin_token
    admin = Admin(server.url, token)
    admin.reset()
    admin.set_scale(float(settings["time_scale"]))
    return server


@pytest.fixture
def mockprovider_admin(mockprovider_server: Any) -> Admin:
    token = getattr(mockprovider_server, "admin_token", None)
    if token is None and hasattr(mockprovider_server, "settings"):
        token = mockprovider_server.settings.admin_token
    return Admin(mockprovider_server.url, token)


@pytest.fixture
def mockprovider_report(mockprovider_admin: Admin) -> Callable[[], dict[str, Any]]:
    return mockprovider_admin.report


@pytest.fixture
def mockprovider_factory() -> Iterator[Callable[..., MockServer]]:
    started: list[MockServer] = []

    from .testing import MockServer

    def start(**settings: Any) -> MockServer:
        server = MockServer(**{**DEFAULTS, **settings}).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
