"""Shared fuzz machinery for every dialect's and API's hostile-input tests.

Strategies (hypothesis) for what a hostile or careless client sends, and a :class:`Fuzzer` that fires them at a
served server over a real socket with a hand-written HTTP/1.1 client (so paths, headers and bodies reach the
server byte for byte, not as a client library would clean them up), then checks what matters: no 5xx the
profile did not inject, no traceback in the server's log, the server still healthy and its state intact.

A per-dialect fuzz test is a few lines::

    from fuzzing import Fuzzer, mutated_bodies, FUZZ_SETTINGS

    @pytest.fixture(scope="module")
    def fuzzer():
        with MockServer(profile="happy", time_scale=0.01) as server, Fuzzer(server) as f:
            yield f

    @FUZZ_SETTINGS
    @given(body=mutated_bodies({"model": "m", "prompt": "a cat"}))
    def test_create_never_500(fuzzer, body):
        fuzzer.expect_clean(fuzzer.request("POST", "/v1/create", {"Authorization": "Bearer k"}, body))

Bodies are bytes: :func:`encode` writes JSON that Python's own encoders refuse to (``NaN``, ``Infinity``,
``1e400``, 5000-digit integers, lone surrogates, 10,000-deep nesting) through :class:`Raw` pieces.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Lean by default (the whole suite has a time budget); MOCKPROVIDER_FUZZ_EXAMPLES raises it for a long hunt.
EXAMPLES = int(os.environ.get("MOCKPROVIDER_FUZZ_EXAMPLES", "50"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.filter_too_much])


# -- JSON that Python will not write ------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A piece of JSON text written as it is (``NaN``, ``1e400``, ``"\\ud800"``, deep nesting...)."""

    text: str


def encode(value: Any) -> bytes:
    """JSON bytes for ``value``, where :class:`Raw` pieces go in verbatim."""
    return _encode(value).encode("utf-8", "surrogatepass")


