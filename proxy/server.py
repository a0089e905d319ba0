"""A proxy: its listener, its accepted connections, and its toxics per direction."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import struct
from typing import TYPE_CHECKING, Any

from ..engine.rng import stream
from . import network
from .links import Link, StageSpec, toxic_spec
from .metrics import Metrics
from .toxics import DOWNSTREAM, UPSTREAM, Toxic

if TYPE_CHECKING:
    from .http_faults import HttpRules

log = logging.getLogger("mockprovider.proxy")


class Connection:
    def __init__(self, proxy: Proxy, cid: int, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.id = cid
        self.client = client
        self.upstream = upstream
        self.closed = False
        self.http_state: Any = None
        seed = proxy.seed
        self.links = {
            UPSTREAM: Link(
                self, UPSTREAM, client, upstream, stream(seed, "link", proxy.name, cid, UPSTREAM),
                proxy.metrics.counter(proxy, UPSTREAM),
            ),
            DOWNSTREAM: Link(
                self, DOWNSTREAM, upstream, client, stream(seed, "link", proxy.name, cid, DOWNSTREAM),
                proxy.metrics.counter(proxy, DOWNSTREAM),
            ),
        }

    def start(self) -> None:
        if self.proxy.http is not None:
            from .http_faults import attach

            attach(self, self.proxy.http)
        for direction, link in self.links.items():
            link.start(self.proxy.specs(self, direction), fast_ok=self.proxy.http is None)

    async def rewire(self, direction: str) -> None:
        await self.links[direction].rewire(self.proxy.specs(self, direction))

    async def shutdown(self, reset: bool = False) -> None:
        """Close both sockets (RST if ``reset``), stopping every task of this connection."""
        if self.closed:
            return
        self.closed = True
        self.proxy.connections.discard(self)
        me = asyncio.current_task()
        tasks = [t for link in self.links.values() for t in link.tasks() if t is not me and not t.done()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
        for link in self.links.values():
            link.close()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()


class Proxy:
    def __init__(
        self, name: str, listen: str, upstream: str, metrics: Metrics, seed: int = 0,
        http: HttpRules | None = None,
    ) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, list[Toxic]] = {UPSTREAM: [], DOWNSTREAM: []}
        self.http = http
        self.metrics = metrics
        self.seed = seed
        self.connections: set[Connection] = set()
        self._sock: socket.socket | None = None
        self._accept: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._ids = itertools.count()

    # --------------------------------------------------------------- JSON
    def all_toxics(self) -> list[Toxic]:
        return self.toxics[UPSTREAM] + self.toxics[DOWNSTREAM]

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "Logger": {},
            "toxics": [t.to_json() for t in self.all_toxics()],
        }
        if self.http is not None:
            body["http"] = self.http.to_json()
        return body

    def specs(self, conn: Connection, direction: str) -> list[StageSpec]:
        specs = [toxic_spec(t) for t in self.toxics[direction]]
        if conn.http_state is not None:
            from .http_faults import edge_specs

            before, after = edge_specs(conn, direction)
            specs = before + specs + after
        return specs

    # --------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Listen (the stored address becomes the real one) and accept; ApiError 500 if it cannot."""
        if self.enabled:
            return
        sock, real = await network.listen(self.listen)
        self._sock = sock
        self.listen = real
        self.enabled = True
        self._accept = asyncio.ensure_future(self._accept_loop(sock))

    async def stop(self) -> None:
        """Close the listener and every connection (FIN)."""
        self.enabled = False
        sock, self._sock = self._sock, None
        task, self._accept = self._accept, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if sock is not None:
            sock.close()
        for t in list(self._pending):
            t.cancel()
        await asyncio.gather(*(c.shutdown() for c in list(self.connections)), return_exceptions=True)

    async def _accept_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(sock)
            except OSError as exc:
                log.warning("proxy %s: accept failed: %s", self.name, exc)
                await asyncio.sleep(0.05)
                continue
            client.setblocking(False)
            with contextlib.suppress(OSError):
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = asyncio.ensure_future(self._open(client, next(self._ids)))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _open(self, client: socket.socket, cid: int) -> None:
        try:
            upstream = await network.dial(self.upstream)
        except (OSError, ValueError) as exc:
            log.info("proxy %s: upstream %s unreachable: %s", self.name, self.upstream, exc)
            client.close()
            return
        except asyncio.CancelledError:
            client.close()
            raise
        if not self.enabled:
            client.close()
            upstream.close()
            return
        conn = Connection(self, cid, client, upstream)
        self.connections.add(conn)
        conn.start()

    # ------------------------------------------------------------ toxics
    async def toxics_changed(self, direction: str) -> None:
        await asyncio.gather(*(c.rewire(direction) for c in list(self.connections)), return_exceptions=True)
