"""The Gemini API (generativelanguage v1beta): predictLongRunning, GET on the operation, file download.

google-genai < 3.0 rebuilds download paths from the video URI: it must start with ``https://`` and the id after
``files/`` must be lowercase alphanumeric, so URIs are ``https://<our host>/v1beta/files/<id>:download?alt=media``
even when we serve plain HTTP (the SDK ignores the host; REST callers fetch ``{base}/v1beta/files/<id>...``).
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.engine import RequestDecision
from ...engine.jobs import SUCCEEDED, Job
from ...media.routes import job_output, mp4_response
from ...web.responses import json_response
from . import responses as wire
from .auth import check
from .models import GEMINI, Invalid, model_for, validate

if TYPE_CHECKING:
    from .dialect import VeoDialect

PREFIX = "/v1beta"
ID_CHARS = string.ascii_lowercase + string.digits
ID_LENGTH = 12
FILE_ID = re.compile(r"^([a-z0-9]{12})([0-9])$")
FILE_IN_URI = re.compile(r"files/([a-z0-9]+)")
API = "g"


def new_operation_id(rng: Any) -> str:
    return "".join(rng.choice(ID_CHARS) for _ in range(ID_LENGTH))


def operation_name(job: Job) -> str:
    return f"models/{job.model}/operations/{job.id}"


def file_id(job: Job, index: int) -> str:
    return f"{job.id}{index}"


class GeminiApi:
    def __init__(self, dialect: VeoDialect) -> None:
        self.dialect = dialect
        self.ctx = dialect.ctx

    def routes(self) -> list[BaseRoute]:
        route = self.dialect.route
        return [
            route(PREFIX + "/models/{model}:predictLongRunning", self.create, ["POST"], "create"),
            route(PREFIX + "/models/{model}/operations/{operation}", self.get_operation, ["GET"], "status"),
            route(PREFIX + "/files/{file}:download", self.download, ["GET"], "download"),
        ]

    def owns(self, path: str) -> bool:
        return path.startswith(PREFIX + "/")

    def _check(self, request: Request, decision: RequestDecision) -> Any:
        return check(request, self.dialect.auth_settings(decision), wire.GEMINI_SERVICE)

    async def create(self, request: Request, decision: RequestDecision) -> Response:
        who = self._check(request, decision)
        if isinstance(who, Response):
            return who
        name = request.path_params["model"]
        model = model_for(name, GEMINI)
        if model is None:
            return wire.error(404, f"models/{name} is not found for API version v1beta, or is not supported for "
                                   "predictLongRunning. Call ListModels to see the list of available models and "
                                   "their supported methods.")
        body = await self.dialect.body(request)
        if isinstance(body, Response):
            return body
        try:
            params = validate(body, model, GEMINI, await self.dialect.input_duration(self._extended_job(body)))
        except Invalid as exc:
            return wire.error(400, exc.message)
        job = await self.dialect.submit(decision, who.account, params, "generate_videos", new_operation_id,
                                  {"api": API, "n": params.samples}, request)
        if isinstance(job, Response):
            return job
        return json_response({"name": operation_name(job)})

    def _extended_job(self, body: Any) -> str | None:
        try:
            uri = body["instances"][0]["video"]["uri"]
        except (KeyError, IndexError, TypeError):
            return None
        found = FILE_IN_URI.search(uri) if isinstance(uri, str) else None
        parsed = FILE_ID.match(found.group(1)) if found else None
        return parsed.group(1) if parsed else None

    async def _job(self, job_id: str, model: str | None, account: str | None) -> Job | None:
        job = await self.ctx.engine.get(self.dialect.name, job_id)
        if job is None or not job.data or job.data.get("api") != API:
            return None
        if (model is not None and job.model != model) or (account is not None and job.account != account):
            return None
        return job

    async def get_operation(self, request: Request, decision: RequestDecision) -> Response:
        who = self._check(request, decision)
        if isinstance(who, Response):
            return who
        params = request.path_params
        model, op = params["model"], params["operation"]
        engine = self.ctx.engine
        # _job's checks written out here: the status poll is the hot path, and its await layer costs it
        job = await engine.get(self.dialect.name, op)
        account = who.account
        if job is None or not job.data or job.data.get("api") != API or job.model != model \
                or (account is not None and job.account != account):
            return wire.error(404, f"Operation models/{model}/operations/{op} not found.")
        state, _ = job.state(engine.clock.now())
        if state not in wire.ENDED:  # pending: the operation's name alone, no result built to be dropped
            return wire.pending_operation(operation_name(job), pending_done=False)
        samples = job.data.get("n", 1)
        uris = []
        if state == SUCCEEDED:
            host = urlsplit(self.dialect.origin(request)).netloc
            uris = [f"https://{host}{PREFIX}/files/{file_id(job, i)}:download?alt=media" for i in range(samples)]
        result = wire.gemini_result(job, state, samples, uris)
        return json_response(wire.operation(operation_name(job), state, job, result, pending_done=False))

    async def download(self, request: Request, decision: RequestDecision) -> Response:
        who = self._check(request, decision)
        if isinstance(who, Response):
            return who
        name = request.path_params["file"]
        parsed = FILE_ID.match(name)
        # Google serves a generated file only to the project (API key) that made it.
        job = await self._job(parsed.group(1), None, who.account) if parsed else None
        if job is None or int(parsed.group(2)) >= job.data.get("n", 1):
            return wire.error(404, f"File files/{name} not found.")
        state, _ = job.state(self.ctx.engine.clock.now())
        if state != SUCCEEDED:
            return wire.error(404, f"File files/{name} not found.")
        return await mp4_response(self.ctx, request, job_output(self.ctx, job, int(parsed.group(2))))
