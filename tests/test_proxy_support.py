"""Shared helpers for the chaos proxy tests (no tests here): the proxy running in a background
event loop, small blocking TCP servers, and API helpers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from mockprovider.proxy.app import ChaosProxy


class Running:
    """A ChaosProxy served from its own thread and loop (uvloop unless PROXY_TEST_LOOP=asyncio)."""

    def __init__(self, seed: int = 1234) -> None:
        self.seed = seed
        self.loop: asyncio.AbstractEventLoop | None = None
        self.proxy: ChaosProxy | None = None
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.proxy = ChaosProxy(seed=self.seed)
            self.port = await self.proxy.start("127.0.0.1", 0)
            self._ready.set()
            await self._stop.wait()
            await self.proxy.stop()

        if os.environ.get("PROXY_TEST_LOOP") == "asyncio":
            asyncio.run(main())
        else:
            import uvloop

            uvloop.run(main())

    def start(self) -> Running:
        self.thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        assert self.loop is not None and self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)

    def run(self, coro: Any, timeout: float = 10) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
            headers: dict[str, str] | None = None) -> requests.Response:
        kwargs: dict[str, Any] = {"headers": headers or {}, "timeout": 10}
        if raw is not None:
            kwargs["data"] = raw
        elif body is not None:
            kwargs["json"] = body
        return requests.request(method, self.url + path, **kwargs)

    def clear(self) -> None:
        for name in self.api("GET", "/proxies").json():
            self.api("DELETE", f"/proxies/{name}")

    def make(self, name: str, upstream: str, **extra: Any) -> tuple[str, int]:
        r = self.api("POST", "/proxies", {"name": name, "upstream": upstream, "listen": "127.0.0.1:0", **extra})
        assert r.status_code == 201, r.text
        host, port = r.json()["listen"].rsplit(":", 1)
        return host, int(port)

    def toxic(self, proxy: str, **body: Any) -> dict[str, Any]:
        r = self.api("POST", f"/proxies/{proxy}/toxics", body)
        assert r.status_code == 200, r.text
        return r.json()


class TcpServer:
    """A blocking TCP server on 127.0.0.1; ``handler(conn)`` runs in a thread per connection."""

    def __init__(self, handler: Callable[[socket.socket], None], backlog: int = 1024) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.conns: list[socket.socket] = []
        self.accepted = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.handler(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.close()


def echo(conn: socket.socket) -> None:
    while True:
        data = conn.recv(65536)
        if not data:
            conn.close()
            return
        conn.sendall(data)


def connect(host: str, port: int, timeout: float = 5) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            break
        buf += part
    return bytes(buf)


def recv_all(s: socket.socket) -> bytes:
    buf = bytearray()
    while True:
        part = s.recv(65536)
        if not part:
            return bytes(buf)
        buf += part


def round_trip(s: socket.socket, payload: bytes = b"ping") -> float:
    t0 = time.perf_counter()
    s.sendall(payload)
    got = recv_exact(s, len(payload))
    assert got == payload
    return time.perf_counter() - t0


@contextlib.contextmanager
def running(seed: int = 1234) -> Iterator[Running]:
    r = Running(seed).start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def chaos() -> Iterator[Running]:
    """One chaos proxy per test module (a module may override this with its own seed)."""
    with running() as r:
        yield r


@pytest.fixture
def tp(chaos: Running) -> Iterator[Running]:
    chaos.clear()
    yield chaos
    chaos.clear()


@pytest.fixture(scope="module")
def echo_server() -> Iterator[TcpServer]:
    server = TcpServer(echo)
    yield server
    server.close()
