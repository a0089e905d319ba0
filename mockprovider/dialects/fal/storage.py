"""fal's storage as fal-client uses it: a CDN token from the REST host, single-part uploads to the CDN, the
GCS-style initiate + PUT fallback, and the uploaded files served back. Files live in state tables, bounded in count
and bytes (the oldest go first), and tokens are signed with a secret every replica shares: a file uploaded through
one replica is served by any other."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

MAX_FILES = 1000
MAX_BYTES = 256 * 2**20
TOKEN_TTL = 3600.0  # real seconds: fal-client compares expires_at with its own clock
PENDING_TTL = 3600.0  # an initiated upload not completed within this is forgotten
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Stored:
    data: bytes
    content_type: str
    name: str


def _pack(stored: Stored) -> bytes:
    """One value per file: its type and name as a JSON line, then the bytes (one read serves it)."""
    return orjson.dumps([stored.content_type, stored.name]) + b"\n" + stored.data


def _unpack(raw: bytes) -> Stored:
    head, _, data = raw.partition(b"\n")
    content_type, name = orjson.loads(head)
    return Stored(data, content_type, name)


class Storage:
    """``put`` and ``complete`` raise state.tables.TooLarge for a file past ``max_bytes``."""

    def __init__(self, state: Any, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._files = state.table("fal:files", max_files, max_bytes=max_bytes)
        self._pending = state.table("fal:pending", max_files, ttl=PENDING_TTL)  # upload id -> (type, name)
        self._secret = secrets.token_bytes(32)

    async def start(self, state: Any) -> None:
        if state.shared:
            self._secret = await state.secret("fal-storage")

    async def clear(self) -> None:
        await self._files.clear()
        await self._pending.clear()

    # -- tokens ---------------------------------------------------------------------------------------------

    def token(self, account: str) -> tuple[str, float]:
        expires = int(time.time() + TOKEN_TTL)
        account_tag = hashlib.sha256(account.encode()).hexdigest()[:16]
        payload = f"{account_tag}.{expires}"
        return f"{payload}.{self._sign(payload)}", float(expires)

    def check_token(self, token: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) > 12:
            return False
        payload = f"{parts[0]}.{parts[1]}"
        return hmac.compare_digest(self._sign(payload), parts[2]) and int(parts[1]) >= time.time()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]

    # -- files ----------------------------------------------------------------------------------------------

    @staticmethod
    def clean_name(name: str | None) -> str:
        cleaned = SAFE_NAME.sub("_", (name or "upload.bin"))[-100:].strip("._") or "upload.bin"
        return cleaned

    async def put(self, data: bytes, content_type: str, name: str | None) -> tuple[str, str]:
        """Store a file; returns (file id, clean name)."""
        self._files.check_size(data)
        file_id = secrets.token_hex(12)
        clean = self.clean_name(name)
        await self._files.set(file_id, _pack(Stored(data, content_type[:200] or "application/octet-stream", clean)))
        return file_id, clean

    async def get(self, file_id: str) -> Stored | None:
        raw = await self._files.get(file_id) if len(file_id) <= 64 else None
        return None if raw is None else _unpack(raw)

    async def initiate(self, content_type: str, name: str | None) -> tuple[str, str]:
        """A GCS-style upload: returns (upload id, clean name); the bytes come with ``complete``."""
        upload_id = secrets.token_hex(12)
        clean = self.clean_name(name)
        await self._pending.set(upload_id, [content_type[:200] or "application/octet-stream", clean])
        return upload_id, clean

    async def complete(self, upload_id: str, data: bytes, content_type: str | None) -> bool:
        self._files.check_size(data)
        pending = await self._pending.pop(upload_id) if len(upload_id) <= 64 else None
        if pending is None:
            return False
        await self._files.set(upload_id, _pack(Stored(data, (content_type or pending[0])[:200], pending[1])))
        return True
