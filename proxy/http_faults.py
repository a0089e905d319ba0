"""HTTP-aware faults: per request, even over keep-alive.

A proxy with an ``http`` section gets two extra stages on each connection: one at the client end
of the upstream chain that parses requests and decides, per request and from a seeded generator,
whether to answer locally (status + body, the request is not forwarded), to delay it, or to reset
the connection part-way through its response; and one at the client end of the downstream chain that
parses responses, keeps them in request order, injects the local answers and performs the resets.
Anything that does not parse as HTTP/1.x is relayed untouched from then on.
"""

from __future__ import annotations

import asyncio
import http
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..engine.distributions import Distribution, parse_distribution
from ..engine.rng import stream
from .channel import Channel
from .errors import ApiError
from .links import StageSpec
from .toxics import Chunk

if TYPE_CHECKING:
    from .links import Stage
    from .server import Connection

MAX_HEAD = 64 * 1024
MAX_PENDING_REQUESTS = 64


class HttpFault(BaseModel):
    """One rule. Exactly one action: ``status`` (answer locally), ``latency`` or ``reset_after_bytes``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    method: str | None = Field(None, description="match this method only (case-insensitive)")
    path_prefix: str | None = Field(None, description="match paths starting with this")
    probability: float = Field(1.0, ge=0, le=1)
    status: int | None = Field(None, ge=100, le=599)
    body: str = ""
    content_type: str = "application/json"
    headers: dict[str, str] = Field(default_factory=dict)
    latency: Any = None
    reset_after_bytes: int | None = Field(None, ge=0)

    @field_validator("latency")
    @classmethod
    def _latency(cls, value: Any) -> Any:
        if value is not None:
            from .toxics import MAX_TOXIC_LATENCY, reaches_beyond

            if reaches_beyond(parse_distribution(value), MAX_TOXIC_LATENCY):
                raise ValueError(f"latency draws reach past {MAX_TOXIC_LATENCY:g} s; add a max, or lower its tail")
        return value

    @model_validator(mode="after")
    def _one_action(self) -> HttpFault:
        actions = [k for k in ("status", "latency", "reset_after_bytes") if getattr(self, k) is not None]
        if len(actions) != 1:
            raise ValueError("a rule takes exactly one of status, latency or reset_after_bytes")
        return self

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path_prefix and not path.startswith(self.path_prefix))

    def distribution(self) -> Distribution:
        return parse_distribution(self.latency)


class HttpRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[HttpFault, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"rules": [r.model_dump(exclude_defaults=True) for r in self.rules]}


def readable(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def parse_http(value: Any) -> HttpRules | None:
    """The API's ``http`` field: ``true``, ``{"rules": [...]}``, or a bare list of rules."""
    if value is None or value is False:
        return None
    if value is True:
        return HttpRules()
    if isinstance(value, list):
        value = {"rules": value}
    try:
        return HttpRules.model_validate(value)
    except ValidationError as exc:
        raise ApiError(400, f"invalid http section: {readable(exc, 'http')}") from None


# ------------------------------------------------------------------ per connection state


@dataclass
class Action:
    kind: Literal["forward", "respond", "raw", "eof"]
    method: str = "GET"
    response: bytes = b""
    reset_after: int | None = None


@dataclass
class Framing:
    """Where a message body ends: by length, chunked encoding, or at end of stream."""

    kind: Literal["length", "chunked", "close"]
    remaining: int = 0
    part: Literal["size", "data", "trailer"] = "size"

    def feed(self, data: bytes | bytearray) -> tuple[int, bool]:
        pos, end = 0, len(data)
        if self.kind == "close":
            return end, False
        while pos < end or (self.kind == "length" and self.remaining == 0):
            if self.kind == "length":
                take = min(self.remaining, end - pos)
                pos += take
                self.remaining -= take
                if self.remaining == 0:
                    return pos, True
                continue
            if self.part == "data":
                take = min(self.remaining, end - pos)
                pos += take
                self.remaining -= take
                if self.remaining == 0:
                    self.part = "size"
                continue
            eol = data.find(b"\r\n", pos)
            if eol < 0:
                if end - pos > MAX_HEAD:
                    raise ValueError("chunk line too long")
                return pos, False
            line = bytes(data[pos:eol])
            pos = eol + 2
            if self.part == "trailer":
                if not line:
                    return pos, True
                continue
            size = int(line.split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                self.part = "trailer"
            else:
                self.part, self.remaining = "data", size + 2
        return pos, False


@dataclass
class HttpState:
    rules: HttpRules
    rng: Any
    actions: Channel = field(default_factory=lambda: Channel(MAX_PENDING_REQUESTS))
    # request side
    req_buf: bytearray = field(default_factory=bytearray)
    req_mode: str = "head"
    req_action: Action | None = None
    req_head_len: int = 0
    req_framing: Framing | None = None
    req_delay_until: float = 0.0
    req_raw_after: bool = False
    # response side
    resp_buf: bytearray = field(default_factory=bytearray)
    resp_mode: str = "idle"
    resp_action: Action | None = None
    resp_framing: Framing | None = None
    resp_sent: int = 0
    resp_raw_after: bool = False


def attach(conn: Connection, rules: HttpRules) -> None:
    conn.http_state = HttpState(rules, stream(conn.proxy.seed, "http", conn.proxy.name, conn.id))


def edge_specs(conn: Connection, direction: str) -> tuple[list[StageSpec], list[StageSpec]]:
    if direction == "upstream":
        return [StageSpec("http-requests", 0, run_requests, 4)], []
    return [], [StageSpec("http-responses", 0, run_responses, 4)]


_REQUEST_LINE = re.compile(rb"^([A-Z]+) (\S+) HTTP/1\.([01])$")
_STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3})(?: .*)?$")


