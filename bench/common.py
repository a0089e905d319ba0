"""Helpers for the benchmarks: servers in subprocesses, wrk runs, and summaries."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wait_for_workers(base: str, count: int, timeout: float = 120) -> None:
    """Until ``count`` distinct worker pids have answered /__mock/health (each worker has started)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only workers {seen} answered at {base}")
        with contextlib.suppress(httpx.HTTPError):
            seen.add(httpx.get(f"{base}/__mock/health", timeout=2, headers={"connection": "close"}).json()["pid"])
        time.sleep(0.02)


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate ``proc``, killed if it has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def process(args: list[str], ready_url: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_ready(ready_url)
        yield proc
    finally:
        stop(proc)


@contextlib.contextmanager
def started(args: list[str]) -> Iterator[subprocess.Popen]:
    """A server process, started without waiting (several can start together), its log in a file shown if it
    has died when the block fails."""
    log = scratch_dir() / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    except BaseException:
        if proc.poll() is not None:
            print(f"{' '.join(args)} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        raise
    finally:
        stop(proc, 15)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server of its own on a free loopback port, nothing saved to disk; yields its URL."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed: apt-get install redis-server, or pass --redis-url")
    port = free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(scratch_dir()), "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        stop(proc)


def pinned(args: list[str], cpus: str | None) -> list[str]:
    """``args`` run on the CPUs ``cpus`` (a taskset list) alone, every thread of it; unchanged for None."""
    return args if cpus is None else ["taskset", "-c", cpus, *args]


def mockprovider(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mockprovider", "serve", "--port", str(port), *extra]


def uvicorn_app(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning",
            "--no-access-log", "--app-dir", str(ROOT / "bench")]


def wrk_script(path: Path, method: str = "GET", body: str | None = None) -> Path:
    """A wrk Lua script that sends ``method`` with ``body`` (JSON) on every request."""
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines += [f"wrk.body = {lua_string(body)}", 'wrk.headers["Content-Type"] = "application/json"']
    path.write_text("\n".join(lines) + "\n")
    return path


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str] | None = None,
        threads: int = 1, script: Path | None = None) -> float:
    """Requests per second that wrk measured; fails if any request errored or was non-2xx."""
    return wrk_run(url, seconds, connections, headers, threads, script)[0]


def wrk_run(url: str, seconds: int, connections: int, headers: dict[str, str] | None = None,
            threads: int = 1, script: Path | None = None, cpus: str | None = None) -> tuple[float, int]:
    """(requests per second, requests completed) that wrk measured; fails on any error or non-2xx answer.
    ``cpus`` (a taskset list, e.g. "1") keeps wrk on those CPUs."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if cpus is not None:
        args = ["taskset", "-c", cpus, *args]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rate, int(re.search(r"(\d+) requests in", out).group(1))


def rounds_text(rates: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in rates)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="mockprovider-bench-"))
