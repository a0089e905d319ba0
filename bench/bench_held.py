"""Held-open requests: thousands of status polls in flight at once, each held 0-6 s by the profile
(``latency: {status: {uniform: [0s, 6s]}}``), from wrk with one connection per request in flight.

    python bench/bench_held.py [--connections 5000] [--seconds 30] [--threads 2] [--gc-threshold 700,10,1000]
                               [--max-hold 6]

``--gc-threshold`` starts the same server with ``gc.set_threshold(...)`` applied first: the cyclic collector's
full sweeps over the objects of thousands of in-flight requests are what stall the event loop (see
bench/RESULTS.md); this measures the proposed fix without changing the package.

Reads the server's event-loop lag from ``GET /__mock/stats`` after the run (reset just before it). With a
mean hold of 3 s, 5,000 connections can carry at most about 1,667 req/s.
Target: at least 1,000 req/s with zero errors, event-loop lag p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys

import httpx
from common import free_port, mockprovider, process

KEY = "key_" + "cd" * 32
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}


def hold_profile(max_hold: float) -> dict:
    return {"latency": {"status": {"uniform": ["0s", f"{max_hold:g}s"]}}, "jobs": {"queue": "0s", "run": "1h"}}


def serve_command(port: int, gc_threshold: str | None, *extra: str) -> list[str]:
    args = mockprovider(port, *extra)
    if not gc_threshold:
        return args
    code = (f"import gc, sys; gc.set_threshold({gc_threshold}); "
            "from mockprovider.cli import main; sys.exit(main())")
    return [sys.executable, "-c", code, *args[3:]]


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gc-threshold", help="e.g. 700,10,1000: gc.set_threshold in the server first")
    parser.add_argument("--max-hold", type=float, default=6.0, help="seconds: holds are uniform from 0 to it")
    args = parser.parse_args()
    limit = raise_fd_limit(args.connections * 2 + 1024)  # inherited by the server and by wrk
    if limit < args.connections + 256:
        raise SystemExit(f"open-file limit {limit} is too low for {args.connections} connections")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if args.gc_threshold and not all(p.strip().isdigit() for p in args.gc_threshold.split(",")):
        raise SystemExit("--gc-threshold: expected integers such as 700,10,1000")
    server = serve_command(port, args.gc_threshold, "--profile", "happy", "--seed", "3")
    hold = hold_profile(args.max_hold)
    with process(server, f"{url}/__mock/health"):
        task = httpx.post(f"{url}/v1/image_to_video", headers=HEADERS, json={
            "model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}).json()
        assert httpx.put(f"{url}/__mock/profile", json={"profile": hold}).status_code == 200
        httpx.post(f"{url}/__mock/reset")  # clears the loop-lag samples (and the job store, so create again)
        httpx.put(f"{url}/__mock/profile", json={"profile": hold})
        task = httpx.post(f"{url}/v1/image_to_video", headers=HEADERS, json={
            "model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}).json()
        cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--timeout", "15s",
               "--latency", "-H", f"Authorization: {HEADERS['Authorization']}",
               "-H", f"X-Runway-Version: {HEADERS['X-Runway-Version']}", f"{url}/v1/tasks/{task['id']}"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        stats = httpx.get(f"{url}/__mock/stats", timeout=30).json()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    lag = stats["loop_lag"]
    tuned = f", server gc.set_threshold({args.gc_threshold})" if args.gc_threshold else ""
    print(f"wrk -c{args.connections} -d{args.seconds}s{tuned}: {total} requests, {rate:.0f} req/s "
          f"(at most ~{args.connections / (args.max_hold / 2):.0f} with a {args.max_hold / 2:g} s mean hold)")
    print(f"latency p50 {lat.get('50')} p90 {lat.get('90')} p99 {lat.get('99')} "
          f"(configured uniform 0-{args.max_hold:g} s)")
    print(f"errors: socket {errors.group(1) if errors else 'none'}, non-2xx {non2xx.group(1) if non2xx else 0}")
    print(f"event-loop lag: p50 {lag['p50_ms']} ms, p99 {lag['p99_ms']} ms, max {lag['max_ms']} ms "
          f"({lag['samples']} samples)")
    ok = rate >= 1000 and not errors and not non2xx and (lag["p99_ms"] or 0) < 20
    print(f"target >= 1000 req/s, zero errors, lag p99 < 20 ms: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
