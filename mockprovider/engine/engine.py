"""The engine: jobs, the clock, limits, faults and profiles, in neutral terms. Dialects call it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..insight import Insight
from ..insight import journal as current_request
from ..insight.prices import PriceBook, Quote
from . import windows
from .behaviour import NO_LATENCY, FaultRule, Limits, Resolved
from .clock import Clock
from .faults import pick_fault
from .jobs import Job, Plan, next_change, plan_job
from .limits import LimitBook, OverLimit, Scope
from .profile import Profile, ProfileLibrary
from .rng import random_seed, stream
from .selection import Assignment, ProfileSelector
from .state import JobBook, LimitLedger, LocalSync, MemoryJobs, MemoryLimits, Sync
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
    replan: Callable[[Plan], Plan] | None = None  # changes the drawn plan before the job is admitted
    # a window of the account's that the job's concurrency slots and submission window count in, apart from its
    # other jobs' (e.g. the model, for a provider that limits each model on its own); credits, daily caps and
    # requests per minute stay the account's. "" counts them account-wide.
    limit_scope: str = ""


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
        self.book: JobBook = MemoryJobs(self.store)
        self._in_memory = True  # the book is MemoryJobs: get() reads the store without awaiting a coroutine
        self.ledger: LimitLedger = MemoryLimits(lambda: self.seed)
        self.limits: LimitBook = self.ledger.book  # this replica's own scopes (every scope in memory)
        self.sync: Sync = LocalSync(self)
        self.timeline = Timeline(self.clock)
        self.profile_listeners: list[Callable[[Profile, Profile], None]] = []
        self.selector = ProfileSelector(self.clock, profile, self._profile_changed)
        self.stats = EngineStats()
        self.insight = Insight(self.clock, journal_size, prices)
        self.store.on_remove = self.insight.forget
        self.limits.on_replan = self.insight.changed
        self._requests_rng = stream(self.seed, "requests")
        self._watchers: dict[str, Callable[[], None]] = {}
        # told of jobs whose planned times changed: a cancelled job and the waiting jobs it moved up
        self.reschedule_listeners: list[Callable[[list[Job]], None]] = []
        # run when this process forgets everything: its own reset, or another replica's heard through the sync
        self.forget_listeners: list[Callable[[], None]] = []
        self._windows_of: Assignment | None = None

    # -- profiles -------------------------------------------------------------------------------------------

    def use_state(self, book: JobBook, ledger: LimitLedger, sync: Sync | None = None) -> None:
        """Keep jobs and limits in ``book`` and ``ledger`` (the shared backend) from now on, and agree on the
        clock, seed and profiles through ``sync``."""
        if sync is not None:
            self.sync = sync
        self.book = book
        self._in_memory = type(book) is MemoryJobs
        self.ledger = ledger
        self.store = book.store
        self.store.on_remove = self.insight.forget
        self.limits = ledger.book
        self.limits.on_replan = self.insight.changed

    def reseed_requests(self) -> None:
        """The seed changed (adopted from the other replicas): draw requests' latencies and faults from it."""
        self._requests_rng = stream(self.seed, "requests")

    def _profile_changed(self, old: Profile, new: Profile) -> None:
        for listener in self.profile_listeners:
            listener(old, new)
        self.ledger.limits_changed()
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

    async def activate(self, profile: Profile, ttl: float | None = None) -> Assignment:
        """Make ``profile`` the active one; with a TTL the previous one returns by itself (listeners hear it
        even if no request arrives in between)."""
        assignment = self.selector.activate(profile, ttl)
        self.announce_windows()
        self.expire_later(assignment)
        await self.sync.profiles_changed()
        return assignment

    def expire_later(self, assignment: Assignment) -> None:
        if assignment.until != float("inf"):
            self.timeline.at(assignment.until, lambda: self.selector.active)

    async def assign_key(self, key: str, profile: Profile, ttl: float | None = None) -> Assignment:
        """Give requests made with ``key`` their own profile (for ``ttl`` engine seconds, or until unassigned)."""
        assignment = self.selector.assign_key(key, profile, ttl)
        await self.sync.profiles_changed()
        return assignment

    async def unassign_key(self, key: str) -> bool:
        gone = self.selector.unassign_key(key)
        if gone:
            await self.sync.profiles_changed()
        return gone

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

    async def take_request(self, provider: str, account: str, assignment: Assignment) -> OverLimit | None:
        """Count one request against the requests-per-minute window of the account's profile."""
        return await self.take_token(provider, account, assignment.profile.resolve(provider).limits)

    async def take_token(self, scope: str, account: str, limits: Limits) -> OverLimit | None:
        """Count one request against ``limits.requests_per_minute`` in the window named ``scope`` (the provider,
        or a dialect's own, e.g. a per-model window)."""
        now = self.clock.now()
        over = await self.ledger.take_request(scope, account, limits, now)
        if self.limits.needs_sweep():
            self.sweep_accounts(now)
        return over

    async def submit(self, request: JobRequest, assignment: Assignment, *, queue_when_busy: bool
                     ) -> Job | OverLimit | RejectedAtSubmit:
        """Plan and store a job, or say which limit stops it. With ``queue_when_busy`` a job over the
        concurrency limit is accepted and waits for a slot; without, it is refused."""
        now = self.clock.now()
        behaviour = assignment.profile.resolve(request.provider, request.model)
        book = self.book

        def build(rng: random.Random, n: int) -> Job | RejectedAtSubmit:
            if behaviour.reject_at_submit and rng.random() < behaviour.reject_at_submit:
                return RejectedAtSubmit()
            job_id = request.make_id(rng)
            while book.cached(job_id) is not None:
                job_id = request.make_id(rng)
            plan = plan_job(behaviour, rng)
            if request.replan is not None:
                plan = request.replan(plan)
            usage, quote = self.insight.priced(request.provider, request.model, request.usage, assignment.profile)
            return Job(id=job_id, provider=request.provider, model=request.model, account=request.account,
                       kind=request.kind, seq=n, created=now, plan=plan, cost=request.cost,
                       output=request.output, data=request.data, profile=assignment.profile.name, usage=usage,
                       quote=quote, slots=max(1, request.slots), limit_scope=request.limit_scope)

        room = await book.make_room(now)
        result = await self.ledger.admit(
            request.provider, request.account, behaviour.limits, now, cost=request.cost, model=request.model,
            slots=request.slots, queue_when_busy=queue_when_busy, refund_failures=request.refund_failures,
            room=room, build=build, limit_scope=request.limit_scope)
        if isinstance(result, OverLimit):
            self.stats.rejected[result.limit] = self.stats.rejected.get(result.limit, 0) + 1
            self.insight.rejected(request.provider, result.limit)
            return result
        if isinstance(result, RejectedAtSubmit):
            self.stats.rejected["content_policy"] = self.stats.rejected.get("content_policy", 0) + 1
            self.insight.rejected(request.provider, "content_policy")
            return result
        job = result
        await book.add(job, now)
        self.stats.created += 1
        self.insight.created(job)
        current_request.touch(job)
        if self.limits.needs_sweep():
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

        return self.ledger.sweep(now, keep)

    def wait_hint(self, over: OverLimit) -> float | None:
        """Real seconds until ``over`` frees, for Retry-After and its kin: clients wait in real time, so at a
        time scale of 0.01 a slot that frees in 60 engine seconds is 0.6 s away."""
        engine_seconds = over.retry_after(self.clock.now())
        seconds = None if engine_seconds is None else self.clock.real_seconds(engine_seconds)
        current_request.hint(seconds)
        return seconds

    async def get(self, provider: str, job_id: str) -> Job | None:
        # A status poll's one engine call: the in-memory book answers it without another coroutine layer.
        job = self.store.get(job_id) if self._in_memory else await self.book.get(job_id)
        if job is None or job.provider != provider:
            return None
        current_request.touch(job)
        return job

    async def find(self, job_id: str) -> Job | None:
        """The job with this id whatever its provider (admin, media, the live page)."""
        return await self.book.get(job_id)

    def cached(self, job_id: str) -> Job | None:
        """This replica's own copy of the job, without reaching shared state (for synchronous callers such as
        timeline callbacks; in memory it is the job itself)."""
        return self.book.cached(job_id)

    async def alive(self, job: Job) -> bool:
        """Whether ``job`` is still stored (not deleted, evicted or forgotten by a reset)."""
        return (await self.book.get(job.id)) is job

    async def cancel(self, job: Job, *, refund: bool = False) -> bool:
        """Cancel a job that has not finished; its slot frees now and waiting jobs move up. With ``refund``
        its cost goes back to its account (only if it was cancelled here)."""
        now = self.clock.now()
        behaviour = self.selector.for_key(job.account).profile.resolve(job.provider, job.model)
        waiting = await self.ledger.cancel(job, behaviour.limits, now)
        if waiting is None:
            return False
        self.insight.changed(job)
        if refund:
            await self.ledger.refund(job.provider, job.account, job.cost)
        for other in (job, *waiting):  # the job itself has just left the live jobs, which holds live ones only
            fire = self._watchers.get(other.id)
            if fire is not None:
                self.timeline.at(now, fire)
        for listener in self.reschedule_listeners:
            listener([job, *waiting])
        return True

    async def refund(self, job: Job) -> None:
        """Give the job's cost back to its account (a provider that does not bill what never ran)."""
        await self.ledger.refund(job.provider, job.account, job.cost)

    async def delete(self, job: Job, *, refund: bool = False) -> None:
        await self.cancel(job, refund=refund)
        await self.book.remove(job.id)

    async def forget(self, job: Job) -> None:
        """Remove the job from the store as it is (a provider's delete of a finished job)."""
        await self.book.remove(job.id)

    async def save(self, job: Job) -> None:
        """The dialect changed ``job.data`` after creation: store it where every replica reads it."""
        await self.book.save(job)

    async def live_jobs(self, provider: str, account: str) -> list[Job]:
        """The account's jobs holding or waiting for a concurrency slot, in submission order."""
        return await self.ledger.live(provider, account, self.clock.now())

    async def usage(self, provider: str, account: str) -> Scope:
        """The account's counts (spent credits, daily jobs per model) as of now, to read."""
        return await self.ledger.usage(provider, account, self.clock.now())

    async def recent_jobs(self, limit: int, provider: str | None = None) -> list[Job]:
        return await self.book.recent(limit, provider)

    async def job_count(self) -> int:
        return await self.book.count()

    async def jobs_evicted(self) -> int:
        return await self.book.evicted()

    async def all_jobs(self) -> list[Job]:
        return await self.book.all()

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

    async def spent(self, provider: str, account: str) -> float:
        return (await self.usage(provider, account)).spent

    async def advance(self, seconds: float) -> None:
        await self.sync.advance(seconds)
        await self.timeline.run_due()

    async def set_scale(self, scale: float) -> None:
        await self.sync.set_scale(scale)
        await self.timeline.run_due()

    async def reset(self) -> None:
        """Forget every job, count and assignment; return to the default profile and the clock as it started
        (on every replica, with shared state)."""
        await self.sync.reset()
        await self.forget_everything()
        await self.sync.profiles_changed()

    async def forget_everything(self) -> None:
        """The local part of a reset: this process's jobs, counts, timers and assignments."""
        await self.book.clear()
        await self.ledger.clear()
        self.timeline.clear()
        self._watchers.clear()
        self._requests_rng = stream(self.seed, "requests")
        self.stats = EngineStats()
        self.insight.reset()
        self.selector.reset(self.default_profile)
        self.announce_windows()
        for listener in self.forget_listeners:
            listener()
