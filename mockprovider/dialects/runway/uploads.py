"""Runway's two-step ephemeral upload (``uploads.create_ephemeral``) and the ``runway://`` URIs it returns.

Step 1, ``POST /v1/uploads`` ``{filename, type: "ephemeral"}``, answers ``{runwayUri, uploadUrl, fields}`` like a
presigned POST policy. Step 2 is an unauthenticated multipart POST of ``fields`` plus a ``file`` part to
``uploadUrl`` (ours, under ``/__uploads/runway/``), answered 204 the way a storage bucket does. Only a URI whose
upload completed, for the same account, within its 24 h lifetime, is accepted afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass

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
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._uploads: OrderedDict[str, Upload] = OrderedDict()

    def reset(self) -> None:
        self._uploads.clear()

    def _policy(self, upload_id: str) -> str:
        return hmac.new(self._secret, upload_id.encode(), hashlib.sha256).hexdigest()

    def create(self, account: str, filename: str, now: float, rng_bits: int, origin: str) -> dict[str, object]:
        upload_id = f"{rng_bits:032x}"
        self._uploads[upload_id] = Upload(upload_id, account, filename, now)
        while len(self._uploads) > MAX_UPLOADS:
            self._uploads.popitem(last=False)
        return {"runwayUri": URI_PREFIX + upload_id, "uploadUrl": f"{origin}{UPLOAD_PATH}/{upload_id}",
                "fields": {"key": f"ephemeral/{upload_id}/{filename}", "policy": self._policy(upload_id),
                           "x-amz-algorithm": "AWS4-HMAC-SHA256"}}

    def find(self, uri: str, account: str, now: float) -> Upload | str:
        """The completed upload a ``runway://`` URI names, or why it is refused."""
        match = URI.match(uri)
        upload = self._uploads.get(match.group(1)) if match else None
        if upload is None or upload.account != account:
            return "Invalid Runway upload URI: no upload with this URI exists for your organization"
        if not upload.done:
            return "The upload for this runway:// URI was never completed"
        if now - upload.created > LIFETIME:
            return "This runway:// upload URI has expired; upload the file again"
        return upload

    async def receive(self, request: Request, now: float) -> Response:
        """Step 2: the multipart POST to ``uploadUrl`` (no auth; the policy field proves the URL came from us)."""
        upload = self._uploads.get(request.path_params["upload_id"])
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
        return Response(status_code=204)
