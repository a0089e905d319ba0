"""Serve ``baseline_app`` the way ``mockprovider serve`` serves the mock, so bench_status compares the apps and
nothing else: uvloop, httptools (uvicorn's stock protocol, without mockprovider's guards), the same keep-alive,
backlog, proxy-headers setting and garbage-collector thresholds.

    python bench/serve_baseline.py PORT [--proxy-headers]
"""

from __future__ import annotations

import argparse
import gc

import uvicorn
from baseline_app import app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--proxy-headers", action="store_true")
    args = parser.parse_args()
    gc.set_threshold(700, 10, 1000)
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False, timeout_keep_alive=75, backlog=4096, proxy_headers=args.proxy_headers)


if __name__ == "__main__":
    main()
