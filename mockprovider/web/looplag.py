"""How late the event loop wakes: one task sleeps a fixed interval and records the overshoot. A loaded or
blocked loop shows up here before it shows up as latency in a load test."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from ..tasks import stop_task


class LoopLag:
    def __init__(self, interval: float = 0.05, keep: int = 2400) -> None:
        self.interval = interval
        self.samples: deque[float] = deque(maxlen=keep)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(time.perf_counter() - started - self.interval)

    def summary(self) -> dict[str, float | None]:
        ordered = sorted(self.samples)
        if not ordered:
            return {"samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}

        def pick(q: float) -> float:
            return round(ordered[int(q * (len(ordered) - 1))] * 1000, 3)

        return {"samples": len(ordered), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": pick(1.0)}

    def clear(self) -> None:
        self.samples.clear()