def _encode(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # ASCII with \\u escapes: lone surrogates stay escapes, not bytes
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return json.dumps(value)


# -- scalars ------------------------------------------------------------------------------------------------

ODD_NUMBERS = [Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e400"), Raw("-1e400"), Raw("9" * 5000),
               Raw("-" + "9" * 5000), Raw("1" + "0" * 30), Raw("0." + "0" * 400 + "1"), Raw("1e-400"), Raw("-0"),
               Raw("4.9e-324"), Raw("1.7976931348623157e308"), 2**31, 2**31 - 1, -(2**31), 2**53 + 1, 2**63,
               2**64, -(2**63) - 1, 10**18, 0, -1, 1, 0.5, -0.5, 1e300, -1e300]
ODD_STRINGS = ["", " ", "\t\n", "\x00", "null", "true", "0", "-1", "5", "10",
               "\u00b2", "\u0663", "\u0661\u0660", "\u216b", "5.0", "1e3", "0x10", "+5", " 5 ", "5s",
               "∞", "NaN", "inf", "-inf", "💥", "é" * 3, "a" * 5000, "x" * 70000,
               "https://[x", "http://[::1", "https://", "http://", "https://:0", "https://a:99999999/",
               "https://a:-1/", "https://example.com/" + "a" * 3000, "http://169.254.169.254/latest/meta-data/",
               "https://user:pw@example.com/x.png", "runway://", "data:", "data:image/png;base64,!!!!",
               "javascript:alert(1)", "file:///etc/passwd", "gs://", "gs://b", "gs:///x", "../../etc/passwd",
               "%00", "%2F..%2F", "\u202e", "\ufeff", "<script>", "' OR 1=1 --", "{{7*7}}", "${jndi:x}",
               Raw('"\\ud800"'), Raw('"\\udfff x"'), Raw('"a\\u0000b"')]


def huge_text() -> st.SearchStrategy[str]:
    return st.integers(min_value=1000, max_value=200_000).map(lambda n: "z" * n)


def scalars() -> st.SearchStrategy[Any]:
    """Every kind of JSON scalar a hostile client can send, weighted toward the edges."""
    return st.one_of(
        st.sampled_from(ODD_NUMBERS),
        st.sampled_from(ODD_STRINGS),
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4),
    )


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Scalars, and arrays and objects of them, a few levels deep; plus the pathological nestings."""
    nested = st.recursive(
        scalars(),
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(st.text(max_size=12), children, max_size=4)),
        max_leaves=max_leaves,
    )
    return st.one_of(nested, st.sampled_from([
        Raw("[" * 20_000 + "]" * 20_000), Raw('{"a":' * 5000 + "1" + "}" * 5000), [[]] * 50, {"": {}},
    ]))


def hostile_values() -> st.SearchStrategy[Any]:
    """One value to put where a field goes: the known edge cases half the time, anything JSON otherwise."""
    return st.one_of(st.sampled_from(EDGE_VALUES), json_values())


EDGE_VALUES: list[Any] = [*ODD_NUMBERS, *ODD_STRINGS, None, True, False, [], {}, [None], {"": None}]


def field_sweep(valid: dict[str, Any], values: Iterable[Any] = ()) -> Iterable[tuple[tuple, bytes]]:
    """Deterministic and exhaustive where hypothesis samples: each field of ``valid`` (nested ones too) set to
    each edge value in turn, and each field removed, as (path, body) pairs."""
    values = list(values) or EDGE_VALUES
    for path in _leaf_paths(valid):
        for value in values:
            body = json.loads(json.dumps(valid))
            _set(body, path, value)
            yield path, encode(body)
        body = json.loads(json.dumps(valid))
        _drop(body, path)
        yield path, encode(body)


def mutated_bodies(valid: dict[str, Any], extra_keys: Iterable[str] = ()) -> st.SearchStrategy[bytes]:
    """Bodies that start from a valid request and break it: fields replaced by hostile values (nested ones
    too), removed, or joined by unknown ones; sometimes the whole body is replaced by another JSON value."""
    paths = list(_leaf_paths(valid))
    keys = list(valid) + list(extra_keys)

    @st.composite
    def build(draw: Callable) -> bytes:
        body = json.loads(json.dumps(valid))
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            action = draw(st.sampled_from(["replace", "replace", "replace", "drop", "add"]))
            if action == "replace" and paths:
                _set(body, draw(st.sampled_from(paths)), draw(hostile_values()))
            elif action == "drop" and paths:
                _drop(body, draw(st.sampled_from(paths)))
            else:
                body[draw(st.sampled_from(keys) | st.text(max_size=10))] = draw(hostile_values())
        return encode(body)

    return st.one_of(build(), build(), build(), json_values().map(encode), raw_bodies())


def _leaf_paths(value: Any, prefix: tuple = ()) -> Iterable[tuple]:
    """Every path into ``value`` (object keys and array indexes), containers and leaves alike."""
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from _leaf_paths(child, (*prefix, key))


def _parent(body: Any, path: tuple) -> Any:
    for key in path[:-1]:
        try:
            body = body[key]
        except (KeyError, IndexError, TypeError):
            return None
    return body if isinstance(body, (dict, list)) else None


def _set(body: Any, path: tuple, value: Any) -> None:
    parent = _parent(body, path)
    if isinstance(parent, dict) or (isinstance(parent, list) and isinstance(path[-1], int)
                                    and path[-1] < len(parent)):
        parent[path[-1]] = value


def _drop(body: Any, path: tuple) -> None:
    parent = _parent(body, path)
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        del parent[path[-1]]


def raw_bodies() -> st.SearchStrategy[bytes]:
    """Bodies that are not JSON documents at all, or barely."""
    return st.one_of(
        st.sampled_from([b"", b" ", b"{", b"}", b"[", b'{"a":', b'{"a" 1}', b"nul", b"\xff\xfe\x00", b"\x00" * 64,
                         b'{"a":1}garbage', b"{}" * 1000, b'"\xed\xa0\x80"', b"\xef\xbb\xbf{}",
                         b"[" * 100_000, b'{"' + b"k" * 100_000 + b'":1}']),
        st.binary(max_size=200),
    )


def header_values() -> st.SearchStrategy[str]:
    """Header values a socket can carry (latin-1, no CR/LF): odd tokens, very long ones, control bytes."""
    safe = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\r\n\x7f")
    return st.one_of(
        st.text(alphabet=safe, max_size=60),
        st.sampled_from(["Bearer", "Bearer ", "Bearer  x", "bearer key_x", "Basic Zm9vOmJhcg==", "Bearer a.b.c",
                         "Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer " + "A" * 8000, "\t", "Bearer \xff\xfe"]),
        # up to 16 KB each: a few of them stay under the 64 KB request head limit (a larger head is a 431)
        st.integers(min_value=100, max_value=16_000).map(lambda n: "Bearer " + "q" * n),
    )


def path_segments() -> st.SearchStrategy[str]:
    """Path parameter values, percent-encoded the way they reach the server."""
    raw = st.one_of(st.sampled_from([s for s in ODD_STRINGS if isinstance(s, str) and len(s) <= 5000]),
                    st.text(max_size=30), st.just("9" * 5000), st.just("a" * 3000))
    return raw.map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe=""))


def query_values() -> st.SearchStrategy[str]:
    return path_segments()


# -- firing -------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    request: tuple[str, str, dict[str, str], bytes] = field(repr=False, default=("", "", {}, b""))

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's own lock
        if len(self.records) < 100:
            self.records.append(record)


WATCHED_LOGGERS = ("mockprovider", "uvicorn.error", "uvicorn", "asyncio")


class Fuzzer:
    """Fires raw HTTP/1.1 requests at ``host:port`` on one keep-alive connection (reopened when the server
    closes it), counts statuses, and records every ERROR log line the server process writes meanwhile."""

    def __init__(self, server: Any = None, *, host: str | None = None, port: int | None = None,
                 timeout: float = 15.0) -> None:
        if server is not None:
            host = host or server.settings.host
            port = port or server.settings.port
        assert host and port
        self.host, self.port, self.timeout = host, port, timeout
        self.statuses: Counter[int] = Counter()
        self.sent = 0
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._recorder = _Recorder()

    def __enter__(self) -> Fuzzer:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(self._recorder)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(self._recorder)
        self.close()
        report = os.environ.get("MOCKPROVIDER_FUZZ_REPORT")
        if report:
            with open(report, "a", encoding="utf-8") as out:
                out.write(json.dumps({"port": self.port, "sent": self.sent,
                                      "statuses": dict(sorted(self.statuses.items()))}) + "\n")

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
            self._buffer = b""

    # ------------------------------------------------------------------------------------------- requests

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
                *, keep_alive: bool = True) -> Reply:
        """One request; the connection is reopened once if the server had closed it in between."""
        headers = dict(headers or {})
        lower = {k.lower() for k in headers}
        if "host" not in lower:
            headers["Host"] = f"{self.host}:{self.port}"
        if "content-length" not in lower and "transfer-encoding" not in lower and (body or method in (
                "POST", "PUT", "PATCH")):
            headers["Content-Length"] = str(len(body))
        if body and "content-type" not in lower:
            headers["Content-Type"] = "application/json"
        if not keep_alive:
            headers["Connection"] = "close"
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        wire = head.encode("latin-1") + body
        for attempt in (1, 2):
            fresh = self._sock is None
            try:
                sock = self._connect()
                sock.sendall(wire)
                reply = self._read_reply(sock, method)
                break
            except (ConnectionError, _Closed):
                self.close()
                if attempt == 2 or fresh:
                    raise
        reply.request = (method, path, headers, body)
        self.sent += 1
        self.statuses[reply.status] += 1
        if not keep_alive or reply.headers.get("connection", "").lower() == "close":
            self.close()
        return reply

    def _connect(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._sock

    def _fill(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed()
        self._buffer += chunk

    def _read_reply(self, sock: socket.socket, method: str) -> Reply:
        while b"\r\n\r\n" not in self._buffer:
            self._fill(sock)
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self._buffer = rest
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return Reply(status, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked(sock)
        elif "content-length" in headers:
            size = int(headers["content-length"])
            while len(self._buffer) < size:
                self._fill(sock)
            body, self._buffer = self._buffer[:size], self._buffer[size:]
        else:
            with contextlib.suppress(_Closed, OSError):
                while True:
                    self._fill(sock)
            body, self._buffer = self._buffer, b""
            self.close()
        return Reply(status, headers, body)

    def _read_chunked(self, sock: socket.socket) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self._buffer:
                self._fill(sock)
            line, _, self._buffer = self._buffer.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(self._buffer) < size + 2:
                self._fill(sock)
            body += self._buffer[:size]
            self._buffer = self._buffer[size + 2 :]
            if size == 0:
                return body

    # ------------------------------------------------------------------------------------------- checks

    def expect_clean(self, reply: Reply, allowed: Callable[[int], bool] | None = None,
                     max_body: int = 256 * 1024) -> Reply:
        """No 5xx (unless ``allowed`` says so), no error logged by the server, an error body of bounded size
        (an error must never echo unbounded input back)."""
        method, path, headers, body = reply.request
        where = f"{method} {path[:200]} headers={ {k: v[:80] for k, v in headers.items()} } body={body[:300]!r}"
        ok = allowed(reply.status) if allowed is not None else reply.status < 500
        assert ok, f"{reply.status} for {where}: {reply.text()[:500]}"
        if reply.status >= 400:
            assert len(reply.body) <= max_body, f"{len(reply.body)}-byte error body for {where}"
        self.assert_no_errors_logged(where)
        return reply

    def assert_no_errors_logged(self, where: str = "") -> None:
        records = self._recorder.records
        if records:
            first = records[0]
            detail = first.getMessage()
            if first.exc_info:
                import traceback

                detail += "\n" + "".join(traceback.format_exception(*first.exc_info))[-3000:]
            records.clear()
            raise AssertionError(f"server logged an error after {where}: {detail}")

    def assert_healthy(self, health_path: str = "/__mock/health", probes: Iterable[Callable[[], None]] = ()) -> None:
        """The server still answers on a fresh connection, and each probe (a state check) still passes."""
        self.close()
        reply = self.request("GET", health_path)
        assert reply.status == 200, (reply.status, reply.text()[:300])
        for probe in probes:
            probe()
        self.assert_no_errors_logged("the fuzz run")


class _Closed(Exception):
    """The server closed the connection."""
