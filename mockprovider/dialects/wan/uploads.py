"""DashScope's temporary storage for local files (what ``dashscope.utils.oss_utils`` uses): an upload policy per key
from ``GET /api/v1/uploads?action=getPolicy``, a multipart POST of the file to the policy's ``upload_host`` (here, on
our own host), then ``oss://<upload_dir>/<name>`` in the create body. Only the files' metadata is kept (an image's
pixel size among it, read from its first bytes), bounded in count and total bytes, oldest evicted first."""

from __future__ import annotations

import posixpath
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_FILE_BYTES = 100 * 2**20  # the policy's max_file_size_mb
MAX_FILES = 10_000
MAX_TOTAL_BYTES = 50 * 2**30
MAX_POLICIES = 10_000
POLICY_TTL = 300.0  # expire_in_seconds
MAX_OSS_URLS = 64
HEAD_BYTES = 256 * 1024  # enough of a file to find a PNG/WebP header or a JPEG frame header past its EXIF


@dataclass(frozen=True)
class Policy:
    account: str
    upload_dir: str
    expires: float


@dataclass(frozen=True)
class Upload:
    account: str
    size: int
    content_type: str
    image: tuple[int, int] | None = None  # (width, height) when the file is a PNG, JPEG or WebP


class UploadStore:
    def __init__(self, max_files: int = MAX_FILES, max_bytes: int = MAX_TOTAL_BYTES) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._policies: OrderedDict[str, Policy] = OrderedDict()  # access key id -> policy
        self._files: OrderedDict[str, Upload] = OrderedDict()  # object key -> upload, oldest first
        self._bytes = 0

    def clear(self) -> None:
        self._policies.clear()
        self._files.clear()
        self._bytes = 0

    def grant(self, access_key: str, policy: Policy) -> None:
        self._policies[access_key] = policy
        while len(self._policies) > MAX_POLICIES:
            self._policies.popitem(last=False)

    def policy(self, access_key: str, now: float) -> Policy | None:
        policy = self._policies.get(access_key)
        if policy is None or now > policy.expires:
            return None
        return policy

    def put(self, key: str, upload: Upload) -> None:
        old = self._files.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._files[key] = upload
        self._bytes += upload.size
        while len(self._files) > self.max_files or self._bytes > self.max_bytes:
            _, gone = self._files.popitem(last=False)
            self._bytes -= gone.size

    def get(self, key: str) -> Upload | None:
        return self._files.get(key)

    def __len__(self) -> int:
        return len(self._files)


def object_key(key: str, policy: Policy) -> str | None:
    """The form's ``key`` when it names a file directly under the policy's upload_dir."""
    prefix = policy.upload_dir + "/"
    if not key.startswith(prefix) or len(key) > 1024:
        return None
    name = key[len(prefix):]
    if not name or "/" in name or name in (".", "..") or posixpath.normpath(key) != key:
        return None
    return key


def oss_urls(value: Any) -> list[str] | None:
    """The ``oss://`` strings anywhere in a create body's ``input``; None when there are too many to look at."""
    found: list[str] = []
    stack = [value]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > 10_000:
            return None
        if isinstance(item, str):
            if item.startswith("oss://"):
                found.append(item)
                if len(found) > MAX_OSS_URLS:
                    return None
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
