"""One delivery queue in Redis for every replica (``serve --state redis://...``): each webhook is sent once, by
whichever replica claims it, and by another one if that replica dies while it holds it.

Per job ("member", the job id) Redis holds:

- ``inbox:<job>``: what replicas asked for, in order (a follow, or one delivery with its body rendered);
- ``follows`` (a hash): the member's record, owned by the replica that holds its lease: the follow's parameters,
  the state last told, the ticker's mark and next look, the pre-drawn delays and faults, and the queue of
  deliveries with their attempts (a follow's handshake at its head: what the follow renders waits behind it and
  is dropped unsent if it fails);
- ``due`` (a sorted set, engine seconds): when the member next needs a replica (a state change to render, a
  tick, a delivery or a retry that falls due);
- ``bytes``, ``inbox-bytes`` and ``pending-bytes``: the bodies waiting, per member and in all, against the hub's
  ``max_pending_bytes`` (a delivery is counted when it is posted, a rendered one when its holder reserves it; a
  member's count is set anew at each save, so what a dead holder reserved and never saved is given back);
- ``lease`` (a sorted set, Unix seconds) and ``owner`` (a hash): a claimed member leaves ``due`` for ``lease``
  until its holder acks it back with its next due time; a lease that expires (its holder died) puts it back in
  ``due``, so another replica claims it.

Every replica runs one claimer task: a Lua script claims the due members atomically, each is worked by a lane
task (per-job order: one lane per member), which renders state changes through the provider's registered
renderer (so the body and the signature are the same on any replica), delivers through the hub's machinery
(retries with backoff, faults, journal, signing), saves its progress (renewing the lease) before every attempt
and acks. A cancellation, or waiting jobs moving up after one, nudges the member so its pending events follow
the job's new times. Delays and faults are drawn when the follow is made, from the job's own seeded stream, so
no replica needs the profile to replay them (for the first 8 state deliveries and 64 ticks; later ones go out
without delay or fault).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import math
import os
import time
from collections import deque
from typing import Any

import orjson

from ..engine.jobs import TERMINAL, Job, next_change
from ..engine.rng import stream
from .hub import MIN_TIMEOUT, REORDER_WAIT, Delivery, Handshake, replies_with
from .journal import DELIVERED, DROPPED, GAVE_UP, OUTCOMES, REFUSED, RETRYING
from .policy import WebhookPolicy, retry_in
from .signing import Message

log = logging.getLogger("mockprovider.webhooks")

POLL = 0.05  # real seconds between two looks at the queue when nothing local wakes the claimer
LEASE = 5.0  # real seconds a claim lasts before its first save
LEASE_MARGIN = 2.0  # real seconds a lease outlives the attempt it covers
RECHECK = 3600.0  # engine seconds between two looks at a follow whose job plans no further change
DRAWS = 8  # deliveries per follow whose delay and faults are drawn in advance (then: no delay, no fault)
EARLY_DRAWS = 6
TICK_DRAWS = 64  # likewise for the deliveries of a follow's ticks
MAX_INBOX = 256  # requests waiting for one member
OUTAGE_RETRY = 0.5  # real seconds between two tries while Redis is away
QUEUE_FULL = "dropped: delivery queue full or sender stopped"  # what the hub journals past its bounds

# Pending bytes (the hub's max_pending_bytes, for every replica): ``total`` is the sum of ``bytes`` (per member: the
# bodies in its saved record and in its inbox); ``inbox bytes`` is the inbox's part. A member's count is set anew
# whenever its holder saves, so what a replica reserved and died before saving is given back by the next holder.
COUNT = """
local function count(kb, ki, kt, member, held, taken)
  local inbox
  if taken > 0 then
    inbox = redis.call('HINCRBY', ki, member, -taken)
    if inbox <= 0 then redis.call('HDEL', ki, member); inbox = 0 end
  else
    inbox = tonumber(redis.call('HGET', ki, member) or '0')
  end
  local new = held + inbox
  local old = tonumber(redis.call('HGET', kb, member) or '0')
  if new ~= old then
    if new > 0 then redis.call('HSET', kb, member, new) else redis.call('HDEL', kb, member) end
    if redis.call('INCRBY', kt, new - old) < 0 then redis.call('SET', kt, 0) end
  end
end
"""

# KEYS: inbox, due, lease, nudge, bytes, inbox bytes, total. ARGV: member, op, now, max members, the op's bytes,
# max bytes. 1 if queued, 0 if a bound refused it.
POST = """
if redis.call('LLEN', KEYS[1]) >= 256 then return 0 end
local size = tonumber(ARGV[5])
if size > 0 and tonumber(redis.call('GET', KEYS[7]) or '0') + size > tonumber(ARGV[6]) then return 0 end
local function counted()
  if size > 0 then
    redis.call('HINCRBY', KEYS[5], ARGV[1], size); redis.call('HINCRBY', KEYS[6], ARGV[1], size)
    redis.call('INCRBY', KEYS[7], size)
  end
  return 1
