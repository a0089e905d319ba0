"""``serve --state``: the URL is checked by argparse, an unreachable Redis stops the server before its banner,
and a reachable one is connected at startup."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mockprovider.state import Backend, check_url
from mockprovider.testing import MockServer, free_port


@pytest.mark.parametrize("url", ["memory", "redis://127.0.0.1:6379/0", "rediss://h:1/2", "redis://h",
                                 "unix:///tmp/redis.sock"])
def test_state_urls_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize("url", ["", "postgres://h/1", "redis://", "redis://h:99999/0", "redis://h:1/x",
                                 "redis://h:notaport/0"])
def test_state_urls_refused(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url)


def test_password_is_redacted() -> None:
    assert Backend("redis://user:secret@h:1/0").redacted == "redis://user:***@h:1/0"


def test_bad_state_url_is_an_argparse_error() -> None:
    done = subprocess.run([sys.executable, "-m", "mockprovider", "serve", "--state", "postgres://x/1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--state" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_redis_stops_before_the_banner() -> None:
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "mockprovider", "serve", "--port", str(free_port()),
                           "--state", f"redis://127.0.0.1:{port}/0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "cannot reach the state backend" in done.stderr and "Traceback" not in done.stderr
    assert "mockprovider 0" not in done.stdout


def test_reachable_redis_is_connected_at_startup(redis_url: str) -> None:
    with MockServer(state=redis_url) as server:
        assert server.call(lambda: server.app.ctx.state.redis is not None)
        assert server.admin("GET", "/health").status_code == 200
