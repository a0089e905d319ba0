"""The journal and the report's counters shared by every replica through Redis (``--state redis://...``).

Nothing here runs on the request path: a finished request's journal record goes to a bounded in-process outbox
(``SharedJournal.append``, a deque append), and one task per replica flushes it every ``FLUSH_S`` seconds, or as
soon as ``BATCH`` records wait, in one pipelined round trip:

* journal records: ``RPUSH`` onto one Redis list, ``LTRIM`` to the journal's size (the same bound as in
  memory), and a counter of every request seen (so ``dropped`` is the same number on every replica); the caller's
  key is stored as its fingerprint only, the time as Unix seconds;
* the report's counters: this replica's figures (jobs, costs, polls per job, retries, downloads, webhooks, jobs in
  flight), a small JSON document in one hash field per replica, rewritten when they changed; the sampled values
  behind percentiles (poll intervals, detection lags, early retries) are pushed as they come onto one bounded
  list per provider and key.

``/__mock/requests``, ``/count`` and ``/report`` on any replica read all of it (after flushing their own
outbox, so a replica always sees its own requests at once and the others' within a flush). ``DELETE
/__mock/requests`` and reset bump a generation number that names the keys: every replica sees it at its next
flush and clears its own figures; what was flushed under the old number is deleted. A reset bumps it before the
engine tells the other replicas: one that hears of it forgets its figures then and adopts the new number at its
next flush, so a request it serves after the reset answered is kept (only a replica that missed the message clears
on the number alone). Metrics stay per process.

Each replica settles the jobs it created (their outcome, cost and time throttled); as another replica may cancel
one or give it a slot, each flush re-reads a few of them (``REFRESH``, round robin) from the shared job store.
Each replica computes per-job figures (poll intervals, detection lag) from the polls it served itself: behind a
load balancer that spreads one job's polls over several replicas, each sees part of them (clients' keep-alive
connections mostly keep a job's polls on one replica).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
import uuid
from collections import deque
from dataclasses import asdict
from typing import Any

import orjson

from ..insight import report
from ..insight.journal import Filter, Journal, Record, fingerprint
from ..insight.ledger import Tally
from ..tasks import stop_task
from .backend import StateUnavailable

log = logging.getLogger("mockprovider")

FLUSH_S = 0.1  # the longest a record waits in the outbox
BATCH = 500  # records that wake the flusher before FLUSH_S
OUTBOX = 50_000  # records held while Redis is slow or away; older ones are counted as seen and lost
SAMPLES = 4_096  # values kept per provider, key and kind in Redis, as in memory
SAMPLE_KINDS = ("intervals", "lags", "early_by")
REFRESH = 64  # jobs in flight re-read per flush (round robin): another replica may have cancelled or re-planned
KEY_TTL = 86400.0  # every key expires a day after its last write (a storage bound for keys a reset left behind)


class SharedJournal(Journal):
    """The process's journal, which also hands every record to the outbox the flusher empties."""

    def __init__(self, size: int, outbox: deque) -> None:
        super().__init__(size)
        self.outbox = outbox
        self.wake: asyncio.Event | None = None
        self.lost = 0
        self.keep = self.append if size else None

    def append(self, frozen: tuple) -> None:
        self._records.append(frozen)
        outbox = self.outbox
        if len(outbox) == OUTBOX:
            self.lost += 1
        outbox.append(frozen)
        if len(outbox) >= BATCH and self.wake is not None:
            self.wake.set()


