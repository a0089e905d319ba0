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
