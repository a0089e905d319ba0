"""The delivery engine: one aiohttp session, one lane per job so a job's deliveries leave in order, a bounded
number of POSTs in flight, waits on the engine's clock, retries with doubling backoff, profile faults, and the
journal."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import orjson

from ..engine.engine import Engine
from ..engine.jobs import TERMINAL, Job, next_change
from ..engine.rng import stream
from .journal import DELIVERED, DROPPED, GAVE_UP, REFUSED, RETRYING, Journal
from .policy import WebhookPolicy
from .signing import UNSIGNED, Message, Signer
from .targets import Refused, TargetRules

log = logging.getLogger("mockprovider.webhooks")

# An HTTP round trip cannot be scaled down with the engine clock; below this a slow receiver looks dead.
MIN_TIMEOUT = 0.5
USER_AGENT = "mockprovider-webhooks/1"
MAX_CHECKED_REPLY = 64 * 1024  # what is read of a reply that must pass a check
REORDER_WAIT = 30.0  # engine seconds a reordered delivery waits for the job's next one to overtake it

Events = list[tuple[str, Any]]
Render = Callable[[Job, str], Events]
# What a dialect registers per provider, so that any replica can rebuild a follow's deliveries from the job and the
# follow's stored parameters: render(job, state, told, params) -> [(event, payload), ...] (or an awaitable of it),
# where ``told`` is the state rendered before (None at first); sign(params) -> the Signer.
Renderer = Callable[[Job, str, "str | None", Any], "Events | Awaitable[Events]"]
SignerFor = Callable[[Any], Signer]
# What a follow sends between state changes (a provider's progress webhooks): tick(job, now, mark, params) ->
# (events, mark, next): the events to send now, the mark to keep (JSON; None at first) and the engine time of the
# next look (inf: none). Called at the follow's start, at each non-terminal state change and when ``next`` falls
# due, until the job ends.
Ticker = Callable[[Job, float, Any, Any], "tuple[Events, Any, float]"]


@dataclass(frozen=True, slots=True)
class Registered:
    render: Renderer
    sign: SignerFor | None = None
    tick: Ticker | None = None

    def signer(self, params: Any) -> Signer:
        return UNSIGNED if self.sign is None else self.sign(params)


@dataclass(frozen=True, slots=True)
class Handshake:
    """What a follow delivers first (a receiver's URL verification): ``payload`` is POSTed at once, ``attempts``
    times at most with ``timeout`` engine seconds each, and passes if the 2xx reply is a JSON object holding every
    member of ``expect``. The follow's deliveries wait for it; if it fails (or the ``drop`` fault strikes it),
    none of them is ever sent."""

    event: str
    payload: Any
    expect: dict[str, Any]
    timeout: float
    attempts: int = 1

    def passes(self, reply: bytes) -> bool:
        return replies_with(self.expect, reply)


def replies_with(expect: dict[str, Any], reply: bytes) -> bool:
    """Whether ``reply`` is a JSON object holding every member of ``expect``."""
    try:
        answer = orjson.loads(reply)
    except orjson.JSONDecodeError:
        return False
    return isinstance(answer, dict) and all(k in answer and answer[k] == v for k, v in expect.items())


@dataclass(slots=True)
class Delivery:
    message: Message
    url: str
    body: bytes
    payload: Any
    signer: Signer
    policy: WebhookPolicy
    due: float  # engine time of the first attempt
    generation: int
    seq: int = 0  # order of queueing within the hub (a duplicate shares its original's)
    hold: bool = False  # reorder fault: let the job's next delivery go first
    duplicate: bool = False
    early: bool = False
    check: Callable[[bytes], bool] | None = None  # the reply's body must pass this (a handshake's echo)
    done: Callable[[bool], None] | None = None  # told once whether it was delivered (and passed ``check``)
    queued: float = -math.inf  # engine time it was queued (the payload then shows the job as it was)


class Lane:
    __slots__ = ("arrived", "items", "worker")

    def __init__(self) -> None:
        self.items: deque[Delivery] = deque()
        self.arrived = asyncio.Event()
        self.worker: asyncio.Task | None = None


class WebhookHub:
    def __init__(self, engine: Engine, rules: TargetRules | None = None, *, journal_size: int = 1000,
                 max_pending: int = 10_000, max_pending_bytes: int = 64 * 2**20, max_in_flight: int = 64,
                 state: Any = None) -> None:
        self.engine = engine
        self.state = state  # the state Backend: with Redis (shared) every replica delivers from one queue
        self.shared: Any = None  # the SharedQueue once started on a shared backend
        self._registered: dict[str, Registered] = {}
        self._renders: set[asyncio.Task] = set()
        self.rules = rules or TargetRules()
        self.journal = Journal(journal_size)
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.max_in_flight = max_in_flight
        self.session: aiohttp.ClientSession | None = None
        self.pending = 0
        self.pending_bytes = 0
        self._generation = 0
        self._lanes: dict[tuple[str, str], Lane] = {}
        self._slots: asyncio.Semaphore | None = None
        self._rngs: dict[str, Any] = {}
        self._ids = stream(engine.seed, "webhooks", "ids")
        self._seq = 0

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.session is None:
            connector = aiohttp.TCPConnector(resolver=self.rules.resolver(), limit=self.max_in_flight)
            self.session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}, connector=connector)
        self._slots = asyncio.Semaphore(self.max_in_flight)
        if self.state is not None and getattr(self.state, "shared", False) and self.shared is None:
            from .shared import SharedQueue

            self.shared = SharedQueue(self, self.state)
            self.shared.start()

    async def close(self) -> None:
        workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        if self.shared is not None:
            await self.shared.close()
            self.shared = None
        self._forget()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker
        if self.session is not None:
            await self.session.close()
            self.session = None

    def reset(self) -> None:
        """Forget every pending delivery and the journal (``POST /__mock/reset``); with a shared backend, those
        of every replica."""
        self._forget()
        if self.shared is not None:
            self.shared.reset()

    def _forget(self) -> None:
        for task in self._renders:
            task.cancel()
        self._renders.clear()
        self._generation += 1  # workers of the old generation no longer count towards ``pending``
        for lane in self._lanes.values():
            if lane.worker is not None:
                lane.worker.cancel()
        self._lanes.clear()
        self.journal.clear()
        self.pending = self.pending_bytes = 0
        self._rngs.clear()
        self._ids = stream(self.engine.seed, "webhooks", "ids")

    def rng(self, provider: str):
        """The seeded stream a provider's delivery delays and faults are drawn from."""
        found = self._rngs.get(provider)
        if found is None:
            found = self._rngs[provider] = stream(self.engine.seed, provider, "callbacks")
        return found

    # -- what dialects call ---------------------------------------------------------------------------------

    def deliver(self, *, provider: str, job: str, event: str, url: str, payload: Any, policy: WebhookPolicy,
                signer: Signer | None = None, message_id: str | None = None, delay: float | None = None,
                check: Callable[[bytes], bool] | None = None, done: Callable[[bool], None] | None = None,
                params: Any = None) -> bool:
        """Queue one delivery of ``payload`` (JSON-encoded unless it is bytes) to ``url``; False if it was
        dropped. ``delay`` (engine seconds) replaces the profile's delay draw. With ``check`` a 2xx reply counts
        as delivered only if its body (up to 64 KiB) passes it (a verification handshake); ``done(ok)`` hears
        the final outcome once. Without ``signer`` the provider's registered one signs, from ``params``. With a
        shared backend the delivery joins the shared queue (any replica sends it), unless it has ``check`` or
        ``done``, which only this process can hear."""
        if signer is None:
            signer = self.signer_for(provider, params)
        if self.shared is not None and check is None and done is None:
            return self.shared.deliver(provider=provider, job=job, event=event, url=url, payload=payload,
                                       policy=policy, params=params, message_id=message_id, delay=delay)
        rng = self.rng(provider)
        message = Message(id=message_id or f"msg_{self._ids.getrandbits(96):024x}", provider=provider, job=job,
                          event=event)
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        faults = policy.faults
        if delay is None:
            delay = policy.draw_delay(rng)
        if policy.draw_drop(rng):
            self._note(message, url, payload, policy.attempts, 0, DROPPED, error="dropped: profile fault")
            if done is not None:
                done(False)
            return False
        now = self.engine.clock.now()
        item = Delivery(message, url, body, payload, signer, policy, now + delay,
                        self._generation, hold=bool(faults.reorder and rng.random() < faults.reorder),
                        check=check, done=done, queued=now)
        items = [item]
        if faults.duplicate and rng.random() < faults.duplicate:
            items.append(replace(item, duplicate=True, hold=False, done=None))
        return self._enqueue(items)

    def register(self, provider: str, render: Renderer, sign: SignerFor | None = None,
                 tick: Ticker | None = None) -> None:
        """How ``provider``'s follows are rendered and signed, from (job, state, told, params) and (params) alone,
        so that any replica rebuilds the same bodies and signatures; ``tick`` renders what a follow with
        ``ticks=`` sends between state changes."""
        self._registered[provider] = Registered(render, sign, tick)

    def registered(self, provider: str) -> Registered | None:
        return self._registered.get(provider)

    def signer_for(self, provider: str, params: Any) -> Signer:
        found = self._registered.get(provider)
        return UNSIGNED if found is None else found.signer(params)

    def follow(self, job: Job, *, provider: str, url: str, policy: WebhookPolicy, params: Any = None,
               initial: str | None = None, render: Render | None = None, signer: Signer | None = None,
               watch: Callable[[Job, str], None] | None = None, handshake: Handshake | None = None,
               ticks: WebhookPolicy | None = None) -> None:
        """Deliver what the provider's registered renderer returns, as ``[(event, payload), ...]``, at each of
        the job's state changes from now on, starting with ``initial`` (default: its current state) at once.
        ``params`` (JSON-able) is stored with the follow and handed to the renderer and the signer. Returning
        ``[]`` skips a state. With the profile's ``early`` fault a state's deliveries go out ``early_by`` before
        polls can see that state. ``handshake`` goes out first and gates the rest; with ``ticks`` (the policy
        of its deliveries) the registered ticker's events go out between state changes. (``render(job,
        state)``/``signer`` instead of a registration: this process only.) ``watch(job, state)`` is also told
        of each state change, in this process (the engine keeps one watcher per job: this is how a dialect
        watches a job it follows)."""
        registered: Registered | None = None
        if render is None:
            registered = self._registered[provider]
            signer = signer or registered.signer(params)
            if self.shared is not None:
                self.shared.follow(job, provider=provider, url=url, policy=policy, params=params, initial=initial,
                                   handshake=handshake, ticks=ticks)
                if watch is not None:
                    self.engine.watch(job, watch)
                return

            def rendering(job: Job, state: str, told: str | None) -> Events | Awaitable[Events]:
                return registered.render(job, state, told, params)
        else:
            def rendering(job: Job, state: str, told: str | None) -> Events | Awaitable[Events]:
                return render(job, state)
        signer = signer or UNSIGNED
        engine = self.engine
        last: list[str | None] = [None]
        sent_early: set[str] = set()
        generation = self._generation
        gate: list[bool | None] = [None if handshake is not None else True]  # the handshake passed (None: not yet)
        waiting: list[tuple[Events, bool, WebhookPolicy]] = []

        def gone() -> bool:
            return engine.cached(job.id) is not job or generation != self._generation  # deleted, evicted, reset

        def queue(events: Events, early: bool, using: WebhookPolicy = policy) -> None:
            if not events or gate[0] is False:
                return
            if gate[0] is None:
                waiting.append((events, early, using))
                return
            for event, payload in events:
                if early:
                    self._enqueue([Delivery(
                        Message(f"msg_{self._ids.getrandbits(96):024x}", provider, job.id, event), url,
                        payload if isinstance(payload, bytes) else orjson.dumps(payload), payload, signer,
                        using, engine.clock.now(), self._generation, early=True)])
                else:
                    self.deliver(provider=provider, job=job.id, event=event, url=url, payload=payload,
                                 policy=using, signer=signer)

        if handshake is not None:
            def validated(ok: bool) -> None:
                gate[0] = ok
                held = waiting[:]
                waiting.clear()
                if ok and not gone():
                    for events, early, using in held:
                        queue(events, early, using)

            if not self.deliver(provider=provider, job=job.id, event=handshake.event, url=url,
                                payload=handshake.payload, signer=signer, delay=0.0, check=handshake.passes,
                                done=validated, policy=replace(policy, attempts=handshake.attempts,
                                                               timeout=handshake.timeout)):
                if watch is not None:
                    engine.watch(job, watch)
                return  # dropped: nothing follows

        async def later(pending: Awaitable[Events], early: bool) -> None:
            events = await pending
            if not gone():
                queue(events, early)

        def send(state: str, early: bool) -> None:
            told, last[0] = last[0], state
            if gone():
                return
            events = rendering(job, state, told)
            if inspect.isawaitable(events):  # e.g. the payload names a file still being rendered
                task = asyncio.get_running_loop().create_task(later(events, early))
                self._renders.add(task)
                task.add_done_callback(self._renders.discard)
            else:
                queue(events, early)
            if not early:
                self._maybe_early(job, policy, provider, send, sent_early)

        tick = registered.tick if registered is not None and ticks is not None else None
        ticking = [0, None]  # the latest scheduled look (older ones do nothing) and the ticker's mark

        def look(token: int) -> None:
            if tick is None or token != ticking[0] or gone():
                return
            now = engine.clock.now()
            if job.state(now)[0] in TERMINAL:
                return
            events, ticking[1], following = tick(job, now, ticking[1], params)
            queue(events, False, ticks)
            ticking[0] += 1
            if following < math.inf:
                engine.timeline.at(max(following, now), lambda token=ticking[0]: look(token))

        def notify(job: Job, state: str) -> None:
            if watch is not None:
                watch(job, state)
            if state in sent_early:  # already told ahead of time: now only look further ahead
                sent_early.discard(state)
                self._maybe_early(job, policy, provider, send, sent_early)
            elif state != last[0]:
                send(state, False)
            else:
                return
            look(ticking[0])  # the state moved: the ticker looks now (a freed slot may have moved the start)

        notify(job, initial or job.state(engine.clock.now())[0])
        engine.watch(job, notify)

    def _maybe_early(self, job: Job, policy: WebhookPolicy, provider: str, send, sent_early: set[str]) -> None:
        early = policy.faults.early
        if not early:
            return
        rng = self.rng(provider)
        if rng.random() >= early:
            return
        clock = self.engine.clock
        now = clock.now()
        when = next_change(job, now)
        if when == math.inf:
            return
        state = job.state(when)[0]
        lead = max(policy.early_by.sample(rng), 0.0)

        def fire() -> None:
            # only if the plan still holds (a cancel or a freed slot may have moved the change)
            if next_change(job, clock.now()) != when or job.state(when)[0] != state:
                return
            sent_early.add(state)
            send(state, True)

        self.engine.timeline.at(max(now, when - lead), fire)

    # -- delivering -----------------------------------------------------------------------------------------

    def _enqueue(self, items: list[Delivery]) -> bool:
        first = items[0]
        self._seq += 1
        for item in items:
            item.seq = self._seq
        size = sum(len(i.body) for i in items)
        if (self.session is None or self.pending + len(items) > self.max_pending
                or self.pending_bytes + size > self.max_pending_bytes):
            self._note(first.message, first.url, first.payload, first.policy.attempts, 0, DROPPED,
                       error="dropped: delivery queue full or sender stopped")
            if first.done is not None:
                first.done(False)
            return False
        key = (first.message.provider, first.message.job)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane()
        lane.items.extend(items)
        lane.arrived.set()
        self.pending += len(items)
        self.pending_bytes += size
        if lane.worker is None:
            lane.worker = asyncio.get_running_loop().create_task(self._work(key, lane))
        return True

    async def _work(self, key: tuple[str, str], lane: Lane) -> None:
        items = lane.items
        try:
            while items:
                item = items[0]
                if item.hold:  # let the job's next delivery overtake this one
                    later = self._later(items, item)
                    if later is None:
                        await self._wait_for_next(lane, item.due + REORDER_WAIT)
                        later = self._later(items, item)
                    item.hold = False
                    if later is not None:
                        overtaking = items[later]
                        del items[later]
                        items.appendleft(overtaking)
                        continue
                items.popleft()
                try:
                    await self._attempts(item)
                finally:
                    if item.generation == self._generation:
                        self.pending -= 1
                        self.pending_bytes -= len(item.body)
        finally:
            if self._lanes.get(key) is lane and not items:
                del self._lanes[key]

    @staticmethod
    def _later(items: deque[Delivery], held: Delivery) -> int | None:
        for index, other in enumerate(items):
            if other.seq > held.seq:
                return index
        return None

    async def _wait_for_next(self, lane: Lane, until: float) -> None:
        lane.arrived.clear()
        waiter = asyncio.ensure_future(lane.arrived.wait())
        timer = asyncio.ensure_future(self._until(until))
        try:
            await asyncio.wait((waiter, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()

    async def _until(self, when: float) -> None:
        """Sleep until engine time ``when`` (the timeline wakes us, so moving the clock takes effect)."""
        clock = self.engine.clock
        if when <= clock.now():
            return
        future = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        if not self.engine.timeline.at(when, wake):
            await asyncio.sleep(clock.real_seconds(when - clock.now()))
            return
        try:
            await future
        finally:
            future.cancel()

    async def _attempts(self, item: Delivery) -> None:
        await self._until(item.due)
        policy = item.policy
        problem = self.rules.check_url(item.url)
        if problem is not None:
            self._note(item.message, item.url, item.payload, policy.attempts, 1, REFUSED, error=problem, item=item)
            log.warning("webhook to %s refused: %s", item.url, problem)
            self._finish(item, False)
            return
        clock = self.engine.clock
        for attempt in range(1, policy.attempts + 1):
            status, error, took = await self._post(item, max(clock.real_seconds(policy.timeout), MIN_TIMEOUT))
            if error is not None and error.startswith("refused:"):
                self._note(item.message, item.url, item.payload, policy.attempts, attempt, REFUSED, error=error,
                           item=item)
                log.warning("webhook to %s refused: %s", item.url, error)
                self._finish(item, False)
                return
            ok = status is not None and 200 <= status < 300 and error is None
            last = ok or attempt == policy.attempts
            retry = None if last else policy.retry_in(attempt)
            outcome = DELIVERED if ok else GAVE_UP if last else RETRYING
            self._note(item.message, item.url, item.payload, policy.attempts, attempt, outcome, status=status,
                       error=error, retry_in=None if retry is None else clock.real_seconds(retry), took=took,
                       item=item)
            if last:
                if not ok:
                    log.warning("webhook to %s gave up after %d attempts (%s)", item.url, attempt,
                                error or f"HTTP {status}")
                self._finish(item, ok)
                return
            await self._until(clock.now() + retry)

    @staticmethod
    def _finish(item: Delivery, ok: bool) -> None:
        if item.done is not None:
            try:
                item.done(ok)
            except Exception:
                log.exception("webhook done callback failed")

    async def _post(self, item: Delivery, timeout: float) -> tuple[int | None, str | None, float]:
        assert self.session is not None and self._slots is not None
        started = time.monotonic()
        headers = {"Content-Type": "application/json",
                   **item.signer.headers(item.message, item.body, int(time.time()))}
        async with self._slots:
            try:
                async with self.session.post(item.url, data=item.body, headers=headers, allow_redirects=False,
                                             timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                    if item.check is not None and 200 <= response.status < 300:
                        reply = await response.content.read(MAX_CHECKED_REPLY)
                        if not item.check(reply):
                            return (response.status, f"the reply did not pass the check: {reply[:100]!r}",
                                    time.monotonic() - started)
                    return response.status, None, time.monotonic() - started
            except asyncio.TimeoutError:
                return None, "timeout", time.monotonic() - started
            except aiohttp.ClientConnectorError as exc:
                cause = exc.os_error
                if isinstance(cause, Refused):
                    return None, str(cause), time.monotonic() - started
                return None, f"{type(exc).__name__}: {exc}"[:300], time.monotonic() - started
            except Refused as exc:
                return None, str(exc), time.monotonic() - started
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                return None, f"{type(exc).__name__}: {exc}"[:300], time.monotonic() - started

    def _note(self, message: Message, url: str, payload: Any, attempts: int, attempt: int, outcome: str,
              *, status: int | None = None, error: str | None = None, retry_in: float | None = None,
              took: float = 0.0, item: Delivery | None = None, job: Any = False, duplicate: bool = False,
              early: bool = False, queued: float = -math.inf) -> None:
        """Journal one attempt (``job``: the job if the caller has it, else it is looked up here)."""
        if item is not None:
            duplicate, early, queued = item.duplicate, item.early, item.queued
        entry = {
            "provider": message.provider,
            "job": message.job,
            "event": message.event,
            "message_id": message.id,
            "url": url,
            "attempt": attempt,
            "max_attempts": attempts,
            "at": int(self.engine.clock.epoch() * 1000),
            "outcome": outcome,
            "http_status": status,
            "error": error,
            "delivered": outcome == DELIVERED,
            "retry_in_seconds": None if retry_in is None else round(retry_in, 4),
            "duration_ms": round(took * 1000, 2),
            "duplicate": duplicate,
            "early": early,
            "payload": payload if not isinstance(payload, bytes) else None,
        }
        if self.shared is not None:
            self.shared.journal(entry)
        else:
            self.journal.add(entry)
        if outcome != RETRYING and not duplicate:
            self._tell_insight(message, outcome, queued, job)

    def _tell_insight(self, message: Message, outcome: str, queued: float, job: Any = False) -> None:
        """Count the delivery in the client-behaviour report; a delivered update rendered after the job ended
        is the client learning of the end (detection lag)."""
        engine = self.engine
        if job is False:
            job = engine.cached(message.job)
        terminal = job is not None and job.ends <= queued
        engine.insight.webhook(message.provider, job.account if job is not None else None, job,
                               "delivered" if outcome == DELIVERED else "failed", terminal)

    # -- inspecting -----------------------------------------------------------------------------------------

    async def report(self, *, provider: str | None = None, job: str | None = None, outcome: str | None = None,
                     limit: int = 1000) -> dict[str, Any]:
        """What ``GET /__mock/webhooks`` answers: with a shared backend, the deliveries of every replica."""
        if self.shared is not None:
            return await self.shared.describe(provider=provider, job=job, outcome=outcome, limit=limit)
        return self.describe(provider=provider, job=job, outcome=outcome, limit=limit)

    def describe(self, *, provider: str | None = None, job: str | None = None, outcome: str | None = None,
                 limit: int = 1000) -> dict[str, Any]:
        totals = self.journal.totals(provider)
        return {"attempts": self.journal.query(provider=provider, job=job, outcome=outcome, limit=limit),
                "pending": self.pending, "pending_bytes": self.pending_bytes, "lanes": len(self._lanes),
                "delivered": totals[DELIVERED], "failed": totals[GAVE_UP], "dropped": totals[DROPPED],
                "refused": totals[REFUSED], "retried": totals[RETRYING], "journal_size": self.journal.size}
