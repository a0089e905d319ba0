"""Signed, expiring output URLs: ``/__media/<job>/<index>.mp4?exp=<unix>&sig=<hmac>``.

A URL is signed for one job output until a moment in engine wall time, so the clock's scale shortens TTLs
too. Each status read signs afresh, as real providers re-sign CDN links.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from ..engine.clock import Clock
from ..web.values import parse_int

PREFIX = "/__media"


class MediaLinks:
    def __init__(self, clock: Clock, secret: bytes | None = None) -> None:
        self.clock = clock
        self.secret = secret or secrets.token_bytes(32)

    def _signature(self, job_id: str, index: int, expires: int) -> str:
        message = f"{job_id}/{index}/{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def url(self, origin: str, job_id: str, index: int, ttl: float, ext: str = "mp4") -> str:
        return self.url_until(origin, job_id, index, int(self.clock.epoch() + ttl), ext)

    def url_until(self, origin: str, job_id: str, index: int, expires: int, ext: str = "mp4") -> str:
        """A link valid until the Unix time ``expires`` (the same link each time: for results stored once)."""
        sig = self._signature(job_id, index, expires)
        return f"{origin}{PREFIX}/{job_id}/{index}.{ext}?exp={expires}&sig={sig}"

    def check(self, job_id: str, index: int, expires: str | None, sig: str | None) -> str | None:
        """None if the link is good, else why not ("forged" or "expired")."""
        when = parse_int(expires, 0, 10**13)
        if when is None or not sig or not sig.isascii() or len(sig) > 64:
            return "forged"
        if not hmac.compare_digest(self._signature(job_id, index, when), sig):
            return "forged"
        if self.clock.epoch() > when:
            return "expired"
        return None
