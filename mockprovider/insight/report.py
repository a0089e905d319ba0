"""The client-behaviour report: per provider and per key, since the last reset (``GET /__mock/report``).

Built on demand from counters kept as jobs and requests happen: the ledger (finished jobs, jobs live at once),
the observer's figures (polls per job as a histogram, intervals, lags, retries...) and a walk of the jobs in
flight only, never of the job store. Its top-level shape is stable (the live page reads it)::

    {"providers": {<name>: {"jobs", "polls_per_job", "poll_interval_s", "detection_lag_s", "retries",
                            "downloads", "webhooks", "cost_usd", "cost", "requests", "keys": {<fingerprint>: ...}}},
     "total_cost_usd": ..., "since": ..., "generated_at": ..., "time_scale": ..., "seconds": "real"}
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .journal import fingerprint
from .ledger import Tally, in_flight_state, planned_charge
from .observer import OTHER_KEYS, Group, histogram_summary, summary


@dataclass
class InFlight:
    """Jobs still in flight, summed: what the report needs of them (a replica hands these to the others)."""

    count: int = 0
    states: dict[str, int] = field(default_factory=lambda: {"throttled": 0, "queued": 0, "running": 0})
    throttled_s: float = 0.0  # real seconds spent throttled so far
    queued_s: float = 0.0
    usd: float = 0.0  # what they will be charged, by their planned outcome
    units: float = 0.0
    by_model: dict[str, float] = field(default_factory=dict)
    unpriced: int = 0

    def add_job(self, job: Any, now: float, scale: float) -> None:
        self.count += 1
        self.states[in_flight_state(job, now)] += 1
        self.throttled_s += max(min(job.admitted, now) - job.created, 0.0) * scale
        self.queued_s += max(min(job.started, now) - job.admitted, 0.0) * scale
        if job.quote is None:
            self.unpriced += 1
            return
        usd = planned_charge(job)
        if usd:
            self.usd += usd
            self.units += job.quote.units
            self.by_model[job.model] = self.by_model.get(job.model, 0.0) + usd

    def merge(self, other: InFlight) -> None:
        self.count += other.count
        for k, v in other.states.items():
            self.states[k] = self.states.get(k, 0) + v
        self.throttled_s += other.throttled_s
        self.queued_s += other.queued_s
        self.usd += other.usd
        self.units += other.units
        for k, v in other.by_model.items():
            self.by_model[k] = self.by_model.get(k, 0.0) + v
        self.unpriced += other.unpriced


@dataclass
class Figures:
    """What one key (or a whole provider) did, gathered for rendering."""

    requests: int = 0
    tally: Tally = field(default_factory=Tally)
    in_flight: InFlight = field(default_factory=InFlight)
    poll_hist: dict[int, int] = field(default_factory=dict)  # polls -> jobs polled that often (at least once)
    intervals: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    retries: dict[str, int] = field(default_factory=lambda: {"429": 0, "5xx": 0, "fault": 0})
    with_hint: int = 0
    early: int = 0
    early_by: list[float] = field(default_factory=list)
    downloads: int = 0
    media_bytes: int = 0
    webhooks: dict[str, int] = field(default_factory=lambda: {"delivered": 0, "failed": 0, "acknowledged": 0})
    peak: int = 0

    def add_group(self, group: Group, samples: bool = True) -> None:
        self.requests += group.requests
        if group.jobs is not None:
            self.tally.merge(group.jobs)
        for n, jobs in group.poll_hist.items():
            self.poll_hist[n] = self.poll_hist.get(n, 0) + jobs
        if samples:
            self.intervals += group.intervals.values()
            self.lags += group.lags.values()
            self.early_by += group.early_by.values()
        for k, v in group.retries.items():
            self.retries[k] += v
        self.with_hint += group.with_hint
        self.early += group.early
        self.downloads += group.downloads
        self.media_bytes += group.media_bytes
        for k, v in group.webhooks.items():
            self.webhooks[k] += v
        if group.jobs is not None:
            self.peak = max(self.peak, group.jobs.peak)


def _round(x: float) -> float:
    return round(x, 6)


def render(f: Figures, now: float, scale: float, unit: str | None) -> dict[str, Any]:
    tally = f.tally
    live = f.in_flight
    in_flight_usd = live.usd
    throttled_s, queued_s = tally.throttled_s + live.throttled_s, tally.queued_s + live.queued_s
    retried = sum(f.retries.values())
    succeeded = tally.succeeded
    early_by = summary(f.early_by, ("p50", 0.5), ("max", 1.0))
    early_by.pop("count")
    unpriced = tally.unpriced + live.unpriced
    by_model = dict(tally.usd_by_model)
    for model, usd in live.by_model.items():
        by_model[model] = by_model.get(model, 0.0) + usd
    units = tally.units + live.units
    return {
        "requests": f.requests,
        "jobs": {
            "created": tally.created,
            "succeeded": succeeded,
            "failed": sum(tally.failed.values()),
            "failed_by_reason": dict(sorted(tally.failed.items())),
            "cancelled": tally.cancelled,
            "in_flight": live.count,
            "in_flight_by_state": dict(live.states),
            "peak_concurrent": f.peak,
            "throttled_s": _round(throttled_s),
            "queued_s": _round(queued_s),
        },
        "polls_per_job": histogram_summary(f.poll_hist, max(tally.created - sum(f.poll_hist.values()), 0),
                                           ("p50", 0.5), ("p95", 0.95)),
        "poll_interval_s": summary(f.intervals, ("p50", 0.5), ("p95", 0.95)),
        "detection_lag_s": summary(f.lags, ("p50", 0.5), ("p95", 0.95)),
        "retries": {
            "total": retried,
            "after_429": f.retries["429"],
            "after_5xx": f.retries["5xx"],
            "after_fault": f.retries["fault"],
            "with_hint": f.with_hint,
            "early": f.early,
            "early_fraction": _round(f.early / f.with_hint) if f.with_hint else None,
            "early_by_s": early_by,
        },
        "downloads": {
            "count": f.downloads,
            "per_succeeded_job": _round(f.downloads / succeeded) if succeeded else None,
            "media_bytes": f.media_bytes,
        },
        "webhooks": dict(f.webhooks),
        "cost_usd": _round(tally.usd + in_flight_usd),
        "cost": {
            "finished_usd": _round(tally.usd),
            "in_flight_usd": _round(in_flight_usd),
            "unit": unit,
            "units": _round(units),
            "by_model_usd": {k: _round(v) for k, v in sorted(by_model.items())},
            "unpriced_jobs": unpriced,
        },
    }


def label(key: str | None) -> str:
    """How the report names a key: its fingerprint, never the secret."""
    return OTHER_KEYS if key == OTHER_KEYS else fingerprint(key) or "(no key)"


def gather(engine: Any, samples: bool = True) -> tuple[dict[tuple[str, str], Figures], dict[str, Figures]]:
    """This process's figures, per (provider, key label) and per provider (without the sampled values when
    ``samples`` is false)."""
    insight = engine.insight
    clock = engine.clock
    now = clock.now()
    scale = clock.scale
    in_flight = insight.ledger.in_flight()
    keyed: dict[tuple[str, str], Figures] = {}
    providers: dict[str, Figures] = {}

    def figures(provider: str, key: str | None) -> tuple[Figures, Figures]:
        name = label(key)
        k = keyed.get((provider, name))
        if k is None:
            k = keyed[(provider, name)] = Figures()
        p = providers.get(provider)
        if p is None:
            p = providers[provider] = Figures()
        return k, p

    for (provider, key), group in list(insight.observer.groups.items()):
        k, p = figures(provider, key)
        k.add_group(group, samples)
        p.add_group(group, samples)
    for job in in_flight:
        k, p = figures(job.provider, job.account)
        k.in_flight.add_job(job, now, scale)
        p.in_flight.add_job(job, now, scale)
    for provider, p in providers.items():
        p.peak = insight.ledger.peak(provider)
    return keyed, providers


def assemble(keyed: dict[tuple[str, str], Figures], providers: dict[str, Figures], prices: Any, now: float,
             scale: float, since: float, evicted_keys: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    total = 0.0
    for provider in sorted(providers):
        book = prices.providers.get(provider)
        unit = book.unit if book is not None else None
        section = render(providers[provider], now, scale, unit)
        section["keys"] = {name: render(k, now, scale, unit)
                           for (prov, name), k in sorted(keyed.items(), key=lambda item: item[0][1])
                           if prov == provider}
        total += section["cost_usd"]
        out[provider] = section
    return {
        "since": since,
        "generated_at": time.time(),
        "time_scale": scale,
        "seconds": "real",
        "providers": out,
        "total_cost_usd": _round(total),
        "evicted_keys": evicted_keys,
    }


def build(engine: Any) -> dict[str, Any]:
    insight = engine.insight
    keyed, providers = gather(engine)
    return assemble(keyed, providers, insight.prices, engine.clock.now(), engine.clock.scale, insight.started,
                    insight.observer.evicted_keys)
