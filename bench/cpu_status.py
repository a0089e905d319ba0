"""CPU time per status poll, per provider and for the bare Starlette endpoint, through the whole server stack
(uvicorn's protocol and parser, the ASGI app, the response written out) but without sockets or wrk: each
request's bytes are fed to a protocol instance on an in-memory transport, on the server's own event loop,
and the loop thread's CPU time (``time.thread_time``) is divided by the requests served. A shared, loaded
machine disturbs this far less than wall-clock req/s, so a change's gain shows even when wrk's figures swing.

The providers and their polls are those of ``bench_status.py`` (same setup, over real HTTP first); mockprovider
runs with the uvicorn config ``mockprovider serve`` uses (its guarded protocol, uvloop, GC thresholds), the bare
app with the same config and uvicorn's stock httptools protocol. Batches alternate between targets; each figure is
the best round (other work on the machine only ever adds to a round's CPU time), with the median beside it.

    python bench/cpu_status.py [--rounds 15] [--batch 1000] [--providers runway,kling]

The socket's own cost (a read and a write system call per request, about the same for every server) is left
out, so these ratios are lower than wrk's: they measure the Python work alone.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import uvicorn
from baseline_app import app as baseline_app
from bench_status import ALL, BASELINE_HEADERS, Target, setup
from common import free_port, scratch_dir, wait_ready
from uvicorn.server import ServerState

from mockprovider.app import create_app
from mockprovider.context import Settings
from mockprovider.serving import servers


class MemoryTransport(asyncio.Transport):
    """What a protocol needs of a socket transport; keeps what was last written to check the status."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.extra = {"sockname": ("127.0.0.1", port), "peername": ("127.0.0.1", 50_000)}
        self.first = b""
        self.closing = False

    def get_extra_info(self, name, default=None):
        return self.extra.get(name, default)

    def write(self, data) -> None:
        if not self.first:
            self.first = bytes(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def raw_request(target: Target, host: str) -> bytes:
    parts = urlsplit(target.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    method, body = "GET", b""
    headers = {"Host": host, **target.headers}
    if target.script is not None:  # bench_status's Lua script: a POST with a JSON body
        text = Path(target.script).read_text()
        method = "POST"
        literal = text.split("wrk.body = ", 1)[1].split("\n", 1)[0]
        body = literal[1:-1].replace('\\"', '"').replace("\\\\", "\\").encode()
        headers.update({"Content-Type": "application/json", "Content-Length": str(len(body))})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


class Connection:
    """One kept-alive connection into ``config``'s protocol class."""

    def __init__(self, config: uvicorn.Config, port: int, loop: asyncio.AbstractEventLoop) -> None:
        self.state = ServerState()
        self.transport = MemoryTransport(port)
        self.protocol = config.http_protocol_class(config=config, server_state=self.state, app_state={},
                                                   _loop=loop)
        self.protocol.connection_made(self.transport)

    async def serve(self, raw: bytes, n: int) -> float:
        """CPU seconds of this thread per request over ``n`` requests."""
        state, feed = self.state, self.protocol.data_received
        started = time.thread_time()
        for _ in range(n):
            done = state.total_requests + 1
            feed(raw)
            while state.total_requests < done:
                await asyncio.sleep(0)
        return (time.thread_time() - started) / n

    async def check(self, raw: bytes) -> None:
        self.transport.first = b""
        await self.serve(raw, 1)
        if not self.transport.first.startswith(b"HTTP/1.1 2"):
            raise RuntimeError(f"answered {self.transport.first[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--providers", default=",".join(ALL), help=f"comma-separated, of: {', '.join(ALL)}")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one batch per target")
    args = parser.parse_args()
    names = [n.strip() for n in args.providers.split(",") if n.strip()]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(profile="happy", port=port)
    main_server, _ = servers(create_app(settings), settings, None, log_level="warning", access_log=False,
                             timeout_keep_alive=75, backlog=4096, loop="uvloop")
    mock_config = main_server.config
    base_config = uvicorn.Config(baseline_app, http="httptools", loop="uvloop", log_level="warning",
                                 access_log=False, timeout_keep_alive=75, proxy_headers=mock_config.proxy_headers)
    base_config.load()
    loop_box: list[asyncio.AbstractEventLoop] = []

    async def capture_loop() -> None:
        loop_box.append(asyncio.get_running_loop())

    main_server.config.app.startup_hooks.append(capture_loop)
    results: dict[str, list[float]] = {}
    baseline_of: dict[str, str] = {}
    work = scratch_dir()

    def drive() -> None:
        try:
            wait_ready(f"{url}/__mock/health")
            httpx.put(f"{url}/__mock/profile", json={"profile": {"jobs": {"queue": "0s", "run": "1h"}}})
            targets = [setup(name, url, work) for name in names]
            loop = loop_box[0]
            host = f"127.0.0.1:{port}"
            plan = [(t.name, mock_config, raw_request(t, host)) for t in targets]
            baseline_of.update({t.name: t.baseline for t in targets})
            gets = [t for t in targets if t.script is None]
            posts = [t for t in targets if t.script is not None]
            if gets:
                plan.append(("bare Starlette JSON GET", base_config,
                             raw_request(Target("", f"{url}/v1/tasks/x", BASELINE_HEADERS), host)))
            if posts:
                body = Target("", f"{url}/v1/fetch", BASELINE_HEADERS, posts[0].script)
                plan.append(("bare Starlette JSON POST", base_config, raw_request(body, host)))

            async def measure() -> None:
                connections = {name: Connection(config, port, loop) for name, config, _ in plan}
                for name, _, raw in plan:
                    await connections[name].check(raw)
                    await connections[name].serve(raw, args.batch // 4)  # warm up
                for _ in range(args.rounds):
                    for name, _, raw in plan:
                        results.setdefault(name, []).append(await connections[name].serve(raw, args.batch))
                if args.profile:
                    for name, _, raw in plan:
                        profiler = cProfile.Profile()
                        profiler.enable()
                        await connections[name].serve(raw, args.batch)
                        profiler.disable()
                        out = io.StringIO()
                        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(40)
                        print(f"== {name}: {args.batch} requests\n" + out.getvalue().split("\n", 4)[-1])

            asyncio.run_coroutine_threadsafe(measure(), loop).result()
        finally:
            main_server.should_exit = True

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    gc.set_threshold(700, 10, 1000)  # as `mockprovider serve` sets it
    main_server.run()
    thread.join()
    if not results:
        raise SystemExit("nothing was measured")

    def us(name: str) -> float:
        return statistics.median(results[name]) * 1e6

    def best(name: str) -> float:
        return min(results[name]) * 1e6

    for name in ("bare Starlette JSON GET", "bare Starlette JSON POST"):
        if name in results:
            print(f"{name:<26} {best(name):7.1f} us CPU/request  (median {us(name):6.1f})")
    worst = None
    for name in names:
        if name not in results:
            continue
        base = f"bare Starlette JSON {baseline_of[name].upper()}"
        ratio = best(base) / best(name)
        worst = ratio if worst is None else min(worst, ratio)
        print(f"{name:<26} {best(name):7.1f} us CPU/request  (median {us(name):6.1f})  ratio {ratio:5.2f} "
              f"(medians {us(base) / us(name):4.2f}) vs {baseline_of[name].upper()}")
    print(f"worst ratio                {worst:7.2f}   (bare's CPU per request / ours, best rounds; sockets left out)")


if __name__ == "__main__":
    main()
