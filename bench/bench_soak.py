"""Soak: mixed traffic (create, poll, download; Runway and Veo) at a fixed rate against ``mockprovider serve``
for a long time, sampling the server's resident memory, open file descriptors, job store, timeline and
event-loop lag every ``--every`` seconds.

    python bench/bench_soak.py [--minutes 30] [--rate 300] [--max-jobs 10000] [--every 30]

Jobs are short (queue 0-2 s, run 5-20 s, real time) so they finish, get downloaded and, once the store holds
``--max-jobs``, are evicted oldest first. Pass: after warm-up (the first third, at least 5 minutes when the
run is long enough) resident memory stays within 10% of its first post-warm-up sample, the job store never
exceeds ``--max-jobs``, the timeline and open descriptors stay bounded, and k6 saw no failed request.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import httpx
from common import ROOT, free_port, mockprovider, scratch_dir, wait_ready

PROFILE = """\
description: soak - short jobs, light latency, no limits or faults
latency:
  default: {lognormal: {median: 10ms, p99: 60ms}}
  create: {lognormal: {median: 40ms, p99: 200ms}}
jobs:
  queue: {uniform: [0s, 2s]}
  run: {uniform: [5s, 20s]}
  failure_rate: {internal: 0.02}
"""


def serve_command(port: int, *extra: str) -> list[str]:
    return mockprovider(port, *extra)


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def sample(pid: int, url: str, started: float) -> dict:
    stats = httpx.get(f"{url}/__mock/stats", timeout=10).json()
    return {"t": round(time.monotonic() - started), "rss_mb": round(rss_kb(pid) / 1024, 1), "fds": open_fds(pid),
            "jobs": stats["jobs"], "created": stats["created"], "evicted": stats["evicted"],
            "timeline": stats["timeline"]["pending"], "media_entries": stats["media"]["entries"],
            "lag_p99_ms": stats["loop_lag"]["p99_ms"], "lag_max_ms": stats["loop_lag"]["max_ms"]}


def verdict(rows: list[dict], warmup_s: float, max_jobs: int) -> list[str]:
    after = [r for r in rows if r["t"] >= warmup_s] or rows[-1:]
    base = after[0]["rss_mb"]
    worst = max(abs(r["rss_mb"] - base) / base for r in after)
    half = len(after) // 2
    first, second = after[:half] or after, after[half:]
    lines = [f"rss after warm-up: {min(r['rss_mb'] for r in after):.1f}-{max(r['rss_mb'] for r in after):.1f} MB, "
             f"max drift {worst:.1%} of {base:.1f} MB (target <= 10%)  {'PASS' if worst <= 0.10 else 'MISS'}",
             f"job store max {max(r['jobs'] for r in rows)} (bound {max_jobs})  "
             f"{'PASS' if max(r['jobs'] for r in rows) <= max_jobs else 'MISS'}"]
    for key in ("timeline", "fds", "media_entries"):
        a, b = max(r[key] for r in first), max(r[key] for r in second)
        ok = b <= a * 1.10 + 16
        lines.append(f"{key}: max first half {a}, second half {b}  {'PASS' if ok else 'MISS (growing)'}")
    lags = [r["lag_p99_ms"] for r in after if r["lag_p99_ms"] is not None]
    if lags:
        lines.append(f"loop lag p99 per 2-min window after warm-up: max {max(lags):.1f} ms, "
                     f"median {sorted(lags)[len(lags) // 2]:.1f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--max-jobs", type=int, default=10_000)
    parser.add_argument("--every", type=float, default=30, help="seconds between samples")
    args = parser.parse_args()

    work = scratch_dir()
    (work / "soak.yaml").write_text(PROFILE)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(work / "server.log", "wb") as log, open(work / "k6.log", "wb") as k6_log:
        server = subprocess.Popen(serve_command(port, "--profile", str(work / "soak.yaml"), "--seed", "7",
                                               "--max-jobs", str(args.max_jobs), "--media-dir", str(work / "media")),
                                  cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        summary = work / "k6-summary.json"
        print(f"soak: {args.minutes} min at {args.rate} req/s, --max-jobs {args.max_jobs}, server pid {server.pid}, "
              f"scratch {work}", flush=True)
        rows: list[dict] = []
        try:
            wait_ready(f"{url}/__mock/health")
            httpx.post(f"{url}/__mock/reset")
            load = subprocess.Popen(["k6", "run", "--quiet", "--no-color", "--address", "", "-e", f"BASE={url}",
                                     "-e", f"RATE={args.rate}", "-e", f"DURATION={int(args.minutes * 60)}s",
                                     "--summary-export", str(summary),
                                     str(ROOT / "bench" / "k6" / "soak.js")],
                                    cwd=ROOT, stdout=k6_log, stderr=subprocess.STDOUT)
            started = time.monotonic()
            print(json.dumps(sample(server.pid, url, started)), flush=True)
            while load.poll() is None:
                next_at = started + (len(rows) + 1) * args.every
                while load.poll() is None and time.monotonic() < next_at:
                    time.sleep(0.5)
                if load.poll() is None:
                    rows.append(sample(server.pid, url, started))
                    print(json.dumps(rows[-1]), flush=True)
            rows.append(sample(server.pid, url, started))
            print(json.dumps(rows[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(10)
    metrics = json.loads(summary.read_text())["metrics"]
    reqs, failed = metrics["http_reqs"], metrics["http_req_failed"]
    duration = metrics["http_req_duration"]
    dropped = metrics.get("dropped_iterations", {}).get("count", 0)
    print(f"\nk6: {reqs['count']} requests, {reqs['rate']:.0f} req/s, failed {failed['value']:.4%} "
          f"({failed.get('passes', 0)} requests), dropped iterations {dropped}, "
          f"duration p95 {duration['p(95)']:.1f} ms")
    warmup = max(args.minutes * 60 / 3, min(300, args.minutes * 60 / 2))
    for line in verdict(rows, warmup, args.max_jobs):
        print(line)
    ok = failed["value"] == 0
    print(f"k6 failed requests: {'PASS' if ok else 'MISS'}")
    sys.exit(0)


if __name__ == "__main__":
    main()
