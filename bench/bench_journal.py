"""What the request journal costs the status-poll hot path: Runway ``GET /v1/tasks/{id}`` polled by wrk
against two mockprovider processes, one with the journal at its default size (10,000) and one with it off
(``--journal-size 0``). Both feed the client-behaviour report (that part has no switch); the difference is the
journal's own work.

    python bench/bench_journal.py [--seconds 2] [--rounds 15] [--connections 32] [--warm-up 1]
    python bench/bench_journal.py --in-process [--rounds 200] [--batch 500]

Target: the journal costs under 5% of the poll throughput (ratio on/off >= 0.95).

Made for a noisy shared machine: rounds are interleaved A/B, B/A (so a load that rises or falls during the run
hits both alike), each round pair gives its own ratio and the figure is the median of those ratios, not of the
raw rates; beside throughput it measures the server's CPU time per request (from /proc, user + system), which
other processes' load disturbs far less than wall-clock req/s.

``--in-process`` measures the same thing without sockets or wrk, as CPU time per poll (``time.process_time``)
over many short alternating batches (pairs close in time see the same load; the median of the pairs' ratios),
which a busy shared machine disturbs far less than wall-clock req/s.
It also shows the whole insight hook (journal, report figures, cost) against the app with the hook taken out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time

import httpx
from common import free_port, mockprovider, process, wrk

KEY = "key_" + "ab" * 64
RUNWAY = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}


def poll_target(mock: str) -> str:
    httpx.put(f"{mock}/__mock/profile", json={"profile": {"jobs": {"queue": "0s", "run": "1h"}}})
    task = httpx.post(f"{mock}/v1/image_to_video", headers=RUNWAY, json={
        "model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}).json()
    url = f"{mock}/v1/tasks/{task['id']}"
    assert httpx.get(url, headers=RUNWAY).json()["status"] == "RUNNING"
    return url


def asgi_get(app, path: str, headers: list[tuple[bytes, bytes]]):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "path": path,
             "raw_path": path.encode(), "query_string": b"", "headers": headers, "scheme": "http",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1234), "root_path": ""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"GET {path} answered {message['status']}")

    return app(scope, receive, send)


def in_process(rounds: int, batch: int = 3000) -> None:
    from mockprovider.app import create_app
    from mockprovider.context import Settings
    from mockprovider.engine.engine import JobRequest
    from mockprovider.testing import done
    from mockprovider.web.endpoint import Endpoint

    def make(size: int, hooked: bool = True):
        app = create_app(Settings(profile="happy", journal_size=size))
        engine = app.engine
        profile = app.ctx.library.load_inline({"jobs": {"queue": "0s", "run": "1h"}})
        assignment = done(engine.activate(profile))
        job = done(engine.submit(JobRequest(provider="runway", model="gen4_turbo", account=KEY, kind="image_to_video",
                                       make_id=lambda rng: "00000000-0000-4000-8000-000000000001",
                                       data={"createdAt": "2026-12-01T00:00:00.000Z"}),
                            assignment, queue_when_busy=True))
        if not hooked:
            for route in app.router.routes:
                if isinstance(getattr(route, "app", None), Endpoint):
                    route.app.begin = lambda *a: None
                    route.app.finish = lambda record, response: None
        return app, f"/v1/tasks/{job.id}"

    headers = [(k.lower().encode(), v.encode()) for k, v in RUNWAY.items()]
    apps = {"journal on (10,000)": make(10_000), "journal off (size 0)": make(0),
            "no insight hook": make(0, hooked=False)}
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 1000)  # as `mockprovider serve` runs
    best: dict[str, list[float]] = {name: [] for name in apps}

    async def run() -> None:
        for (app, path) in apps.values():
            for _ in range(batch):
                await asgi_get(app, path, headers)
        for i in range(rounds):
            for name in (list(apps) if i % 2 == 0 else list(apps)[::-1]):
                app, path = apps[name]
                started = time.process_time()
                for _ in range(batch):
                    await asgi_get(app, path, headers)
                best[name].append((time.process_time() - started) / batch * 1e6)

    asyncio.run(run())
    for name, values in best.items():
        print(f"{name:<24} {statistics.median(values):7.2f} us CPU per poll (median of {rounds}; best "
              f"{min(values):.2f})")
    on_v, off_v, bare_v = best.values()
    journal = statistics.median(a / b for a, b in zip(on_v, off_v, strict=True))
    hook = statistics.median(a / b for a, b in zip(on_v, bare_v, strict=True))
    print(f"journal cost            {100 * (journal - 1):+6.1f}%   median of {rounds} paired rounds  "
          f"{'PASS' if journal <= 1.05 else 'MISS'} (target: < 5%)")
    print(f"whole insight hook      {100 * (hook - 1):+6.1f}%   "
          f"({statistics.median(on_v) - statistics.median(bare_v):.2f} us per poll)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=None, help="round pairs (default 15 with wrk, 200 in process)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warm-up", type=int, default=1, help="seconds of wrk on each server first (0: none, "
                                                                "for a smoke run whose figures are not read)")
    parser.add_argument("--in-process", action="store_true", help="CPU time per poll over ASGI, no wrk")
    parser.add_argument("--batch", type=int, default=500, help="polls per batch (--in-process)")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 200 if args.in_process else 15
    if args.in_process:
        in_process(max(args.rounds, 2), max(args.batch, 1))
        return

    on_port, off_port = free_port(), free_port()
    on_url, off_url = f"http://127.0.0.1:{on_port}", f"http://127.0.0.1:{off_port}"
    rates: dict[str, list[float]] = {"on": [], "off": []}
    cpu: dict[str, list[float]] = {"on": [], "off": []}  # server CPU microseconds per request, per round
    with process(mockprovider(on_port, "--profile", "happy"), f"{on_url}/__mock/health") as on_proc, \
            process(mockprovider(off_port, "--profile", "happy", "--journal-size", "0"),
                    f"{off_url}/__mock/health") as off_proc:
        procs = {"on": on_proc.pid, "off": off_proc.pid}
        targets = {"on": poll_target(on_url), "off": poll_target(off_url)}
        for url in targets.values() if args.warm_up > 0 else ():
            wrk(url, args.warm_up, args.connections, RUNWAY)
        for i in range(args.rounds):
            order = ("on", "off") if i % 2 == 0 else ("off", "on")
            for name in order:
                before = cpu_seconds(procs[name])
                rate = wrk(targets[name], args.seconds, args.connections, RUNWAY)
                used = cpu_seconds(procs[name]) - before
                rates[name].append(rate)
                cpu[name].append(used / (rate * args.seconds) * 1e6)
        journal = httpx.get(f"{on_url}/__mock/requests?limit=1").json()
        off_journal = httpx.get(f"{off_url}/__mock/requests?limit=1").json()
        report = httpx.get(f"{on_url}/__mock/report").json()["providers"]["runway"]
    ratios = [a / b for a, b in zip(rates["on"], rates["off"], strict=True)]
    cpu_ratios = [a / b for a, b in zip(cpu["on"], cpu["off"], strict=True)]
    ratio, cpu_ratio = statistics.median(ratios), statistics.median(cpu_ratios)
    for name, label in (("on", "journal on  (10,000)"), ("off", "journal off (size 0)  ")):
        print(f"{label:<24}{statistics.median(rates[name]):9.0f} req/s  {statistics.median(cpu[name]):7.1f} us CPU "
              f"per request  (rounds: {', '.join(f'{x:.0f}' for x in rates[name])})")
    print(f"throughput on/off       {ratio:9.3f}   median of {len(ratios)} paired rounds (range "
          f"{min(ratios):.3f}-{max(ratios):.3f})  {'PASS' if ratio >= 0.95 else 'MISS'} (target >= 0.95)")
    print(f"CPU per request on/off  {cpu_ratio:9.3f}   cost {100 * (cpu_ratio - 1):+.1f}% (range "
          f"{min(cpu_ratios):.3f}-{max(cpu_ratios):.3f})  {'PASS' if cpu_ratio <= 1.05 else 'MISS'} (target <= 1.05)")
    print(f"journal held {journal['total']} of {journal['total'] + journal['dropped']} requests "
          f"(dropped {journal['dropped']}); with size 0 it held {off_journal['total']}")
    print(f"report saw {report['requests']} runway requests, {report['polls_per_job']['mean']:.0f} polls per job")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

if __name__ == "__main__":
    main()
