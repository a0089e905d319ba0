"""web/body.read_body reads the ASGI messages itself: one message, several, a body over the bound without a
Content-Length, a client that disconnects, and a second read of the same request."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import ClientDisconnect

from mockprovider.web.body import BodyError, read_body, read_json
from mockprovider.web.request import ProviderRequest


def request_of(messages: list[dict], headers: list[tuple[bytes, bytes]] | None = None) -> ProviderRequest:
    queue = list(messages)

    async def receive() -> dict:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or [], "query_string": b""}
    return ProviderRequest(scope, receive)


def body(data: bytes, more: bool = False) -> dict:
    return {"type": "http.request", "body": data, "more_body": more}


def run(coroutine):
    return asyncio.run(coroutine)


def test_one_message_several_and_an_empty_one() -> None:
    assert run(read_body(request_of([body(b'{"a": 1}')]))) == b'{"a": 1}'
    assert run(read_body(request_of([body(b"ab", True), body(b"", True), body(b"cd", True), body(b"e")]))) == b"abcde"
    assert run(read_body(request_of([body(b"")]))) == b""
    assert run(read_json(request_of([body(b'{"a"', True), body(b": [1]}")]))) == {"a": [1]}


def test_the_bound_holds_with_and_without_a_content_length() -> None:
    with pytest.raises(BodyError) as declared:
        run(read_body(request_of([body(b"x" * 10)], [(b"content-length", b"10")]), limit=9))
    assert declared.value.status == 413
    with pytest.raises(BodyError) as streamed:
        run(read_body(request_of([body(b"x" * 6, True), body(b"x" * 6)]), limit=10))
    assert streamed.value.status == 413
    with pytest.raises(BodyError) as odd:
        run(read_body(request_of([body(b"")], [(b"content-length", b"ten")])))
    assert odd.value.status == 400


def test_a_client_that_leaves_midway_and_a_second_read() -> None:
    with pytest.raises(ClientDisconnect):
        run(read_body(request_of([body(b"ab", True)])))
    request = request_of([body(b"ab", True), body(b"c")])

    async def twice() -> tuple[bytes, bytes, bytes]:
        return await read_body(request), await read_body(request), await request.body()

    assert run(twice()) == (b"abc", b"abc", b"abc")
    with pytest.raises(BodyError):
        run(read_body(request, limit=2))  # what was read is bounded again
