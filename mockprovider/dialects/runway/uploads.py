"""Runway's two-step ephemeral upload (``uploads.create_ephemeral``) and the ``runway://`` URIs it returns.

Step 1, ``POST /v1/uploads`` ``{filename, type: "ephemeral"}``, answers ``{runwayUri, uploadUrl, fields}`` like a
presigned POST policy. Step 2 is an unauthenticated multipart POST of ``fields`` plus a ``file`` part to
``uploadUrl`` (ours, under ``/__uploads/runway/``), answered 204 the way a storage bucket does. Only a URI whose
upload completed, for the same account, within its 24 h lifetime, is accepted afterwards.

Uploads are kept in a state table and the policy is signed with a secret every replica shares, so step 2 and
the generation that uses the URI may land on replicas other than the one that answered step 1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...web.multipart import MultipartError, MultipartReader, boundary_of

URI_PREFIX = "runway://upload/"
UPLOAD_PATH = "/__uploads/runway"
LIFETIME = 24 * 3600.0
MIN_BYTES = 512
MAX_BYTES = 200 * 2**20
MAX_UPLOADS = 10_000
MAX_FILENAME = 255
URI = re.compile(r"^runway://upload/([0-9a-f]{32})$")
MAX_URIS = 64  # runway:// URIs looked up per request body; more are refused as unknown


@dataclass
class Upload:
    id: str
    account: str
    filename: str
    created: float
    content_type: str | None = None
    size: int = 0
    done: bool = False

    @property
    def kind(self) -> str | None:
        """image, video or audio, from the uploaded part's Content-Type."""
        if not self.content_type:
            return None
        major = self.content_type.split("/", 1)[0].lower()
        return major if major in ("image", "video", "audio") else None


def s3_error(status: int, code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            "</Error>")
    return Response(body, status_code=status, media_type="application/xml")


class Uploads:
    def __init__(self, table: Any, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._uploads = table

    async def start(self, state: Any) -> None:
        """Sign policies with the secret every replica shares (with a shared state backend)."""
        if state.shared:
            self._secret = await state.secret("runway-uploads")

    async def reset(self) -> None:
        await self._uploads.clear()

    def _policy(self, upload_id: str) -> str:
        return hmac.new(self._secret, upload_id.encode(), hashlib.sha256).hexdigest()

    async def _get(self, upload_id: str) -> Upload | None:
        found = await self._uploads.get(upload_id)
        return None if found is None else Upload(**found)

    async def create(self, account: str, filename: str, now: float, rng: Any, origin: str) -> dict[str, object]:
        upload_id, _ = await self._uploads.add_new(
            lambda r: f"{r.getrandbits(128):032x}", rng,
            lambda made: dataclasses.asdict(Upload(made, account, filename, now)))
        return {"runwayUri": URI_PREFIX + upload_id, "uploadUrl": f"{origin}{UPLOAD_PATH}/{upload_id}",
                "fields": {"key": f"ephemeral/{upload_id}/{filename}", "policy": self._policy(upload_id),
                           "x-amz-algorithm": "AWS4-HMAC-SHA256"}}

    async def finder(self, body: Any, account: str, now: float) -> Callable[[str], Upload | str]:
        """What ``find`` answers for each ``runway://`` URI in ``body``, looked up at once: validation
        asks synchronously, deep in the body."""
        ids = {m.group(1) for m in (URI.match(u) for u in _upload_uris(body)) if m}
        found = {k: Upload(**v) for k, v in (await self._uploads.get_many(ids)).items()} if ids else {}
        return lambda uri: self.find(uri, account, now, found)

    @staticmethod
    def find(uri: str, account: str, now: float, known: dict[str, Upload]) -> Upload | str:
        """The completed upload a ``runway://`` URI names (among ``known``), or why it is refused."""
        match = URI.match(uri)
        upload = known.get(match.group(1)) if match else None
        if upload is None or upload.account != account:
            return "Invalid Runway upload URI: no upload with this URI exists for your organization"
        if not upload.done:
            return "The upload for this runway:// URI was never completed"
        if now - upload.created > LIFETIME:
            return "This runway:// upload URI has expired; upload the file again"
        return upload

    async def receive(self, request: Request, now: float) -> Response:
        """Step 2: the multipart POST to ``uploadUrl`` (no auth; the policy field proves the URL came from us)."""
        upload_id = request.path_params["upload_id"]
        upload = await self._get(upload_id) if len(upload_id) == 32 else None
        if upload is None:
            return s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
        if now - upload.created > LIFETIME:
            return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        try:
            reader = MultipartReader(boundary_of(request.headers.get("content-type")))
            total = 0
            async for chunk in request.stream():
                total += len(chunk)
                if total > MAX_BYTES + 64 * 1024:
                    return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
                reader.feed(chunk)
            parts = {part.name: part for part in reader.finish()}
        except MultipartError as exc:
            return s3_error(400, "MalformedPOSTRequest", f"The body of your POST request is not well-formed "
                                                        f"multipart/form-data: {exc}")
        policy = parts.get("policy")
        if policy is None or not hmac.compare_digest(bytes(policy.value).decode("latin-1", "replace"),
                                                     self._policy(upload.id)):
            return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed")
        file = parts.get("file")
        if file is None or file.filename is None:
            return s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        if file.size < MIN_BYTES:
            return s3_error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
        if file.size > MAX_BYTES:
            return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        upload.content_type = file.content_type
        upload.size = file.size
        upload.done = True
        await self._uploads.set(upload.id, dataclasses.asdict(upload))
        return Response(status_code=204)


def _upload_uris(value: Any) -> list[str]:
    """The ``runway://upload/`` strings anywhere in a request body (at most MAX_URIS of them)."""
    found: list[str] = []
    stack, seen = [value], 0
    while stack and seen < 10_000 and len(found) < MAX_URIS:
        item = stack.pop()
        seen += 1
        if isinstance(item, str):
            if item.startswith(URI_PREFIX):
                found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
