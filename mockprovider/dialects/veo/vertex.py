"""Vertex AI (v1 and v1beta1): predictLongRunning and fetchPredictOperation, with project/location or in express
mode (API key, no project). Outputs are inline base64 without ``storageUri``, else ``gs://`` objects that
``gcs.py`` serves.

Operation names carry the path they were created under (``projects/p/locations/l/publishers/google/models/m``
or, in express mode, ``publishers/google/models/m``); google-genai polls ``<that>:fetchPredictOperation``.
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.engine import RequestDecision
from ...engine.jobs import SUCCEEDED, Job
from ...media.routes import job_output
from ...web.responses import json_response
from . import responses as wire
from .auth import check
from .gcs import object_uri, parse_gs_uri
from .inputs import inline_video_seconds
from .models import VERTEX, Invalid, model_for, validate

if TYPE_CHECKING:
    from .dialect import VeoDialect

VERSIONS = ("v1", "v1beta1")
PROJECT = "/projects/{project}/locations/{location}"
MODEL = "/publishers/google/models/{model}"
API = "v"
MAX_SEGMENT = 63  # project ids and locations are short; job.data keeps them


def new_operation_id(rng: Any) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def resource(request: Request) -> str:
    """``projects/p/locations/l/publishers/google/models/m``, or without the project part in express mode."""
    params = request.path_params
    model = f"publishers/google/models/{params['model']}"
    if "project" in params:
        return f"projects/{params['project']}/locations/{params['location']}/{model}"
    return model


def operation_name(job: Job) -> str:
    scope = job.data.get("r", "")
    return f"{scope}{'/' if scope else ''}publishers/google/models/{job.model}/operations/{job.id}"


class VertexApi:
    def __init__(self, dialect: VeoDialect) -> None:
        self.dialect = dialect
        self.ctx = dialect.ctx

    def routes(self) -> list[BaseRoute]:
        route = self.dialect.route
        out = []
        for version in VERSIONS:
            for scope in (PROJECT, ""):
                base = f"/{version}{scope}{MODEL}"
                out.append(route(base + ":predictLongRunning", self.create, ["POST"], "create"))
                out.append(route(base + ":fetchPredictOperation", self.fetch, ["POST"], "status"))
        return out

    def owns(self, path: str) -> bool:
        return path.startswith(tuple(f"/{v}/{p}" for v in VERSIONS for p in ("projects/", "publishers/")))

    def _check(self, request: Request, decision: RequestDecision) -> Any:
        return check(request, self.dialect.auth_settings(decision), wire.VERTEX_SERVICE)

    async def create(self, request: Request, decision: RequestDecision) -> Response:
        who = self._check(request, decision)
        if isinstance(who, Response):
            return who
        params_path = request.path_params
        if len(params_path.get("project", "")) > MAX_SEGMENT or len(params_path.get("location", "")) > MAX_SEGMENT:
            return wire.error(400, f"Invalid resource name: {resource(request)}.")
        name = params_path["model"]
        model = model_for(name, VERTEX)
        if model is None:
            return wire.error(404, f"Publisher Model `{resource(request)}` was not found or your project does not "
                                   "have access to it. Please ensure you are using a valid model version. For more "
                                   "information, see: "
                                   "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions")
        body = await self.dialect.body(request)
        if isinstance(body, Response):
            return body
        try:
            length = await self.dialect.input_duration(self._extended_job(body)) or inline_video_seconds(body)
            params = validate(body, model, VERTEX, length)
        except Invalid as exc:
            return wire.error(400, exc.message)
        data: dict[str, Any] = {"api": API, "n": params.samples}
        if "project" in params_path:
            data["r"] = f"projects/{params_path['project']}/locations/{params_path['location']}"
        if params.storage_uri:
            data["s"] = params.storage_uri
        job = await self.dialect.submit(decision, who.account, params, "generate_videos", new_operation_id, data,
                                        request)
        if isinstance(job, Response):
            return job
        return json_response({"name": operation_name(job)})

    def _extended_job(self, body: Any) -> str | None:
        try:
            uri = body["instances"][0]["video"]["gcsUri"]
        except (KeyError, IndexError, TypeError):
            return None
        found = parse_gs_uri(uri) if isinstance(uri, str) else None
        return found[0] if found else None

    async def fetch(self, request: Request, decision: RequestDecision) -> Response:
        who = self._check(request, decision)
        if isinstance(who, Response):
            return who
        body = await self.dialect.body(request)
        if isinstance(body, Response):
            return body
        name = body.get("operationName") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return wire.error(400, "`operationName` is required.")
        scope, _, op = name.rpartition("/operations/")
        if scope != resource(request):
            return wire.error(400, f"Operation name {name} does not belong to {resource(request)}.")
        job = await self.ctx.engine.get(self.dialect.name, op)
        if (job is None or not job.data or job.data.get("api") != API or operation_name(job) != name
                or ("r" not in job.data and job.account != who.account)):
            return wire.error(404, f"Operation {name} not found.")
        state, _ = job.state(self.ctx.engine.clock.now())
        if state not in wire.ENDED:  # pending: no result built to be dropped
            return wire.pending_operation(name, pending_done=True)
        samples = job.data.get("n", 1)
        videos: list[dict[str, str]] = []
        if state == SUCCEEDED:
            videos = await self._videos(job, samples)
        result = wire.vertex_result(job, state, samples, videos)
        return json_response(wire.operation(name, state, job, result, pending_done=True))

    async def _videos(self, job: Job, samples: int) -> list[dict[str, str]]:
        storage = job.data.get("s")
        if storage:
            return [{"gcsUri": object_uri(storage, job.id, i), "mimeType": "video/mp4"} for i in range(samples)]
        return [{"bytesBase64Encoded": base64.b64encode(
                    await self.ctx.media.output(job_output(self.ctx, job, i))).decode("ascii"),
                 "mimeType": "video/mp4"} for i in range(samples)]
