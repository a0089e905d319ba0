"""Jobs: planned once at creation, their state at any moment derived from the plan and the clock."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from .behaviour import Resolved

THROTTLED = "throttled"
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})


@dataclass(frozen=True, slots=True)
class Plan:
    queue: float
    run: float
    failure: str | None  # a neutral reason, or None for success
    fail_at: float  # progress (0..1) at which a failing job fails
    stuck: bool


def plan_job(behaviour: Resolved, rng: random.Random) -> Plan:
    queue = behaviour.queue.sample(rng)
    run = max(behaviour.run.sample(rng), 1e-3)
    u = rng.random()
    failure = None
    acc = 0.0
    for reason, rate in behaviour.failure_rate.items():
        acc += rate
        if u < acc:
            failure = reason
            break
    fail_at = min(max(behaviour.fail_at.sample(rng), 0.0), 1.0)
    stuck = failure is None and rng.random() < behaviour.stuck_rate
    return Plan(queue=queue, run=run, failure=failure, fail_at=fail_at, stuck=stuck)


class Job:
    """One job in neutral terms. ``admitted`` is when it got a concurrency slot (its creation time unless it
    waited, throttled); all later times follow from the plan. ``data`` holds what the dialect needs to render
    it (kept small: the store holds up to hundreds of thousands)."""

    __slots__ = ("account", "admitted", "cancelled_at", "cost", "created", "data", "downloads", "id", "kind",
                 "last_poll", "limit_scope", "model", "output", "plan", "polls", "profile", "provider", "quote",
                 "seen_end", "seq", "settled", "slots", "usage")

    def __init__(self, *, id: str, provider: str, model: str, account: str, kind: str, seq: int,
                 created: float, plan: Plan, cost: float = 0.0, output: Any = None,
                 data: dict[str, Any] | None = None, profile: str = "", usage: dict[str, Any] | None = None,
                 quote: Any = None, slots: int = 1, limit_scope: str = "") -> None:
        self.id = id
        self.slots = slots  # concurrency slots the job holds while it waits and runs
        self.limit_scope = limit_scope  # where its slots and submission window count (JobRequest.limit_scope)
        self.provider = provider
        self.model = model
        self.account = account
        self.kind = kind
        self.seq = seq
        self.created = created
        self.admitted = created
        self.plan = plan
        self.cancelled_at: float | None = None
        self.cost = cost
        self.output = output
        self.data = data
        self.profile = profile
        self.usage = usage  # neutral quantities the dialect reported, priced by the insight ledger
        self.quote = quote  # insight.prices.Quote, or None when the price book has no price for it
        # what clients did with it (insight.observer), and whether the ledger has settled its outcome
        self.polls = 0
        self.last_poll: float | None = None
        self.seen_end = False
        self.downloads = 0
        self.settled = False

    @property
    def started(self) -> float:
        return self.admitted + self.plan.queue

    @property
    def natural_end(self) -> float:
        """When the job ends if nobody cancels it (inf if it is stuck)."""
        plan = self.plan
        if plan.stuck:
            return math.inf
        if plan.failure is not None:
            return self.started + plan.run * plan.fail_at
        return self.started + plan.run

    @property
    def ends(self) -> float:
        # natural_end, unfolded: the report's observer asks on every status poll
        plan = self.plan
        if plan.stuck:
            end = math.inf
        elif plan.failure is not None:
            end = self.admitted + plan.queue + plan.run * plan.fail_at
        else:
            end = self.admitted + plan.queue + plan.run
        cancelled = self.cancelled_at
        if cancelled is not None and cancelled < end:
            return cancelled
        return end

    def state(self, now: float) -> tuple[str, float]:
        """(state, progress 0..1) at engine time ``now``."""
        if self.cancelled_at is not None and now >= self.cancelled_at and self.cancelled_at < self.natural_end:
            return CANCELLED, self._progress(self.cancelled_at)
        if now < self.admitted:
            return THROTTLED, 0.0
        start = self.started
        if now < start:
            return QUEUED, 0.0
        plan = self.plan
        if plan.stuck:
            elapsed = now - start
            return RUNNING, 0.99 * (1.0 - math.exp(-elapsed / plan.run))
        if plan.failure is not None:
            if now >= start + plan.run * plan.fail_at:
                return FAILED, plan.fail_at
            return RUNNING, (now - start) / plan.run
        if now >= start + plan.run:
            return SUCCEEDED, 1.0
        return RUNNING, (now - start) / plan.run

    def _progress(self, at: float) -> float:
        start = self.started
        if at <= start:
            return 0.0
        return min((at - start) / self.plan.run, 1.0) * (0.99 if self.plan.stuck else 1.0)

    def changes(self) -> list[tuple[float, str]]:
        """The planned state changes, as (engine time, state), for those who push updates."""
        out: list[tuple[float, str]] = []
        if self.admitted > self.created:
            out.append((self.created, THROTTLED))
        out.append((self.admitted, QUEUED))
        start = self.started
        out.append((start, RUNNING))
        end = self.ends
        if end != math.inf:
            state, _ = self.state(end)
            out.append((end, state))
        return out

    def describe(self, now: float) -> dict[str, Any]:
        state, progress = self.state(now)
        plan = self.plan
        return {
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "kind": self.kind,
            "account": self.account,
            "profile": self.profile,
            "state": state,
            "progress": round(progress, 4),
            "created": self.created,
            "admitted": self.admitted,
            "plan": {
                "queue": plan.queue,
                "run": plan.run,
                "outcome": plan.failure or ("stuck" if plan.stuck else "success"),
                "fail_at": plan.fail_at if plan.failure else None,
            },
            "started": self.started,
            "ends": None if self.ends == math.inf else self.ends,
            "cancelled_at": self.cancelled_at,
            "cost": self.cost,
            "usage": self.usage,
            "cost_usd": None if self.quote is None else self.quote.usd,
            "cost_units": None if self.quote is None else {"amount": self.quote.units, "unit": self.quote.unit},
            "polls": self.polls,
            "downloads": self.downloads,
            "data": self.data,
        }


def next_change(job: Job, now: float) -> float:
    """The engine time of the job's next state change after ``now`` (inf if none is planned)."""
    for moment in (job.admitted, job.started, job.ends):
        if moment > now:
            return moment
    return math.inf