end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  redis.call('RPUSH', KEYS[1], ARGV[2]); redis.call('SADD', KEYS[4], ARGV[1]); return counted()
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1])
   and redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[1])
return counted()
"""

# KEYS: owner, bytes, total. ARGV: member, token, max bytes, then the size of each group of deliveries a holder
# rendered. -> 1 or 0 per group (admitted or over the bound, each in turn, as the hub does), false if not the holder.
RESERVE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return false end
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
local limit = tonumber(ARGV[3])
local out, add = {}, 0
for i = 4, #ARGV do
  local size = tonumber(ARGV[i])
  if total + add + size <= limit then add = add + size; out[#out + 1] = 1 else out[#out + 1] = 0 end
end
if add > 0 then redis.call('HINCRBY', KEYS[2], ARGV[1], add); redis.call('INCRBY', KEYS[3], add) end
return out
"""

# KEYS: due, lease, owner. ARGV: engine now, Unix now, lease until, how many, token prefix.
# -> {member, token, member, token, ...}, the next due score, the next lease expiry, leases reclaimed.
CLAIM = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, 100)
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[2], m); redis.call('HDEL', KEYS[3], m); redis.call('ZADD', KEYS[1], ARGV[1], m)
end
local out = {}
local limit = tonumber(ARGV[4])
if limit > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)
  for i, m in ipairs(due) do
    local token = ARGV[5] .. ':' .. i
    redis.call('ZREM', KEYS[1], m); redis.call('ZADD', KEYS[2], ARGV[3], m); redis.call('HSET', KEYS[3], m, token)
    out[#out + 1] = m; out[#out + 1] = token
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local lease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {out, first[2] or '', lease[2] or '', #expired}
"""

# KEYS: owner, follows, inbox. ARGV: member, token. -> {record or '', inbox...} or false if not the holder.
TAKE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return false end
return {redis.call('HGET', KEYS[2], ARGV[1]) or '', redis.call('LRANGE', KEYS[3], 0, -1)}
"""

# KEYS: owner, follows, inbox, lease, bytes, inbox bytes, total. ARGV: member, token, record ('' deletes), inbox
# entries taken, lease until, the record's bytes, the taken entries' bytes.
SAVE = COUNT + """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[2], ARGV[1]) else redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
if tonumber(ARGV[4]) > 0 then redis.call('LTRIM', KEYS[3], tonumber(ARGV[4]), -1) end
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
count(KEYS[5], KEYS[6], KEYS[7], ARGV[1], tonumber(ARGV[6]), tonumber(ARGV[7]))
return 1
"""

# KEYS: owner, follows, inbox, lease, due, nudge, bytes, inbox bytes, total. ARGV: member, token, record ('' deletes),
# inbox entries taken, next due ('' none), engine now, the record's bytes, the taken entries' bytes.
ACK = COUNT + """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[2], ARGV[1]) else redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
if tonumber(ARGV[4]) > 0 then redis.call('LTRIM', KEYS[3], tonumber(ARGV[4]), -1) end
count(KEYS[7], KEYS[8], KEYS[9], ARGV[1], tonumber(ARGV[7]), tonumber(ARGV[8]))
redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('ZREM', KEYS[4], ARGV[1])
local score = ARGV[5]
local nudged = redis.call('SREM', KEYS[6], ARGV[1])
if nudged == 1 or redis.call('LLEN', KEYS[3]) > 0 then score = ARGV[6] end
if score ~= '' then redis.call('ZADD', KEYS[5], score, ARGV[1]) end
return 1
"""

# KEYS: due, lease, nudge. ARGV: member, engine now. The job's times changed: look at it now.
NUDGE = """
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then redis.call('SADD', KEYS[3], ARGV[1]); return 1 end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1]); return 1 end
return 0
"""


def _errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError)


def _still_wanted() -> None:
    """Raise CancelledError if this task was cancelled while a Redis call turned the cancellation into an error
    of its own (redis-py may), so that a stopped replica really stops."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _body(item: dict[str, Any]) -> bytes:
    return base64.b64decode(item["body"]) if item.get("raw") else item["body"].encode()


def _payload(item: dict[str, Any]) -> Any:
    return None if item.get("raw") else orjson.loads(item["body"])


def _size(op: dict[str, Any]) -> int:
    """The bytes an inbox entry holds (the bodies of its deliveries, or of a follow's handshake)."""
    items = op.get("items") or ([op["hs"]] if op.get("hs") else [])
    return sum(item.get("sz", 0) for item in items)


def _item(message_id: str, event: str, payload: Any, now: float, url: str, attempts: int, backoff: float,
          timeout: float, growth: float = 2.0) -> dict[str, Any]:
    """One delivery as the record holds it (due now, no fault)."""
    raw = isinstance(payload, bytes)
    data = payload if raw else orjson.dumps(payload)
    return {"id": message_id, "e": event, "body": base64.b64encode(data).decode() if raw else data.decode(),
            "raw": raw, "sz": len(data), "n": 0, "at": now, "h": False, "dup": False, "y": False, "q": now, "u": url,
            "a": attempts, "b": backoff, "t": timeout, "bg": growth}


def _draws(policy: WebhookPolicy, rng: Any, count: int) -> list[list[Any]]:
    """``count`` deliveries' delay, drop, reorder and duplicate draws, in advance."""
    faults = policy.faults
    draws = []
    for _ in range(count):
        delay = policy.draw_delay(rng)
        draws.append([delay, policy.draw_drop(rng), bool(faults.reorder and rng.random() < faults.reorder),
                      bool(faults.duplicate and rng.random() < faults.duplicate)])
    return draws


def _score(value: float) -> str:
    return "+inf" if value == math.inf else repr(value)


class SharedQueue:
    def __init__(self, hub: Any, backend: Any) -> None:
        self.hub = hub
        self.engine = hub.engine
        self.backend = backend
        self.redis = backend.redis
        key = backend.key
        self.k_due = key("webhooks", "due")
        self.k_lease = key("webhooks", "lease")
        self.k_owner = key("webhooks", "owner")
        self.k_nudge = key("webhooks", "nudge")
        self.k_follows = key("webhooks", "follows")
        self.k_journal = key("webhooks", "journal")
        self.k_counts = key("webhooks", "counts")
        self.k_bytes = key("webhooks", "bytes")
        self.k_inbox_bytes = key("webhooks", "inbox-bytes")
        self.k_total = key("webhooks", "pending-bytes")
        self.inbox_prefix = key("webhooks", "inbox", "")
        self.replica = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._claims = itertools.count(1)
        self._scripts = {name: self.redis.register_script(text) for name, text in
                         (("post", POST), ("claim", CLAIM), ("take", TAKE), ("save", SAVE), ("ack", ACK),
                          ("nudge", NUDGE), ("reserve", RESERVE))}
        # what this replica must write, in order (follows, deliveries, journal entries, nudges, resets)
        self._outbox: deque[tuple[str, Any]] = deque()
        self._outbox_bytes = 0  # the bodies of the posts in it (bounded by the hub's max_pending_bytes too)
        self._wrote = asyncio.Event()
        self._write_wake = asyncio.Event()
        self._wake = asyncio.Event()  # the claimer's: something was queued here
        self._lanes: dict[str, asyncio.Task] = {}
        self._lane_done = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._down = False
        self.reclaimed = 0
        self._listening = False

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write_loop()), loop.create_task(self._claim_loop())]
        listeners = getattr(self.engine, "reschedule_listeners", None)
        if listeners is not None and self.moved not in listeners:
            listeners.append(self.moved)
            self._listening = True

    async def close(self) -> None:
        """Stop claiming; what this replica holds goes to another one when its lease expires (or at once when
        it was acked)."""
        if self._listening:
            with contextlib.suppress(ValueError):
                self.engine.reschedule_listeners.remove(self.moved)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._flush(), 2.0)
        for task in (*self._tasks, *self._lanes.values()):
            task.cancel()
        for task in (*self._tasks, *self._lanes.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._lanes.clear()

    async def _flush(self) -> None:
        while self._outbox:
            self._wrote.clear()
            await self._wrote.wait()

    def reset(self) -> None:
        """Forget every replica's pending deliveries and the shared journal."""
        for task in self._lanes.values():
            task.cancel()
        self._lanes.clear()
        self._outbox.clear()
        self._outbox_bytes = 0
        self._push("reset", None)

    # -- what the hub asks for ------------------------------------------------------------------------------

    def follow(self, job: Job, *, provider: str, url: str, policy: WebhookPolicy, params: Any,
               initial: str | None, handshake: Handshake | None = None, ticks: WebhookPolicy | None = None) -> None:
        rng = stream(self.engine.seed, provider, "callbacks", job.id)
        faults = policy.faults
        now = self.engine.clock.now()
        gate = None
        if handshake is not None:
            message = Message(f"msg_{self.hub._ids.getrandbits(96):024x}", provider, job.id, handshake.event)
            if policy.draw_drop(rng):
                self.hub._note(message, url, handshake.payload, handshake.attempts, 0, DROPPED,
                               error="dropped: profile fault", job=job, queued=now)
                return  # nothing follows
            gate = _item(message.id, handshake.event, handshake.payload, now, url, handshake.attempts,
                         policy.backoff, handshake.timeout, policy.growth) | {"x": handshake.expect, "g": True}
        op = {"k": "follow", "p": provider, "u": url, "a": policy.attempts, "b": policy.backoff, "bg": policy.growth,
              "t": policy.timeout, "prm": params, "i": initial, "dr": _draws(policy, rng, DRAWS),
              "er": [max(policy.early_by.sample(rng), 0.0) if faults.early and rng.random() < faults.early else None
                     for _ in range(EARLY_DRAWS)], "hs": gate}
        if ticks is not None:
            op["tk"] = {"a": ticks.attempts, "b": ticks.backoff, "t": ticks.timeout, "bg": ticks.growth}
            op["tdr"] = _draws(ticks, rng, TICK_DRAWS)
        self._post(job.id, op)

    def deliver(self, *, provider: str, job: str, event: str, url: str, payload: Any, policy: WebhookPolicy,
                params: Any, message_id: str | None, delay: float | None) -> bool:
        hub = self.hub
        rng = hub.rng(provider)
        faults = policy.faults
        message = Message(message_id or f"msg_{hub._ids.getrandbits(96):024x}", provider, job, event)
        if delay is None:
            delay = policy.draw_delay(rng)
        if policy.draw_drop(rng):
            hub._note(message, url, payload, policy.attempts, 0, DROPPED, error="dropped: profile fault")
            return False
        now = self.engine.clock.now()
        item = _item(message.id, event, payload, now, url, policy.attempts, policy.backoff, policy.timeout,
                     policy.growth)
        item.update(at=now + delay, h=bool(faults.reorder and rng.random() < faults.reorder))
        items = [item]
        if faults.duplicate and rng.random() < faults.duplicate:
            items.append({**item, "dup": True, "h": False})
        return self._post(job, {"k": "deliver", "p": provider, "prm": params, "items": items})

    def moved(self, jobs: list[Job]) -> None:
        """The engine says these jobs' times changed (a cancel, or a slot freed by one)."""
        for job in jobs:
            self._push("nudge", job.id)

    def journal(self, entry: dict[str, Any]) -> None:
        entry["replica"] = self.replica
        self._push("journal", entry)

    def _post(self, member: str, op: dict[str, Any]) -> bool:
        size = _size(op)
        if len(self._outbox) >= self.hub.max_pending or self._outbox_bytes + size > self.hub.max_pending_bytes:
            return self._refuse(member, op, "dropped: delivery queue full or Redis unreachable")
        self._outbox_bytes += size
        self._push("post", (member, op))
        return True

    def _push(self, kind: str, value: Any) -> None:
        if kind == "journal" and len(self._outbox) >= self.hub.max_pending:
            return  # Redis is away: the journal is the first thing to give way
        self._outbox.append((kind, value))
        self._wrote.clear()
        self._write_wake.set()

    def _refuse(self, member: str, op: dict[str, Any], why: str) -> bool:
        for item in (op.get("items") or ([op["hs"]] if op.get("hs") else None)
                     or [{"id": "", "e": "follow", "u": op.get("u", ""), "a": op.get("a", 0)}]):
            if item.get("dup"):
                continue
            payload = _payload(item) if "body" in item else None
            self.hub._note(Message(item["id"], op["p"], member, item["e"]), item["u"], payload, item["a"], 0,
                           DROPPED, error=why)
        return False

    # -- writing what was asked, in order -------------------------------------------------------------------

    async def _write_loop(self) -> None:
        outbox = self._outbox
        errors = _errors()
        while True:
            if not outbox:
                self._wrote.set()
                self._write_wake.clear()
                await self._write_wake.wait()
                continue
            try:
                await self._write_some()
                self._back_up()
            except errors as exc:
                _still_wanted()
                self._went_down(exc)
                await asyncio.sleep(OUTAGE_RETRY)

    async def _write_some(self) -> None:
        outbox = self._outbox
        first = outbox[0]
        kind, value = first
        if kind == "journal":
            entries = []
            while outbox and outbox[0][0] == "journal" and len(entries) < 256:
                entries.append(outbox[0][1])
                outbox.popleft()
            try:
                await self._write_journal(entries)
            except BaseException:
                outbox.extendleft(("journal", e) for e in reversed(entries))
                raise
            return
        if kind == "post":
            member, op = value
            size = _size(op)
            ok = await self._scripts["post"](
                keys=[self.inbox_prefix + member, self.k_due, self.k_lease, self.k_nudge, self.k_bytes,
                      self.k_inbox_bytes, self.k_total],
                args=[member, orjson.dumps(op), _score(self.engine.clock.now()), self.hub.max_pending, size,
                      self.hub.max_pending_bytes])
            if outbox and outbox[0] is first:
                outbox.popleft()
                self._outbox_bytes -= size
            if ok:
                self._wake.set()
            else:
                self._refuse(member, op, QUEUE_FULL)
            return
        if kind == "nudge":
            await self._scripts["nudge"](keys=[self.k_due, self.k_lease, self.k_nudge],
                                         args=[value, _score(self.engine.clock.now())])
        elif kind == "reset":
            await self._clear()
        if outbox and outbox[0] is first:
            outbox.popleft()

    async def _write_journal(self, entries: list[dict[str, Any]]) -> None:
        size = self.hub.journal.size
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self.k_journal, *(orjson.dumps(e) for e in entries))
        pipe.ltrim(self.k_journal, -size, -1)
        for entry in entries:
            pipe.hincrby(self.k_counts, f"{entry['provider']}\n{entry['outcome']}", 1)
        await pipe.execute()

    async def _clear(self) -> None:
        keys = [self.k_due, self.k_lease, self.k_owner, self.k_nudge, self.k_follows, self.k_journal,
                self.k_counts, self.k_bytes, self.k_inbox_bytes, self.k_total]
        async for key in self.redis.scan_iter(match=self.inbox_prefix + "*", count=1000):
            keys.append(key)
        for start in range(0, len(keys), 500):
            await self.redis.delete(*keys[start:start + 500])

    def _went_down(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            log.warning("webhooks: the shared state is unreachable (%s); deliveries wait for it", exc)

    def _back_up(self) -> None:
        if self._down:
            self._down = False
            log.warning("webhooks: the shared state is back")

    # -- claiming -------------------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        errors = _errors()
        clock = self.engine.clock
        cap = self.hub.max_in_flight
        while True:
            self._wake.clear()
            free = cap - len(self._lanes)
            try:
                claimed, first_due, first_lease, expired = await self._scripts["claim"](
                    keys=[self.k_due, self.k_lease, self.k_owner],
                    args=[_score(clock.now()), repr(time.time()), repr(time.time() + LEASE), free,
                          f"{self.replica}:{next(self._claims)}"])
                self._back_up()
            except errors as exc:
                _still_wanted()
                self._went_down(exc)
                await asyncio.sleep(OUTAGE_RETRY)
                continue
            if expired:
                self.reclaimed += int(expired)
                log.info("webhooks: %d lease(s) expired (a replica died holding them); claiming them again",
                         int(expired))
            loop = asyncio.get_running_loop()
            for index in range(0, len(claimed), 2):
                member, token = claimed[index].decode(), claimed[index + 1].decode()
                task = loop.create_task(self._lane(member, token))
                self._lanes[member] = task
                task.add_done_callback(lambda _, member=member, task=task: self._lane_finished(member, task))
            wait = POLL
            if first_due:
                wait = min(wait, max(clock.real_seconds(float(first_due) - clock.now()), 0.0))
            if first_lease:
                wait = min(wait, max(float(first_lease) - time.time(), 0.0) + 0.01)
            if len(self._lanes) >= cap:
                self._lane_done.clear()
                waiter = self._lane_done
            elif wait <= 0:
                await asyncio.sleep(0)
                continue
            else:
                waiter = self._wake
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(waiter.wait(), max(wait, 0.001))

    def _lane_finished(self, member: str, task: asyncio.Task) -> None:
        if self._lanes.get(member) is task:
            del self._lanes[member]
        self._lane_done.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook lane for %s failed", member, exc_info=task.exception())

    # -- one member's lane ----------------------------------------------------------------------------------

    async def _lane(self, member: str, token: str) -> None:
        errors = _errors()
        inbox = self.inbox_prefix + member
        try:
            taken = await self._scripts["take"](keys=[self.k_owner, self.k_follows, inbox], args=[member, token])
        except errors as exc:
            _still_wanted()
            self._went_down(exc)
            return  # the lease expires and someone claims it again
        if not taken:
            return
        raw, ops = taken
        record = orjson.loads(raw) if raw else None
        taken_bytes = 0
        for entry in ops:
            op = orjson.loads(entry)
            taken_bytes += _size(op)
            record = self._merge(record, op, self.engine.clock.now())
        lane = _Lane(self, member, token, record, len(ops), taken_bytes)
        try:
            await lane.run()
        except errors as exc:
            _still_wanted()
            self._went_down(exc)

    @staticmethod
    def _merge(record: dict[str, Any] | None, op: dict[str, Any], now: float) -> dict[str, Any]:
        if record is None:
            record = {"p": op["p"], "f": False, "q": [], "k": 0, "told": None, "se": None, "ea": None, "dr": [],
                      "er": []}
        if op.get("prm") is not None:
            record["prm"] = op["prm"]
        if op["k"] == "follow":
            # "tk"/"tdr"/"tm"/"tn": the ticks' delivery settings and draws, the ticker's mark, its next look
            record.update(f=True, u=op["u"], a=op["a"], b=op["b"], bg=op.get("bg", 2.0), t=op["t"], i=op["i"],
                          dr=op["dr"],
                          er=op["er"], told=None, se=None, ea=None, tk=op.get("tk"), tdr=op.get("tdr", []), tm=None,
                          tn=now if op.get("tk") else None)
            if op.get("hs"):  # the handshake goes first; what the follow renders waits behind it
                record["q"].append(op["hs"])
        else:
            record["q"].extend(op["items"])
        return record

    # -- the shared journal ---------------------------------------------------------------------------------

    async def describe(self, *, provider: str | None = None, job: str | None = None, outcome: str | None = None,
                       limit: int = 1000) -> dict[str, Any]:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._flush(), 1.0)  # this replica's own entries first
        pipe = self.redis.pipeline(transaction=False)
        pipe.lrange(self.k_journal, 0, -1)
        pipe.hgetall(self.k_counts)
        pipe.zcard(self.k_due)
        pipe.zcard(self.k_lease)
        pipe.get(self.k_total)
        raw, counts, due, leased, pending_bytes = await pipe.execute()
        entries = [orjson.loads(e) for e in raw]
        entries.sort(key=lambda e: e["at"])
        found = [e for e in entries if (provider is None or e["provider"] == provider)
                 and (job is None or e["job"] == job) and (outcome is None or e["outcome"] == outcome)]
        totals = dict.fromkeys(OUTCOMES, 0)
        for name, n in counts.items():
            who, _, what = name.decode().partition("\n")
            if (provider is None or who == provider) and what in totals:
                totals[what] += int(n)
        return {"attempts": found[len(found) - limit:] if limit > 0 else [],
                "pending": int(due) + int(leased), "pending_bytes": int(pending_bytes or 0), "lanes": len(self._lanes),
                "delivered": totals[DELIVERED], "failed": totals[GAVE_UP], "dropped": totals[DROPPED],
                "refused": totals[REFUSED], "retried": totals[RETRYING], "journal_size": self.hub.journal.size,
                "shared": True, "reclaimed_here": self.reclaimed}


