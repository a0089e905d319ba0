"""Toxic types: their attributes (names, Go types, defaults), how a request body is decoded into them,
what we refuse that would crash or hang a real Toxiproxy, and the coroutine that applies each one.

A toxic's runner gets a :class:`~mockprovider.proxy.links.Stage` and loops: ``take`` a chunk, act,
``emit`` what goes on. ``None`` is the end of the stream. Units follow Toxiproxy: milliseconds,
except slicer's ``delay`` (microseconds) and bandwidth's ``rate`` (KB/s, 1 KB = 1000 bytes).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..engine.distributions import Distribution, parse_distribution
from .errors import ApiError

if TYPE_CHECKING:
    from .links import Stage

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"


class Chunk:
    """Bytes read from one socket, with the loop time when they were read."""

    __slots__ = ("data", "ts")

    def __init__(self, data: bytes, ts: float) -> None:
        self.data = data
        self.ts = ts


# type name -> (Go struct name, [(attribute, Go type)])
TYPES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "latency": ("LatencyToxic", [("latency", "int64"), ("jitter", "int64")]),
    "bandwidth": ("BandwidthToxic", [("rate", "int64")]),
    "slow_close": ("SlowCloseToxic", [("delay", "int64")]),
    "timeout": ("TimeoutToxic", [("timeout", "int64")]),
    "reset_peer": ("ResetToxic", [("timeout", "int64")]),
    "slicer": ("SlicerToxic", [("average_size", "int"), ("size_variation", "int"), ("delay", "int")]),
    "limit_data": ("LimitDataToxic", [("bytes", "int64")]),
    "noop": ("NoopToxic", []),
}
# attributes Toxiproxy clients never send; stored and echoed only when given
EXTRA_ATTRIBUTES: dict[str, tuple[str, ...]] = {"latency": ("distribution",)}
BUFFER = {"latency": 1024}  # chunks a toxic's input may hold (Toxiproxy gives latency 1024, others 0)

_uids = itertools.count(1)


def parse_stream(value: str) -> str | None:
    low = value.lower()
    return low if low in (UPSTREAM, DOWNSTREAM) else None


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_int(value: Any, struct: str, attr: str, gotype: str) -> int:
    where = f"into Go struct field {struct}.attributes.{attr} of type {gotype}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(value)} {where}")
    if isinstance(value, float) or not -(2**63) <= value < 2**63:
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)[:40]
        raise ApiError(400, f"bad request body: json: cannot unmarshal number {shown} {where}")
    return value


def decode_attributes(kind: str, raw: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decode ``attributes`` of a create or update body; ``base`` (update) is merged into, as Go does."""
    struct, fields = TYPES[kind]
    attrs: dict[str, Any] = dict(base) if base else {name: 0 for name, _ in fields}
    if raw is None:
        return attrs
    if not isinstance(raw, dict):
        raise ApiError(
            400,
            f"bad request body: json: cannot unmarshal {json_kind(raw)} into Go struct field "
            f".attributes of type toxics.{struct}",
        )
    for name, gotype in fields:
        if name in raw and raw[name] is not None:
            attrs[name] = _go_int(raw[name], struct, name, gotype)
    for name in EXTRA_ATTRIBUTES.get(kind, ()):
        if name in raw:
            if raw[name] is None:
                attrs.pop(name, None)
            else:
                attrs[name] = raw[name]
    return attrs


def validate(kind: str, attrs: dict[str, Any]) -> Distribution | None:
    """Refuse values that crash or hang Toxiproxy; return the parsed latency distribution if any."""
    if kind == "bandwidth" and attrs["rate"] < 0:
        raise ApiError(400, "bandwidth rate cannot be negative (Toxiproxy crashes on it); use 0 to stop data")
    if kind == "slicer":
        if attrs["average_size"] <= 0:
            raise ApiError(400, "slicer average_size must be at least 1 (Toxiproxy crashes on 0 or less)")
        if attrs["size_variation"] < 0:
            raise ApiError(400, "slicer size_variation cannot be negative (Toxiproxy crashes on it)")
    if kind == "latency" and "distribution" in attrs:
        try:
            dist = parse_distribution(attrs["distribution"])
        except (ValueError, TypeError, RecursionError) as exc:
            raise ApiError(400, f"latency attributes.distribution: {str(exc)[:300]}") from None
        if reaches_beyond(dist, MAX_TOXIC_LATENCY):
            raise ApiError(400, f"latency attributes.distribution: draws reach past {MAX_TOXIC_LATENCY:g} s; "
                                "add a max, or lower its tail")
        return dist
    return None


MAX_TOXIC_LATENCY = 3600.0


def reaches_beyond(dist: Distribution, limit: float, draws: int = 4000) -> bool:
    """Whether ``dist`` draws past ``limit`` seconds (at its clip, or in a fixed sample of draws): such a
    distribution would hold every connection through the proxy for hours."""
    if dist.high <= limit:
        return False
    rng = random.Random(0)
    return any(dist.sample(rng) > limit for _ in range(draws))


def format_toxicity(value: float) -> float | int:
    return int(value) if math.isfinite(value) and value == int(value) else value


