"""fal's storage as fal-client uses it: a CDN token from the REST host, single-part uploads to the CDN, the
GCS-style initiate + PUT fallback, and the uploaded files served back. Files live in memory, bounded in count and
bytes (the oldest go first)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_FILES = 1000
MAX_BYTES = 256 * 2**20
TOKEN_TTL = 3600.0  # real seconds: fal-client compares expires_at with its own clock
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Stored:
    data: bytes
    content_type: str
    name: str


class Storage:
    def __init__(self, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._files: OrderedDict[str, Stored] = OrderedDict()
        self._pending: OrderedDict[str, tuple[str, str]] = OrderedDict()  # GCS-style upload id -> (type, name)
        self._bytes = 0
        self._secret = secrets.token_bytes(32)

    def clear(self) -> None:
        self._files.clear()
        self._pending.clear()
        self._bytes = 0

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

    def put(self, data: bytes, content_type: str, name: str | None) -> tuple[str, str]:
        """Store a file; returns (file id, clean name)."""
        if len(data) > self.max_bytes:
            raise ValueError("file larger than the mock's upload store")
        file_id = secrets.token_hex(12)
        clean = self.clean_name(name)
        self._files[file_id] = Stored(data, content_type[:200] or "application/octet-stream", clean)
        self._bytes += len(data)
        while len(self._files) > self.max_files or self._bytes > self.max_bytes:
            _, old = self._files.popitem(last=False)
            self._bytes -= len(old.data)
        return file_id, clean

    def get(self, file_id: str) -> Stored | None:
        return self._files.get(file_id)

    def initiate(self, content_type: str, name: str | None) -> tuple[str, str]:
        """A GCS-style upload: returns (upload id, clean name); the bytes come with ``complete``."""
        upload_id = secrets.token_hex(12)
        clean = self.clean_name(name)
        self._pending[upload_id] = (content_type[:200] or "application/octet-stream", clean)
        while len(self._pending) > self.max_files:
            self._pending.popitem(last=False)
        return upload_id, clean

    def complete(self, upload_id: str, data: bytes, content_type: str | None) -> bool:
        pending = self._pending.pop(upload_id, None)
        if pending is None:
            return False
        if len(data) > self.max_bytes:
            return False
        stored = Stored(data, (content_type or pending[0])[:200], pending[1])
        self._files[upload_id] = stored
        self._bytes += len(data)
        while len(self._files) > self.max_files or self._bytes > self.max_bytes:
            _, old = self._files.popitem(last=False)
            self._bytes -= len(old.data)
        return True
