"""What the request journal costs the status-poll hot path: Runway ``GET /v1/tasks/{id}`` polled by wrk
against two mockprovider processes, one with the journal at its default size (10,000) and one with it off
(``--journal-size 0``), in alternating rounds (the machine is noisy). Both feed the client-behaviour report
(that part has no switch); the difference is the journal's own work.

    python bench/bench_journal.py [--seconds 5] [--rounds 5] [--connections 64]

Target: the journal costs under 5% of the poll throughput (ratio on/off >= 0.95).
Also prints the journal's length and memory after the run, from /__mock/requests.
"""

from __future__ import annotations

import argparse
import statistics

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()

    on_port, off_port = free_port(), free_port()
    on_url, off_url = f"http://127.0.0.1:{on_port}", f"http://127.0.0.1:{off_port}"
    rates: dict[str, list[float]] = {"on": [], "off": []}
    with process(mockprovider(on_port, "--profile", "happy"), f"{on_url}/__mock/health"), \
            process(mockprovider(off_port, "--profile", "happy", "--journal-size", "0"), f"{off_url}/__mock/health"):
        targets = {"on": poll_target(on_url), "off": poll_target(off_url)}
        for url in targets.values():  # warm up
            wrk(url, 1, args.connections, RUNWAY)
        for i in range(args.rounds):
            order = ("on", "off") if i % 2 == 0 else ("off", "on")
            for name in order:
                rates[name].append(wrk(targets[name], args.seconds, args.connections, RUNWAY))
        journal = httpx.get(f"{on_url}/__mock/requests?limit=1").json()
        off_journal = httpx.get(f"{off_url}/__mock/requests?limit=1").json()
        report = httpx.get(f"{on_url}/__mock/report").json()["providers"]["runway"]
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    ratio = on / off
    print(f"journal on  (10,000)    {on:9.0f} req/s  (rounds: {', '.join(f'{x:.0f}' for x in rates['on'])})")
    print(f"journal off (size 0)    {off:9.0f} req/s  (rounds: {', '.join(f'{x:.0f}' for x in rates['off'])})")
    print(f"ratio on/off            {ratio:9.3f}   cost {100 * (1 - ratio):+.1f}%  "
          f"{'PASS' if ratio >= 0.95 else 'MISS'} (target: cost < 5%)")
    print(f"journal held {journal['total']} of {journal['total'] + journal['dropped']} requests "
          f"(dropped {journal['dropped']}); with size 0 it held {off_journal['total']}")
    print(f"report saw {report['requests']} runway requests, {report['polls_per_job']['mean']:.0f} polls per job")


if __name__ == "__main__":
    main()
