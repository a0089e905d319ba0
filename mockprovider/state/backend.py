"""The state backend: ``memory`` (one process, nothing shared) or ``redis`` (a Redis server that every replica
and worker shares). The Redis connection is made at startup and checked there, so a wrong URL fails before the
banner; later outages surface as :class:`StateUnavailable`, which each dialect answers with its own 503."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("mockprovider")

SCHEMES = ("redis", "rediss", "unix")
KEY_PREFIX = "mockprovider:"
POOL_CONNECTIONS = 128  # Redis connections per process; more requests at once wait for one
POOL_WAIT_S = 10.0  # the longest a request waits for a connection before it answers 503


LOG_EVERY = 10.0  # seconds between two log lines about the same outage


class StateUnavailable(Exception):
    """The shared state (Redis) cannot be reached: the request cannot be answered truthfully."""


@contextlib.contextmanager
def unavailable(backend: Backend) -> Iterator[None]:
    """Turn a Redis error inside the block into :class:`StateUnavailable` (logged once per LOG_EVERY)."""
    from redis.exceptions import RedisError

    try:
        yield
    except (RedisError, OSError) as exc:
        backend.failed(exc)
        raise StateUnavailable(str(exc) or type(exc).__name__) from None


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
        self.sync: Any = None  # state/shared.py's RedisSync once attached
        self.failures = 0  # Redis errors seen by requests
        self._logged_at = -LOG_EVERY
        self._quiet = 0

    def failed(self, exc: BaseException) -> None:
        """Count one failed Redis call; say so in the log at most once per LOG_EVERY seconds."""
        self.failures += 1
        now = time.monotonic()
        if now - self._logged_at < LOG_EVERY:
            self._quiet += 1
            return
        more = f" ({self._quiet} more since the last line)" if self._quiet else ""
        log.warning("state backend %s unavailable: %s; answering 503 until it is back%s", self.redacted,
                  exc or type(exc).__name__, more)
        self._logged_at = now
        self._quiet = 0

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
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import RedisError

        # one retry on a fresh connection: the first command after a Redis restart finds its pooled connection
        # dead, and the retry reaches the new server instead of answering 503
        # a blocking pool: requests past its size wait for a connection (redis-py's default pool refuses them
        # with "Too many connections", a 503 to the load test)
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url, max_connections=POOL_CONNECTIONS, timeout=POOL_WAIT_S, socket_connect_timeout=2,
            socket_timeout=5, health_check_interval=10, retry_on_timeout=False, retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError])
        client = aioredis.Redis.from_pool(pool)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise RuntimeError(f"cannot reach the state backend at {self.redacted}: {exc}") from None
        self.redis = client
        log.info("state in Redis at %s", self.redacted)

    async def attach(self, engine: Any) -> None:
        """Share ``engine``'s jobs, limits, clock, seed and profiles through Redis (nothing in memory)."""
        if not self.shared or self.sync is not None:
            return
        from .shared import attach

        self.sync = await attach(self, engine)

    async def close(self) -> None:
        if self.sync is not None:
            await self.sync.stop()
            self.sync = None
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