class SharedInsight:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.state = ctx.state
        engine = ctx.engine
        self.insight = engine.insight
        self.clock = engine.clock
        self.replica = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.outbox: deque = deque(maxlen=OUTBOX)
        local = self.insight.journal
        self.journal = SharedJournal(local.size, self.outbox)
        self.insight.journal = self.journal
        self.size = local.size
        self.jgen = 0
        self.rgen = 0
        self._sent: dict[tuple[str, str | None, str], int] = {}  # samples already pushed, per group and kind
        self._lists: set[str] = set()
        self._signature: tuple | None = None
        self._next_snapshot = 0.0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._failing = False
        self._refresh_at = 0  # where the round robin over the ledger's jobs in flight resumes
        self._adopt = False  # this process forgot its figures for a reset: take the generation numbers as they are
        engine.forget_listeners.append(self._forgot)

    # -- keys -----------------------------------------------------------------------------------------------

    def _k(self, *parts: object) -> str:
        return self.state.key("insight", *parts)

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.journal.wake = asyncio.Event()
        redis = self.state.redis
        jgen, rgen = await redis.mget(self._k("jgen"), self._k("rgen"))
        self.jgen, self.rgen = int(jgen or 0), int(rgen or 0)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mockprovider-insight-flush")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        with contextlib.suppress(StateUnavailable):
            await self.flush()

    async def _run(self) -> None:
        wake = self.journal.wake
        assert wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), FLUSH_S)
            wake.clear()
            try:
                await self.flush()
            except StateUnavailable as exc:
                if not self._failing:
                    log.warning("insight: cannot flush the journal and report to Redis (%s); retrying", exc)
                    self._failing = True
                await asyncio.sleep(FLUSH_S)
            except Exception:  # never let the flusher die
                log.exception("insight: flush failed")
                await asyncio.sleep(FLUSH_S)

    # -- writing --------------------------------------------------------------------------------------------

    async def flush(self) -> None:
        async with self._lock:
            try:
                await self._flush()
            except StateUnavailable:
                raise
            except (OSError, ConnectionError, TimeoutError) as exc:
                raise StateUnavailable(str(exc)) from exc
            except Exception as exc:
                from redis.exceptions import RedisError

                if isinstance(exc, RedisError):
                    raise StateUnavailable(str(exc)) from exc
                raise
        if self._failing:
            log.info("insight: flushing to Redis again")
            self._failing = False

    async def _refresh(self) -> None:
        """Re-read a few of the jobs this replica created and has not settled: their shared copy may have been
        cancelled or given a slot by another replica, which this replica's ledger would not hear of."""
        tracked = list(self.insight.ledger._tracked.values())
        if not tracked:
            return
        start = self._refresh_at % len(tracked)
        window = tracked[start:start + REFRESH]
        self._refresh_at = start + len(window)
        ends = [job.ends for _, job in window]
        engine = self.ctx.engine
        await asyncio.gather(*(engine.find(job.id) for _, job in window))  # refreshes the cached jobs in place
        ledger = self.insight.ledger
        for (_, job), end in zip(window, ends, strict=True):
            if job.ends != end:
                ledger.changed(job)

    def _forgot(self) -> None:
        """The engine forgot everything (a reset here or on another replica): what waits to be flushed is from
        before it, and the next flush reads the reset's generation numbers instead of clearing again."""
        self.outbox.clear()
        self.journal.lost = 0
        self._forget_local()
        self._adopt = True

    async def _flush(self) -> None:
        if self._adopt:
            self._adopt = False
            jgen, rgen = await self.state.redis.mget(self._k("jgen"), self._k("rgen"))
            if self._adopt:  # forgot once more meanwhile: the next flush reads them again
                return
            self.jgen, self.rgen = int(jgen or 0), int(rgen or 0)
        await self._refresh()
        outbox = self.outbox
        taken = [outbox.popleft() for _ in range(len(outbox))]
        lost, self.journal.lost = self.journal.lost, 0
        pipe = self.state.redis.pipeline(transaction=False)
        pipe.mget(self._k("jgen"), self._k("rgen"))
        if taken or lost:
            origin = self.clock.epoch(0.0)
            wall = time.time() - time.monotonic()  # + a record's monotonic arrival = its wall-clock arrival
            journal, seen = self._k("journal", self.jgen), self._k("seen", self.jgen)
            if taken:
                pipe.rpush(journal, *(_encode(values, origin, wall) for values in taken))
                pipe.ltrim(journal, -self.size, -1)
                pipe.expire(journal, int(KEY_TTL))
            pipe.incrby(seen, len(taken) + lost)
            pipe.expire(seen, int(KEY_TTL))
        self._write_samples(pipe)
        self._write_snapshot(pipe)
        try:
            replies = await pipe.execute()
        except Exception:
            for values in reversed(taken):  # try again next time (the outbox stays bounded)
                outbox.appendleft(values)
            raise
        raw_jgen, raw_rgen = replies[0]
        if raw_jgen is None and raw_rgen is None and (self.jgen or self.rgen):
            # Redis came back without its data (a restart without persistence): not a reset. Put our numbers
            # back (the first replica to do so wins) and keep our figures, which the next flushes rewrite.
            await _call(self.state.redis.msetnx({self._k("jgen"): self.jgen, self._k("rgen"): self.rgen}))
            self._signature = None
            return
        jgen, rgen = int(raw_jgen or 0), int(raw_rgen or 0)
        if self._adopt:  # the engine forgot during this flush: the next one adopts the numbers
            return
        if rgen != self.rgen:  # another replica reset: start over under the new number
            self.rgen, self.jgen = rgen, jgen
            self._forget_local()
            self.insight.reset()
        elif jgen != self.jgen:  # another replica cleared the journal
            self.jgen = jgen
            self.journal.clear()

    def _write_samples(self, pipe: Any) -> None:
        sent = self._sent
        for (provider, key), group in list(self.insight.observer.groups.items()):
            for kind in SAMPLE_KINDS:
                samples = getattr(group, kind)
                done = sent.get((provider, key, kind), 0)
                fresh = samples.total - done
                if fresh <= 0:
                    continue
                sent[(provider, key, kind)] = samples.total
                name = self._sample_key(provider, report.label(key), kind)
                pipe.rpush(name, *(repr(v) for v in samples.newest(fresh)))
                pipe.ltrim(name, -SAMPLES, -1)
                pipe.expire(name, int(KEY_TTL))
                if name not in self._lists:
                    self._lists.add(name)
                    pipe.sadd(self._k("lists", self.rgen), name)
                    pipe.expire(self._k("lists", self.rgen), int(KEY_TTL))

    def _sample_key(self, provider: str, name: str, kind: str) -> str:
        return self._k("samples", self.rgen, provider, name, kind)

    def _write_snapshot(self, pipe: Any) -> None:
        """This replica's counters, when they changed (and at most as often as building them allows: a gather
        walks the jobs in flight, so one that took t seconds waits 10 t before the next)."""
        insight = self.insight
        ledger = insight.ledger
        signature = (insight.journal.seen, ledger._seq, len(ledger._tracked), len(insight.observer.groups),
                     sum(sum(g.webhooks.values()) + g.downloads for g in insight.observer.groups.values()))
        now = time.monotonic()
        if (signature == self._signature and now < self._next_snapshot + 1.0) or now < self._next_snapshot:
            return
        started = time.perf_counter()
        keyed, _ = report.gather(self.ctx.engine, samples=False)
        document = {"started": insight.started, "evicted": insight.observer.evicted_keys,
                    "peaks": {p: ledger.peak(p) for p in ledger.providers},
                    "keys": [[provider, name, _figures_out(f)] for (provider, name), f in keyed.items()]}
        took = time.perf_counter() - started
        self._signature = signature
        self._next_snapshot = time.monotonic() + 10 * took
        name = self._k("report", self.rgen)
        pipe.hset(name, self.replica, orjson.dumps(document))
        pipe.expire(name, int(KEY_TTL))

    def _forget_local(self) -> None:
        self._sent.clear()
        self._lists.clear()
        self._signature = None
        self._next_snapshot = 0.0

    # -- clearing -------------------------------------------------------------------------------------------

    async def clear_journal(self) -> None:
        """DELETE /__mock/requests: for every replica."""
        await self.flush()
        redis = self.state.redis
        old = self.jgen
        self.jgen = await _call(redis.incr(self._k("jgen")))
        await _call(redis.delete(self._k("journal", old), self._k("seen", old)))
        self.journal.clear()

    async def reset(self) -> None:
        """POST /__mock/reset: the journal and the report start over on every replica (the engine has reset this
        replica's own figures already)."""
        async with self._lock:
            self.outbox.clear()
            self.journal.lost = 0
            redis = self.state.redis
            old_j, old_r = self.jgen, self.rgen
            pipe = redis.pipeline(transaction=False)
            pipe.incr(self._k("jgen"))
            pipe.incr(self._k("rgen"))
            pipe.smembers(self._k("lists", old_r))
            jgen, rgen, lists = await _call(pipe.execute())
            self.jgen, self.rgen = int(jgen), int(rgen)
            self._forget_local()
            stale = [self._k("journal", old_j), self._k("seen", old_j), self._k("report", old_r),
                     self._k("lists", old_r), *(n.decode() if isinstance(n, bytes) else n for n in lists)]
            await _call(redis.delete(*stale))

    # -- reading --------------------------------------------------------------------------------------------

    async def records(self) -> tuple[list[Record], int]:
        """Every replica's journal records, oldest first (times in this replica's engine time), and how many
        requests were seen in all since the last clear."""
        await self.flush()
        pipe = self.state.redis.pipeline(transaction=False)
        pipe.lrange(self._k("journal", self.jgen), 0, -1)
        pipe.get(self._k("seen", self.jgen))
        raw, seen = await _call(pipe.execute())
        origin = self.clock.epoch(0.0)
        records = [_decode(item, origin) for item in raw]
        records.sort(key=lambda r: r.real)  # by wall-clock arrival: replicas' engine clocks may differ
        return records, int(seen or 0)

    async def select(self, wanted: Filter, limit: int | None) -> tuple[list[Record], int, int]:
        records, seen = await self.records()
        wanted.keys_fingerprinted = True
        matched = [r for r in records if wanted(r)]
        total = len(matched)
        if limit is not None:
            matched = matched[max(total - limit, 0):]
        return matched, total, max(seen - len(records), 0)

    async def count(self, wanted: Filter) -> int:
        records, _ = await self.records()
        wanted.keys_fingerprinted = True
        return sum(1 for r in records if wanted(r))

    async def build_report(self) -> dict[str, Any]:
        await self.flush()
        redis = self.state.redis
        snapshots = await _call(redis.hgetall(self._k("report", self.rgen)))
        keyed: dict[tuple[str, str], report.Figures] = {}
        providers: dict[str, report.Figures] = {}
        peaks: dict[str, int] = {}
        since, evicted = math.inf, 0
        for raw in snapshots.values():
            document = orjson.loads(raw)
            since = min(since, document["started"])
            evicted += document["evicted"]
            for provider, peak in document["peaks"].items():
                peaks[provider] = peaks.get(provider, 0) + peak
            for provider, name, figures in document["keys"]:
                k = keyed.get((provider, name))
                if k is None:
                    k = keyed[(provider, name)] = report.Figures()
                p = providers.get(provider)
                if p is None:
                    p = providers[provider] = report.Figures()
                _figures_in(k, figures, add_peak=True)
                _figures_in(p, figures, add_peak=False)
        for provider, p in providers.items():
            p.peak = peaks.get(provider, 0)
        pipe = redis.pipeline(transaction=False)
        wanted = [(provider, name, kind) for provider, name in keyed for kind in SAMPLE_KINDS]
        for provider, name, kind in wanted:
            pipe.lrange(self._sample_key(provider, name, kind), 0, -1)
        lists = await _call(pipe.execute()) if wanted else []
        for (provider, name, kind), values in zip(wanted, lists, strict=True):
            numbers = [float(v) for v in values]
            getattr(keyed[(provider, name)], kind).extend(numbers)
            getattr(providers[provider], kind).extend(numbers)
        insight = self.insight
        return report.assemble(keyed, providers, insight.prices, self.clock.now(), self.clock.scale,
                               insight.started if since == math.inf else since, evicted)


