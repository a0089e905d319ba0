"""One task that runs callbacks at engine times (for pushed updates such as webhooks): a bounded heap,
never a task or timer per job. A callback that is a coroutine function (it must reach shared state) runs as a
short task of its own once due."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections.abc import Awaitable, Callable

from ..tasks import stop_task
from .clock import Clock

log = logging.getLogger("mockprovider.timeline")


class Timeline:
    def __init__(self, clock: Clock, max_entries: int = 1_000_000) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._heap: list[tuple[float, int, Callable[[], Awaitable[None] | None]]] = []
        self._counter = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.dropped = 0
        self.lateness: list[float] = []  # engine seconds each callback ran late (last 10,000)
        self._running: set[asyncio.Task] = set()  # coroutine callbacks under way

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, when: float, callback: Callable[[], Awaitable[None] | None]) -> bool:
        if when == math.inf:
            return False
        if len(self._heap) >= self.max_entries:
            self.dropped += 1
            return False
        earliest = self._heap[0][0] if self._heap else math.inf
        heapq.heappush(self._heap, (when, next(self._counter), callback))
        if when < earliest:
            self._wake.set()
        self._ensure_running()
        return True

    def poke(self) -> None:
        """The clock jumped or its scale changed: re-check what is due."""
        self._wake.set()

    async def run_due(self, budget: int = 10_000, wait: float = 2.0) -> None:
        """Run what is due now in the caller's task, awaiting coroutine callbacks (each up to ``wait`` real
        seconds, then left to finish on their own): after a clock jump the admin API answers once the jobs'
        consequences (expiries, pushed updates queued) are in place. Past ``budget`` callbacks the timeline's
        own task carries on."""
        heap = self._heap
        now = self.clock.now()
        while heap and heap[0][0] <= now and budget:
            when, _, callback = heapq.heappop(heap)
            self._record(now - when)
            budget -= 1
            try:
                result = callback()
            except Exception:
                log.exception("timeline callback failed")
                continue
            if result is not None and asyncio.iscoroutine(result):
                task = asyncio.get_running_loop().create_task(_guarded(result))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
                await asyncio.wait([task], timeout=wait)
        self._wake.set()

    def clear(self) -> None:
        self._heap.clear()
        self._wake.set()

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._run())
            except RuntimeError:
                self._task = None

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        heap = self._heap
        clock = self.clock
        while True:
            now = clock.now()
            while heap and heap[0][0] <= now:
                when, _, callback = heapq.heappop(heap)
                self._record(now - when)
                try:
                    result = callback()
                    if result is not None and asyncio.iscoroutine(result):
                        task = loop.create_task(_guarded(result))
                        self._running.add(task)
                        task.add_done_callback(self._running.discard)
                except Exception:
                    log.exception("timeline callback failed")
                if not heap or heap[0][0] > now:
                    now = clock.now()
            self._wake.clear()
            timer = None
            if heap:
                timer = loop.call_later(max(clock.real_seconds(heap[0][0] - clock.now()), 0.0), self._wake.set)
            await self._wake.wait()
            if timer is not None:
                timer.cancel()

    def _record(self, late: float) -> None:
        lateness = self.lateness
        if len(lateness) >= 10_000:
            del lateness[:5_000]
        lateness.append(late)


async def _guarded(result: Awaitable[None]) -> None:
    try:
        await result
    except Exception:
        log.exception("timeline callback failed")
