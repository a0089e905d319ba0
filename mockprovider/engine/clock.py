"""One clock for the whole engine.

Engine time ("virtual seconds") runs ``1 / scale`` times faster than real time: with a scale of 0.01 a
60 s generation lasts 0.6 real seconds. Every timing in a profile is in engine seconds. The clock can also be
moved forward by hand, which makes every job look older at once.
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    def __init__(self, scale: float = 1.0, start_epoch: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._scale = scale
        self._real_origin = time.monotonic()
        self._virtual_origin = 0.0
        self._epoch_origin = time.time() if start_epoch is None else start_epoch

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        """Engine seconds since the clock started."""
        return self._virtual_origin + (time.monotonic() - self._real_origin) / self._scale

    def epoch(self, at: float | None = None) -> float:
        """Wall-clock Unix time of engine time ``at`` (default: now), for timestamps on the wire."""
        return self._epoch_origin + (self.now() if at is None else at)

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._virtual_origin = self.now()
        self._real_origin = time.monotonic()
        self._scale = scale

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._virtual_origin += seconds

    def real_seconds(self, engine_seconds: float) -> float:
        return engine_seconds * self._scale

    async def sleep(self, engine_seconds: float) -> None:
        if engine_seconds > 0:
            await asyncio.sleep(engine_seconds * self._scale)