@dataclass(eq=False)
class Toxic:
    """One toxic as the API sees it. An update makes a new object with the same ``uid``."""

    name: str
    type: str
    stream: str  # as the client wrote it
    toxicity: float
    attributes: dict[str, Any]
    distribution: Distribution | None = None
    uid: int = field(default_factory=lambda: next(_uids))
    version: int = 0

    @property
    def direction(self) -> str:
        return parse_stream(self.stream) or DOWNSTREAM

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": self.attributes,
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": format_toxicity(self.toxicity),
        }


# ---------------------------------------------------------------- runners


Runner = Callable[["Stage"], Awaitable[None]]


async def _pass_marker(s: Stage, item: Any) -> bool:
    """Forward a non-chunk item; True if it was the end of the stream."""
    await s.emit(item)
    return item is None


async def run_noop(s: Stage) -> None:
    while True:
        item = await s.take()
        await s.emit(item)
        if item is None:
            return


def latency_delay(s: Stage) -> float:
    dist: Distribution | None = s.toxic.distribution
    if dist is not None:
        return dist.sample(s.rng)
    ms = s.attrs["latency"]
    jitter = s.attrs["jitter"]
    if jitter > 0:
        ms += s.rng.randrange(2 * jitter) - jitter
    return max(ms, 0) / 1000.0


async def run_latency(s: Stage) -> None:
    loop = asyncio.get_running_loop()
    while True:
        item = await s.take()
        if isinstance(item, Chunk):
            target = item.ts + latency_delay(s)
            wait = target - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                item.ts = target
        elif await _pass_marker(s, item):
            return
        else:
            continue
        await s.emit(item)


async def run_bandwidth(s: Stage) -> None:
    loop = asyncio.get_running_loop()
    rate = s.attrs["rate"]
    debt = 0.0  # seconds still owed; a timer's overshoot is paid back on the next wait, as in Toxiproxy
    while True:
        item = await s.take()
        if not isinstance(item, Chunk):
            if await _pass_marker(s, item):
                return
            continue
        if rate <= 0:  # Toxiproxy: rate 0 lets nothing through and never closes
            await asyncio.Event().wait()
        per_second, piece = rate * 1000, rate * 100
        data = item.data
        while data:
            part, data = data[:piece], data[piece:]
            debt += len(part) / per_second
            if debt > 0:
                start = loop.time()
                await asyncio.sleep(debt)
                debt -= loop.time() - start
            await s.emit(Chunk(part, item.ts), [Chunk(data, item.ts)] if data else [])


async def run_slow_close(s: Stage) -> None:
    while True:
        item = await s.take()
        if item is None and s.attrs["delay"] > 0:
            await asyncio.sleep(s.attrs["delay"] / 1000)
        await s.emit(item)
        if item is None:
            return


async def run_timeout(s: Stage) -> None:
    ms = s.attrs["timeout"]
    while True:
        if ms > 0:
            try:
                item = await asyncio.wait_for(s.take(), ms / 1000)
            except TimeoutError:
                item = None
        else:
            item = await s.take()
        s.drop()
        if item is None:
            await s.emit(None)
            return


async def run_reset_peer(s: Stage) -> None:
    await s.take()
    s.drop()
    if s.attrs["timeout"] > 0:
        await asyncio.sleep(s.attrs["timeout"] / 1000)
    await s.link.conn.shutdown(reset=True)


def slice_offsets(size: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Cut points (including 0 and size) splitting ``size`` bytes the way Toxiproxy's slicer does."""
    cuts = [0]
    todo = [(0, size)]
    while todo:
        start, end = todo.pop()
        if (end - start) - average <= variation or end - start < 2:
            cuts.append(end)
            continue
        mid = start + (end - start) // 2
        if variation > 0:
            mid += rng.randrange(variation * 2) - variation
        mid = min(max(mid, start + 1), end - 1)
        todo.append((mid, end))
        todo.append((start, mid))
    return cuts


async def run_slicer(s: Stage) -> None:
    delay = max(s.attrs["delay"], 0) / 1e6
    while True:
        item = await s.take()
        if not isinstance(item, Chunk):
            if await _pass_marker(s, item):
                return
            continue
        data = item.data
        cuts = slice_offsets(len(data), s.attrs["average_size"], s.attrs["size_variation"], s.rng)
        for a, b in itertools.pairwise(cuts):
            await s.emit(Chunk(data[a:b], item.ts), [Chunk(data[b:], item.ts)] if b < len(data) else [])
            if delay > 0:
                await asyncio.sleep(delay)


async def run_limit_data(s: Stage) -> None:
    limit = s.attrs["bytes"]
    while True:
        item = await s.take()
        if not isinstance(item, Chunk):
            if await _pass_marker(s, item):
                return
            continue
        sent = s.state.get("sent", 0)
        remaining = limit - sent
        if len(item.data) >= remaining:
            if remaining > 0:
                await s.emit(Chunk(item.data[:remaining], item.ts))
                s.state["sent"] = limit
            await s.emit(None)
            return
        await s.emit(item)
        s.state["sent"] = sent + len(item.data)


RUNNERS: dict[str, Runner] = {
    "latency": run_latency,
    "bandwidth": run_bandwidth,
    "slow_close": run_slow_close,
    "timeout": run_timeout,
    "reset_peer": run_reset_peer,
    "slicer": run_slicer,
    "limit_data": run_limit_data,
    "noop": run_noop,
}
