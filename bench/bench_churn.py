"""Memory under hostile churn: RSS of a served mockprovider while clients send (1) tens of thousands of creates,
each with a new API key, and (2) hundreds of distinct huge Authorization headers. Both used to grow RSS for
good (issue 9: +46 MB for 30k keys, +382 MB for 200 x 1 MB headers); the per-key sweep, the Kling header bound
and the request head limit keep it flat.

    python bench/bench_churn.py [--keys 30000] [--headers 200] [--header-kb 1024]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import socket
import time

import httpx
from bench_soak import rss_kb
from common import free_port, mockprovider, process

RUNWAY = {"X-Runway-Version": "2024-11-06"}
TASK = {"model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}


def creates(url: str, first: int, count: int) -> int:
    ok = 0
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(first, first + count):
            reply = http.post("/v1/image_to_video", json=TASK,
                              headers={**RUNWAY, "Authorization": f"Bearer key_churn{i:08d}"})
            ok += reply.status_code == 200
    return ok


def huge_header(port: int, i: int, size: int) -> int:
    """One request with a distinct ``size``-byte Authorization header over a raw socket; the status."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (f"GET /v1/videos/text2video HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Authorization: Bearer {i:06d}").encode()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + b"x" * size + b"\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=30_000)
    parser.add_argument("--headers", type=int, default=200)
    parser.add_argument("--header-kb", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(mockprovider(port, "--profile", "happy", "--time-scale", "0.001"), url + "/__mock/health") as proc:
        creates(url, 0, 200)  # warm up
        base = rss_kb(proc.pid) / 1024
        print(f"rss after warm-up: {base:.1f} MB")
        started = time.monotonic()
        per = args.keys // args.workers
        with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
            ok = sum(pool.map(lambda w: creates(url, 1000 + w * per, per), range(args.workers)))
        after_keys = rss_kb(proc.pid) / 1024
        stats = httpx.get(url + "/__mock/stats").json()
        print(f"{ok} creates with unique keys in {time.monotonic() - started:.1f} s: rss {after_keys:.1f} MB "
              f"({after_keys - base:+.1f}); jobs stored {stats['jobs']}")
        statuses: dict[int, int] = {}
        for i in range(args.headers):
            status = huge_header(port, i, args.header_kb * 1024)
            statuses[status] = statuses.get(status, 0) + 1
        for i in range(args.headers):  # under the head limit: reaches Kling's auth, which must not cache it
            status = huge_header(port, 10**5 + i, 48 * 1024)
            statuses[status] = statuses.get(status, 0) + 1
        after_headers = rss_kb(proc.pid) / 1024
        print(f"{2 * args.headers} distinct huge Authorization headers ({args.header_kb} KB and 48 KB): statuses "
              f"{dict(sorted(statuses.items()))}; rss {after_headers:.1f} MB ({after_headers - after_keys:+.1f})")
        creates(url, 10**7, 2000)  # a second wave: the sweep frees the first wave's keys
        final = rss_kb(proc.pid) / 1024
        print(f"after another 2000 unique-key creates: rss {final:.1f} MB ({final - base:+.1f} vs warm-up)")


if __name__ == "__main__":
    main()
