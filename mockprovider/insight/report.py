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
class Figures:
    """What one key (or a whole provider) did, gathered for rendering."""

    requests: int = 0
    tally: Tally = field(default_factory=Tally)
    in_flight: list[Any] = field(default_factory=list)
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

    def add_group(self, group: Group) -> None:
        self.requests += group.requests
        if group.jobs is not None:
            self.tally.merge(group.jobs)
        for n, jobs in group.poll_hist.items():
            self.poll_hist[n] = self.poll_hist.get(n, 0) + jobs
        self.intervals += group.intervals.values()
        self.lags += group.lags.values()
        for k, v in group.retries.items():
            self.retries[k] += v
        self.with_hint += group.with_hint
        self.early += group.early
        self.early_by += group.early_by.values()
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
    in_flight_usd = sum(planned_charge(j) for j in f.in_flight)
    states = {"throttled": 0, "queued": 0, "running": 0}
    throttled_s, queued_s = tally.throttled_s, tally.queued_s
    for job in f.in_flight:
        states[in_flight_state(job, now)] += 1
        throttled_s += max(min(job.admitted, now) - job.created, 0.0) * scale
        queued_s += max(min(job.started, now) - job.admitted, 0.0) * scale
    retried = sum(f.retries.values())
    succeeded = tally.succeeded
    early_by = summary(f.early_by, ("p50", 0.5), ("max", 1.0))
    early_by.pop("count")
    unpriced = tally.unpriced + sum(1 for j in f.in_flight if j.quote is None)
    by_model = dict(tally.usd_by_model)
    for job in f.in_flight:
        usd = planned_charge(job)
        if usd:
            by_model[job.model] = by_model.get(job.model, 0.0) + usd
    units = tally.units + sum(j.quote.units for j in f.in_flight if j.quote is not None and planned_charge(j))
    return {
        "requests": f.requests,
        "jobs": {
            "created": tally.created,
            "succeeded": succeeded,
            "failed": sum(tally.failed.values()),
            "failed_by_reason": dict(sorted(tally.failed.items())),
            "cancelled": tally.cancelled,
            "in_flight": len(f.in_flight),
            "in_flight_by_state": states,
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


def build(engine: Any) -> dict[str, Any]:
    insight = engine.insight
    clock = engine.clock
    now = clock.now()
    scale = clock.scale
    in_flight = insight.ledger.in_flight()
    keyed: dict[tuple[str, str | None], Figures] = {}
    providers: dict[str, Figures] = {}

    def figures(provider: str, key: str | None) -> tuple[Figures, Figures]:
        k = keyed.get((provider, key))
        if k is None:
            k = keyed[(provider, key)] = Figures()
        p = providers.get(provider)
        if p is None:
            p = providers[provider] = Figures()
        return k, p

    for (provider, key), group in list(insight.observer.groups.items()):
        k, p = figures(provider, key)
        k.add_group(group)
        p.add_group(group)
    for job in in_flight:
        k, p = figures(job.provider, job.account)
        k.in_flight.append(job)
        p.in_flight.append(job)
    for provider, p in providers.items():
        p.peak = insight.ledger.peak(provider)

    out: dict[str, Any] = {}
    total = 0.0
    for provider in sorted(providers):
        book = insight.prices.providers.get(provider)
        unit = book.unit if book is not None else None
        section = render(providers[provider], now, scale, unit)
        section["keys"] = {
            (OTHER_KEYS if key == OTHER_KEYS else fingerprint(key) or "(no key)"): render(k, now, scale, unit)
            for (prov, key), k in sorted(keyed.items(), key=lambda item: str(item[0][1]))
            if prov == provider
        }
        total += section["cost_usd"]
        out[provider] = section
    return {
        "since": insight.started,
        "generated_at": time.time(),
        "time_scale": scale,
        "seconds": "real",
        "providers": out,
        "total_cost_usd": _round(total),
        "evicted_keys": insight.observer.evicted_keys,
    }
