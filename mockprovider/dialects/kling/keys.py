"""Access/secret key pairs: from the profile's ``providers.kling.auth.keys``, plus pairs added at runtime
through the admin API. When the profile names none, the documented default pair is accepted.

Runtime pairs live in a state table, so a pair added on one replica signs requests to every replica. With a
shared backend each replica remembers a pair it has read for up to ``CACHE_SECONDS`` (a poll carries the same
token for minutes, and must not cost a Redis round trip for its key): a new pair works everywhere at once, a
removed one stops working everywhere within that time."""

from __future__ import annotations

import time
from typing import Any

DEFAULT_ACCESS_KEY = "ak_test"
DEFAULT_SECRET_KEY = "sk_test"
MAX_RUNTIME_KEYS = 10_000
CACHE_SECONDS = 1.0
OWNER = "admin"  # every runtime pair is owned by it, so the table can list them


class KeyBook:
    def __init__(self, table: Any, shared: bool = False) -> None:
        self.table = table
        self.shared = shared
        self._cache: dict[str, tuple[str, float]] = {}  # access key -> (secret, read at): shared backends only
        self._from_profile: tuple[dict[str, Any] | None, dict[str, str]] = (None, {})

    def profile_keys(self, auth: dict[str, Any]) -> dict[str, str]:
        cached_for, pairs = self._from_profile
        if cached_for is auth:  # a profile's auth section is one object for the profile's life
            return pairs
        keys = auth.get("keys")
        if isinstance(keys, dict) and keys:
            pairs = {str(k): str(v) for k, v in keys.items()}
        else:
            pairs = {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY}
        self._from_profile = (auth, pairs)
        return pairs

    async def runtime_secret(self, access_key: str) -> str | None:
        if not self.shared:
            return await self.table.get(access_key)
        now = time.monotonic()
        cached = self._cache.get(access_key)
        if cached is not None and now - cached[1] < CACHE_SECONDS:
            return cached[0]
        found = await self.table.get(access_key)
        if found is None:
            self._cache.pop(access_key, None)
            return None
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[access_key] = (found, now)
        return found

    async def secret_for(self, auth: dict[str, Any], access_key: str) -> str | None:
        """The secret that signs ``access_key``'s tokens under this profile (runtime pairs win)."""
        found = await self.runtime_secret(access_key)
        return found if found is not None else self.profile_keys(auth).get(access_key)

    def local_secret_for(self, auth: dict[str, Any], access_key: str) -> str | None:
        """``secret_for`` without a coroutine, when the pairs are this process's own (not shared)."""
        found = self.table.peek(access_key)
        return found if found is not None else self.profile_keys(auth).get(access_key)

    async def add(self, access_key: str, secret_key: str) -> bool:
        if await self.table.get(access_key) is None and await self.table.count(OWNER) >= MAX_RUNTIME_KEYS:
            return False
        await self.table.set(access_key, secret_key, owner=OWNER)
        self._cache.pop(access_key, None)
        return True

    async def remove(self, access_key: str) -> bool:
        self._cache.pop(access_key, None)
        return await self.table.delete(access_key)

    async def describe(self, auth: dict[str, Any]) -> list[dict[str, str]]:
        source = "profile" if isinstance(auth.get("keys"), dict) and auth["keys"] else "default"
        out = [{"access_key": k, "secret_key": _mask(v), "source": source}
               for k, v in self.profile_keys(auth).items()]
        out += [{"access_key": k, "secret_key": _mask(v), "source": "admin"}
                for k, v in await self.table.owned(OWNER)]
        return out

    def forget(self) -> None:
        self._cache.clear()

    async def clear(self) -> None:
        self._cache.clear()
        await self.table.clear()


def _mask(secret: str) -> str:
    return secret[:3] + "…" if len(secret) > 6 else "…"
