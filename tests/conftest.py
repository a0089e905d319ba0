"""Shared fixtures: real servers on free loopback ports, and the official SDKs' polling made fast."""

from __future__ import annotations

import compileall
from pathlib import Path

import background
import pytest
from genai2_env import needs_genai2, start_building
from test_proxy_support import chaos, echo_server, tp  # noqa: F401 - the chaos proxy tests' shared fixtures

from mockprovider.testing import MockServer


def pytest_sessionstart(session: pytest.Session) -> None:
    """Many tests serve from a fresh ``mockprovider serve`` process; where PYTHONDONTWRITEBYTECODE is set (CI
    images often set it) each one would compile the whole package from source again, half a second per start."""
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "mockprovider", quiet=1)


def pytest_collection_finish(session: pytest.Session) -> None:
    """A fresh clone installs google-genai 2.x into a venv of its own (tests/genai2_env.py, about half a minute,
    mostly waiting on the network and the disk), and test modules list preparations of their own
    (tests/background.py): begun now, they overlap with the tests that run before them."""
    if any(needs_genai2(item.nodeid) for item in session.items):
        start_building()
    for module in dict.fromkeys(getattr(item, "module", None) for item in session.items):
        for prepare in getattr(module, "PREPARE_IN_BACKGROUND", ()):
            background.start(prepare)


@pytest.fixture(autouse=True)
def fast_runway_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """runwayml sleeps 4.5-7.5 s between polls; the engine's clock makes jobs short, so poll quickly."""
    try:
        import runwayml.lib.polling as polling
    except ImportError:
        return
    monkeypatch.setattr(polling, "POLL_TIME", 0.05)
    monkeypatch.setattr(polling, "POLL_JITTER", 0)


@pytest.fixture
def server_factory():
    started: list[MockServer] = []

    def start(**settings) -> MockServer:
        server = MockServer(**settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def kling(server):
    """A Kling client (tests/kling_client.py) for the module's ``server``, which starts from a reset state."""
    from kling_client import Kling

    assert server.admin("POST", "/reset").status_code in (200, 204)
    client = Kling(server.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def redis_server():
    """A real redis-server (installed with apt-get when missing) for the module, flushed between tests."""
    from redis_support import RedisServer

    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    if redis_server.process is None or not redis_server.ping():
        redis_server.start()
    assert redis_server.command("FLUSHALL").startswith(b"+OK")
    return redis_server.url


@pytest.fixture
def replicas(redis_url):
    """A factory: ``replicas(2, args=[...])`` starts that many ``mockprovider serve`` processes sharing the
    flushed ``redis_url`` (tests/replicas.py), all stopped after the test whatever happened."""
    from replicas import Replicas

    started: list[Replicas] = []

    def start(count: int = 2, **options) -> Replicas:
        replica_set = Replicas(count, redis_url, **options)
        started.append(replica_set)
        return replica_set.start()

    yield start
    for replica_set in started:
        replica_set.stop()