def _headers(lines: list[bytes]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("bad header line")
        key = name.strip().decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _body_framing(headers: dict[str, str], default: Literal["length", "close"]) -> Framing | None:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Framing("chunked")
    if "content-length" in headers:
        n = int(headers["content-length"].split(",")[0].strip())
        return Framing("length", n) if n > 0 else None
    return Framing("close") if default == "close" else None


def _local_response(rule: HttpFault, close: bool) -> bytes:
    body = rule.body.encode()
    try:
        reason = http.HTTPStatus(rule.status or 500).phrase
    except ValueError:
        reason = "Fault"
    lines = [f"HTTP/1.1 {rule.status} {reason}", f"Content-Type: {rule.content_type}",
             f"Content-Length: {len(body)}", f"X-Mockprovider-Fault: {rule.name or 'http'}"]
    lines += [f"{k}: {v}" for k, v in rule.headers.items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def decide(st: HttpState, method: str, path: str, close: bool) -> tuple[Action, float]:
    """Draw every matching rule in order: latencies add up, the first answer or reset that fires wins."""
    delay = 0.0
    action = Action("forward", method)
    decided = False
    for rule in st.rules.rules:
        if not rule.matches(method, path):
            continue
        if st.rng.random() >= rule.probability:
            continue
        if rule.latency is not None:
            delay += rule.distribution().sample(st.rng)
        elif not decided and rule.status is not None:
            action, decided = Action("respond", method, _local_response(rule, close)), True
        elif not decided and rule.reset_after_bytes is not None:
            action, decided = Action("forward", method, reset_after=rule.reset_after_bytes), True
    return action, delay


async def _more(s: Stage, buf: bytearray) -> bool:
    """Append the next chunk to ``buf``; False at the end of the stream."""
    item = await s.inp.get()
    if item is None:
        return False
    buf += item.data
    return True


async def _passthrough(s: Stage, buf: bytearray) -> None:
    if buf:
        data = bytes(buf)
        await s.emit(Chunk(data, asyncio.get_running_loop().time()))
        del buf[: len(data)]
    while True:
        item = await s.inp.get()
        await s.out.put(item)
        if item is None:
            return


async def run_requests(s: Stage) -> None:
    st: HttpState = s.link.conn.http_state
    loop = asyncio.get_running_loop()
    buf = st.req_buf
    while True:
        if st.req_mode == "raw":
            await _passthrough(s, buf)
            return
        if st.req_mode == "head":
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    st.req_action, st.req_mode = Action("raw"), "push"
                    st.req_raw_after = True
                    continue
                if not await _more(s, buf):
                    st.req_action, st.req_mode = Action("eof"), "push"
                continue
            try:
                lines = bytes(buf[:end]).split(b"\r\n")
                match = _REQUEST_LINE.match(lines[0])
                if not match:
                    raise ValueError("not an HTTP/1.x request")
                headers = _headers(lines[1:])
                method, path = match.group(1).decode(), match.group(2).decode("latin-1")
                framing = _body_framing(headers, "length")
            except ValueError:
                st.req_action, st.req_mode, st.req_raw_after = Action("raw"), "push", True
                continue
            conn_header = headers.get("connection", "").lower()
            close = "close" in conn_header or (match.group(3) == b"0" and "keep-alive" not in conn_header)
            action, delay = decide(st, method, path, close)
            st.req_action, st.req_head_len, st.req_framing = action, end + 4, framing
            st.req_delay_until = loop.time() + delay
            st.req_raw_after = method == "CONNECT" or "upgrade" in conn_header
            st.req_mode = "push"
        if st.req_mode == "push":
            assert st.req_action is not None
            await st.actions.put(st.req_action)
            kind = st.req_action.kind
            st.req_mode = {"raw": "raw", "eof": "eof"}.get(kind, "delay")
        if st.req_mode == "eof":
            if buf:
                await s.emit(Chunk(bytes(buf), loop.time()))
                buf.clear()
            await s.emit(None)
            return
        if st.req_mode == "delay":
            wait = st.req_delay_until - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            st.req_mode = "send_head"
        if st.req_mode == "send_head":
            assert st.req_action is not None
            if st.req_action.kind == "forward":
                await s.emit(Chunk(bytes(buf[: st.req_head_len]), loop.time()))
            del buf[: st.req_head_len]
            st.req_mode = "body" if st.req_framing else ("raw" if st.req_raw_after else "head")
        if st.req_mode == "body":
            assert st.req_framing is not None and st.req_action is not None
            if not buf and not await _more(s, buf):
                st.req_action, st.req_mode = Action("eof"), "push"
                continue
            try:
                used, done = st.req_framing.feed(buf)
            except ValueError:
                used, done = len(buf), False
                st.req_mode = "raw"
            if used:
                if st.req_action.kind == "forward":
                    await s.emit(Chunk(bytes(buf[:used]), loop.time()))
                del buf[:used]
            if done:
                st.req_mode = "raw" if st.req_raw_after else "head"
            elif not used and st.req_mode == "body" and not await _more(s, buf):
                st.req_action, st.req_mode = Action("eof"), "push"


async def _send_response_bytes(s: Stage, st: HttpState, data: bytes) -> bool:
    """Emit ``data`` unless the reset budget runs out first; False once the connection was reset."""
    action = st.resp_action
    if action is not None and action.reset_after is not None:
        room = action.reset_after - st.resp_sent
        if len(data) >= room:
            if room > 0:
                await s.emit(Chunk(data[:room], 0.0))
            await asyncio.sleep(0.01)  # let the writer flush what was allowed through
            await s.link.conn.shutdown(reset=True)
            return False
    await s.emit(Chunk(data, 0.0))
    st.resp_sent += len(data)
    return True


async def run_responses(s: Stage) -> None:
    st: HttpState = s.link.conn.http_state
    buf = st.resp_buf
    while True:
        if st.resp_mode == "raw":
            await _passthrough(s, buf)
            return
        if st.resp_mode == "idle":
            st.resp_action = await st.actions.get()
            st.resp_sent = 0
            st.resp_mode = "start"
        action = st.resp_action
        assert action is not None
        if st.resp_mode == "start":
            if action.kind == "respond":
                await s.emit(Chunk(action.response, 0.0))
                st.resp_mode = "idle"
                continue
            st.resp_mode = "raw" if action.kind in ("raw", "eof") else "head"
            continue
        if st.resp_mode == "head":
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD or not await _more(s, buf):
                    st.resp_mode = "raw"
                continue
            lines = bytes(buf[:end]).split(b"\r\n")
            match = _STATUS_LINE.match(lines[0])
            try:
                if not match:
                    raise ValueError("not an HTTP/1.x response")
                status = int(match.group(1))
                headers = _headers(lines[1:])
                if action.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
                    framing = None
                else:
                    framing = _body_framing(headers, "close")
            except ValueError:
                st.resp_mode = "raw"
                continue
            head = bytes(buf[: end + 4])
            if not await _send_response_bytes(s, st, head):
                return
            del buf[: end + 4]
            if status == 101:
                st.resp_mode = "raw"
            elif 100 <= status < 200:
                st.resp_mode = "head"  # the real response follows
            else:
                st.resp_framing = framing
                st.resp_mode = "body" if framing else "idle"
            continue
        if st.resp_mode == "body":
            assert st.resp_framing is not None
            if not buf and not await _more(s, buf):
                await s.emit(None)
                return
            used, done = st.resp_framing.feed(buf)
            if used:
                if not await _send_response_bytes(s, st, bytes(buf[:used])):
                    return
                del buf[:used]
            if done:
                st.resp_mode = "idle"
            elif not used and not await _more(s, buf):
                await s.emit(None)
                return
