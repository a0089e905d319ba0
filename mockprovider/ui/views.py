"""What the live page shows, as plain JSON-able dicts built from the engine's state: one function per panel."""

from __future__ import annotations

import heapq
import math
from typing import Any

from ..engine.clock import Clock
from ..engine.engine import Engine
from ..engine.jobs import Job
from ..engine.limits import WINDOW
from ..engine.selection import Assignment
from ..insight.journal import fingerprint

MAX_KEYS_SHOWN = 50
BUSIEST_SCOPES = 3


def masked(key: str) -> str:
    """An API key as the page shows it (it may be on a projector): its first characters and the journal's and
    report's stable fingerprint, never the secret."""
    return f"{key[:4]}…{fingerprint(key)}" if len(key) > 12 else f"…{fingerprint(key)}"


def assignment(clock: Clock, a: Assignment) -> dict[str, Any]:
    now = clock.now()
    chain = []
    previous = a.previous
    while previous is not None and len(chain) < 8:
        chain.append(previous.profile.name)
        previous = previous.previous
    left = None if a.until == math.inf else max(a.until - now, 0.0)
    return {
        "name": a.profile.name,
        "description": a.profile.description,
        "source": a.profile.source,
        "since": clock.epoch(a.since),
        "until": None if a.until == math.inf else clock.epoch(a.until),
        "ttl_left_s": left,
        "ttl_left_real_s": None if left is None else clock.real_seconds(left),
        "reverts_to": chain[0] if chain else None,
        "chain": chain,
    }


def profiles(engine: Engine, available: list[str]) -> dict[str, Any]:
    clock = engine.clock
    keys = engine.selector.keys()
    shown = list(keys.items())[:MAX_KEYS_SHOWN]
    return {
        "active": assignment(clock, engine.selector.active),
        "keys": [{"key": masked(k), **assignment(clock, a)} for k, a in shown],
        "keys_total": len(keys),
        "available": available,
    }


def job_row(job: Job, now: float) -> dict[str, Any]:
    state, progress = job.state(now)
    return {
        "id": job.id,
        "provider": job.provider,
        "model": job.model,
        "state": state,
        "progress": round(progress, 3),
        "age_s": round(now - job.created, 3),
        "profile": job.profile,
        "key": masked(job.account) if job.account else None,
    }


def _rpm_used(requests: Any, now: float) -> int:
    expired = 0
    horizon = now - WINDOW
    for t in requests:
        if t > horizon:
            break
        expired += 1
    return len(requests) - expired


def _slots_taken(scope: Any, limit: int, now: float) -> int:
    if scope.slots_limit == limit:
        return sum(1 for free_at in scope.slots if free_at > now)
    return sum(1 for job in scope.jobs if job.admitted <= now < job.ends)


