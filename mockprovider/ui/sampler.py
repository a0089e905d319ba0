"""One sampler for every viewer of the live page: a task that wakes once per interval, brings the job census and
request rates up to date, keeps a bounded history for the charts, and, only while someone watches, builds one
snapshot that every open event stream shares. Provider requests never wait on it: it reads counters the hot
path already keeps, and its own work per tick is bounded (see census.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import orjson

from ..tasks import stop_task
from . import insight_view, views
from .census import LIVE_STATES, JobCensus

log = logging.getLogger("mockprovider.ui")

RATE_WINDOW = 10.0  # real seconds over which request rates are averaged
MIX_WINDOW = 60.0  # real seconds of the status mix and the profiles in use
NEWEST_JOBS = 12
NEWEST_REQUESTS = 12
MIN_GAP = 0.2  # real seconds: the closest two ticks may come, however often they are asked for
SLOW_EVERY = 5  # ticks between refreshes of the costlier panels (report, profile names)

Source = Callable[[], Any]


class Viewer:
    """One open event stream: a one-slot mailbox where the newest snapshot replaces one not yet sent."""

    __slots__ = ("pending", "wake")

    def __init__(self) -> None:
        self.pending: bytes | None = None
        self.wake = asyncio.Event()

    def offer(self, data: bytes) -> None:
        self.pending = data
        self.wake.set()

    def take(self) -> bytes | None:
        data, self.pending = self.pending, None
        self.wake.clear()
        return data


class Sampler:
    def __init__(self, app: Any, interval: float = 1.0, history_seconds: float = 600.0,
                 max_viewers: int = 32, stream_seconds: float = 20.0) -> None:
        self.app = app
        # a stream ends by itself after this and the browser resumes it (Last-Event-ID): shutdown never waits
        self.stream_seconds = stream_seconds
        self.ctx = app.ctx
        self.interval = interval
        self.max_viewers = max_viewers
        self.census = JobCensus(self.ctx.engine.store)
        self.history: deque[dict[str, Any]] = deque(maxlen=max(int(history_seconds / interval), 10))
        self.viewers: set[Viewer] = set()
        self.seq = 0
        self.streams = 0  # event streams served
        self.boot = secrets.token_hex(4)  # event ids carry it: a stream resumed across a restart starts afresh
        self.latest: dict[str, Any] | None = None
        self.latest_bytes: bytes | None = None
        self.tick_seconds: deque[float] = deque(maxlen=120)  # what each tick cost, for the page's footer
        self.sources: dict[str, Source] = {}  # extra panels: name -> () -> JSON-able (journal, report, ...)
        self.job_sources: dict[str, Callable[[str], list[dict[str, Any]]]] = {}  # job id -> its requests, ...
        self._slow: dict[str, Any] = {}
        self._stats = self.ctx.engine.stats
        self._request_totals: dict[tuple[str, str, int], int] = {}
        self._request_window: deque[tuple[float, dict[str, Counter[tuple[str, int]]]]] = deque()
        self._created_window: deque[tuple[float, Counter[tuple[str, str]]]] = deque()
        self._proxy_totals: dict[str, int] = {}
        self._proxy_rates: dict[str, float] = {}
        self._last_tick = time.monotonic()
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    def poke(self) -> None:
        """Something viewers want to see soon (a profile switch): tick early, at most every MIN_GAP."""
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        self._wake = wake = asyncio.Event()
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.interval)
            wake.clear()
            gap = MIN_GAP - (time.monotonic() - self._last_tick)
            if gap > 0:
                await asyncio.sleep(gap)
            try:
                self.tick()
            except Exception:
                log.exception("live page sampler failed")

    def subscribe(self) -> Viewer | None:
        if len(self.viewers) >= self.max_viewers:
            return None
        viewer = Viewer()
        self.viewers.add(viewer)
        self.streams += 1
        return viewer

    def unsubscribe(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    # -- one tick ---------------------------------------------------------------------------------------------

    @property
    def providers(self) -> list[str]:
        return [d.name for d in self.app.dialects]

    def tick(self) -> None:
        started = time.perf_counter()
        engine = self.ctx.engine
        real_now = time.monotonic()
        elapsed = max(real_now - self._last_tick, 1e-6)
        self._last_tick = real_now
        if engine.stats is not self._stats:  # the engine was reset: every job and count is gone
            self._stats = engine.stats
            self.census.clear()
            self._request_totals = {}
            self._request_window.clear()
            self._created_window.clear()
        now = engine.clock.now()
        fresh = self.census.update(now, engine.stats.created)
        self._count_created(real_now, fresh)
        self._count_requests(real_now)
        self._count_proxy_bytes(elapsed)
        self.seq += 1
        point = {"seq": self.seq, "t": engine.clock.epoch(), "p": {}}
        rates = self.request_rates(real_now)
        for provider in self.providers:
            states = self.census.by_state(provider)
            rate = rates.get(provider, {})
            point["p"][provider] = {**{s: states[s] for s in LIVE_STATES},
                                    "rps": rate.get("rps", 0.0), "err": rate.get("errors_per_s", 0.0)}
        self.history.append(point)
        if self.viewers:
            snapshot = self.snapshot(point)
            data = sse("snapshot", snapshot, self.event_id)
            self.latest, self.latest_bytes = snapshot, data
            for viewer in self.viewers:
                viewer.offer(data)
        else:
            self.latest = self.latest_bytes = None
        self.tick_seconds.append(time.perf_counter() - started)

    def _count_created(self, real_now: float, fresh: list) -> None:
        window = self._created_window
        if fresh:
            window.append((real_now, Counter((job.provider, job.profile) for job in fresh)))
        while window and window[0][0] < real_now - MIX_WINDOW:
            window.popleft()

    def _count_requests(self, real_now: float) -> None:
        totals = dict(self.ctx.metrics.requests)
        previous = self._request_totals
        delta: dict[str, Counter[tuple[str, int]]] = {}
        for (provider, kind, status), n in totals.items():
            gained = n - previous.get((provider, kind, status), 0)
            if gained < 0:  # counters were cleared
                gained = n
            if gained:
                delta.setdefault(provider, Counter())[(kind, status)] += gained
        self._request_totals = totals
        window = self._request_window
        window.append((real_now, delta))
        while window and window[0][0] < real_now - MIX_WINDOW:
            window.popleft()

    def _count_proxy_bytes(self, elapsed: float) -> None:
        totals = views.proxy_bytes(getattr(self.app, "chaos_proxy", None))
        self._proxy_rates = {name: max(n - self._proxy_totals.get(name, n), 0) / elapsed
                             for name, n in totals.items()}
        self._proxy_totals = totals

    def request_rates(self, real_now: float) -> dict[str, dict[str, Any]]:
        """Per provider: requests per second over the last few seconds, and the status and endpoint mix over
        the last minute."""
        out: dict[str, dict[str, Any]] = {}
        recent_since = real_now - RATE_WINDOW
        window = self._request_window
        span_recent = min(RATE_WINDOW, max(real_now - window[0][0], self.interval)) if window else RATE_WINDOW
        for at, delta in window:
            for provider, counts in delta.items():
                entry = out.setdefault(provider, {"recent": 0, "recent_errors": 0, "status": Counter(),
                                                  "endpoints": Counter()})
                for (kind, status), n in counts.items():
                    entry["status"][status] += n
                    entry["endpoints"][kind] += n
                    if at >= recent_since:
                        entry["recent"] += n
                        if status >= 400:
                            entry["recent_errors"] += n
        for entry in out.values():
            entry["rps"] = round(entry.pop("recent") / span_recent, 2)
            entry["errors_per_s"] = round(entry.pop("recent_errors") / span_recent, 2)
            entry["status"] = {str(k): v for k, v in sorted(entry["status"].items())}
            entry["endpoints"] = dict(entry["endpoints"].most_common())
        return out

    # -- the snapshot -----------------------------------------------------------------------------------------

    def _slow_panels(self) -> dict[str, Any]:
        if self.seq % SLOW_EVERY == 1 or not self._slow:
            slow: dict[str, Any] = {"available": self.ctx.library.names()}
            for name, source in self.sources.items():
                try:
                    slow[name] = source()
                except Exception as exc:
                    log.warning("live page panel %s failed: %s", name, exc)
                    slow[name] = None
            self._slow = slow
        return self._slow

    def snapshot(self, point: dict[str, Any] | None = None) -> dict[str, Any]:
        engine = self.ctx.engine
        clock = engine.clock
        now = clock.now()
        real_now = time.monotonic()
        slow = self._slow_panels()
        rates = self.request_rates(real_now)
        limits = views.limit_use(engine, self.providers, now)
        in_use: dict[str, dict[str, int]] = {}
        for _, counts in self._created_window:
            for (provider, profile), n in counts.items():
                in_use.setdefault(provider, {})
                in_use[provider][profile] = in_use[provider].get(profile, 0) + n
        webhooks = getattr(self.ctx, "webhooks", None)
        faults = insight_view.faults(engine)
        rejections = insight_view.rejections(engine)
        providers = {}
        for provider in self.providers:
            providers[provider] = {
                "jobs": self.census.by_state(provider),
                "created": self.census.created.get(provider, 0),
                "requests": rates.get(provider, {"rps": 0.0, "errors_per_s": 0.0, "status": {}, "endpoints": {}}),
                "limits": limits[provider],
                "profiles_in_use": in_use.get(provider, {}),
                "webhooks": webhooks.journal.totals(provider) if webhooks is not None else None,
                "faults": None if faults is None else faults.get(provider, {}),
                "rejections": None if rejections is None else rejections.get(provider, {}),
            }
        ticks = sorted(self.tick_seconds)
        return {
            "seq": self.seq,
            "t": clock.epoch(),
            "clock": {"now": now, "scale": clock.scale},
            "point": point,
            "profile": views.profiles(engine, slow.get("available", [])),
            "providers": providers,
            "jobs": [views.job_row(job, now) for job in engine.store.recent(NEWEST_JOBS)],
            "extra": {name: slow.get(name) for name in self.sources},
            "requests": insight_view.newest_requests(engine, NEWEST_REQUESTS),
            "proxy": views.proxy(getattr(self.app, "chaos_proxy", None), self._proxy_rates),
            "server": {
                "jobs_stored": len(engine.store),
                "jobs_live": self.census.live,
                "loop_lag": self.ctx.loop_lag.summary(),
                "viewers": len(self.viewers),
                "interval_s": self.interval,
                "tick_ms_p99": round(ticks[int(0.99 * (len(ticks) - 1))] * 1000, 3) if ticks else None,
            },
        }

    def current(self) -> dict[str, Any]:
        """This tick's snapshot, built now (and shared until the next tick) if nobody watched at the tick."""
        if self.latest is None:
            self.latest = self.snapshot()
            self.latest_bytes = sse("snapshot", self.latest, self.event_id)
        return self.latest

    def current_event(self) -> bytes:
        self.current()
        assert self.latest_bytes is not None
        return self.latest_bytes

    @property
    def event_id(self) -> str:
        return f"{self.boot}.{self.seq}"

    def resume_point(self, last_event_id: str) -> int | None:
        """The tick a reconnecting stream last saw (its Last-Event-ID), if it was this sampler's."""
        boot, _, seq = last_event_id.partition(".")
        if boot != self.boot or not seq.isdigit() or len(seq) > 12:
            return None
        return int(seq)

    def history_since(self, seq: int | None) -> list[dict[str, Any]]:
        if seq is None:
            return list(self.history)
        return [p for p in self.history if p["seq"] > seq]


def sse(event: str, data: Any, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"
