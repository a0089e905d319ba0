"""DashScope's temporary storage for local files (what ``dashscope.utils.oss_utils`` uses): an upload policy per key
from ``GET /api/v1/uploads?action=getPolicy``, a multipart POST of the file to the policy's ``upload_host`` (here, on
our own host), then ``oss://<upload_dir>/<name>`` in the create body. Only the files' metadata is kept (an image's
pixel size among it, read from its first bytes), bounded in count, oldest evicted first. Policies and files are in
state tables: the policy from one replica, the upload to another and the create on a third agree."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_FILE_BYTES = 100 * 2**20  # the policy's max_file_size_mb
MAX_FILES = 10_000
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
    """Upload policies by access key id and uploaded files' metadata by object key."""

    def __init__(self, state: Any, max_files: int = MAX_FILES) -> None:
        self._policies = state.table("wan:policies", MAX_POLICIES, ttl=POLICY_TTL * 2)
        self._files = state.table("wan:files", max_files)

    async def clear(self) -> None:
        await self._policies.clear()
        await self._files.clear()

    async def grant_new(self, make_key: Callable[[Any], str], rng: Any, policy: Callable[[str], Policy]
                        ) -> tuple[str, Policy]:
        """A policy under a fresh access key id (``make_key(rng)``, drawn again if another replica has it)."""
        made: dict[str, Policy] = {}

        def value(access_key: str) -> list:
            found = made[access_key] = policy(access_key)
            return [found.account, found.upload_dir, found.expires]

        access_key, _ = await self._policies.add_new(make_key, rng, value)
        return access_key, made[access_key]

    async def policy(self, access_key: str, now: float) -> Policy | None:
        found = await self._policies.get(access_key) if access_key and len(access_key) <= 64 else None
        if found is None or now > found[2]:
            return None
        return Policy(*found)

    async def add(self, key: str, upload: Upload) -> bool:
        """Store a new file (False if the object exists: OSS's x-oss-forbid-overwrite)."""
        image = list(upload.image) if upload.image else None
        return await self._files.add(key, [upload.account, upload.size, upload.content_type, image])

    async def get(self, key: str) -> Upload | None:
        return (await self.get_many([key])).get(key)

    async def get_many(self, keys: list[str]) -> dict[str, Upload]:
        found = await self._files.get_many(k for k in keys if len(k) <= 1024)
        return {k: Upload(v[0], v[1], v[2], tuple(v[3]) if v[3] else None) for k, v in found.items()}


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
