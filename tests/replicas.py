"""Several ``mockprovider serve`` processes sharing one state URL (a Redis server), started with the CLI the way
a user runs it, each on its own free loopback port: the harness the multi-replica tests use.

    with Replicas(2, redis_url, args=["--time-scale", "0.02"]) as replicas:
        a, b = replicas.urls            # each answers /__mock/health
        replicas.kill(0)                # SIGKILL, as a crashed pod
        replicas.restart(0)             # the same port again, healthy
    # every process is stopped, whatever happened

The conftest ``replicas`` fixture starts a set per test on the flushed ``redis_url``; a module that shares one
set across its tests uses ``with Replicas(..., redis_server.url)`` in its own module-scoped fixture.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from mockprovider.testing import free_port

ROOT = Path(__file__).resolve().parent.parent


def cli_command() -> list[str]:
    """The installed ``mockprovider`` script beside this interpreter (what a user runs), else ``-m``."""
    script = Path(sys.executable).parent / "mockprovider"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mockprovider"]


def health(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """``/__mock/health``'s JSON, or None when nothing answers (yet)."""
    try:
        with urllib.request.urlopen(url + "/__mock/health", timeout=timeout) as reply:
            return json.loads(reply.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None



def admin(url: str, method: str, path: str, body: object = None) -> httpx.Response:
    """A call to a replica's admin API (``/__mock`` + ``path``)."""
    return httpx.request(method, url + "/__mock" + path, json=body, timeout=10)


def until(check: Any, timeout: float, step: float = 0.01) -> float:
    """Seconds until ``check()`` held (AssertionError after ``timeout``)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - start


class Replica:
    """One ``mockprovider serve`` process on ``port``; its stdout and stderr go to ``log_path``."""

    def __init__(self, index: int, port: int, command: list[str], env: dict[str, str], directory: Path) -> None:
        self.index = index
        self.port = port
        self.command = command
        self.env = env
        self.log_path = directory / f"replica-{index}.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        self.starts += 1
        with open(self.log_path, "a") as log:
            log.write(f"--- start {self.starts}: {' '.join(self.command)}\n")
            log.flush()
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)

    def wait_healthy(self, deadline: float) -> dict[str, Any]:
        while True:
            if not self.alive:
                raise RuntimeError(f"replica {self.index} (port {self.port}) exited with "
                                   f"{self.process.returncode if self.process else None}:\n{self.log()[-3000:]}")
            answer = health(self.url)
            if answer is not None:
                return answer
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica {self.index} (port {self.port}) did not answer /__mock/health "
                                   f"in time:\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def signal(self, sig: int, timeout: float = 15.0) -> int | None:
        """Send ``sig`` and wait for the exit; the exit code (negative: killed by that signal)."""
        if not self.alive:
            return self.process.returncode if self.process is not None else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise RuntimeError(f"replica {self.index} ignored signal {sig} for {timeout} s:\n"
                               f"{self.log()[-3000:]}") from None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Replicas:
    """``count`` serve processes with ``--state state``; ``args`` are added to every command line and ``env`` to
    the environment (``MOCKPROVIDER_*`` variables of the caller's shell are dropped so they cannot leak in)."""

    def __init__(self, count: int, state: str, *, args: Sequence[str] = (), env: dict[str, str] | None = None,
                 startup_timeout: float = 120.0) -> None:
        if count < 1:
            raise ValueError("at least one replica")
        self.state = state
        self.startup_timeout = startup_timeout
        self.directory = Path(tempfile.mkdtemp(prefix="mockprovider-replicas-"))
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKPROVIDER_")}
        base_env.update(env or {})
        self.replicas: list[Replica] = []
        for index in range(count):
            port = free_port()
            command = [*cli_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--state", state,
                       *args]
            self.replicas.append(Replica(index, port, command, base_env, self.directory))

    def start(self) -> Replicas:
        """Launch every replica at once, then wait until each answers; on any failure stop them all."""
        try:
            for replica in self.replicas:
                replica.launch()
            deadline = time.monotonic() + self.startup_timeout
            for replica in self.replicas:
                replica.wait_healthy(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> Replicas:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __len__(self) -> int:
        return len(self.replicas)

    def __getitem__(self, index: int) -> Replica:
        return self.replicas[index]

    def __iter__(self) -> Iterator[Replica]:
        return iter(self.replicas)

    @property
    def urls(self) -> list[str]:
        return [replica.url for replica in self.replicas]

    def kill(self, index: int) -> int | None:
        """SIGKILL replica ``index`` (a crash: no shutdown of any kind) and reap it."""
        return self.replicas[index].signal(signal.SIGKILL)

    def terminate(self, index: int, timeout: float = 15.0) -> int | None:
        """SIGTERM replica ``index`` (a graceful stop, as docker stop or Kubernetes does) and wait for its exit."""
        return self.replicas[index].signal(signal.SIGTERM, timeout)

    def restart(self, index: int) -> Replica:
        """Start replica ``index`` again on its own port (stopping it first if it still runs) and wait for it."""
        replica = self.replicas[index]
        if replica.alive:
            replica.signal(signal.SIGTERM)
        replica.launch()
        try:
            replica.wait_healthy(time.monotonic() + self.startup_timeout)
        except BaseException:
            replica.signal(signal.SIGKILL)
            raise
        return replica

    def heal_and_reset(self) -> None:
        """Before a test: restart the replicas a test killed, and reset the shared state from the first."""
        for replica in self:
            if not replica.alive:
                self.restart(replica.index)
        assert admin(self.urls[0], "POST", "/reset").status_code == 200

    def use_profile(self, settings: dict, name: str) -> None:
        """Switch the profile on the first replica and wait until the second runs it too."""
        assert admin(self.urls[0], "PUT", "/profile", {"name": name, "profile": settings}).status_code == 200
        until(lambda: admin(self.urls[1], "GET", "/profile").json()["name"] == name, 2.0)

    def stop(self) -> None:
        """Stop every replica: SIGTERM to all at once, then SIGKILL whatever has not exited within 10 s."""
        for replica in self.replicas:
            if replica.alive:
                replica.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for replica in self.replicas:
            if replica.process is None:
                continue
            try:
                replica.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(5)

    def logs(self) -> str:
        return "\n".join(f"=== replica {r.index} (port {r.port})\n{r.log()}" for r in self.replicas)
