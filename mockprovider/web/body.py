"""Reading request bodies with a size bound, before anything is parsed."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

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
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyError(413, f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int = DEFAULT_MAX_BODY) -> Any:
    raw = await read_body(request, limit)
    if not raw.strip():
        raise BodyError(400, "Request body is empty; expected JSON")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"Request body is not valid JSON: {exc}") from None
