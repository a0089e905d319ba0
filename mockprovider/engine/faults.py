"""Which request fault, if any, hits one request."""

from __future__ import annotations

import random

from .behaviour import FaultRule


def pick_fault(rules: tuple[FaultRule, ...], rng: random.Random, active_for: float) -> FaultRule | None:
    """Draw once; each rule takes its ``rate`` of the unit interval in turn. ``active_for`` is how long the
    profile has been active, for rules limited to a window."""
    if not rules:
        return None
    u = rng.random()
    acc = 0.0
    for rule in rules:
        if rule.during is not None and not rule.during.contains(active_for):
            continue
        acc += rule.rate
        if u < acc:
            return rule
    return None
