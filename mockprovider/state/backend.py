"""The state backend: ``memory`` (one process, nothing shared) or ``redis`` (a Redis server that every replica
and worker shares). The Redis connection is made at startup and checked there, so a wrong URL fails before the
banner; later outages surface as :class:`StateUnavailable`, which each dialect answers with its own 503."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("mockprovider")

SCHEMES = ("redis", "rediss", "unix")
KEY_PREFIX = "mockprovider:"


class StateUnavailable(Exception):
    """The shared state (Redis) cannot be reached: the request cannot be answered truthfully."""


def check_url(url: str) -> str:
    """``url`` if it names a state backend (``memory`` or a redis:// / rediss:// / unix:// URL), else
    ValueError saying what is expected."""
    if url == "memory":
        return url
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"--state must be 'memory' or a redis://HOST:PORT/DB URL, not {url!r}")
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(f"--state {url!r} names no socket path")
        return url
    if not parts.hostname:
        raise ValueError(f"--state {url!r} names no host")
    try:
        port = parts.port
        db = (parts.path or "/0").lstrip("/") or "0"
        if not db.isdigit() or int(db) > 10_000:
            raise ValueError
    except ValueError:
        raise ValueError(f"--state {url!r}: bad port or database number") from None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"--state {url!r}: bad port")
    return url


class Backend:
    """``kind`` is "memory" or "redis"; ``redis`` is the shared ``redis.asyncio.Redis`` client (None in
    memory). Keys in Redis all start with ``prefix``; :meth:`key` joins parts under it."""

    def __init__(self, url: str = "memory", prefix: str = KEY_PREFIX) -> None:
        self.url = check_url(url)
        self.kind = "memory" if url == "memory" else "redis"
        self.prefix = prefix
        self.redis: Any = None

    @property
    def shared(self) -> bool:
        return self.kind == "redis"

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    def table(self, name: str, max_items: int, ttl: float | None = None, max_bytes: int | None = None,
              max_value: int | None = None) -> Any:
        """A bounded key -> value table every replica sees (state/tables.py)."""
        from .tables import DEFAULT_MAX_VALUE, open_table

        return open_table(self, name, max_items, ttl, max_bytes, max_value or DEFAULT_MAX_VALUE)

    async def secret(self, name: str) -> bytes:
        """32 random bytes every replica agrees on (state/tables.py)."""
        from .tables import shared_secret

        return await shared_secret(self, name)

    async def start(self) -> None:
        """Connect and check the connection (RuntimeError saying why it failed)."""
        if not self.shared or self.redis is not None:
            return
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5,
                                         health_check_interval=10, retry_on_timeout=False)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise RuntimeError(f"cannot reach the state backend at {self.redacted}: {exc}") from None
        self.redis = client
        log.info("state in Redis at %s", self.redacted)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None

    @property
    def redacted(self) -> str:
        """The URL without its password, for logs and the banner."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()


def open_backend(url: str | None) -> Backend:
    return Backend(url or "memory")
