"""A small HTTP/1.1 server for the control API (keep-alive, Content-Length or chunked bodies).

It exists so that the API can match Toxiproxy byte for byte (405 with no body, Go's 404 text,
``text/plain`` JSON errors) and run inside any event loop without a second server framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("mockprovider.proxy.api")

MAX_BODY = 16 * 1024 * 1024
MAX_HEAD = 1 << 20  # Go's http.DefaultMaxHeaderBytes: Toxiproxy takes names and paths that long
IDLE_TIMEOUT = 60.0
READ_TIMEOUT = 15.0


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response]]

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 411: "Length Required",
            431: "Request Header Fields Too Large",
            413: "Request Entity Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


def _encode(resp: Response, keep_alive: bool, head: bool = False) -> bytes:
    """The response's bytes; to a HEAD request, the headers alone (a body would be read as the start of the
    next response by a keep-alive client)."""
    lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in resp.headers]
    if resp.status != 204:
        lines.append(f"Content-Length: {len(resp.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else resp.body)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY:
                raise ValueError("body too large")
            body += await reader.readexactly(size + 2)
            del body[-2:]
    length = int(headers.get("content-length", "0") or 0)
    if length < 0 or length > MAX_BODY:
        raise ValueError("bad content-length")
    return await reader.readexactly(length) if length else b""


async def _serve(handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
            except asyncio.LimitOverrunError:
                writer.write(_encode(Response(431, b"431 Request Header Fields Too Large"), False))
                await writer.drain()
                return
            except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                return
            try:
                lines = head[:-4].decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await asyncio.wait_for(_read_body(reader, headers), READ_TIMEOUT)
            except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                writer.write(_encode(Response(400, b"400 Bad Request"), False))
                await writer.drain()
                return
            path, _, query = target.partition("?")
            conn = headers.get("connection", "").lower()
            keep_alive = "close" not in conn and (version == "HTTP/1.1" or "keep-alive" in conn)
            try:
                resp = await handler(Request(method, path, query, headers, body))
            except Exception:
                log.exception("API handler failed")
                resp = Response(500, b'{"error":"internal error","status":500}\n',
                                [("Content-Type", "text/plain; charset=utf-8")])
            writer.write(_encode(resp, keep_alive, head=method == "HEAD"))
            await writer.drain()
            if not keep_alive:
                return
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class ApiServer:
    """The listening server plus its open client connections, so that ``close`` ends them all."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await _serve(self.handler, reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            self.tasks.discard(task)

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._client, host, port, limit=MAX_HEAD, reuse_address=True)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        tasks = list(self.tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
