"""Connection-level guards over real sockets: oversized request heads get 431 and a closed connection, and
connections that never finish a request head (idle, slowloris) are closed after --head-timeout."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from mockprovider.testing import MockServer


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, head_timeout=0.5, max_head=16 * 1024) as s:
        yield s


def _connect(server) -> socket.socket:
    sock = socket.create_connection((server.settings.host, server.settings.port), timeout=5)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        out += chunk
    return out


def test_an_oversized_header_is_431_and_closed(server):
    with _connect(server) as sock:
        head = b"GET /__mock/health HTTP/1.1\r\nHost: x\r\nX-Big: "
        sock.sendall(head)
        try:
            for _ in range(200):  # up to 10 MB, as a hostile client would
                sock.sendall(b"a" * 50_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_a_long_url_is_refused_too(server):
    with _connect(server) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"GET /v1/tasks/" + b"a" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_headers_under_the_limit_are_served(server):
    with _connect(server) as sock:
        sock.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\nX-Fine: " + b"a" * 12_000 + b"\r\n"
                     b"Connection: close\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_idle_and_slowloris_connections_are_closed(server):
    idle = [_connect(server) for _ in range(20)]
    slow = [_connect(server) for _ in range(20)]
    started = time.monotonic()
    for sock in slow:
        sock.sendall(b"GET /__mock/health HTTP/1.1\r\n")
    for _ in range(3):
        time.sleep(0.2)
        for sock in slow:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"X-a: b\r\n")  # a header line now and then, never the end of the head
    for sock in idle + slow:
        sock.settimeout(5)
        assert _read_all(sock) == b"", "the server answered a request that never ended its head"
        sock.close()
    assert time.monotonic() - started < 5
    # and a kept-alive connection that finished a request is not cut while it is in use
    with _connect(server) as sock:
        for _ in range(3):
            sock.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def keep_alive_server():
    """A bare app behind the guarded protocol with a short keep-alive, which the per-server sweep enforces."""
    import threading

    import uvicorn

    from mockprovider.testing import free_port
    from mockprovider.web.protocol import guarded_protocol

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=guarded_protocol(head_timeout=5),
                                           timeout_keep_alive=0.4, lifespan="off", log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(10)


def test_keep_alive_timeout_closes_idle_connections_only(keep_alive_server):
    with socket.create_connection(("127.0.0.1", keep_alive_server), timeout=5) as busy, \
            socket.create_connection(("127.0.0.1", keep_alive_server), timeout=5) as idle:
        for sock in (busy, idle):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        fell_idle = time.monotonic()
        for _ in range(8):  # 0.8 s of requests 0.1 s apart: never idle for the 0.4 s keep-alive
            time.sleep(0.1)
            busy.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert busy.recv(65536).startswith(b"HTTP/1.1 200 ")
        idle.settimeout(3)
        assert idle.recv(65536) == b""  # the server closed it (a timeout here raises and fails the test)
        assert 0.4 <= time.monotonic() - fell_idle < 3