def limit_use(engine: Engine, providers: list[str], now: float, max_scopes: int = 5_000) -> dict[str, Any]:
    """Per provider: concurrency slots taken of those allowed, the busiest key's requests-per-minute window
    and credits, over every limit scope (API key) the provider has seen (up to ``max_scopes``)."""
    out: dict[str, dict[str, Any]] = {
        p: {"scopes": 0, "slots_taken": 0, "slots_total": 0, "unlimited_scopes": 0, "rpm_used": None,
            "rpm_limit": None, "busiest": []} for p in providers
    }
    ranked: dict[str, list[tuple[float, int, Any, Any, int | None, int | None]]] = {p: [] for p in providers}
    rpm_share: dict[str, float] = {}
    order = 0
    scopes = engine.limits.scopes(max_scopes)
    # a provider that counts jobs in windows of the account (JobRequest.limit_scope, e.g. one per model) holds
    # its slots there; the account's own scope keeps its request rate and credits
    windowed = {(name.partition("/")[0], account) for name, account, _ in scopes if "/" in name}
    for name, account, scope in scopes:
        provider, _, window = name.partition("/")
        entry = out.get(provider)
        if entry is None:
            continue
        limits = engine.selector.for_key(account).profile.resolve(provider).limits
        if not window:  # a per-model window is part of its account's scope, not another key
            entry["scopes"] += 1
        pressure = 0.0
        taken = used = None
        concurrent = limits.concurrent_jobs if window or (provider, account) not in windowed else None
        rpm = None if window else limits.requests_per_minute
        if limits.concurrent_jobs is None:
            entry["unlimited_scopes"] += 1
        elif concurrent is not None:
            taken = _slots_taken(scope, concurrent, now)
            entry["slots_taken"] += taken
            entry["slots_total"] += concurrent
            pressure = taken / concurrent if concurrent else 1.0
        if rpm is not None:
            used = _rpm_used(scope.requests, now)
            share = used / rpm if rpm else 1.0
            if share >= rpm_share.get(provider, -1.0):  # the provider shows its busiest key's window
                rpm_share[provider] = share
                entry["rpm_used"], entry["rpm_limit"] = used, rpm
            pressure = max(pressure, share)
        if limits.credits and not window:
            pressure = max(pressure, scope.spent / limits.credits)
        order += 1
        ranked[provider].append((pressure, -order, account, window, scope, taken, used))
    for provider, rows in ranked.items():
        busiest = []
        for _, _, account, window, scope, taken, used in heapq.nlargest(BUSIEST_SCOPES, rows):
            limits = engine.selector.for_key(account).profile.resolve(provider).limits
            row = {"key": masked(account), "slots_taken": taken,
                   "slots_total": limits.concurrent_jobs if taken is not None else None,
                   "rpm_used": used, "rpm_limit": None if window else limits.requests_per_minute,
                   "spent": round(scope.spent, 4), "credits": None if window else limits.credits}
            if window:
                row["window"] = window
            busiest.append(row)
        out[provider]["busiest"] = busiest
    return out


def proxy(chaos: Any, rates: dict[str, float]) -> dict[str, Any] | None:
    """The embedded chaos proxy's proxies with their toxics and HTTP rules, and bytes per second through each."""
    if chaos is None:
        return None
    proxies = []
    for name, body in chaos.collection.index().items():
        live = chaos.collection.proxies.get(name)
        proxies.append({
            "name": name,
            "listen": body.get("listen"),
            "upstream": body.get("upstream"),
            "enabled": body.get("enabled"),
            "toxics": body.get("toxics", []),
            "http_rules": len((body.get("http") or {}).get("rules", [])),
            "connections": len(live.connections) if live is not None else 0,
            "bytes_per_s": round(rates.get(name, 0.0), 1),
        })
    return {"api": chaos.url, "proxies": proxies}


def proxy_bytes(chaos: Any) -> dict[str, int]:
    if chaos is None:
        return {}
    totals: dict[str, int] = {}
    for (name, _listen, _upstream, _direction), n in chaos.collection.metrics.received.items():
        totals[name] = totals.get(name, 0) + n
    return totals


def timeline(job: Job, clock: Clock, webhooks: list[dict[str, Any]], requests: list[dict[str, Any]]
             ) -> list[dict[str, Any]]:
    """The job's life in order: its planned state changes (past and still to come), the requests that touched
    it and the webhooks sent about it."""
    now = clock.now()
    events: list[dict[str, Any]] = []
    for at, state in job.changes():
        events.append({"t": clock.epoch(at), "after_s": round(at - job.created, 3), "kind": "state",
                       "what": state, "planned": at > now})
    for hook in webhooks:
        events.append({"kind": "webhook", **hook})
    for request in requests:
        events.append({"kind": "request", **request})
    for event in events:
        if "after_s" not in event and isinstance(event.get("t"), (int, float)):
            event["after_s"] = round(event["t"] - clock.epoch(job.created), 3)
    events.sort(key=lambda e: e.get("t") or 0.0)
    return events