async def _call(awaitable: Any) -> Any:
    """Await a Redis call, turning a connection failure into StateUnavailable."""
    from redis.exceptions import RedisError

    try:
        return await awaitable
    except (RedisError, OSError) as exc:
        raise StateUnavailable(str(exc)) from exc


def _encode(values: tuple, origin: float, wall: float) -> bytes:
    """A record as Redis keeps it: the key as its fingerprint, ``at`` as the Unix time of the replica's engine
    clock (what the journal shows), ``real`` as the wall-clock arrival (what orders replicas' records)."""
    provider, endpoint, method, path, at, real, key, status, size, latency, fault, hint, job = values
    return orjson.dumps([provider, endpoint, method, path, round(origin + at, 6), round(wall + real, 6),
                         fingerprint(key), status, size, latency, fault, hint, job])


def _decode(raw: bytes, origin: float) -> Record:
    provider, endpoint, method, path, at, real, key, status, size, latency, fault, hint, job = orjson.loads(raw)
    return Record.thaw((provider, endpoint, method, path, at - origin, real, key, status, size, latency, fault,
                        hint, job))


def _figures_out(f: report.Figures) -> dict[str, Any]:
    tally = f.tally
    return {
        "requests": f.requests,
        "tally": {name: getattr(tally, name) for name in Tally.__slots__},
        "in_flight": asdict(f.in_flight),
        "poll_hist": list(f.poll_hist.items()),
        "retries": f.retries, "with_hint": f.with_hint, "early": f.early,
        "downloads": f.downloads, "media_bytes": f.media_bytes, "webhooks": f.webhooks, "peak": f.peak,
    }


