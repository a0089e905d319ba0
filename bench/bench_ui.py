"""What the live page costs the server.

1. In process: one sampler tick (census, rates, limits, a snapshot for viewers) with a large job store:
   ``--jobs`` jobs in flight plus as many finished, while they arrive (5,000 a tick), then in steady state.
2. Over a socket: Runway status polls per second (wrk) with nobody watching and with ``--viewers`` open event
   streams, in alternating rounds (the machine is noisy).

    python bench/bench_ui.py [--jobs 100000] [--viewers 8] [--seconds 5] [--rounds 3] [--connections 64] [--ticks-only]

Targets: a steady-state tick under 10 ms of CPU with 100,000 live jobs (it runs once a second on the server's loop);
polls with viewers at least 0.95 of polls without.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import httpx
from common import free_port, mockprovider, process, wrk

from mockprovider.app import create_app
from mockprovider.context import Settings
from mockprovider.engine.engine import JobRequest
from mockprovider.testing import done
from mockprovider.ui.sampler import Viewer

KEY = "key_" + "ab" * 64
RUNWAY = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}


def timed(work) -> tuple[float, float]:
    """(wall, CPU) milliseconds of ``work()``: CPU time is what a tick takes from the loop on a quiet machine."""
    wall, cpu = time.perf_counter(), time.thread_time()
    work()
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def tick_costs(jobs: int) -> None:
    app = create_app(Settings(profile="happy", max_jobs=4 * jobs))
    engine = app.engine
    sampler = app.live_page
    live = engine.library.load_inline({"jobs": {"queue": "10m", "run": "1h"}}, "long")
    short = engine.library.load_inline({"jobs": {"queue": "0s", "run": "1ms"}}, "short")
    sampler.viewers.add(Viewer())  # someone watches: each tick builds a snapshot too
    filling = []
    for profile, count in ((short, jobs), (live, jobs)):
        assignment = done(engine.activate(profile))
        for i in range(count):
            done(engine.submit(JobRequest(provider="runway", model="gen4_turbo", account=f"key_{i % 500}",
                                          kind="image_to_video", make_id=lambda r: f"{r.getrandbits(64):016x}"),
                               assignment, queue_when_busy=True))
            if i % 5_000 == 4_999:  # a server creating 5,000 jobs a second: one tick per 5,000
                filling.append(timed(sampler.tick)[1])
    done(engine.advance(1.0))

    runs = [timed(sampler.tick) for _ in range(30)]
    wall = sorted(w for w, _ in runs)
    steady = sorted(c for _, c in runs)
    size = len(sampler.latest_bytes or b"")
    counted = sum(sampler.census.by_state("runway").values())
    assert counted == len(engine.store), (counted, len(engine.store))
    print(f"store: {len(engine.store):,} jobs ({jobs:,} in flight) over 500 keys; the census counts {counted:,}")
    print(f"CPU per tick while 5,000 jobs arrive per tick: max {max(filling):.1f} ms, "
          f"p50 {statistics.median(filling):.1f} ms")
    print(f"steady tick, CPU: p50 {steady[15]:.2f} ms, max {steady[-1]:.2f} ms (wall p50 {wall[15]:.2f} ms); "
          f"snapshot {size / 1024:.1f} KiB")
    print(("PASS" if steady[15] < 10 else "MISS") + f" steady tick under 10 ms with {jobs:,} live jobs")


def viewers_open(url: str, n: int, stop: threading.Event) -> list[threading.Thread]:
    def watch() -> None:
        while not stop.is_set():
            with httpx.stream("GET", url + "/__mock/ui/events", headers={"accept": "text/event-stream"},
                              timeout=30) as reply:
                for _ in reply.iter_bytes():
                    if stop.is_set():
                        return

    threads = [threading.Thread(target=watch, daemon=True) for _ in range(n)]
    for thread in threads:
        thread.start()
    return threads


def poll_ratio(viewers: int, seconds: int, rounds: int, connections: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(mockprovider(port, "--profile", "happy"), url + "/__mock/health"):
        task = httpx.post(url + "/v1/image_to_video", headers=RUNWAY, json={
            "model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720",
            "duration": 5}).json()
        poll = f"{url}/v1/tasks/{task['id']}"
        bare, watched = [], []
        for _ in range(rounds):
            bare.append(wrk(poll, seconds, connections, RUNWAY))
            stop = threading.Event()
            threads = viewers_open(url, viewers, stop)
            time.sleep(1.5)
            watched.append(wrk(poll, seconds, connections, RUNWAY))
            stop.set()
            for thread in threads:
                thread.join(30)
        a, b = statistics.median(bare), statistics.median(watched)
        print(f"status polls: {a:,.0f} req/s unwatched, {b:,.0f} req/s with {viewers} viewers "
              f"(rounds {[round(x) for x in bare]} / {[round(x) for x in watched]})")
        print(("PASS" if b >= 0.95 * a else "MISS") + f" ratio {b / a:.3f} (target >= 0.95)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--viewers", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--ticks-only", action="store_true", help="skip the wrk rounds")
    args = parser.parse_args()
    tick_costs(args.jobs)
    if not args.ticks_only:
        poll_ratio(args.viewers, args.seconds, args.rounds, args.connections)


if __name__ == "__main__":
    main()
