"""Turning a drawn request fault into what the client sees."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..engine.behaviour import FaultRule
from .transport import close_connection, reset_connection


class ResetResponse(Response):
    """No answer at all: the connection is reset (RST)."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not reset_connection(scope, send):
            raise ConnectionResetError("mockprovider: injected connection reset")


class TruncatedResponse(Response):
    """Headers promise the whole body; half of it is sent and the connection is closed."""

    def __init__(self, inner: Response) -> None:
        super().__init__(status_code=inner.status_code)
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.inner.body
        await send({"type": "http.response.start", "status": self.inner.status_code,
                    "headers": self.inner.raw_headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        if not close_connection(scope, send):
            raise ConnectionAbortedError("mockprovider: injected truncated response")


def malformed_response() -> Response:
    return Response(b'{"id": "mock\x00", "status": [unterminated', status_code=200,
                    media_type="application/json")


async def hold(request: Request, seconds: float) -> bool:
    """Hold the request for ``seconds`` of real time, or until the client goes away (then True)."""
    receive = request.receive

    async def until_disconnect() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    try:
        await asyncio.wait_for(until_disconnect(), timeout=seconds)
    except asyncio.TimeoutError:
        return False
    return True


def describe(rule: FaultRule) -> str:
    return rule.message or {
        "error": "Injected error (mockprovider fault)",
        "hang": "Injected timeout (mockprovider fault)",
    }.get(rule.kind, "Injected fault (mockprovider)")
