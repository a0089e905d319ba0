"""Status-poll throughput: ``GET /v1/tasks/{id}`` on mockprovider against a bare Starlette JSON endpoint,
both served by uvicorn in one process each, measured by wrk in alternating rounds (the machine is noisy).

    python bench/bench_status.py [--seconds 5] [--rounds 3] [--connections 64]

Target: mockprovider serves at least 0.7 of the baseline's requests per second.
"""

from __future__ import annotations

import argparse
import statistics

import httpx
from common import free_port, mockprovider, process, uvicorn_app, wrk

KEY = "key_" + "ab" * 64
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()

    mock_port, base_port = free_port(), free_port()
    mock_url, base_url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{base_port}"
    with process(mockprovider(mock_port, "--profile", "happy"), f"{mock_url}/__mock/health"), \
            process(uvicorn_app("baseline_app:app", base_port), f"{base_url}/v1/tasks/x"):
        httpx.put(f"{mock_url}/__mock/profile", json={"profile": {"jobs": {"queue": "0s", "run": "1h"}}})
        task = httpx.post(f"{mock_url}/v1/image_to_video", headers=HEADERS,
                          json={"model": "gen4_turbo", "promptImage": "https://example.com/a.png",
                                "ratio": "1280:720"}).json()
        status_url = f"{mock_url}/v1/tasks/{task['id']}"
        assert httpx.get(status_url, headers=HEADERS).json()["status"] == "RUNNING"
        wrk(status_url, 1, args.connections, HEADERS)  # warm up both
        wrk(f"{base_url}/v1/tasks/x", 1, args.connections)
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(wrk(status_url, args.seconds, args.connections, HEADERS))
            theirs.append(wrk(f"{base_url}/v1/tasks/x", args.seconds, args.connections))
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"runway GET /v1/tasks/{{id}}  {statistics.median(ours):9.0f} req/s  (rounds: "
          f"{', '.join(f'{x:.0f}' for x in ours)})")
    print(f"bare Starlette JSON         {statistics.median(theirs):9.0f} req/s  (rounds: "
          f"{', '.join(f'{x:.0f}' for x in theirs)})")
    print(f"ratio                       {ratio:9.2f}   (target >= 0.70)")


if __name__ == "__main__":
    main()
