"""Rate, concurrency, daily and credit limits per scope (a provider's account, usually an API key).

The engine only says "over this limit, frees at T"; what that means on the wire (429, THROTTLED...) is the
dialect's business. Concurrency is a set of ``limit`` slots: a new job takes the slot that frees first, so
jobs waiting for a slot start in submission order. A job may hold several slots (``Job.slots``): it starts when
that many are free, and never if it needs more than exist (when queued, it holds them all instead).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .behaviour import Limits
from .jobs import Job

log = logging.getLogger("mockprovider")

DAY = 86400.0
WINDOW = 60.0
SUBMISSION_WINDOW = 1.0


def windowed(provider: str, limit_scope: str) -> str:
    """The name under which a job's concurrency slots and submission window are counted: the provider's own, or
    a window of it (JobRequest.limit_scope)."""
    return f"{provider}/{limit_scope}" if limit_scope else provider


@dataclass(frozen=True, slots=True)
class OverLimit:
    # "rate" | "submission_rate" | "concurrency" | "daily" | "credits" | "capacity" (the job store is full of live jobs)
    limit: str
    frees_at: float | None  # engine time, or None if it never frees by itself
    allowed: float | None = None

    def retry_after(self, now: float) -> float | None:
        return None if self.frees_at is None else max(self.frees_at - now, 0.0)


@dataclass(slots=True)
class Scope:
    requests: deque = field(default_factory=deque)
    submissions: deque = field(default_factory=deque)  # admission times in the last SUBMISSION_WINDOW
    jobs: list[Job] = field(default_factory=list)  # jobs holding or waiting for a slot, by submission
    day: int = -1
    daily: dict[str, int] = field(default_factory=dict)
    spent: float = 0.0
    slots: list[float] = field(default_factory=list)  # a heap: when each concurrency slot frees
    refunds: list[tuple[float, int, Job]] = field(default_factory=list)  # a heap: planned failures to refund
    slots_limit: int | None = -1
    pruned_size: int = 0

    def daily_total(self, now: float) -> int:
        return sum(self.daily.values()) if int(now // DAY) == self.day else 0

    def daily_for(self, model: str, now: float) -> int:
        return self.daily.get(model, 0) if int(now // DAY) == self.day else 0


SWEEP_FLOOR = 1024
MAX_KEPT_IDLE = 100_000  # idle accounts kept for their spend or daily counts


class LimitBook:
    def __init__(self, max_kept_idle: int = MAX_KEPT_IDLE) -> None:
        self.max_kept_idle = max_kept_idle
        self._scopes: dict[tuple[str, str], Scope] = {}
        self._sweep_at = SWEEP_FLOOR
        self.on_replan: Callable[[Job], None] | None = None  # told of each job whose admission time moved

    def scope(self, provider: str, account: str) -> Scope:
        key = (provider, account)
        found = self._scopes.get(key)
        if found is None:
            found = self._scopes[key] = Scope()
        return found

    def needs_sweep(self) -> bool:
        """Whether the table has doubled since the last sweep (a sweep is O(scopes); doubling keeps it O(1)
        per new key on average)."""
        return len(self._scopes) >= self._sweep_at

    def evict_idle(self, now: float, keep: Callable[[str, str, Scope], bool]) -> list[tuple[str, str]]:
        """Forget the scopes of accounts with no live or waiting job, no pending refund and no request in the
        rate window, unless ``keep(provider, account, scope)`` says their counts still matter (credits spent,
        daily quotas used, a profile of their own). A hostile client sending a new key per request then costs
        nothing once its jobs end. Idle scopes kept for their counts are capped at ``max_kept_idle``, the oldest
        forgotten first (their spend with them): the table stays bounded whatever the keys. Returns the
        evicted (provider, account) pairs."""
        gone = []
        kept_idle = []
        for key, scope in list(self._scopes.items()):
            requests = scope.requests
            while requests and requests[0] <= now - WINDOW:
                requests.popleft()
            recent = scope.submissions and scope.submissions[-1] > now - SUBMISSION_WINDOW
            if requests or recent or scope.refunds or self.live(scope, now):
                continue
            if keep(*key, scope):
                kept_idle.append(key)
                continue
            del self._scopes[key]
            gone.append(key)
        max_kept = self.max_kept_idle
        over = len(kept_idle) - max_kept
        if over > 0:
            log.warning("forgetting the counts (credits, daily jobs) of %d idle accounts: more than %d accounts "
                        "with counts and no live job", over, max_kept)
            for key in kept_idle[:over]:
                del self._scopes[key]
                gone.append(key)
        self._sweep_at = max(SWEEP_FLOOR, 2 * len(self._scopes))
        return gone

    def clear(self) -> None:
        self._scopes.clear()
        self._sweep_at = SWEEP_FLOOR

    def scopes(self, limit: int = 10_000) -> list[tuple[str, str, Scope]]:
        """Up to ``limit`` scopes as (provider, account, scope), for those who report on them."""
        return [(p, a, s) for (p, a), s in itertools.islice(self._scopes.items(), limit)]

    def __len__(self) -> int:
        return len(self._scopes)

    def limits_changed(self) -> None:
        """A new profile may set other limits: rebuild each scope's concurrency slots when next used."""
        for scope in self._scopes.values():
            scope.slots_limit = -1

    def take_request(self, scope: Scope, limits: Limits, now: float) -> OverLimit | None:
        """Count one request against requests_per_minute (a sliding 60 s window)."""
        limit = limits.requests_per_minute
        requests = scope.requests
        while requests and requests[0] <= now - WINDOW:
            requests.popleft()
        if limit is None:
            requests.clear()
            return None
        if len(requests) >= limit:
            return OverLimit("rate", requests[0] + WINDOW if requests else None, limit)
        requests.append(now)
        return None

    def take_submission(self, scope: Scope, limits: Limits, now: float) -> OverLimit | None:
        """Count one admitted job against submissions_per_second (a sliding 1 s window)."""
        limit = limits.submissions_per_second
        times = scope.submissions
        while times and times[0] <= now - SUBMISSION_WINDOW:
            times.popleft()
        if limit is None:
            times.clear()
            return None
        if len(times) >= limit:
            return OverLimit("submission_rate", times[0] + SUBMISSION_WINDOW if times else None, limit)
        times.append(now)
        return None

    def check_quota(self, scope: Scope, limits: Limits, now: float, cost: float) -> OverLimit | None:
        if limits.credits is not None and scope.spent + cost > limits.credits + 1e-9:
            return OverLimit("credits", None, limits.credits)
        if limits.daily_jobs is not None and scope.daily_total(now) >= limits.daily_jobs:
            return OverLimit("daily", (int(now // DAY) + 1) * DAY, limits.daily_jobs)
        return None

    def charge(self, scope: Scope, model: str, now: float, cost: float) -> None:
        day = int(now // DAY)
        if day != scope.day:
            scope.day, scope.daily = day, {}
        scope.daily[model] = scope.daily.get(model, 0) + 1
        scope.spent += cost

    def refund(self, scope: Scope, cost: float) -> None:
        scope.spent = max(scope.spent - cost, 0.0)

    def refund_when_failed(self, scope: Scope, job: Job) -> None:
        """The job is planned to fail: give its cost back once it has (unless it is cancelled first)."""
        heapq.heappush(scope.refunds, (job.natural_end, job.seq, job))

    def settle_refunds(self, scope: Scope, now: float) -> None:
        refunds = scope.refunds
        while refunds and refunds[0][0] <= now:
            _, _, job = heapq.heappop(refunds)
            if job.cancelled_at is None or job.cancelled_at >= job.natural_end:
                self.refund(scope, job.cost)

    def live(self, scope: Scope, now: float) -> list[Job]:
        scope.jobs = [j for j in scope.jobs if j.ends > now]
        scope.pruned_size = len(scope.jobs)
        return scope.jobs

    def slot_free_at(self, scope: Scope, limits: Limits, now: float, need: int = 1) -> float:
        """When ``need`` slots are free for a newly submitted job (``now`` if they are)."""
        limit = limits.concurrent_jobs
        if limit is None:
            return now
        if limit == 0 or need > limit:
            return math.inf
        if scope.slots_limit != limit:
            self.reschedule(scope, limits, now)
        if need <= 1:
            return max(now, scope.slots[0])
        return max(now, heapq.nsmallest(need, scope.slots)[-1])

    def admit(self, scope: Scope, job: Job, limits: Limits, now: float) -> None:
        """Give ``job`` the slot that frees first (it waits, throttled, until then)."""
        limit = limits.concurrent_jobs
        if limit is None:
            if scope.slots_limit is not None:  # the limit was lifted: jobs still waiting start now
                self.reschedule(scope, limits, now)
            job.admitted = now
        elif limit == 0:
            job.admitted = math.inf
        else:
            if scope.slots_limit != limit:
                self.reschedule(scope, limits, now)
            job.admitted = max(now, _take(scope.slots, min(job.slots, limit)))
            for _ in range(min(job.slots, limit)):
                heapq.heappush(scope.slots, job.ends)
        scope.jobs.append(job)
        if len(scope.jobs) > 2 * scope.pruned_size + 64:
            self.live(scope, now)

    def reschedule(self, scope: Scope, limits: Limits, now: float) -> None:
        """Rebuild the slots from the live jobs, re-planning when waiting jobs start: after a slot freed
        early (a cancel) or the limit changed. Jobs already started keep their times."""
        limit = limits.concurrent_jobs
        jobs = self.live(scope, now)
        scope.slots_limit = limit
        replanned = self.on_replan
        if limit is None:
            scope.slots = []
            for job in jobs:
                if job.admitted > now:
                    job.admitted = now
                    if replanned is not None:
                        replanned(job)
            return
        slots = [now] * limit if limit else []
        for job in jobs:
            need = min(job.slots, limit) if limit else 0
            if job.admitted > now and job.cancelled_at is None:
                before = job.admitted
                job.admitted = max(now, _take(slots, need)) if slots else math.inf
                if replanned is not None and job.admitted != before:
                    replanned(job)
            elif slots:
                _take(slots, need)
            for _ in range(need):
                heapq.heappush(slots, max(job.ends, now))
        scope.slots = slots if limit else [math.inf]


def _take(slots: list[float], need: int) -> float:
    """Pop the ``need`` slots that free first; when the last of them frees."""
    last = -math.inf
    for _ in range(need):
        last = heapq.heappop(slots)
    return last
