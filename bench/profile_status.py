"""Where a status poll's time goes: the app served by uvicorn (uvloop) in this process under cProfile while wrk
polls one provider's status endpoint, then the top functions by own time and by cumulative time.

    python bench/profile_status.py kling [--seconds 5] [--connections 64] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import threading
import time

import httpx
import uvicorn
from bench_status import ALL, setup
from common import free_port, scratch_dir, wait_ready, wrk

from mockprovider.app import create_app
from mockprovider.context import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("provider", choices=ALL)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(profile="happy", port=port)), port=port,
                                           loop="uvloop", log_level="warning", access_log=False))
    result: dict[str, float] = {}

    def drive() -> None:
        wait_ready(f"{url}/__mock/health")
        httpx.put(f"{url}/__mock/profile", json={"profile": {"jobs": {"queue": "0s", "run": "1h"}}})
        target = setup(args.provider, url, scratch_dir())
        wrk(target.url, 1, args.connections, target.headers, script=target.script)
        result["rate"] = wrk(target.url, args.seconds, args.connections, target.headers, script=target.script)
        server.should_exit = True

    threading.Thread(target=drive, daemon=True).start()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(server.run)
    print(f"{args.provider}: {result.get('rate', 0):.0f} req/s under cProfile "
          f"({time.perf_counter() - started:.1f} s served)")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
        print(out.getvalue().split("\n", 4)[-1] if order == "tottime" else out.getvalue())


if __name__ == "__main__":
    main()
