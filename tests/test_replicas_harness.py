"""tests/replicas.py itself: K serve processes on one Redis, each healthy on its own port, that a test can
SIGKILL, SIGTERM and restart on the same port, and that are all stopped at the end whatever happened."""

from __future__ import annotations

import pytest
from replicas import Replicas, health


def test_replicas_start_kill_restart_and_stop(replicas) -> None:
    group = replicas(2, args=["--time-scale", "0.02"])
    assert len(set(group.urls)) == 2
    answers = [health(url) for url in group.urls]
    assert all(a is not None and a["status"] == "ok" for a in answers)
    assert {a["pid"] for a in answers} == {r.pid for r in group}

    first = group[0]
    old_pid, port = first.pid, first.port
    assert group.kill(0) == -9
    assert health(first.url) is None and group[1].alive  # the other replica is untouched

    group.restart(0)
    assert first.port == port and first.pid != old_pid
    assert health(first.url)["pid"] == first.pid

    assert group.terminate(1) in (0, -15)  # uvicorn shuts down, then re-raises the SIGTERM it caught
    assert health(group[1].url) is None

    processes = [r.process for r in group]
    group.stop()
    assert all(p.poll() is not None for p in processes)


def test_a_replica_that_cannot_start_is_reported_and_nothing_is_left_running(redis_server) -> None:
    group = Replicas(2, redis_server.url, args=["--profile", "no-such-profile"], startup_timeout=60)
    with pytest.raises(RuntimeError, match="exited with 2"):
        group.start()
    assert all(not r.alive for r in group)
    assert "no-such-profile" in group.logs()