def _figures_in(f: report.Figures, d: dict[str, Any], add_peak: bool) -> None:
    f.requests += d["requests"]
    tally = Tally()
    for name, value in d["tally"].items():
        if name in Tally.__slots__:
            setattr(tally, name, value)
    f.tally.merge(tally)
    f.in_flight.merge(report.InFlight(**d["in_flight"]))
    for n, jobs in d["poll_hist"]:
        f.poll_hist[int(n)] = f.poll_hist.get(int(n), 0) + jobs
    for k, v in d["retries"].items():
        f.retries[k] = f.retries.get(k, 0) + v
    f.with_hint += d["with_hint"]
    f.early += d["early"]
    f.downloads += d["downloads"]
    f.media_bytes += d["media_bytes"]
    for k, v in d["webhooks"].items():
        f.webhooks[k] = f.webhooks.get(k, 0) + v
    if add_peak:  # replicas' peaks add up: at most what was live at once across them
        f.peak += d["peak"]


def install(app: Any) -> SharedInsight | None:
    """Share the journal and report of ``app`` when its state is in Redis (called once, at construction)."""
    ctx = app.ctx
    if not ctx.state.shared:
        return None
    shared = SharedInsight(ctx)
    ctx.engine.insight.shared = shared
    app.startup_hooks.append(shared.start)
    app.shutdown_hooks.insert(0, shared.stop)
    return shared
