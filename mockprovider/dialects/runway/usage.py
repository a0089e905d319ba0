"""What ``POST /v1/organization/usage`` reports: credits per UTC day and model, from the tasks of this run.

Each task's charge is remembered when it is created (bounded); at report time a task still in the store is
charged as its final state says (refunds and failures included), so the report follows the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_ENTRIES = 200_000
MAX_SPAN_DAYS = 90


@dataclass(slots=True)
class Charge:
    account: str
    day: dt.date
    model: str
    credits: float


class UsageBook:
    """Each task's charge by organization, in a state table (every replica reports every replica's tasks)."""

    def __init__(self, state: Any) -> None:
        self._charges = state.table("runway:usage", MAX_ENTRIES)

    async def reset(self) -> None:
        await self._charges.clear()

    async def record(self, job_id: str, account: str, epoch: float, model: str, credits: float) -> None:
        day = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).date()
        await self._charges.set(job_id, [day.isoformat(), model, credits], owner=account)

    async def report(self, account: str, start: dt.date, before: dt.date,
                     charged: Callable[[str], float | None]) -> dict[str, Any]:
        """``charged(job_id)`` is the final charge of a task still stored, else None (the recorded one counts)."""
        days: dict[dt.date, dict[str, float]] = {}
        for job_id, (day, model, credits) in await self._charges.owned(account):
            charge = Charge(account, dt.date.fromisoformat(day), model, credits)
            if not start <= charge.day < before:
                continue
            final = charged(job_id)
            amount = charge.credits if final is None else final
            per_model = days.setdefault(charge.day, {})
            per_model[charge.model] = per_model.get(charge.model, 0) + amount
        models = sorted({m for per_model in days.values() for m in per_model})
        results = [{"date": day.isoformat(),
                    "usedCredits": [{"model": m, "amount": round(a)} for m, a in sorted(per_model.items())]}
                   for day, per_model in sorted(days.items())]
        return {"models": models, "results": results, "apiKeys": None, "resultsByApiKey": None}


def parse_range(body: Any, today: dt.date) -> tuple[dt.date, dt.date] | list[dict[str, Any]]:
    """(start, before) from ``{startDate?, beforeDate?}``, or Zod-style issues."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return [{"code": "invalid_type", "expected": "object", "path": [], "message": "Expected object"}]
    issues: list[dict[str, Any]] = []
    parsed: dict[str, dt.date] = {}
    for name in ("startDate", "beforeDate"):
        value = body.get(name)
        if value is None:
            continue
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            parsed[name] = dt.date.fromisoformat(value)
        except ValueError:
            issues.append({"code": "invalid_format", "format": "date", "path": [name],
                           "message": "Invalid ISO date (expected YYYY-MM-DD)"})
    if issues:
        return issues
    start = parsed.get("startDate", today - dt.timedelta(days=30))
    before = parsed.get("beforeDate", start + dt.timedelta(days=30))
    if before <= start:
        return [{"code": "custom", "path": ["beforeDate"], "message": "beforeDate must be after startDate"}]
    if (before - start).days > MAX_SPAN_DAYS:
        return [{"code": "custom", "path": ["beforeDate"],
                 "message": f"beforeDate must be at most {MAX_SPAN_DAYS} days after startDate"}]
    return start, before
