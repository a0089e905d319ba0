"""Memory per job with 100,000 jobs in flight, through each dialect's own create path (its validation, ids,
job data and output spec), and how late the engine's timeline fires planned state changes.

    python bench/bench_jobs.py [--jobs 100000]

Target: under 2 KB per job; timeline lateness p99 under 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
import tracemalloc

import httpx

from mockprovider.app import create_app
from mockprovider.context import Settings

RUNWAY = ("/v1/image_to_video", {"Authorization": "Bearer key_bench", "X-Runway-Version": "2024-11-06"},
          {"model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"})


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def fill(jobs: int, trace: bool) -> tuple[float, int]:
    app = create_app(Settings(profile="happy", max_jobs=jobs + 10))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")
    await client.put("/__mock/profile", json={"profile": {"jobs": {"queue": "10s", "run": "1h"}}})
    path, headers, body = RUNWAY
    for _ in range(200):  # warm caches (routes, resolved profiles, the output spec) before measuring
        assert (await client.post(path, headers=headers, json=body)).status_code == 200
    await client.post("/__mock/reset")
    await client.put("/__mock/profile", json={"profile": {"jobs": {"queue": "10s", "run": "1h"}}})
    gc.collect()
    if trace:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0] if trace else rss()
    for _ in range(jobs):
        reply = await client.post(path, headers=headers, json=body)
        assert reply.status_code == 200
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if trace else rss()
    tracemalloc.stop()
    stored = len(app.engine.store)
    await client.aclose()
    return (after - before) / stored, stored


async def timeline_lateness(changes: int) -> list[float]:
    """Schedule state changes spread over 2 s of real time and record how late each fires."""
    from mockprovider.engine.clock import Clock
    from mockprovider.engine.timeline import Timeline

    clock = Clock(scale=1.0)
    timeline = Timeline(clock)
    late: list[float] = []
    start = clock.now() + 1.0  # leave time to schedule them all before the first is due
    for i in range(changes):
        when = start + 2.0 * i / changes
        timeline.at(when, lambda when=when: late.append(clock.now() - when))
    while len(late) < changes:
        await asyncio.sleep(0.05)
    await timeline.stop()
    return sorted(late)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--tracemalloc", action="store_true", help="count Python allocations instead of RSS (slow)")
    args = parser.parse_args()
    started = time.perf_counter()
    per_job, stored = asyncio.run(fill(args.jobs, args.tracemalloc))
    took = time.perf_counter() - started
    print(f"runway jobs in flight      {stored:>10,}   ({took:.1f} s to create in-process)")
    how = "tracemalloc" if args.tracemalloc else "resident set growth"
    print(f"memory per job             {per_job:>10.0f} B   (target < 2048 B; {how}, after gc)")
    late = asyncio.run(timeline_lateness(100_000))
    p = lambda q: late[int(q * (len(late) - 1))] * 1000  # noqa: E731
    print(f"timeline lateness, 100,000 changes over 2 s: p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, "
          f"max {p(1.0):.2f} ms   (target p99 < 10 ms)")


if __name__ == "__main__":
    main()
