"""Seeded randomness. Every random choice the engine makes comes from a stream derived from the run's seed,
so that the same seed and the same requests replay exactly."""

from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, *parts: object) -> int:
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stream(seed: int, *parts: object) -> random.Random:
    """A generator of its own for one purpose (one job's plan, one endpoint's faults...)."""
    return random.Random(derive_seed(seed, *parts))
