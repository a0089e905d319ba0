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


@contextlib.contextmanager
def process(args: list[str], ready_url: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_ready(ready_url)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
            threads: int = 1, script: Path | None = None) -> tuple[float, int]:
    """(requests per second, requests completed) that wrk measured; fails on any error or non-2xx answer."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rate, int(re.search(r"(\d+) requests in", out).group(1))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="mockprovider-bench-"))
