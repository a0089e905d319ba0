"""How one job's webhooks are delivered, resolved once from the profile when the job is created."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..engine.behaviour import Resolved, WebhookFaults
from ..engine.distributions import Distribution, Fixed

DEFAULT_LATE_BY = Fixed(60.0)
DEFAULT_EARLY_BY = Fixed(2.0)
MAX_RETRY_WAIT = 86_400.0  # engine seconds: a profile's backoff x growth^19 could otherwise mean years


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Every time in engine seconds: ``delay`` before the first attempt, ``backoff`` before the first retry
    (times ``growth`` after each further failure: 2 doubles it, 1 keeps retries evenly spaced), ``timeout`` per
    attempt."""

    delay: Distribution
    attempts: int
    backoff: float
    timeout: float
    faults: WebhookFaults
    growth: float = 2.0

    def retry_in(self, attempt: int) -> float:
        """Engine seconds from failed attempt ``attempt`` (1 for the first) to the next."""
        return retry_in(self.backoff, self.growth, attempt)

    @property
    def late_by(self) -> Distribution:
        return self.faults.late_by or DEFAULT_LATE_BY

    @property
    def early_by(self) -> Distribution:
        return self.faults.early_by or DEFAULT_EARLY_BY

    def draw_delay(self, rng: random.Random) -> float:
        """A delivery's wait before its first attempt: the profile's delay, plus the late fault's when it
        strikes (drawn in this order, so a seed replays it wherever the delivery is queued)."""
        delay = max(self.delay.sample(rng), 0.0)
        late = self.faults.late
        if late and rng.random() < late:
            delay += max(self.late_by.sample(rng), 0.0)
        return delay

    def draw_drop(self, rng: random.Random) -> bool:
        drop = self.faults.drop
        return bool(drop and rng.random() < drop)


def retry_in(backoff: float, growth: float, attempt: int) -> float:
    """``backoff`` times ``growth`` for each failed attempt after the first, at most a day."""
    # clamped again here: a shared queue's record (from Redis) reaches this too
    return min(backoff * min(max(growth, 1.0), 10.0) ** min(max(attempt - 1, 0), 64), MAX_RETRY_WAIT)


def policy_for(behaviour: Resolved) -> WebhookPolicy:
    """The policy of a resolved (provider, model) behaviour: the profile's ``callbacks:`` section."""
    return WebhookPolicy(delay=behaviour.callback_delay, attempts=behaviour.callback_attempts,
                         backoff=behaviour.callback_backoff, timeout=behaviour.callback_timeout,
                         faults=behaviour.callback_faults, growth=behaviour.callback_growth)
