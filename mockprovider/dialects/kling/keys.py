"""Access/secret key pairs: from the profile's ``providers.kling.auth.keys``, plus pairs added at runtime
through the admin API. When the profile names none, the documented default pair is accepted."""

from __future__ import annotations

from typing import Any

DEFAULT_ACCESS_KEY = "ak_test"
DEFAULT_SECRET_KEY = "sk_test"
MAX_RUNTIME_KEYS = 10_000


class KeyBook:
    def __init__(self) -> None:
        self.runtime: dict[str, str] = {}
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

    def secret_for(self, auth: dict[str, Any], access_key: str) -> str | None:
        """The secret that signs ``access_key``'s tokens under this profile (runtime pairs win)."""
        found = self.runtime.get(access_key)
        return found if found is not None else self.profile_keys(auth).get(access_key)

    def secrets(self, auth: dict[str, Any]) -> dict[str, str]:
        """Every pair valid under a profile whose kling auth section is ``auth``."""
        if not self.runtime:
            return self.profile_keys(auth)
        return {**self.profile_keys(auth), **self.runtime}

    def add(self, access_key: str, secret_key: str) -> bool:
        if access_key not in self.runtime and len(self.runtime) >= MAX_RUNTIME_KEYS:
            return False
        self.runtime[access_key] = secret_key
        return True

    def remove(self, access_key: str) -> bool:
        return self.runtime.pop(access_key, None) is not None

    def describe(self, auth: dict[str, Any]) -> list[dict[str, str]]:
        source = "profile" if isinstance(auth.get("keys"), dict) and auth["keys"] else "default"
        out = [{"access_key": k, "secret_key": _mask(v), "source": source}
               for k, v in self.profile_keys(auth).items()]
        out += [{"access_key": k, "secret_key": _mask(v), "source": "admin"} for k, v in self.runtime.items()]
        return out

    def clear(self) -> None:
        self.runtime.clear()


def _mask(secret: str) -> str:
    return secret[:3] + "…" if len(secret) > 6 else "…"
