"""The Cloud Storage JSON API paths google-cloud-storage uses when ``STORAGE_EMULATOR_HOST`` points at us:
object metadata and media for the ``gs://`` outputs of Vertex jobs that were given a ``storageUri``.

Objects are ``<storageUri>/<operation id>/sample_<n>.mp4``. They exist only once the job has succeeded; no
credentials are checked (the emulator client is anonymous).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import OrderedDict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.engine import RequestDecision
from ...engine.jobs import SUCCEEDED, Job
from ...media.outputs import Output
from ...media.render import VideoSpec
from ...media.routes import job_output, mp4_response
from ...web.responses import json_response

if TYPE_CHECKING:
    from .dialect import VeoDialect

OBJECT = re.compile(r"^gs://([^/]+)/(.+)$")
SAMPLE = re.compile(r"(?:^|/)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/sample_(\d)\.mp4$")
PATHS = ("/storage/v1/b/", "/download/storage/v1/b/")
REASONS = {400: "invalid", 401: "required", 403: "forbidden", 404: "notFound", 429: "rateLimitExceeded",
           503: "backendError"}
MAX_HASHES = 64


def object_uri(storage: str, job_id: str, index: int) -> str:
    return f"{storage}/{job_id}/sample_{index}.mp4"


def parse_gs_uri(uri: str) -> tuple[str, int] | None:
    """(job id, sample index) of one of our output objects."""
    found = SAMPLE.search(uri)
    return (found.group(1), int(found.group(2))) if found else None


def error(status: int, message: str) -> Response:
    reason = REASONS.get(status, "backendError" if status >= 500 else "invalid")
    return json_response({"error": {"code": status, "message": message,
                                    "errors": [{"message": message, "domain": "global", "reason": reason}]}},
                         status)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CloudStorage:
    def __init__(self, dialect: VeoDialect) -> None:
        self.dialect = dialect
        self.ctx = dialect.ctx
        self._hashes: OrderedDict[VideoSpec, tuple[int, Any]] = OrderedDict()

    def routes(self) -> list[BaseRoute]:
        route = self.dialect.route
        return [
            route("/storage/v1/b/{bucket}/o/{name:path}", self.get_object, ["GET"], "download"),
            route("/download/storage/v1/b/{bucket}/o/{name:path}", self.media, ["GET"], "download"),
        ]

    def owns(self, path: str) -> bool:
        return path.startswith(PATHS)

    async def _find(self, request: Request) -> Job | Response:
        bucket, name = request.path_params["bucket"], request.path_params["name"]
        missing = error(404, f"No such object: {bucket}/{name}")
        found = parse_gs_uri(name)
        if found is None:
            return missing
        job = await self.ctx.engine.get(self.dialect.name, found[0])
        if job is None or not job.data or not job.data.get("s"):
            return missing
        if object_uri(job.data["s"], job.id, found[1]) != f"gs://{bucket}/{name}" or found[1] >= job.data["n"]:
            return missing
        state, _ = job.state(self.ctx.engine.clock.now())
        return job if state == SUCCEEDED else missing

    async def _digest(self, output: Output) -> tuple[int, str]:
        """(size, base64 md5) of one output: the render's md5 state is remembered for a few specs and
        finished with the output's own tag, so no output is hashed in full twice."""
        spec = output.spec
        known = self._hashes.get(spec)
        if known is None:
            data = await self.ctx.media.get(spec)
            known = (len(data), hashlib.md5(data))
            self._hashes[spec] = known
            if len(self._hashes) > MAX_HASHES:
                self._hashes.popitem(last=False)
        size, state = known
        md5 = state.copy()
        md5.update(output.tag)
        return size + len(output.tag), base64.b64encode(md5.digest()).decode("ascii")

    async def get_object(self, request: Request, decision: RequestDecision) -> Response:
        if request.query_params.get("alt") == "media":
            return await self.media(request, decision)
        job = await self._find(request)
        if isinstance(job, Response):
            return job
        bucket, name = request.path_params["bucket"], request.path_params["name"]
        size, md5 = await self._digest(job_output(self.ctx, job, parse_gs_uri(name)[1]))
        engine = self.ctx.engine
        created = _iso(engine.clock.epoch(job.ends))
        generation = str(int(engine.clock.epoch(job.ends) * 1_000_000))
        quoted = quote(name, safe="")
        origin = self.dialect.origin(request)
        return json_response({
            "kind": "storage#object", "id": f"{bucket}/{name}/{generation}", "name": name, "bucket": bucket,
            "generation": generation, "metageneration": "1", "contentType": "video/mp4",
            "storageClass": "STANDARD", "size": str(size), "md5Hash": md5, "etag": md5,
            "timeCreated": created, "updated": created,
            "selfLink": f"{origin}/storage/v1/b/{bucket}/o/{quoted}",
            "mediaLink": f"{origin}/download/storage/v1/b/{bucket}/o/{quoted}?generation={generation}&alt=media",
        })

    async def media(self, request: Request, decision: RequestDecision) -> Response:
        job = await self._find(request)
        if isinstance(job, Response):
            return job
        output = job_output(self.ctx, job, parse_gs_uri(request.path_params["name"])[1])
        _, md5 = await self._digest(output)
        response = await mp4_response(self.ctx, request, output)
        response.headers["x-goog-hash"] = f"md5={md5}"
        response.headers["x-goog-storage-class"] = "STANDARD"
        return response
