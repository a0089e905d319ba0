"""HTTP-aware proxies: per-request faults over keep-alive, matching, latency, reset mid-response."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_proxy_support import Running, running


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        out = b"upstream:" + self.command.encode() + b":" + self.path.encode() + b":" + body
        if self.path.startswith("/big"):
            out = b"x" * 100_000
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_HEAD = _reply

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream():
    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # the reset test cuts connections on purpose

    server = Quiet(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def chaos():
    with running(seed=42) as r:
        yield r


def statuses(host: str, port: int, n: int, path: str = "/v1/tasks", method: str = "GET") -> list[int]:
    conn = http.client.HTTPConnection(host, port, timeout=5)
    out = []
    sock = None
    for _ in range(n):
        conn.request(method, path)
        resp = conn.getresponse()
        resp.read()
        out.append(resp.status)
        sock = sock or conn.sock
        assert conn.sock is sock  # one keep-alive connection throughout
    conn.close()
    return out


def test_fraction_of_requests_get_injected_status_reproducibly(tp: Running, upstream: str) -> None:
    rules = [{"name": "busy", "probability": 0.3, "status": 503, "body": '{"error":"busy"}'}]
    host, port = tp.make("api", upstream, http={"rules": rules})
    assert tp.api("GET", "/proxies/api").json()["http"]["rules"][0]["status"] == 503
    first = statuses(host, port, 200)
    share = first.count(503) / len(first)
    assert 0.2 <= share <= 0.4, share
    assert set(first) == {200, 503}
    tp.api("DELETE", "/proxies/api")
    host, port = tp.make("api", upstream, http={"rules": rules})
    assert statuses(host, port, 200) == first  # same seed: same draws


def test_injected_response_is_complete_and_upstream_stays_in_sync(tp: Running, upstream: str) -> None:
    rules = [{"method": "POST", "path_prefix": "/v1/", "status": 429, "body": "slow down",
              "headers": {"Retry-After": "1"}, "content_type": "text/plain"}]
    host, port = tp.make("api", upstream, http=rules)
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("POST", "/v1/jobs", body=b"payload")
    resp = conn.getresponse()
    assert (resp.status, resp.read(), resp.getheader("Retry-After")) == (429, b"slow down", "1")
    conn.request("GET", "/v1/jobs")  # method does not match: forwarded
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read() == b"upstream:GET:/v1/jobs:"
    conn.request("POST", "/other", body=b"abc")  # path does not match: forwarded
    assert conn.getresponse().read() == b"upstream:POST:/other:abc"
    conn.request("HEAD", "/x")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read() == b""
    conn.request("GET", "/chunked")
    assert conn.getresponse().read() == b"hello chunked world"
    conn.request("GET", "/big")
    assert conn.getresponse().read() == b"x" * 100_000
    conn.close()


def test_per_request_latency(tp: Running, upstream: str) -> None:
    host, port = tp.make("api", upstream, http=[{"path_prefix": "/slow", "latency": "80ms"}])
    conn = http.client.HTTPConnection(host, port, timeout=5)
    for path, low, high in [("/fast", 0, 0.04), ("/slow", 0.075, 0.15), ("/fast", 0, 0.04)]:
        start = time.perf_counter()
        conn.request("GET", path)
        conn.getresponse().read()
        assert low <= time.perf_counter() - start <= high, path
    conn.close()


def test_reset_mid_response(tp: Running, upstream: str) -> None:
    host, port = tp.make("api", upstream, http=[{"path_prefix": "/big", "reset_after_bytes": 1000}])
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("GET", "/small")
    assert conn.getresponse().read().startswith(b"upstream:")
    conn.request("GET", "/big")
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        resp.read()
    conn.close()


def test_toxics_apply_on_http_proxies_too(tp: Running, upstream: str) -> None:
    host, port = tp.make("api", upstream, http=True)
    tp.toxic("api", type="latency", attributes={"latency": 60})
    conn = http.client.HTTPConnection(host, port, timeout=5)
    start = time.perf_counter()
    conn.request("GET", "/x")
    assert conn.getresponse().read() == b"upstream:GET:/x:"
    assert time.perf_counter() - start >= 0.055
    conn.close()


def test_bad_http_rules_are_400(tp: Running, upstream: str) -> None:
    for rules in ([{"probability": 2, "status": 500}], [{"status": 999}], [{"latency": "soon"}],
                  [{"status": 500, "latency": "1ms"}], [{"status": 500, "colour": "red"}]):
        r = tp.api("POST", "/proxies", {"name": "bad", "upstream": upstream, "http": rules})
        assert r.status_code == 400 and r.json()["error"].startswith("invalid http section: http.rules.0")
