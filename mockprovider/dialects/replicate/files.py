"""Replicate's files API: what the SDK uploads when a model input is a file, kept in memory with bounds on
count and bytes (oldest evicted first) and Replicate's 24-hour expiry."""

from __future__ import annotations

import base64
import hashlib
import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .responses import iso

EXPIRY = 24 * 3600.0
MAX_NAME_BYTES = 255


@dataclass(slots=True)
class StoredFile:
    id: str
    account: str
    name: str
    content_type: str
    content: bytes
    metadata: dict[str, Any]
    created: float  # engine time
    sha256: str
    md5: str

    def wire(self, origin: str, epoch) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": len(self.content),
            "etag": self.md5,
            "checksums": {"sha256": self.sha256, "md5": self.md5},
            "metadata": self.metadata,
            "created_at": iso(epoch(self.created))[:-4] + "Z",
            "expires_at": iso(epoch(self.created + EXPIRY))[:-4] + "Z",
            "urls": {"get": f"{origin}/v1/files/{self.id}"},
        }


class FileStore:
    def __init__(self, max_files: int = 1000, max_bytes: int = 64 * 2**20) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.size = 0
        self._files: OrderedDict[str, StoredFile] = OrderedDict()

    def __len__(self) -> int:
        return len(self._files)

    def add(self, rng: random.Random, account: str, name: str, content_type: str, content: bytes,
            metadata: dict[str, Any], now: float) -> StoredFile:
        self.expire(now)
        file_id = base64.b64encode(f"{rng.getrandbits(128):032x}".encode()).decode().rstrip("=")
        stored = StoredFile(id=file_id, account=account, name=name, content_type=content_type, content=content,
                            metadata=metadata, created=now, sha256=hashlib.sha256(content).hexdigest(),
                            md5=hashlib.md5(content, usedforsecurity=False).hexdigest())
        while self._files and (len(self._files) >= self.max_files or self.size + len(content) > self.max_bytes):
            self._drop(next(iter(self._files)))
        self._files[file_id] = stored
        self.size += len(content)
        return stored

    def get(self, account: str, file_id: str, now: float) -> StoredFile | None:
        found = self._files.get(file_id)
        if found is None or found.account != account:
            return None
        if now >= found.created + EXPIRY:
            self._drop(file_id)
            return None
        return found

    def delete(self, account: str, file_id: str, now: float) -> bool:
        if self.get(account, file_id, now) is None:
            return False
        self._drop(file_id)
        return True

    def owned(self, account: str, now: float, limit: int = 100) -> list[StoredFile]:
        self.expire(now)
        out = [f for f in reversed(self._files.values()) if f.account == account]
        return out[:limit]

    def expire(self, now: float) -> None:
        while self._files:
            oldest = next(iter(self._files.values()))
            if now < oldest.created + EXPIRY:
                return
            self._drop(oldest.id)

    def clear(self) -> None:
        self._files.clear()
        self.size = 0

    def _drop(self, file_id: str) -> None:
        stored = self._files.pop(file_id, None)
        if stored is not None:
            self.size -= len(stored.content)
