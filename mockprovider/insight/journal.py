"""The request journal: a bounded record of every provider request, newest last.

``Endpoint`` opens one ``Record`` per provider request and makes it the *current* record (a context variable,
so concurrent requests never mix); the engine notes on it the job the request touched (``Engine.get`` and
``Engine.submit``) and the retry hint it gave (``Engine.wait_hint``). No dialect does anything for it.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

DEFAULT_SIZE = 10_000


class Record:
    """One provider request. ``real`` is monotonic real seconds at arrival; ``at`` engine seconds when answered."""

    __slots__ = ("at", "endpoint", "fault", "hint", "job", "key", "latency", "method", "path", "provider", "real",
                 "size", "status", "touched")

    def __init__(self, provider: str, endpoint: str, method: str, path: str, real: float) -> None:
        self.provider = provider
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.real = real
        self.at = 0.0
        self.key: str | None = None
        self.status = 0
        self.size = 0  # bytes of the answer's body
        self.latency = 0.0
        self.fault: str | None = None
        self.hint: float | None = None  # real seconds the answer told the client to wait
        self.job: str | None = None
        self.touched: Any = None  # the Job object, only while the request is in flight

    def frozen(self) -> tuple:
        """The record as a tuple of plain values: the journal keeps these, which the garbage collector stops
        tracking (thousands of live objects would otherwise make every full collection slower)."""
        return (self.provider, self.endpoint, self.method, self.path, self.at, self.real, self.key, self.status,
                self.size, self.latency, self.fault, self.hint, self.job)

    @classmethod
    def thaw(cls, values: tuple) -> Record:
        provider, endpoint, method, path, at, real, key, status, size, latency, fault, hint, job = values
        record = cls(provider, endpoint, method, path, real)
        record.at = at
        record.key, record.status, record.size, record.latency = key, status, size, latency
        record.fault, record.hint, record.job = fault, hint, job
        return record

    def describe(self, origin: float) -> dict[str, Any]:
        """As JSON; ``origin`` is the Unix time of engine time 0 (``clock.epoch(0.0)``)."""
        return {
            "at": round(origin + self.at, 6),
            "provider": self.provider,
            "endpoint": self.endpoint,
            "method": self.method,
            "path": self.path,
            "key": fingerprint(self.key),
            "status": self.status,
            "bytes": self.size,
            "latency_s": round(self.latency, 6),
            "fault": self.fault,
            "retry_hint_s": None if self.hint is None else round(self.hint, 6),
            "job": self.job,
        }


CURRENT: ContextVar[Record | None] = ContextVar("mockprovider_record", default=None)


def touch(job: Any) -> None:
    """Note that the request in progress concerns ``job`` (called by the engine)."""
    record = CURRENT.get()
    if record is not None:
        record.touched = job
        record.job = job.id


def hint(seconds: float | None) -> None:
    """Note the retry hint (real seconds) the request in progress answers with (called by the engine)."""
    record = CURRENT.get()
    if record is not None and seconds is not None:
        record.hint = seconds


@lru_cache(maxsize=4096)
def fingerprint(key: str | None) -> str | None:
    """A short, stable stand-in for an API key: never the secret itself."""
    if key is None:
        return None
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class Filter:
    """Which records a query wants; every field optional."""

    def __init__(self, provider: str | None = None, endpoint: str | None = None, status: str | None = None,
                 key: str | None = None, job: str | None = None, since: float | None = None,
                 method: str | None = None, origin: float = 0.0) -> None:
        self.provider = provider
        self.endpoint = endpoint
        self.statuses = _statuses(status) if status else None
        self.keys = {key, fingerprint(key)} if key else None
        self.job = job
        self.since = None if since is None else since - origin  # engine time
        self.method = method.upper() if method else None
        self.keys_fingerprinted = False  # records whose key is already a fingerprint (the shared journal)

    def __call__(self, r: Record) -> bool:
        if self.provider is not None and r.provider != self.provider:
            return False
        if self.endpoint is not None and r.endpoint != self.endpoint:
            return False
        if self.statuses is not None and not self.statuses(r.status):
            return False
        if self.keys is not None and (r.key if self.keys_fingerprinted else fingerprint(r.key)) not in self.keys:
            return False
        if self.job is not None and r.job != self.job:
            return False
        if self.method is not None and r.method != self.method:
            return False
        return not (self.since is not None and r.at < self.since)


def _statuses(spec: str) -> Any:
    """``429``, ``4xx``, ``200,201`` or ``500-599`` -> a predicate on a status code."""
    tests = []
    for part in spec.split(","):
        part = part.strip().lower()
        if len(part) == 3 and part.endswith("xx") and part[0].isdigit():
            low = int(part[0]) * 100
            tests.append((low, low + 99))
        elif "-" in part:
            low, _, high = part.partition("-")
            tests.append((int(low), int(high)))
        else:
            tests.append((int(part), int(part)))
    return lambda status: any(low <= status <= high for low, high in tests)


class Journal:
    """The last ``size`` records (0 keeps none), with how many were seen and dropped since the last clear."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 0:
            raise ValueError("the journal size cannot be negative")
        self.size = size
        self._records: deque[tuple] = deque(maxlen=size or 1)  # Record.frozen() tuples
        # what the request path calls with each frozen record: the deque's own append (no Python frame), or
        # None when the journal keeps nothing
        self.keep: Any = self._records.append if size else None
        self.seen = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def add(self, record: Record) -> None:
        self.seen += 1
        if self.size:
            self._records.append(record.frozen())

    def append(self, frozen: tuple) -> None:
        """Keep an already frozen record (the caller counts it in ``seen``)."""
        self._records.append(frozen)

    @property
    def dropped(self) -> int:
        return self.seen - len(self)

    def __len__(self) -> int:
        return len(self._records) if self.size else 0

    def __iter__(self) -> Iterator[Record]:
        thaw = Record.thaw
        return iter([thaw(values) for values in self._records] if self.size else [])

    def newest(self, n: int) -> list[Record]:
        """The newest ``n`` records, oldest first, without thawing the rest."""
        if not self.size or n <= 0:
            return []
        records = self._records
        start = max(len(records) - n, 0)
        return [Record.thaw(records[i]) for i in range(start, len(records))]

    def clear(self) -> None:
        self._records.clear()
        self.seen = 0

    def select(self, wanted: Filter, limit: int | None = None) -> tuple[list[Record], int]:
        """The newest ``limit`` matching records, oldest first, and how many matched in all."""
        matched = [r for r in self if wanted(r)]
        total = len(matched)
        if limit is not None:
            matched = matched[max(total - limit, 0):]
        return matched, total

    def count(self, wanted: Filter) -> int:
        return sum(1 for r in self if wanted(r))


def describe_all(records: Iterable[Record], origin: float) -> list[dict[str, Any]]:
    return [r.describe(origin) for r in records]
