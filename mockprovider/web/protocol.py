"""uvicorn's HTTP protocol with two guards a shared sidecar needs against hostile or broken clients:

- a request head (request line and headers) larger than ``max_head`` bytes is answered 431 and the connection
  closed, before httptools has buffered more than that;
- a connection that has not sent a complete request head within ``head_timeout`` real seconds of opening (or
  of its first byte after a response) is closed: idle and slowloris connections cannot pin file descriptors.

Neither guard, nor uvicorn's keep-alive timeout (``timeout_keep_alive``), costs a request a timer: one sweep per
server (:class:`Sweep`) checks every connection's head start and idle start a few times a second.

Plus :func:`raise_fd_limit`, so thousands of load-test connections do not run into a soft limit of 1024.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_MAX_HEAD = 64 * 1024
DEFAULT_HEAD_TIMEOUT = 30.0
log = logging.getLogger("mockprovider")


class HeadTooLarge(Exception):
    pass


class GuardedHttpProtocol(HttpToolsProtocol):
    """The guards cost a request almost nothing: no timer per request (see :class:`Sweep`), and the exact size
    of a head is computed only when the bytes received since it began could exceed ``max_head``."""

    max_head: int = DEFAULT_MAX_HEAD
    head_timeout: float = DEFAULT_HEAD_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._head_since: float | None = self.loop.time()  # None: not in a request head
        self._idle_since: float | None = None  # set while kept alive between requests
        if self.head_timeout > 0 or self.timeout_keep_alive > 0:
            Sweep.watch(self)

    def _head_timed_out(self) -> None:
        self._head_since = None
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._head_since is None:
            cycle = self.cycle
            if cycle is None or cycle.response_complete:  # a new request begins on a kept-alive connection
                self._head_since = self.loop.time()
                self._head_bytes = 0
                self._idle_since = None
        if self._head_since is None:
            super().data_received(data)
            return
        self._head_bytes += len(data)
        super().data_received(data)
        if self._head_since is not None and self._head_bytes > self.max_head and not self.transport.is_closing():
            self._refuse_head()

    def on_response_complete(self) -> None:
        # uvicorn's own, with the keep-alive timer per request replaced by the time the connection fell idle,
        # which the sweep compares with timeout_keep_alive.
        if self.timeout_keep_alive <= 0:
            super().on_response_complete()
            return
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle_since = self.loop.time()

    def _kept_too_long(self) -> None:
        self._idle_since = None
        self.timeout_keep_alive_handler()

    def _refuse_head(self) -> None:
        self._head_since = None
        message = f"Request header fields are larger than {self.max_head} bytes".encode()
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; "
                             b"charset=utf-8\r\nconnection: close\r\ncontent-length: "
                             + str(len(message)).encode() + b"\r\n\r\n" + message)
        self.transport.close()

    def on_headers_complete(self) -> None:
        # Every byte since the head began was counted, so it is at most _head_bytes long; a head not counted from
        # its start (a pipelined request that began inside another's data) is measured.
        counted = self._head_since is not None
        self._head_since = None
        if not counted or self._head_bytes > self.max_head:
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.max_head:
                self._too_large = True
                raise HeadTooLarge()  # httptools stops parsing; uvicorn then calls send_400_response
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if getattr(self, "_too_large", False):
            self._refuse_head()
        else:
            super().send_400_response(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_since = self._idle_since = None
        super().connection_lost(exc)

    def shutdown(self) -> None:
        # Closing TLS waits for the peer's close_notify, which an idle keep-alive client never sends: the
        # server would sit out its whole graceful-shutdown timeout. An idle connection has nothing to lose.
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self.transport.get_extra_info("sslcontext") is not None:
            self.transport.abort()
            return
        super().shutdown()


class Sweep:
    """One timer per server instead of two per request: every ``interval`` (a tenth of the shorter of
    ``head_timeout`` and ``timeout_keep_alive``, at most a second) it closes the connections whose request head
    has taken longer than ``head_timeout`` and those idle between requests for longer than ``timeout_keep_alive``,
    so either is cut within one interval past its limit. It stops when the server has no connection left and
    starts again with the next one."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: set, interval: float) -> None:
        self.loop = loop
        self.connections = connections
        self.interval = interval
        self.handle: asyncio.TimerHandle | None = None

    @classmethod
    def watch(cls, protocol: GuardedHttpProtocol) -> None:
        state = protocol.server_state
        sweep = getattr(state, "mockprovider_sweep", None)
        if sweep is None or sweep.loop is not protocol.loop:
            limits = [t for t in (protocol.head_timeout, protocol.timeout_keep_alive) if t > 0]
            sweep = cls(protocol.loop, protocol.connections, min(1.0, *(t / 10 for t in limits)))
            state.mockprovider_sweep = sweep  # type: ignore[attr-defined]
        if sweep.handle is None:
            sweep.handle = sweep.loop.call_later(sweep.interval, sweep.run)

    def run(self) -> None:
        self.handle = None
        now = self.loop.time()
        for protocol in list(self.connections):
            since = getattr(protocol, "_head_since", None)
            if since is not None and protocol.head_timeout > 0 and now - since >= protocol.head_timeout:
                protocol._head_timed_out()
                continue
            idle = getattr(protocol, "_idle_since", None)
            if idle is not None and now - idle >= protocol.timeout_keep_alive:
                protocol._kept_too_long()
        if self.connections:
            self.handle = self.loop.call_later(self.interval, self.run)


def guarded_protocol(max_head: int = DEFAULT_MAX_HEAD, head_timeout: float = DEFAULT_HEAD_TIMEOUT) -> type:
    """The protocol class to give ``uvicorn.Config(http=...)``."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"max_head": max_head, "head_timeout": head_timeout})


def raise_fd_limit(wanted: int = 1 << 20) -> tuple[int, int] | None:
    """Raise the soft limit on open files toward the hard limit (never above ``wanted``); the (old, new) soft
    limits, or None where the platform has no such limit."""
    try:
        import resource
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %s to %s: %s", soft, target, exc)
            return soft, soft
        return soft, target
    return soft, soft


def uvicorn_kwargs(settings: Any) -> dict[str, Any]:
    """The guards' part of a ``uvicorn.Config`` for ``settings`` (max_head, head_timeout)."""
    return {"http": guarded_protocol(settings.max_head, settings.head_timeout), "h11_max_incomplete_event_size":
            settings.max_head}
