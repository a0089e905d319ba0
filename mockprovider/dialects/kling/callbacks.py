"""Delivering Kling's callbacks: one aiohttp session, one worker per task so a task's updates arrive in order,
a bounded number of POSTs in flight, retries with doubling backoff, and a bounded journal of every attempt."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

# An HTTP round trip cannot be scaled down with the engine clock; below this a slow receiver looks dead.
MIN_TIMEOUT = 0.5
USER_AGENT = "mockprovider-kling-callback/1"


@dataclass(frozen=True, slots=True)
class Policy:
    """Real seconds (already scaled from engine seconds)."""

    delay: float
    attempts: int
    backoff: float
    timeout: float


@dataclass(slots=True)
class Delivery:
    task_id: str
    url: str
    payload: dict[str, Any]
    policy: Policy
    due: float  # loop time


class CallbackSender:
    def __init__(self, epoch_ms: Any, journal_size: int = 1000, max_in_flight: int = 64,
                 max_pending: int = 10_000) -> None:
        self.epoch_ms = epoch_ms  # () -> int, the engine's wall time for journal entries
        self.journal: deque[dict[str, Any]] = deque(maxlen=journal_size)
        self.max_pending = max_pending
        self.max_in_flight = max_in_flight
        self.session: aiohttp.ClientSession | None = None
        self.pending = 0
        self.dropped = 0
        self.delivered = 0
        self.failed = 0
        self._queues: dict[str, deque[Delivery]] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self._slots: asyncio.Semaphore | None = None

    async def start(self) -> None:
        if self.session is None:
            self.session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        self._slots = asyncio.Semaphore(self.max_in_flight)

    async def close(self) -> None:
        workers = list(self._workers.values())
        self.clear()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker
        if self.session is not None:
            await self.session.close()
            self.session = None

    def clear(self) -> None:
        for worker in self._workers.values():
            worker.cancel()
        self._workers.clear()
        self._queues.clear()
        self.journal.clear()
        self.pending = self.dropped = self.delivered = self.failed = 0

    def enqueue(self, task_id: str, url: str, payload: dict[str, Any], policy: Policy) -> None:
        """Queue one update; called from the engine's timeline, on the server's event loop."""
        if self.session is None or self.pending >= self.max_pending:
            self.dropped += 1
            self._log(task_id, url, payload, 0, policy, error="dropped: delivery queue full or sender stopped")
            return
        loop = asyncio.get_running_loop()
        self._queues.setdefault(task_id, deque()).append(
            Delivery(task_id, url, payload, policy, loop.time() + policy.delay))
        self.pending += 1
        if task_id not in self._workers:
            self._workers[task_id] = loop.create_task(self._work(task_id))

    async def _work(self, task_id: str) -> None:
        queue = self._queues[task_id]
        try:
            while queue:
                item = queue.popleft()
                try:
                    await self._deliver(item)
                finally:
                    self.pending -= 1
        finally:
            if self._queues.get(task_id) is queue and not queue:
                del self._queues[task_id]
            if self._workers.get(task_id) is asyncio.current_task():
                del self._workers[task_id]

    async def _deliver(self, item: Delivery) -> None:
        loop = asyncio.get_running_loop()
        wait = item.due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        policy = item.policy
        body = orjson.dumps(item.payload)
        for attempt in range(1, policy.attempts + 1):
            status, problem, took = await self._post(item.url, body, policy.timeout)
            ok = status is not None and 200 <= status < 300
            last = ok or attempt == policy.attempts
            retry = None if last else policy.backoff * 2 ** (attempt - 1)
            self._log(item.task_id, item.url, item.payload, attempt, policy, status=status, error=problem,
                      ok=ok, retry_in=retry, took=took)
            if ok:
                self.delivered += 1
                return
            if last:
                self.failed += 1
                return
            await asyncio.sleep(retry)

    async def _post(self, url: str, body: bytes, timeout: float) -> tuple[int | None, str | None, float]:
        assert self.session is not None and self._slots is not None
        started = time.monotonic()
        async with self._slots:
            try:
                async with self.session.post(
                        url, data=body, headers={"Content-Type": "application/json"}, allow_redirects=False,
                        timeout=aiohttp.ClientTimeout(total=max(timeout, MIN_TIMEOUT))) as response:
                    return response.status, None, time.monotonic() - started
            except asyncio.TimeoutError:
                return None, "timeout", time.monotonic() - started
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                return None, f"{type(exc).__name__}: {exc}"[:300], time.monotonic() - started

    def _log(self, task_id: str, url: str, payload: dict[str, Any], attempt: int, policy: Policy, *,
             status: int | None = None, error: str | None = None, ok: bool = False, retry_in: float | None = None,
             took: float = 0.0) -> None:
        self.journal.append({
            "task_id": task_id,
            "task_status": payload.get("task_status"),
            "url": url,
            "attempt": attempt,
            "max_attempts": policy.attempts,
            "at": self.epoch_ms(),
            "http_status": status,
            "error": error,
            "delivered": ok,
            "retry_in_seconds": None if retry_in is None else round(retry_in, 4),
            "duration_ms": round(took * 1000, 2),
            "payload": payload,
        })

    def describe(self, task_id: str | None = None, limit: int = 1000) -> dict[str, Any]:
        entries = [e for e in self.journal if task_id is None or e["task_id"] == task_id]
        shown = entries[len(entries) - limit:] if limit else []
        return {"attempts": shown, "pending": self.pending, "in_flight_tasks": len(self._workers),
                "delivered": self.delivered, "failed": self.failed, "dropped": self.dropped,
                "journal_size": self.journal.maxlen}
