"""Insight: what the platform under test did toward its providers, in neutral terms.

Every dialect feeds it without doing anything for it:

* ``web.endpoint.Endpoint`` (which every provider route goes through) opens a ``journal.Record`` per request,
  fills in the caller's key, the injected latency and fault and the answer's status, and hands it to
  ``Insight.finish``: the journal, the client-behaviour figures and the request metrics come from there.
* ``Engine.get`` / ``Engine.submit`` note the job a request touched; ``Engine.wait_hint`` notes the retry
  hint the answer carries. So a status poll is tied to its job, and a retry to the hint it should have honoured.
* Media served by ``media.routes`` (or by any endpoint of kind ``download``) counts as a download of its job.

The one thing a dialect adds is the job's **usage**, in neutral quantities, for the cost ledger::

    await engine.submit(JobRequest(provider=self.name, model=model, ..., cost=<your own units, for credit limits>,
                             usage={"seconds": 8, "resolution": "1080p", "audio": True}), ...)

Quantities: ``seconds`` (output video seconds, all outputs together), ``videos``, ``images``, ``tokens``,
``megapixels``; attributes the price book's ``when`` clauses may test: ``resolution`` ("480p", "720p",
"1080p", "4k"), ``audio``, ``voice``, ``mode`` ("std"/"pro"), ``video_input``, ``api``, or any other the
provider's rows in ``insight/prices.yaml`` name. The engine prices it (``job.quote``: dollars and the provider's
unit, and what a failed or cancelled job is charged), with a profile's ``prices:`` section overriding the book.
``engine.quote(provider, model, usage, profile)`` gives the same quote to a dialect that wants to report it.

Webhook senders report each delivery with ``Insight.webhook(provider, account, job, outcome, terminal)``
(``delivered`` / ``failed``); a delivered terminal update counts as the client detecting the job's end.

Seconds in the report and metrics are real (wall-clock) seconds: at a time scale ``s`` an engine duration
``d`` is ``d * s`` real seconds, the time the client really waited.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from .journal import CURRENT, DEFAULT_SIZE, Journal, Record
from .ledger import Ledger
from .observer import Observer
from .prices import PriceBook, Quote, default_book

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf"))
MAX_PROFILE_BOOKS = 32
MAX_PRICED = 4_096


class Insight:
    def __init__(self, clock: Any, journal_size: int = DEFAULT_SIZE, prices: PriceBook | None = None) -> None:
        self.clock = clock
        self.journal = Journal(journal_size)
        self.observer = Observer()
        self.ledger = Ledger(self.observer, clock)
        self.prices = prices if prices is not None else default_book()
        self._profile_books: dict[int, tuple[Any, PriceBook]] = {}
        self._priced: dict[tuple, tuple[dict[str, Any] | None, Quote | None]] = {}
        self.faults: dict[tuple[str, str], int] = {}
        self.rejections: dict[tuple[str, str], int] = {}
        self.latency: dict[tuple[str, str], list[float]] = {}  # bucket counts (not cumulative), then the sum
        self.started = time.time()
        self.shared: Any = None  # state.insight_redis.SharedInsight when replicas share the journal and report

    # -- the request path -----------------------------------------------------------------------------------

    def begin(self, provider: str, endpoint: str, method: str, path: str) -> Record:
        """Open the record of a request and make it the current one. No reset afterwards: every request runs
        in a task of its own, whose context ends with it."""
        record = Record(provider, endpoint, method, path, time.monotonic())
        CURRENT.set(record)
        return record

    def finish(self, record: Record, response: Any) -> None:
        record.status = response.status_code
        body = getattr(response, "body", None)
        if body.__class__ is bytes:
            record.size = len(body)
        clock = self.clock
        record.at = now = clock.now()
        self.observer.observe(record, now, clock.scale)
        journal = self.journal
        journal.seen += 1
        keep = journal.keep
        if keep is not None:
            keep(record.frozen())

    def injected(self, provider: str, endpoint: str, latency: float, fault: str | None) -> None:
        """A request got ``latency`` engine seconds of injected delay and/or an injected fault."""
        if latency > 0:
            key = (provider, endpoint)
            counts = self.latency.get(key)
            if counts is None:
                counts = self.latency[key] = [0.0] * (len(LATENCY_BUCKETS) + 1)
            real = latency * self.clock.scale
            for i, bound in enumerate(LATENCY_BUCKETS):
                if real <= bound:
                    counts[i] += 1
                    break
            counts[-1] += real
        if fault is not None:
            key = (provider, fault)
            self.faults[key] = self.faults.get(key, 0) + 1

    def rejected(self, provider: str, limit: str) -> None:
        key = (provider, limit)
        self.rejections[key] = self.rejections.get(key, 0) + 1

    # -- jobs -----------------------------------------------------------------------------------------------

    def quote(self, provider: str, model: str, usage: dict[str, Any] | None, profile: Any = None) -> Quote | None:
        return self._book_for(profile).quote(provider, model, usage)

    def priced(self, provider: str, model: str, usage: dict[str, Any] | None, profile: Any = None
               ) -> tuple[dict[str, Any] | None, Quote | None]:
        """(usage, quote) for a new job, both shared with every job of the same model and usage: a job
        store of 100,000 jobs then holds a few hundred of them, not 200,000 more objects."""
        if usage is None:
            return None, None
        try:
            key = (provider, model, id(self._book_for(profile)), tuple(sorted(usage.items())))
            found = self._priced.get(key)
        except TypeError:  # an unhashable value in the usage
            return usage, self.quote(provider, model, usage, profile)
        if found is None:
            if len(self._priced) >= MAX_PRICED:
                self._priced.clear()
            found = self._priced[key] = (usage, self.quote(provider, model, usage, profile))
        return found

    def _book_for(self, profile: Any) -> PriceBook:
        overrides = getattr(getattr(profile, "document", None), "prices", None)
        if not overrides:
            return self.prices
        found = self._profile_books.get(id(profile))
        if found is not None and found[0] is profile:
            return found[1]
        book = PriceBook.parse(overrides, self.prices, source=f"{profile.name}.prices")
        books: MutableMapping[int, tuple[Any, PriceBook]] = self._profile_books
        if len(books) >= MAX_PROFILE_BOOKS:
            del books[next(iter(books))]
            self._priced.clear()  # its keys name books by id
        books[id(profile)] = (profile, book)
        return book

    def created(self, job: Any) -> None:
        self.ledger.created(job)

    def changed(self, job: Any) -> None:
        self.ledger.changed(job)

    def forget(self, job: Any) -> None:
        """The job left the store (expired, evicted or deleted): settle it if it has not been yet."""
        self.ledger.forget(job)

    def downloaded(self, job: Any, size: int) -> None:
        """Media of ``job`` was served outside a provider endpoint (the shared media route)."""
        self.observer.downloaded(job.provider, job.account, job, size)

    def webhook(self, provider: str, account: str | None, job: Any, outcome: str, terminal: bool) -> None:
        clock = self.clock
        self.observer.webhook(provider, account, job, outcome, terminal, clock.now(), clock.scale)

    # -- reading --------------------------------------------------------------------------------------------

    def clear_journal(self) -> None:
        self.journal.clear()

    def reset(self) -> None:
        self.journal.clear()
        self.observer.clear()
        self.ledger.clear()
        self.faults.clear()
        self.rejections.clear()
        self.latency.clear()
        self.started = time.time()