class _Lane:
    """One claim of one member: render what fell due, deliver the head of its queue in order, ack."""

    def __init__(self, queue: SharedQueue, member: str, token: str, record: dict[str, Any] | None,
                 taken: int, taken_bytes: int = 0) -> None:
        self.queue = queue
        self.hub = queue.hub
        self.engine = queue.engine
        self.member = member
        self.token = token
        self.record = record
        self.taken = taken
        self.taken_bytes = taken_bytes
        self.job: Job | None = None
        self.fresh: list[list[dict[str, Any]]] = []  # what this claim rendered, by delivery with its duplicate

    async def run(self) -> None:
        record = self.record
        if record is None:
            await self._ack(None, None)
            return
        job = self.job = await self._find(self.member) if record["f"] or record["q"] else None
        clock = self.engine.clock
        if record["f"]:
            if job is None:
                record["f"] = False  # deleted, evicted or forgotten: what is queued still goes out
            else:
                await self._follow_step(job, clock.now())
        if self.fresh and not await self._reserve():
            return  # no longer the holder
        while record["q"]:
            now = clock.now()
            item = record["q"][0]
            if item["h"]:
                if len(record["q"]) > 1:  # the job's next delivery overtakes the held one
                    item["h"] = False
                    record["q"].insert(0, record["q"].pop(1))
                    continue
                if now < item["at"] + REORDER_WAIT and (record["f"] or record["ea"]):
                    break
                item["h"] = False
            if item["at"] > now:
                break
            if not await self._attempt(item):
                return  # no longer the holder (reset, or the lease was lost)
        await self._ack(record, self._next_due(clock.now()))

    async def _find(self, job_id: str) -> Job | None:
        return await self.engine.find(job_id)

    # rendering ---------------------------------------------------------------------------------------------

    async def _follow_step(self, job: Job, now: float) -> None:
        record = self.record
        told = record["told"]
        early = record["ea"]
        if early is not None and now >= early["w"]:
            record["ea"] = None
            # only if the plan still holds (a cancel or a freed slot may have moved the change)
            if next_change(job, now) == early["c"] and job.state(early["c"])[0] == early["s"]:
                await self._render(job, early["s"], True)
                record["se"] = early["s"]
        initial = record.pop("i", None)
        if initial is not None and record["told"] is None:
            await self._render(job, initial, False)
            self._maybe_early(job, now)
        state = job.state(now)[0]
        if state == record["se"]:  # already told ahead of time: now only look further ahead
            record["se"] = None
            self._maybe_early(job, now)
        elif state != record["told"]:
            await self._render(job, state, False)
            self._maybe_early(job, now)
        if state in TERMINAL:
            record["f"] = False
            record["tn"] = None
        elif record.get("tk") and (record["told"] != told or (record.get("tn") is not None and record["tn"] <= now)):
            self._tick(job, now)  # due, or the state moved (a freed slot may have moved the start)

    def _tick(self, job: Job, now: float) -> None:
        record = self.record
        registered = self.hub.registered(record["p"])
        if registered is None or registered.tick is None:
            record["tn"] = None
            return
        events, record["tm"], following = registered.tick(job, now, record.get("tm"), record.get("prm"))
        record["tn"] = max(following, now) if following < math.inf else None
        self._add(job, events, now, False, record["tk"], record["tdr"])

    async def _render(self, job: Job, state: str, early: bool) -> None:
        record = self.record
        told, record["told"] = record["told"], state
        registered = self.hub.registered(record["p"])
        if registered is None:
            log.error("webhooks: no renderer registered for %s on this replica", record["p"])
            return
        events = registered.render(job, state, told, record.get("prm"))
        if not isinstance(events, list):
            events = await events
        self._add(job, events, self.engine.clock.now(), early, record, record["dr"])

    def _add(self, job: Job, events: list[tuple[str, Any]], now: float, early: bool, spec: dict[str, Any],
             draws: list[list[Any]]) -> None:
        """Queue a follow's events, each with the next of ``draws`` (delay and faults) unless ``early``;
        ``spec`` holds the attempts, backoff and timeout."""
        record = self.record
        for event, payload in events:
            record["k"] += 1
            message_id = f"msg_{stream(self.engine.seed, 'webhooks', job.id, record['k']).getrandbits(96):024x}"
            item = _item(message_id, event, payload, now, record["u"], spec["a"], spec["b"], spec["t"],
                         spec.get("bg", 2.0))
            item["y"], item["fw"] = early, True
            group = [item]
            if not early:
                delay, drop, hold, dup = draws.pop(0) if draws else (0.0, False, False, False)
                if drop:
                    self.hub._note(Message(message_id, record["p"], job.id, event), item["u"], payload, item["a"],
                                   0, DROPPED, error="dropped: profile fault", job=job, queued=now)
                    continue
                item.update(at=now + delay, h=hold)
                if dup:
                    group.append({**item, "dup": True, "h": False})
            record["q"].extend(group)
            self.fresh.append(group)

    async def _reserve(self) -> bool:
        """Count what this claim rendered against the pending bytes of every replica; what does not fit is
        dropped as the hub drops it. False if this replica no longer holds the member."""
        queue = self.queue
        groups, self.fresh = self.fresh, []
        admitted = await queue._scripts["reserve"](
            keys=[queue.k_owner, queue.k_bytes, queue.k_total],
            args=[self.member, self.token, self.hub.max_pending_bytes,
                  *(sum(item["sz"] for item in group) for group in groups)])
        if admitted is None:
            return False
        refused = [group for group, ok in zip(groups, admitted, strict=True) if not int(ok)]
        if refused:
            gone = {id(item) for group in refused for item in group}
            self.record["q"] = [item for item in self.record["q"] if id(item) not in gone]
            for first, *_ in refused:
                self.hub._note(Message(first["id"], self.record["p"], self.member, first["e"]), first["u"],
                               _payload(first), first["a"], 0, DROPPED, error=QUEUE_FULL, job=self.job,
                               early=first["y"], queued=first["q"])
        return True

    def _maybe_early(self, job: Job, now: float) -> None:
        record = self.record
        lead = record["er"].pop(0) if record["er"] else None
        if lead is None:
            return
        when = next_change(job, now)
        if when == math.inf:
            return
        record["ea"] = {"w": max(now, when - lead), "c": when, "s": job.state(when)[0]}

    # delivering --------------------------------------------------------------------------------------------

    async def _attempt(self, item: dict[str, Any]) -> bool:
        """One attempt at the head of the queue; False if this replica no longer holds the member."""
        hub = self.hub
        record = self.record
        clock = self.engine.clock
        message = Message(item["id"], record["p"], self.member, item["e"])
        payload = _payload(item)
        attempts = item["a"]
        common = {"job": self.job, "duplicate": item["dup"], "early": item["y"], "queued": item["q"]}
        problem = hub.rules.check_url(item["u"])
        if problem is not None:
            hub._note(message, item["u"], payload, attempts, 1, REFUSED, error=problem, **common)
            log.warning("webhook to %s refused: %s", item["u"], problem)
            self._done(item, False)
            return True
        timeout = max(clock.real_seconds(item["t"]), MIN_TIMEOUT)
        if not await self._save(time.time() + timeout + LEASE_MARGIN):
            return False
        attempt = item["n"] + 1
        expect = item.get("x")
        delivery = Delivery(message, item["u"], _body(item), payload, hub.signer_for(record["p"], record.get("prm")),
                            None, item["at"], 0,  # type: ignore[arg-type]
                            check=None if expect is None else lambda reply: replies_with(expect, reply))
        status, error, took = await hub._post(delivery, timeout)
        if error is not None and error.startswith("refused:"):
            hub._note(message, item["u"], payload, attempts, attempt, REFUSED, error=error, **common)
            log.warning("webhook to %s refused: %s", item["u"], error)
            self._done(item, False)
            return True
        ok = status is not None and 200 <= status < 300 and error is None
        last = ok or attempt >= attempts
        retry = None if last else retry_in(item["b"], item.get("bg", 2.0), attempt)
        outcome = DELIVERED if ok else GAVE_UP if last else RETRYING
        hub._note(message, item["u"], payload, attempts, attempt, outcome, status=status, error=error,
                  retry_in=None if retry is None else clock.real_seconds(retry), took=took, **common)
        if last:
            if not ok:
                log.warning("webhook to %s gave up after %d attempts (%s)", item["u"], attempt,
                            error or f"HTTP {status}")
            self._done(item, ok)
        else:
            item["n"] = attempt
            item["at"] = clock.now() + retry
        return True

    def _done(self, item: dict[str, Any], ok: bool) -> None:
        """The head of the queue is finished; a handshake that failed ends the follow, and what it rendered is
        never sent."""
        record = self.record
        record["q"].pop(0)
        if item.get("g") and not ok:
            record.update(f=False, ea=None, tn=None)
            record["q"] = [other for other in record["q"] if not other.get("fw")]

    def _next_due(self, now: float) -> float | None:
        record = self.record
        moments = []
        if record["q"]:
            head = record["q"][0]
            moments.append(head["at"] + REORDER_WAIT if head["h"] and len(record["q"]) == 1 else head["at"])
        if record["ea"] is not None:
            moments.append(record["ea"]["w"])
        if record["f"] and self.job is not None:
            if self.job.state(now)[0] not in (record["told"], record["se"]):
                moments.append(now)  # it changed while this lane was delivering
            else:
                moments.append(min(next_change(self.job, now), now + RECHECK))
            if record.get("tn") is not None:
                moments.append(record["tn"])
        if not moments:
            return None
        return max(min(moments), now)

    def _bytes(self) -> int:
        return sum(item.get("sz", 0) for item in self.record["q"]) if self.record is not None else 0

    async def _save(self, lease_until: float) -> bool:
        queue = self.queue
        ok = await queue._scripts["save"](
            keys=[queue.k_owner, queue.k_follows, queue.inbox_prefix + self.member, queue.k_lease, queue.k_bytes,
                  queue.k_inbox_bytes, queue.k_total],
            args=[self.member, self.token, orjson.dumps(self.record), self.taken, repr(lease_until), self._bytes(),
                  self.taken_bytes])
        self.taken = self.taken_bytes = 0
        return bool(ok)

    async def _ack(self, record: dict[str, Any] | None, due: float | None) -> None:
        queue = self.queue
        keep = record is not None and (record["q"] or record["f"] or record["ea"] is not None)
        await queue._scripts["ack"](
            keys=[queue.k_owner, queue.k_follows, queue.inbox_prefix + self.member, queue.k_lease, queue.k_due,
                  queue.k_nudge, queue.k_bytes, queue.k_inbox_bytes, queue.k_total],
            args=[self.member, self.token, orjson.dumps(record) if keep else "", self.taken,
                  "" if due is None or not keep else _score(due), _score(self.engine.clock.now()),
                  self._bytes() if keep else 0, self.taken_bytes])
