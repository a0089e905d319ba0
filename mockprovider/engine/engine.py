"""The engine: jobs, the clock, limits, faults and profiles, in neutral terms. Dialects call it."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..insight import Insight
from ..insight import journal as current_request
from ..insight.prices import PriceBook, Quote
from . import windows
from .behaviour import NO_LATENCY, FaultRule, Resolved
from .clock import Clock
from .faults import pick_fault
from .jobs import Job, next_change, plan_job
from .limits import LimitBook, OverLimit, Scope
from .profile import Profile, ProfileLibrary
from .rng import random_seed, stream
from .selection import Assignment, ProfileSelector
from .store import JobStore
from .timeline import Timeline


@dataclass(slots=True)
class JobRequest:
    provider: str
    model: str
    account: str
    kind: str
    make_id: Callable[[random.Random], str]
    cost: float = 0.0
    output: Any = None
    data: dict[str, Any] | None = None
    refund_failures: bool = False  # a job that fails gives its cost back (Kling); Runway charges them
    # neutral quantities for the price book, e.g. {"seconds": 8, "resolution": "1080p", "audio": True}
    # (see mockprovider/insight/__init__.py); None leaves the job unpriced
    usage: dict[str, Any] | None = None
    slots: int = 1  # concurrency slots the job occupies (e.g. one per image of a batch)


@dataclass(frozen=True, slots=True)
class RejectedAtSubmit:
    reason: str = "content_policy"


@dataclass(slots=True)
class RequestDecision:
    """What the engine decided for one incoming request before the dialect handles it."""

    assignment: Assignment
    behaviour: Resolved
    delay: float
    fault: FaultRule | None
    key: str | None = None  # the caller's account key as sent (not yet verified)


@dataclass
class EngineStats:
    created: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


class Engine:
    def __init__(self, *, library: ProfileLibrary, profile: Profile, seed: int | None = 0, clock: Clock | None = None,
                 store: JobStore | None = None, journal_size: int = 10_000, prices: PriceBook | None = None
                 ) -> None:
        # A given seed replays a run exactly, reset included; without one each run and each reset draws its own,
        # so provider ids never repeat between load-test runs.
        self.fixed_seed = seed is not None
        self.seed = seed if seed is not None else random_seed()
        self.clock = clock or Clock()
        self.library = library
        self.default_profile = profile
        self.store = store if store is not None else JobStore()
        self.limits = LimitBook()
        self.timeline = Timeline(self.clock)
        self.profile_listeners: list[Callable[[Profile, Profile], None]] = []
        self.selector = ProfileSelector(self.clock, profile, self._profile_changed)
        self.stats = EngineStats()
        self.insight = Insight(self.clock, journal_size, prices)
        self.store.on_remove = self.insight.forget
        self.limits.on_replan = self.insight.changed
        self._requests_rng = stream(self.seed, "requests")
        self._submissions: dict[tuple[str, str], tuple[int, itertools.count]] = {}
        self._generation = 0
        self._watchers: dict[str, Callable[[], None]] = {}
        self._windows_of: Assignment | None = None

    # -- profiles -------------------------------------------------------------------------------------------

    def _profile_changed(self, old: Profile, new: Profile) -> None:
        for listener in self.profile_listeners:
            listener(old, new)
        self.limits.limits_changed()
        self.announce_windows()

    def announce_windows(self) -> None:
        """Log the active profile's fault windows as they open and close (once per activation)."""
        assignment = self.selector.active
        announced = self._windows_of
        if announced is assignment:
            return
        if announced is not None:
            windows.close_open(announced.profile, announced.since, self.clock.now())
        self._windows_of = assignment
        windows.schedule(self.timeline, assignment.profile, assignment.since,
                         lambda: self.selector.active is assignment)

    def activate(self, profile: Profile, ttl: float | None = None) -> Assignment:
        """Make ``profile`` the active one; with a TTL the previous one returns by itself (listeners hear it
        even if no request arrives in between)."""
        assignment = self.selector.activate(profile, ttl)
        self.announce_windows()
        if ttl is not None:
            self.timeline.at(assignment.until, lambda: self.selector.active)
        return assignment

    def assignment_for(self, key: str | None, header_profile: Profile | None = None) -> Assignment:
        if header_profile is not None:
            return Assignment(header_profile, self.selector.active.since)
        return self.selector.for_key(key)

    def decide(self, assignment: Assignment, provider: str, endpoint: str, key: str | None = None
               ) -> RequestDecision:
        """Draw this request's latency and fault from its profile (one shared, seeded stream)."""
        behaviour = assignment.profile.resolve(provider)
        rng = self._requests_rng
        latency = behaviour.latency[endpoint]
        delay = 0.0 if latency is NO_LATENCY else latency.sample(rng)
        rules = behaviour.faults[endpoint]
        fault = pick_fault(rules, rng, self.clock.now() - assignment.since) if rules else None
        return RequestDecision(assignment, behaviour, delay, fault, key)

    # -- jobs -----------------------------------------------------------------------------------------------

    def take_request(self, provider: str, account: str, assignment: Assignment) -> OverLimit | None:
        behaviour = assignment.profile.resolve(provider)
        scope = self.limits.scope(provider, account)
        now = self.clock.now()
        over = self.limits.take_request(scope, behaviour.limits, now)
        if self.limits.needs_sweep():
            self.sweep_accounts(now)
        return over

    def submit(self, request: JobRequest, assignment: Assignment, *, queue_when_busy: bool
               ) -> Job | OverLimit | RejectedAtSubmit:
        """Plan and store a job, or say which limit stops it. With ``queue_when_busy`` a job over the
        concurrency limit is accepted and waits for a slot; without, it is refused."""
        now = self.clock.now()
        behaviour = assignment.profile.resolve(request.provider, request.model)
        limits = behaviour.limits
        book = self.limits
        scope = book.scope(request.provider, request.account)
        book.settle_refunds(scope, now)
        over = None if self.store.make_room(now) else OverLimit("capacity", None)
        if over is None:
            over = book.check_quota(scope, limits, now, request.cost)
        if over is None and not queue_when_busy:
            frees = book.slot_free_at(scope, limits, now, request.slots)
            if frees > now:
                over = OverLimit("concurrency", None if frees == float("inf") else frees,
                                 limits.concurrent_jobs)
        if over is None:
            over = book.take_submission(scope, limits, now)
        if over is not None:
            self.stats.rejected[over.limit] = self.stats.rejected.get(over.limit, 0) + 1
            self.insight.rejected(request.provider, over.limit)
            return over
        entry = self._submissions.get((request.provider, request.account))
        if entry is None:
            entry = self._submissions[(request.provider, request.account)] = (self._generation, itertools.count())
        generation, counter = entry
        n = next(counter)
        # An account forgotten by a sweep and seen again starts a new generation, so its ids do not repeat.
        rng = (stream(self.seed, request.provider, request.account, n) if not generation
               else stream(self.seed, request.provider, request.account, generation, n))
        if behaviour.reject_at_submit and rng.random() < behaviour.reject_at_submit:
            self.stats.rejected["content_policy"] = self.stats.rejected.get("content_policy", 0) + 1
            self.insight.rejected(request.provider, "content_policy")
            return RejectedAtSubmit()
        job_id = request.make_id(rng)
        while job_id in self.store:
            job_id = request.make_id(rng)
        usage, quote = self.insight.priced(request.provider, request.model, request.usage, assignment.profile)
        job = Job(id=job_id, provider=request.provider, model=request.model, account=request.account,
                  kind=request.kind, seq=n, created=now, plan=plan_job(behaviour, rng), cost=request.cost,
                  output=request.output, data=request.data, profile=assignment.profile.name, usage=usage,
                  quote=quote, slots=max(1, request.slots))
        book.admit(scope, job, limits, now)
        book.charge(scope, request.model, now, request.cost)
        if request.refund_failures and job.plan.failure is not None and request.cost:
            book.refund_when_failed(scope, job)
        self.store.add(job, now)
        self.stats.created += 1
        self.insight.created(job)
        current_request.touch(job)
        if book.needs_sweep():
            self.sweep_accounts(now)
        return job

    def quote(self, provider: str, model: str, usage: dict[str, Any] | None, profile: Profile | None = None
              ) -> Quote | None:
        """The list price of a job (dollars and the provider's unit) from the price book and the profile."""
        return self.insight.quote(provider, model, usage, profile or self.selector.active.profile)

    def sweep_accounts(self, now: float | None = None) -> int:
        """Forget per-account state (limit scopes, submission counters) of accounts that no longer need it;
        the number forgotten."""
        now = self.clock.now() if now is None else now
        keyed = self.selector.keys()

        def keep(provider: str, account: str, scope: Scope) -> bool:
            if account in keyed:
                return True
            limits = self.selector.active.profile.resolve(provider).limits
            return (limits.credits is not None and scope.spent > 0) or (
                limits.daily_jobs is not None and scope.daily_total(now) > 0)

        gone = self.limits.evict_idle(now, keep)
        if gone:
            self._generation += 1
            for pair in gone:
                self._submissions.pop(pair, None)
        return len(gone)

    def wait_hint(self, over: OverLimit) -> float | None:
        """Real seconds until ``over`` frees, for Retry-After and its kin: clients wait in real time, so at a
        time scale of 0.01 a slot that frees in 60 engine seconds is 0.6 s away."""
        engine_seconds = over.retry_after(self.clock.now())
        seconds = None if engine_seconds is None else self.clock.real_seconds(engine_seconds)
        current_request.hint(seconds)
        return seconds

    def get(self, provider: str, job_id: str) -> Job | None:
        job = self.store.get(job_id)
        if job is None or job.provider != provider:
            return None
        current_request.touch(job)
        return job

    def cancel(self, job: Job) -> bool:
        """Cancel a job that has not finished; its slot frees now and waiting jobs move up."""
        now = self.clock.now()
        if job.ends <= now:
            return False
        job.cancelled_at = now
        self.insight.changed(job)
        scope = self.limits.scope(job.provider, job.account)
        behaviour = self.selector.for_key(job.account).profile.resolve(job.provider, job.model)
        self.limits.reschedule(scope, behaviour.limits, now)
        for other in (job, *scope.jobs):  # the job itself has just left scope.jobs, which holds live jobs only
            fire = self._watchers.get(other.id)
            if fire is not None:
                self.timeline.at(now, fire)
        return True

    def delete(self, job: Job) -> None:
        self.cancel(job)
        self.store.remove(job.id)

    def watch(self, job: Job, notify: Callable[[Job, str], None]) -> None:
        """Call ``notify(job, state)`` at each of the job's state changes, from the one timeline task."""
        last: list[str | None] = [None]
        watchers = self._watchers

        def fire() -> None:
            if watchers.get(job.id) is not fire:
                return  # superseded by a newer schedule, or the job is gone
            now = self.clock.now()
            state, _ = job.state(now)
            if state != last[0]:
                last[0] = state
                notify(job, state)
            following = next_change(job, now)
            if following == float("inf"):
                del watchers[job.id]
            else:
                self.timeline.at(following, fire)

        watchers[job.id] = fire
        self.timeline.at(self.clock.now(), fire)

    def spent(self, provider: str, account: str) -> float:
        scope = self.limits.scope(provider, account)
        self.limits.settle_refunds(scope, self.clock.now())
        return scope.spent

    def scope(self, provider: str, account: str) -> Scope:
        return self.limits.scope(provider, account)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.timeline.poke()

    def set_scale(self, scale: float) -> None:
        self.clock.set_scale(scale)
        self.timeline.poke()

    def reset(self) -> None:
        """Forget every job, count and assignment; return to the default profile and the clock as it started."""
        self.clock.restore()
        self.store.clear()
        self.limits.clear()
        self.timeline.clear()
        self._watchers.clear()
        self._submissions.clear()
        self._generation = 0
        if not self.fixed_seed:
            self.seed = random_seed()
        self._requests_rng = stream(self.seed, "requests")
        self.stats = EngineStats()
        self.insight.reset()
        self.selector.reset(self.default_profile)
        self.announce_windows()
