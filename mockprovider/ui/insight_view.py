"""The live page's view of the insight layer (mockprovider/insight): the newest journal requests, injected faults
and limit rejections per provider, and the report's headline figures with the cost so far.

The full report (``GET /__mock/report``) walks every job in the store; a page refreshing it every few seconds
would stall the server's loop during a big run. The headline here reads only the per-(provider, key) figures the
insight layer keeps incrementally (at most its bounded table of keys); the planned charge of the jobs in flight
is summed by the job census as jobs come and go.
"""

from __future__ import annotations

from typing import Any

MAX_LAG_SAMPLES = 20_000


def available(engine: Any) -> bool:
    return getattr(engine, "insight", None) is not None


def newest_requests(engine: Any, n: int) -> list[dict[str, Any]] | None:
    insight = getattr(engine, "insight", None)
    if insight is None or not insight.journal.enabled:
        return None
    records = list(insight.journal)[-n:]
    origin = engine.clock.epoch(0.0)
    return [r.describe(origin) for r in records]


def job_requests(engine: Any, job_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """The journal's requests that touched one job, as timeline events."""
    insight = getattr(engine, "insight", None)
    if insight is None or not insight.journal.enabled:
        return []
    from ..insight.journal import Filter

    records, _ = insight.journal.select(Filter(job=job_id), limit)
    origin = engine.clock.epoch(0.0)
    out = []
    for record in records:
        entry = record.describe(origin)
        entry["t"] = entry.pop("at")
        entry["what"] = entry["endpoint"]
        out.append(entry)
    return out


def by_provider(counts: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (provider, kind), n in list(counts.items()):
        out.setdefault(provider, {})[kind] = n
    return out


def faults(engine: Any) -> dict[str, dict[str, int]] | None:
    insight = getattr(engine, "insight", None)
    return None if insight is None else by_provider(insight.faults)


def rejections(engine: Any) -> dict[str, dict[str, int]] | None:
    insight = getattr(engine, "insight", None)
    return None if insight is None else by_provider(insight.rejections)


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def planned_charge(job: Any) -> float:
    from ..insight.ledger import planned_charge as charge

    return charge(job)


def headline(engine: Any, in_flight_usd: float) -> dict[str, Any] | None:
    """Polls per job, detection lag, how often retry hints were honoured, webhooks and the cost so far (finished
    jobs as charged, jobs in flight at their planned charge), over the whole server since the last reset."""
    insight = getattr(engine, "insight", None)
    if insight is None:
        return None
    insight.ledger.settle(engine.clock.now())
    created = polls = with_hint = early = 0
    finished_usd = 0.0
    lags: list[float] = []
    webhooks = {"delivered": 0, "failed": 0, "acknowledged": 0}
    for _, group in list(insight.observer.groups.items()):
        polls += group.poll_count
        with_hint += group.with_hint
        early += group.early
        if group.jobs is not None:
            created += group.jobs.created
            finished_usd += group.jobs.usd
        if len(lags) < MAX_LAG_SAMPLES:
            lags += group.lags.values()[: MAX_LAG_SAMPLES - len(lags)]
        for k, v in group.webhooks.items():
            webhooks[k] = webhooks.get(k, 0) + v
    lags.sort()
    return {
        "jobs_created": created,
        "polls_per_job": round(polls / created, 3) if created else None,
        "detection_lag_p50_s": _percentile(lags, 0.5),
        "detection_lag_p95_s": _percentile(lags, 0.95),
        "retries_with_hint": with_hint,
        "retry_after_honoured": round(1 - early / with_hint, 4) if with_hint else None,
        "webhooks": webhooks,
        "finished_usd": round(finished_usd, 4),
        "in_flight_usd": round(in_flight_usd, 4),
        "cost_usd": round(finished_usd + in_flight_usd, 4),
    }
