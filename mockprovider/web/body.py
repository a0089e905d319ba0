"""Reading request bodies with a size bound, before anything is parsed."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

DEFAULT_MAX_BODY = 8 * 2**20


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, limit: int = DEFAULT_MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BodyError(400, "Content-Length is not a number") from None
        if size > limit:
            raise BodyError(413, f"Request body is larger than {limit} bytes")
    if hasattr(request, "_body") or request._stream_consumed:
        chunks = [chunk async for chunk in request.stream()]  # read before: Starlette's answer (or its error)
        return _bounded(b"".join(chunks), limit)
    # The ASGI messages read directly, as Starlette's stream() reads them, without its async generator (a
    # body mostly comes in one message: a poll's JSON, a create)
    chunks = []
    total = 0
    receive = request.receive
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                raise BodyError(413, f"Request body is larger than {limit} bytes")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        elif kind == "http.disconnect":
            request._is_disconnected = True
            raise ClientDisconnect()
    request._stream_consumed = True
    body = request._body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return body


def _bounded(body: bytes, limit: int) -> bytes:
    if len(body) > limit:
        raise BodyError(413, f"Request body is larger than {limit} bytes")
    return body


async def read_json(request: Request, limit: int = DEFAULT_MAX_BODY) -> Any:
    raw = await read_body(request, limit)
    if not raw.strip():
        raise BodyError(400, "Request body is empty; expected JSON")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"Request body is not valid JSON: {exc}") from None
