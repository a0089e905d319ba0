"""Seeded randomness. Every random choice the engine makes comes from a stream derived from the run's seed,
so that the same seed and the same requests replay exactly."""

from __future__ import annotations

import hashlib
import random
import secrets


def random_seed() -> int:
    """A fresh seed for a run that was given none (printed, so the run can be replayed with ``--seed``)."""
    return secrets.randbits(48)


def derive_seed(seed: int, *parts: object) -> int:
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stream(seed: int, *parts: object) -> random.Random:
    """A generator of its own for one purpose (one job's plan, one endpoint's faults...)."""
    return random.Random(derive_seed(seed, *parts))


def uuid4_text(rng: random.Random) -> str:
    """A version-4 UUID string from ``rng`` (seeded, unlike uuid.uuid4), without building a UUID object."""
    n = (rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class UuidStream:
    """Version-4 UUID strings from a stream of their own, in the stream's order (the same ids for the same
    requests), formatted ``batch`` at a time: one id formatted inside each request costs several times its share
    of a batch formatted in one loop (a request's id on the hot path: Kling's and Wan's polls)."""

    __slots__ = ("_ahead", "_batch", "_rng")

    def __init__(self, seed: int, *parts: object, batch: int = 64) -> None:
        self._rng = stream(seed, *parts)
        self._batch = batch
        self._ahead: list[str] = []  # drawn ahead, the next one last

    def next(self) -> str:
        ahead = self._ahead
        if not ahead:
            rng = self._rng
            ahead.extend([uuid4_text(rng) for _ in range(self._batch)])
            ahead.reverse()
        return ahead.pop()

