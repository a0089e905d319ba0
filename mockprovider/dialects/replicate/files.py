"""Replicate's files API: what the SDK uploads when a model input is a file, bounded in count and bytes (oldest
evicted first) with Replicate's 24-hour expiry. Kept in state tables (metadata by id and owner, contents apart),
so a file uploaded through one replica is listed, read and downloaded through any other."""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import asdict, dataclass
from typing import Any

from .responses import iso

EXPIRY = 24 * 3600.0
MAX_NAME_BYTES = 255


MAX_FILES = 1000
MAX_BYTES = 64 * 2**20


@dataclass(slots=True)
class StoredFile:
    id: str
    account: str
    name: str
    content_type: str
    size: int
    metadata: dict[str, Any]
    created: float  # engine time
    sha256: str
    md5: str

    def wire(self, origin: str, epoch) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "etag": self.md5,
            "checksums": {"sha256": self.sha256, "md5": self.md5},
            "metadata": self.metadata,
            "created_at": iso(epoch(self.created))[:-4] + "Z",
            "expires_at": iso(epoch(self.created + EXPIRY))[:-4] + "Z",
            "urls": {"get": f"{origin}/v1/files/{self.id}"},
        }


class FileStore:
    """``add`` raises state.tables.TooLarge for a file past ``max_bytes``."""

    def __init__(self, state: Any, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> None:
        # Real seconds bound how long Redis keeps a file; the 24 h expiry itself is checked on the engine clock.
        self._meta = state.table("replicate:files", max_files, ttl=EXPIRY)
        self._content = state.table("replicate:contents", max_files, ttl=EXPIRY, max_bytes=max_bytes)

    async def add(self, rng: random.Random, account: str, name: str, content_type: str, content: bytes,
                  metadata: dict[str, Any], now: float) -> StoredFile:
        self._content.check_size(content)
        digests = hashlib.sha256(content).hexdigest(), hashlib.md5(content, usedforsecurity=False).hexdigest()

        def made(file_id: str) -> dict[str, Any]:
            return asdict(StoredFile(file_id, account, name, content_type, len(content), metadata, now, *digests))

        file_id, stored = await self._meta.add_new(
            lambda r: base64.b64encode(f"{r.getrandbits(128):032x}".encode()).decode().rstrip("="), rng, made,
            owner=account)
        await self._content.set(file_id, content)
        return StoredFile(**stored)

    async def get(self, account: str, file_id: str, now: float) -> StoredFile | None:
        found = await self._meta.get(file_id) if len(file_id) <= 64 else None
        if found is None or found["account"] != account:
            return None
        stored = StoredFile(**found)
        if now >= stored.created + EXPIRY:
            await self._drop(file_id)
            return None
        return stored

    async def content(self, file_id: str) -> bytes | None:
        return await self._content.get(file_id)

    async def delete(self, account: str, file_id: str, now: float) -> bool:
        if await self.get(account, file_id, now) is None:
            return False
        await self._drop(file_id)
        return True

    async def owned(self, account: str, now: float, limit: int = 100) -> list[StoredFile]:
        files = [StoredFile(**v) for _, v in await self._meta.owned(account)]
        return [f for f in reversed(files) if now < f.created + EXPIRY][:limit]

    async def clear(self) -> None:
        await self._meta.clear()
        await self._content.clear()

    async def _drop(self, file_id: str) -> None:
        await self._meta.delete(file_id)
        await self._content.delete(file_id)
