"""The engine clock shared by replicas: one Redis hash in wall-clock terms (engine/clock.py ``shared_form``).

The first replica to start writes its clock; the others adopt it. A change (scale, advance, reset) is one
atomic script on the hash; the replica that made it publishes it and every replica re-reads the hash now and
then in case a message was missed."""

from __future__ import annotations

import time
from typing import Any

from ..engine.clock import Clock

FIELDS = ("scale", "real_origin", "virtual_origin", "epoch_origin", "initial_scale", "initial_origin")

# KEYS[1] clock hash; ARGV: the local form as field, value pairs -> the hash as stored
CREATE = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return redis.call('HGETALL', KEYS[1])
"""

# KEYS[1]; ARGV: seconds
ADVANCE = r"""
redis.call('HINCRBYFLOAT', KEYS[1], 'virtual_origin', ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""

# KEYS[1]; ARGV: new scale, wall time now
SCALE = r"""
local c = redis.call('HMGET', KEYS[1], 'scale', 'real_origin', 'virtual_origin')
local t = tonumber(ARGV[2])
local now = tonumber(c[3]) + (t - tonumber(c[2])) / tonumber(c[1])
redis.call('HSET', KEYS[1], 'virtual_origin', string.format('%.17g', now), 'real_origin', ARGV[2],
           'scale', ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""

RESTORE = r"""
local c = redis.call('HMGET', KEYS[1], 'initial_scale', 'initial_origin')
redis.call('HSET', KEYS[1], 'scale', c[1], 'real_origin', c[2], 'virtual_origin', '0')
return redis.call('HGETALL', KEYS[1])
"""


def parse(flat: Any) -> dict[str, float]:
    items = flat.items() if isinstance(flat, dict) else zip(flat[::2], flat[1::2], strict=False)
    form = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in items}
    missing = [f for f in FIELDS if f not in form]
    if missing:
        raise ValueError(f"the shared clock lacks {', '.join(missing)}")
    return form


class ClockSync:
    def __init__(self, redis: Any, key: str, clock: Clock) -> None:
        self.key = key
        self.clock = clock
        self._create = redis.register_script(CREATE)
        self._advance = redis.register_script(ADVANCE)
        self._scale = redis.register_script(SCALE)
        self._restore = redis.register_script(RESTORE)
        self._adopted: dict[str, float] | None = None

    async def start(self) -> None:
        form = self.clock.shared_form()
        args: list[Any] = []
        for name in FIELDS:
            args += [name, repr(form[name])]
        self.adopt(await self._create(keys=[self.key], args=args))

    def adopt(self, flat: Any) -> None:
        """Run as the shared hash says (only when it changed: re-reading the same never moves the clock)."""
        if not flat:
            return
        form = parse(flat)
        if form != self._adopted:
            self.clock.load(form)
            self._adopted = form

    async def advance(self, seconds: float) -> None:
        self.clock.check_advance(seconds)
        self.adopt(await self._advance(keys=[self.key], args=[repr(float(seconds))]))

    async def set_scale(self, scale: float) -> None:
        self.adopt(await self._scale(keys=[self.key], args=[repr(float(scale)), repr(time.time())]))

    async def restore(self) -> None:
        self.adopt(await self._restore(keys=[self.key], args=[]))
