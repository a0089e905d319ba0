"""``mockprovider proxy`` / ``python -m mockprovider.proxy``: the chaos proxy alone.

Flags follow ``toxiproxy-server`` (``-host``, ``-port``, ``-config``, ``-seed`` also work).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import time

from .api import VERSION
from .app import ChaosProxy


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mockprovider proxy", description="Toxiproxy-compatible chaos proxy")
    p.add_argument("--host", "-host", default="127.0.0.1", help="API bind host (default 127.0.0.1)")
    p.add_argument("--port", "-port", type=int, default=8474, help="API port (default 8474)")
    p.add_argument("--config", "-config", default=None, help="JSON file of proxies, as for /populate")
    p.add_argument("--seed", "-seed", type=int, default=None, help="seed for every random draw (default: time)")
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info"), help="debug, info, warning...")
    p.add_argument("--version", "-version", action="store_true", help="print the version and exit")
    return p


async def serve(host: str, port: int, config: str | None, seed: int) -> None:
    proxy = ChaosProxy(seed=seed, config=config)
    await proxy.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await proxy.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.version:
        print(f"mockprovider chaos proxy (toxiproxy-server API {VERSION})")
        return 0
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    seed = args.seed if args.seed is not None else time.time_ns()
    logging.getLogger("mockprovider.proxy").info("seed %d", seed)
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(serve(args.host, args.port, args.config, seed))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"mockprovider proxy: {exc}")
        return 1
    return 0
