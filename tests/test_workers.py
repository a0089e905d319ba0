"""``mockprovider serve --workers N``, run as a user runs it, on a real redis-server: N worker processes answer
on one port and on the TLS port, keep the guarded protocol, a killed worker is replaced, SIGTERM stops them all;
without ``--state redis://`` (or with the embedded chaos proxy) it is refused before anything starts."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from replicas import Replicas, health

from mockprovider.cli import main
from mockprovider.testing import free_port

WORKERS = 2


def test_workers_without_redis_are_refused_by_the_cli() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPROVIDER_")}
    done = subprocess.run([sys.executable, "-m", "mockprovider", "serve", "--port", str(free_port()),
                           "--workers", "2"], capture_output=True, text=True, timeout=60, env=clean)
    assert done.returncode == 2
    assert "--workers 2 needs --state redis://" in done.stderr and "Traceback" not in done.stderr
    assert "mockprovider 0" not in done.stdout  # no banner: nothing started


@pytest.mark.parametrize("args, env, says", [
    ([], {"MOCKPROVIDER_WORKERS": "3"}, "--workers 3 needs --state redis://"),
    (["--workers", "2", "--state", "redis://127.0.0.1:1/0", "--proxy"], None, "mockprovider proxy"),
    (["--workers", "0", "--state", "redis://127.0.0.1:1/0"], None, "must be at least 1"),
    (["--workers", "65", "--state", "redis://127.0.0.1:1/0"], None, "must be at most 64"),
    (["--workers", "two"], None, "expected a whole number"),
])
def test_bad_workers_settings_are_argparse_errors(args, env, says, monkeypatch, capsys) -> None:
    for name in [n for n in os.environ if n.startswith("MOCKPROVIDER_")]:
        monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", str(free_port()), *args])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def worker_pids(url: str, want: int, timeout: float = 60.0, context: ssl.SSLContext | None = None) -> set[int]:
    """The pids answering /__mock/health over fresh connections, until ``want`` distinct ones have answered."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/__mock/health", timeout=2, context=context) as reply:
                seen.add(json.loads(reply.read())["pid"])
        except OSError:
            time.sleep(0.05)
    return seen


@pytest.fixture(scope="module")
def workers(redis_server):
    tls_port = free_port()
    tls_dir = tempfile.mkdtemp(prefix="mockprovider-workers-tls-")
    group = Replicas(1, redis_server.url, args=["--workers", str(WORKERS), "--time-scale", "0.02",
                                                "--max-header-bytes", "4096", "--tls", "--tls-port",
                                                str(tls_port), "--tls-dir", tls_dir])
    with group:
        group.tls_url = f"https://127.0.0.1:{tls_port}"
        group.ca = Path(tls_dir) / "ca.pem"
        yield group


def test_every_worker_answers_on_the_one_port(workers) -> None:
    parent = workers[0].pid
    pids = worker_pids(workers.urls[0], WORKERS)
    assert len(pids) == WORKERS, pids
    assert parent not in pids and all(parent_of(pid) == parent for pid in pids)
    assert workers[0].log().count("mockprovider 0.1.0 on ") == 1  # the banner once, from the parent


def test_the_tls_listener_runs_in_every_worker(workers) -> None:
    context = ssl.create_default_context(cafile=str(workers.ca))
    pids = worker_pids(workers.tls_url, WORKERS, context=context)
    assert len(pids) == WORKERS and all(parent_of(pid) == workers[0].pid for pid in pids)


def test_workers_keep_the_guarded_protocol(workers) -> None:
    head = b"GET /__mock/health HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 6000 + b"\r\n\r\n"
    for _ in range(4):  # whichever worker takes the connection
        with socket.create_connection(("127.0.0.1", workers[0].port), timeout=10) as conn:
            conn.sendall(head)
            assert conn.recv(100).startswith(b"HTTP/1.1 431 ")


def wait_until(condition, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_killed_worker_is_replaced_even_during_a_redis_outage(workers, redis_server) -> None:
    """SIGKILL one worker while Redis is down: the others keep serving, the replacement waits for Redis instead
    of failing its startup (which would make uvicorn's supervisor stop them all) and serves once it is back."""
    parent = workers[0]
    before = worker_pids(parent.url, WORKERS)
    victim = min(before)
    redis_server.stop()
    try:
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: "waits for the state backend" in parent.log(), what="the replacement to wait for Redis")
        assert parent.alive and f"Child process [{victim}] died" in parent.log()
        survivors = worker_pids(parent.url, WORKERS - 1, timeout=10)
        assert survivors and victim not in survivors  # the others serve all along
    finally:
        redis_server.start()
    after: set[int] = set()

    def replaced() -> bool:
        nonlocal after
        after = worker_pids(parent.url, WORKERS, timeout=5)
        return len(after) == WORKERS and victim not in after

    wait_until(replaced, what="a replacement worker")
    assert all(parent_of(pid) == parent.pid for pid in after)
    assert "the state backend is back" in parent.log()


def test_sigterm_stops_every_worker(workers) -> None:
    pids = worker_pids(workers.urls[0], WORKERS)
    assert workers.terminate(0, timeout=30) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert health(workers.urls[0]) is None


def test_workers_of_a_killed_supervisor_stop_too(workers) -> None:
    """SIGKILL to the supervisor (an OOM kill): its workers get SIGTERM from the kernel and stop, freeing the
    port, instead of serving on as orphans; the same port then serves again."""
    parent = workers.restart(0) if not workers[0].alive else workers[0]
    pids = worker_pids(parent.url, WORKERS)
    assert workers.kill(0) == -9
    wait_until(lambda: all(not Path(f"/proc/{pid}").exists() for pid in pids), timeout=30, what="orphans to stop")
    assert health(parent.url) is None
