"""One clock for the whole engine.

Engine time ("virtual seconds") runs ``1 / scale`` times faster than real time: with a scale of 0.01 a
60 s generation lasts 0.6 real seconds. Every timing in a profile is in engine seconds. The clock can also be
moved forward by hand, which makes every job look older at once.
"""

from __future__ import annotations

import asyncio
import math
import time

MIN_SCALE = 1e-6
MAX_SCALE = 1e6
MAX_ENGINE_TIME = 1e10  # engine seconds (about 317 years): dates past it are not dates any more


def check_scale(scale: object) -> float:
    """``scale`` as a float, or ValueError: a finite number in [MIN_SCALE, MAX_SCALE]."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise ValueError("the time scale must be a number")
    value = float(scale)
    if not math.isfinite(value) or not MIN_SCALE <= value <= MAX_SCALE:
        raise ValueError(f"the time scale must be between {MIN_SCALE:g} and {MAX_SCALE:g}")
    return value


class Clock:
    def __init__(self, scale: float = 1.0, start_epoch: float | None = None) -> None:
        self._scale = self._initial_scale = check_scale(scale)
        self._real_origin = self._initial_origin = time.monotonic()
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
        scale = check_scale(scale)
        self._virtual_origin = self.now()
        self._real_origin = time.monotonic()
        self._scale = scale

    def check_advance(self, seconds: float) -> None:
        """ValueError unless moving forward by ``seconds`` keeps engine time a date."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("the clock only moves forward, by a finite amount")
        if self.now() + seconds > MAX_ENGINE_TIME:
            raise ValueError(f"the clock cannot go past {MAX_ENGINE_TIME:g} engine seconds")

    def advance(self, seconds: float) -> None:
        self.check_advance(seconds)
        self._virtual_origin += seconds

    def restore(self) -> None:
        """Back to the scale the clock started with, with every advance undone (for a reset)."""
        self._scale = self._initial_scale
        self._real_origin = self._initial_origin
        self._virtual_origin = 0.0

    def shared_form(self) -> dict[str, float]:
        """The clock in wall-clock terms (Unix times), which replicas on synchronised hosts can share."""
        offset = time.time() - time.monotonic()
        return {"scale": self._scale, "real_origin": self._real_origin + offset, "virtual_origin": self._virtual_origin,
                "epoch_origin": self._epoch_origin, "initial_scale": self._initial_scale,
                "initial_origin": self._initial_origin + offset}

    def load(self, form: dict[str, float]) -> None:
        """Run as the clock ``form`` describes (see :meth:`shared_form`)."""
        offset = time.time() - time.monotonic()
        self._scale = check_scale(form["scale"])
        self._real_origin = form["real_origin"] - offset
        self._virtual_origin = form["virtual_origin"]
        self._epoch_origin = form["epoch_origin"]
        self._initial_scale = check_scale(form["initial_scale"])
        self._initial_origin = form["initial_origin"] - offset

    def real_seconds(self, engine_seconds: float) -> float:
        return engine_seconds * self._scale

    async def sleep(self, engine_seconds: float) -> None:
        if engine_seconds > 0:
            await asyncio.sleep(engine_seconds * self._scale)
