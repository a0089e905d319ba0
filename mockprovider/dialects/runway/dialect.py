"""Runway's API (runwayml 5.x): every generation endpoint, uploads, tasks and the organization."""

from __future__ import annotations

import datetime
import random
import secrets
import uuid
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...engine.limits import OverLimit
from ...engine.rng import stream
from ...media.render import VideoSpec
from ...media.routes import output_url, prewarm_output
from ...state import StateUnavailable
from ...web.body import BodyError, read_body, read_json
from ...web.responses import json_response, no_content
from ..base import Dialect
from . import generation, personas, router, workflows
from . import responses as wire
from .models import IMAGE_TO_VIDEO, MODELS, TEXT_TO_VIDEO, validate
from .persona_api import PersonaApi
from .shared import AccountBooks
from .uploads import LIFETIME, MAX_FILENAME, MAX_UPLOADS, UPLOAD_PATH, Uploads, s3_error
from .usage import UsageBook, parse_range

API_VERSION = "2024-11-06"
KEY_PREFIX = "key_"
UNLIMITED_CREDITS = 1_000_000


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


def new_task_id(rng) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# Path prefixes of runwayml 5.24.0's resources: unknown paths under them answer in Runway's error shape.
BOOK_PATHS = ("/v1/voices", "/v1/avatars", "/v1/documents", "/v1/routers", "/v1/generate/")
OWNED = ("/v1/tasks", "/v1/uploads", "/v1/organization", "/v1/voices", "/v1/avatars", "/v1/routers", "/v1/generate",
         "/v1/recipes", "/v1/avatar", "/v1/documents", "/v1/realtime_sessions", "/v1/workflow",
         *(f"/v1/{endpoint}" for endpoint in generation.KIND), UPLOAD_PATH)


class RunwayDialect(PersonaApi, Dialect):
    name = "runway"
    title = "Runway"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.uploads = Uploads(ctx.state.table("runway:uploads", MAX_UPLOADS, ttl=LIFETIME))
        self.usage = UsageBook(ctx.state)
        self.routers = router.RouterBook()
        self.personas = personas.PersonaBook()
        self.books = AccountBooks(ctx.state, self.personas, self.routers)
        self._upload_rng = stream(ctx.settings.seed, "runway-uploads")
        self._persona_rng = stream(ctx.settings.seed, "runway-personas")

    def route(self, path: str, handler, methods, kind: str) -> Route:
        """With shared state, an organization's voices, avatars, documents and routers are loaded before the
        requests that read them and saved after those that change them (shared.py)."""
        if self.books.shared and (path.startswith(BOOK_PATHS) or kind == "create"):
            handler = self._with_books(handler, path.startswith(BOOK_PATHS))
        return super().route(path, handler, methods, kind)

    def _with_books(self, handler, saves: bool):
        async def with_books(request: Request, decision: RequestDecision) -> Response:
            key = self.credential(request)
            if key is None:
                return await handler(request, decision)
            await self.books.load(key)
            response = await handler(request, decision)
            if saves and request.method != "GET" and response.status_code < 300:
                await self.books.save(key)
            return response

        with_books.__name__ = getattr(handler, "__name__", "handler")
        return with_books

    def routes(self) -> list[BaseRoute]:
        generations = [self.route(f"/v1/{endpoint}", self._generation_handler(endpoint), ["POST"], "create")
                       for endpoint in generation.KIND if endpoint not in (IMAGE_TO_VIDEO, TEXT_TO_VIDEO)]
        return [
            self.route("/v1/image_to_video", self.image_to_video, ["POST"], "create"),
            self.route("/v1/text_to_video", self.text_to_video, ["POST"], "create"),
            *generations,
            *(self.route(f"/v1/generate/{kind}", self._routed_handler(kind), ["POST"], "create")
              for kind in router.INPUTS),
            self.route("/v1/routers", self.create_router, ["POST"], "account"),
            self.route("/v1/routers", self.list_routers, ["GET"], "account"),
            self.route("/v1/routers/{router_id}", self.get_router, ["GET"], "account"),
            self.route("/v1/routers/{router_id}", self.update_router, ["PATCH"], "account"),
            self.route("/v1/routers/{router_id}", self.delete_router, ["DELETE"], "account"),
            self.route("/v1/routers/{router_id}/requests", self.router_requests, ["GET"], "account"),
            self.route("/v1/workflows", self.list_workflows, ["GET"], "account"),
            self.route("/v1/workflows/{workflow_id}", self.get_workflow, ["GET"], "account"),
            self.route("/v1/workflows/{workflow_id}", self.run_workflow, ["POST"], "create"),
            self.route("/v1/workflow_invocations/{invocation_id}", self.get_invocation, ["GET"], "status"),
            *self.persona_routes(),
            self.route("/v1/uploads", self.create_upload, ["POST"], "create"),
            Route(UPLOAD_PATH + "/{upload_id}", self.receive_upload, methods=["POST"]),
            self.route("/v1/tasks/{task_id}", self.get_task, ["GET"], "status"),
            self.route("/v1/tasks/{task_id}", self.delete_task, ["DELETE"], "cancel"),
            self.route("/v1/organization", self.organization, ["GET"], "account"),
            self.route("/v1/organization/usage", self.organization_usage, ["POST"], "account"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"RunwayML(base_url=...)": origin}

    def owns(self, path: str) -> bool:
        return path.startswith(OWNED)

    async def startup(self) -> None:
        await self.uploads.start(self.ctx.state)
        if self.ctx.state.shared:  # replicas share one seed: ids of shared objects must not repeat across them
            self._upload_rng = random.Random(secrets.randbits(64))

    def forget(self) -> None:
        self.routers.reset()  # this process's copies of the accounts' books (the shared ones reload)
        self.personas.reset()

    async def reset(self) -> None:
        await self.uploads.reset()
        await self.books.clear()
        await self.usage.reset()

    # -- wire errors ----------------------------------------------------------------------------------------

    def credential(self, request: Request) -> str | None:
        header = request.headers.get("authorization")
        if header and header[:7].lower() == "bearer ":
            return header[7:].strip() or None
        return None

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        return wire.error(status, message)

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        retry = wire.retry_headers(self.ctx.engine.wait_hint(over))
        if over.limit == "capacity":
            return wire.error(503, "The service is at capacity. Please try again later.", retry)
        if over.limit == "credits":
            return wire.error(400, "You do not have enough credits to run this task.")
        if over.limit == "daily":
            return wire.error(429, "You have exceeded the maximum number of daily generations for this model. "
                                   "Try again tomorrow.", retry)
        return wire.error(429, "Too many requests. Please slow down and try again later.", retry)

    def _check_headers(self, request: Request, decision: RequestDecision) -> Response | str:
        """The caller's key if auth and the version header are right, else Runway's error."""
        key = decision.key
        if key is None:
            return wire.error(401, "No API key was provided. Set the Authorization header to 'Bearer <key>'.")
        allowed = decision.assignment.profile.auth(self.name).get("keys")
        if (key not in allowed) if allowed else not key.startswith(KEY_PREFIX):
            return wire.error(401, "The API key you provided is incorrect or has been disabled.")
        version = request.headers.get("x-runway-version")
        if version is None:
            return wire.error(400, "You must provide an API version in the X-Runway-Version header.")
        if version != API_VERSION:
            return wire.error(400, "The API version that was provided in the X-Runway-Version header is not valid.")
        return key

    # -- handlers -------------------------------------------------------------------------------------------

    async def image_to_video(self, request: Request, decision: RequestDecision) -> Response:
        return await self._create(request, decision, IMAGE_TO_VIDEO)

    async def text_to_video(self, request: Request, decision: RequestDecision) -> Response:
        return await self._create(request, decision, TEXT_TO_VIDEO)

    async def _create(self, request: Request, decision: RequestDecision, endpoint: str) -> Response:
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            if exc.status == 413:
                return wire.error(413, exc.message)
            return wire.error(400, "Validation of body failed",
                              issues=[{"code": "invalid_json", "path": [], "message": exc.message}])
        model = body.get("model") if isinstance(body, dict) else None
        if not (isinstance(model, str) and model in MODELS and model not in generation.FIELDS[endpoint]):
            return await self._generate(request, decision, key, endpoint, body)
        params = validate(body, endpoint)
        if not isinstance(params, list):
            now = self.ctx.engine.clock.now()
            checker = generation.Checker(endpoint, "", body, await self.uploads.finder(body, key, now))
            params = generation.upload_issues(body, checker) or params
        if isinstance(params, list):
            return wire.error(400, "Validation of body failed", issues=params)
        behaviour = decision.assignment.profile.resolve(self.name, params.model.name)
        width, height = params.size
        spec = video_spec(width, height, float(params.duration), behaviour.fps, params.audio)
        result = await self.ctx.engine.submit(
            JobRequest(provider=self.name, model=params.model.name, account=key, kind=endpoint,
                       make_id=new_task_id, cost=params.credits, output=spec,
                       usage={"seconds": params.duration, "audio": params.audio,
                              "resolution": f"{min(width, height)}p"},
                       data={"createdAt": wire.iso(self.ctx.engine.clock.epoch()),
                             "in": ["text", "image"] if endpoint == IMAGE_TO_VIDEO else ["text"]}),
            decision.assignment, queue_when_busy=True)
        return await self._created(request, result, result.cost if isinstance(result, Job) else 0)

    async def _created(self, request: Request, result: Job | OverLimit | RejectedAtSubmit, estimate: float
                       ) -> Response:
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.rejected_input(request.state.inputs if hasattr(request.state, "inputs") else ["text"])
        prewarm_output(self.ctx, result)
        await self.usage.record(result.id, result.account, self.ctx.engine.clock.epoch(result.created), result.model,
                          result.cost)
        return json_response({"id": result.id, "estimatedCost": {"credits": float(estimate)}})

    def _generation_handler(self, endpoint: str):
        async def handler(request: Request, decision: RequestDecision) -> Response:
            found = await self._keyed_body(request, decision)
            if isinstance(found, Response):
                return found
            key, body = found
            return await self._generate(request, decision, key, endpoint, body)

        handler.__name__ = endpoint
        return handler

    async def _keyed_body(self, request: Request, decision: RequestDecision):
        """(the caller's key, the JSON body), or Runway's error (auth, version header, body)."""
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        body = await self._body(request)
        return body if isinstance(body, Response) else (key, body)

    async def _body(self, request: Request):
        try:
            return await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            if exc.status == 413:
                return wire.error(413, exc.message)
            return wire.error(400, "Validation of body failed",
                              issues=[{"code": "invalid_json", "path": [], "message": exc.message}])

    async def _generate(self, request: Request, decision: RequestDecision, key: str, endpoint: str,
                        body) -> Response:
        engine = self.ctx.engine
        now = engine.clock.now()
        model = body.get("model") if isinstance(body, dict) else None
        behaviour = decision.assignment.profile.resolve(self.name, model if isinstance(model, str) else None)
        found = generation.validate(endpoint, body, await self.uploads.finder(body, key, now), behaviour.fps,
                                    lambda kind, ident: self.personas.status(key, kind, ident, now))
        if isinstance(found, list):
            return wire.error(400, "Validation of body failed", issues=found)
        data = {"createdAt": wire.iso(engine.clock.epoch()), "in": found.inputs, "k": found.kind,
                "n": found.outputs, **found.data}
        if found.estimate != found.credits:
            data["est"] = found.estimate
        draft = body.get("draftTaskId")
        if draft is not None:
            source = await engine.get(self.name, draft) if isinstance(draft, str) else None
            if source is None or source.account != key or not (source.data or {}).get("draft"):
                return wire.error(400, "Validation of body failed", issues=[generation.custom(
                    ["draftTaskId"], "draftTaskId must name a finished seedance2_5 draft task of yours")])
        result = await engine.submit(
            JobRequest(provider=self.name, model=found.model, account=key, kind=endpoint, make_id=new_task_id,
                       cost=found.credits, output=found.output, data=data, usage=generation.usage_of(found)),
            decision.assignment, queue_when_busy=True)
        request.state.inputs = found.inputs
        return await self._created(request, result, found.estimate)

    # -- Model Router ---------------------------------------------------------------------------------------

    def _routed_handler(self, kind: str):
        async def handler(request: Request, decision: RequestDecision) -> Response:
            found = await self._keyed_body(request, decision)
            if isinstance(found, Response):
                return found
            key, body = found
            engine = self.ctx.engine
            now = engine.clock.now()
            checker = generation.Checker("", "", {}, await self.uploads.finder(body, key, now))
            issues = router.input_issues(kind, body, checker.uri)
            if issues:
                return wire.error(400, "Validation of body failed", issues=issues)
            config = self.routers.find(key, body["configId"])
            if config is None:
                return wire.error(404, "Router config not found.")
            found = router.route(kind, config, body["input"], decision.behaviour.fps)
            stamp = {"id": new_task_id(self._upload_rng), "requestId": new_task_id(self._upload_rng),
                     "createdAt": wire.iso(engine.clock.epoch())}
            if isinstance(found, dict):
                config.requests.appendleft({**stamp, **found})
                return wire.error(400, "No eligible model for this request.", reason=found["reason"])
            gen = found.generation
            result = await engine.submit(
                JobRequest(provider=self.name, model=gen.model, account=key, kind=gen.endpoint,
                           make_id=new_task_id, cost=gen.credits, output=gen.output, usage=generation.usage_of(gen),
                           data={"createdAt": stamp["createdAt"], "in": gen.inputs, "k": gen.kind,
                                 "n": gen.outputs}),
                decision.assignment, queue_when_busy=True)
            request.state.inputs = gen.inputs
            created = await self._created(request, result, gen.estimate)
            if not isinstance(result, Job):
                return created
            config.requests.appendleft({**stamp, **found.record, "taskId": result.id})
            resolved = dict(gen.data)
            if kind == "video":
                resolved["duration"] = gen.output.duration
            if kind == "image":
                resolved["aspectRatio"] = body["input"].get("aspectRatio", "1:1")
            if kind == "audio":
                resolved = {"type": body["input"]["type"], "voice": resolved["voice"]}
            return json_response({"id": result.id, "routing": {
                "configId": config.slug, "estimatedCost": {"credits": float(gen.estimate)}, "model": gen.model,
                "provider": "runway", "resolvedInput": resolved, "resolvedSettings": found.resolved}})

        handler.__name__ = f"generate_{kind}"
        return handler

    async def create_router(self, request: Request, decision: RequestDecision) -> Response:
        found = await self._keyed_body(request, decision)
        if isinstance(found, Response):
            return found
        key, body = found
        routers = self.routers.of(key)
        issues = router.check_router(body, True, {r.slug for r in routers.values()})
        if not issues and len(routers) >= router.MAX_ROUTERS:
            issues = [generation.custom([], f"At most {router.MAX_ROUTERS} routers per organization")]
        if issues:
            return wire.error(400, "Validation of body failed", issues=issues)
        stamp = wire.iso(self.ctx.engine.clock.epoch())
        config = router.Router(new_task_id(self._upload_rng), body["slug"], body.get("name") or body["slug"],
                               body.get("description"), router.settings_of(body), stamp, stamp)
        routers[config.id] = config
        return json_response(config.wire())

    def _router_of(self, request: Request, decision: RequestDecision) -> tuple[str, router.Router] | Response:
        """(the caller's key, the caller's router named in the path), or Runway's error."""
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        found = self.routers.find(key, request.path_params["router_id"])
        if found is None:
            return wire.error(404, "Router not found.")
        return key, found

    async def get_router(self, request: Request, decision: RequestDecision) -> Response:
        found = self._router_of(request, decision)
        return found if isinstance(found, Response) else json_response(found[1].wire())

    async def update_router(self, request: Request, decision: RequestDecision) -> Response:
        found = self._router_of(request, decision)
        if isinstance(found, Response):
            return found
        found = found[1]
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        issues = router.check_router(body, False, set())
        if issues:
            return wire.error(400, "Validation of body failed", issues=issues)
        for name in ("name", "description"):
            if body.get(name) is not None:
                setattr(found, name, body[name])
        if body.get("settings") is not None:
            found.settings = router.settings_of(body)
        found.version += 1
        found.updated = wire.iso(self.ctx.engine.clock.epoch())
        return json_response(found.wire())

    async def delete_router(self, request: Request, decision: RequestDecision) -> Response:
        found = self._router_of(request, decision)
        if isinstance(found, Response):
            return found
        key, config = found
        self.routers.of(key).pop(config.id, None)
        return no_content()

    def _page(self, request: Request, items: list) -> Response:
        raw_limit, cursor = request.query_params.get("limit"), request.query_params.get("cursor", "0")
        if raw_limit is None or not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            return wire.error(400, "Validation of query failed", issues=[generation.custom(
                ["limit"], "limit must be an integer from 1 to 100")])
        start = int(cursor) if cursor.isdigit() and len(cursor) < 10 else 0
        end = start + int(raw_limit)
        return json_response({"data": items[start:end], "nextCursor": str(end) if end < len(items) else None})

    async def list_routers(self, request: Request, decision: RequestDecision) -> Response:
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        return self._page(request, [r.wire() for r in reversed(self.routers.of(key).values())])

    async def router_requests(self, request: Request, decision: RequestDecision) -> Response:
        found = self._router_of(request, decision)
        if isinstance(found, Response):
            return found
        return self._page(request, list(found[1].requests))

    # -- workflows ------------------------------------------------------------------------------------------

    async def list_workflows(self, request: Request, decision: RequestDecision) -> Response:
        key = self._check_headers(request, decision)
        return key if isinstance(key, Response) else json_response(workflows.listing())

    async def get_workflow(self, request: Request, decision: RequestDecision) -> Response:
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        found = workflows.BY_ID.get(request.path_params["workflow_id"])
        return json_response(found.wire()) if found else wire.error(404, "Workflow not found.")

    async def run_workflow(self, request: Request, decision: RequestDecision) -> Response:
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        flow = workflows.BY_ID.get(request.path_params["workflow_id"])
        if flow is None:
            return wire.error(404, "Workflow not found.")
        try:
            raw = await read_body(request, self.ctx.settings.max_body)
            body = orjson.loads(raw) if raw.strip() else None
        except BodyError as exc:
            return wire.error(exc.status, exc.message)
        except orjson.JSONDecodeError as exc:
            return wire.error(400, "Validation of body failed",
                              issues=[{"code": "invalid_json", "path": [], "message": str(exc)}])
        built = workflows.build(flow, body)
        if isinstance(built, list):
            return wire.error(400, "Validation of body failed", issues=built)
        spec, origin = built
        engine = self.ctx.engine
        now = engine.clock.now()
        behaviour = decision.assignment.profile.resolve(self.name, spec.get("model"))
        found = generation.validate(flow.endpoint, spec, await self.uploads.finder(spec, key, now), behaviour.fps)
        if isinstance(found, list):
            return wire.error(400, "Validation of body failed", issues=workflows.relocate(found, origin))
        result = await engine.submit(
            JobRequest(provider=self.name, model=found.model, account=key, kind=flow.endpoint, make_id=new_task_id,
                       cost=found.credits, output=found.output, usage=generation.usage_of(found),
                       data={"createdAt": wire.iso(engine.clock.epoch()), "in": found.inputs, "k": found.kind,
                             "n": found.outputs, "wf": flow.output_node}),
            decision.assignment, queue_when_busy=True)
        request.state.inputs = found.inputs
        created = await self._created(request, result, found.estimate)
        return json_response({"id": result.id}) if isinstance(result, Job) else created

    async def get_invocation(self, request: Request, decision: RequestDecision) -> Response:
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        job = await self.ctx.engine.get(self.name, request.path_params["invocation_id"])
        if job is None or job.account != key or "wf" not in (job.data or {}):
            return wire.error(404, "Workflow invocation not found.")
        state, progress = job.state(self.ctx.engine.clock.now())
        return json_response(workflows.invocation(job, state, progress, self._output_urls(request, decision, job,
                                                                                          state)))

    def _output_urls(self, request: Request, decision: RequestDecision, job: Job, state: str) -> list[str]:
        if state != SUCCEEDED:
            return []
        origin, ttl = self.origin(request), decision.behaviour.url_ttl
        return [output_url(self.ctx, origin, job, i, ttl) for i in range((job.data or {}).get("n", 1))]

    # -- custom voices, avatars and documents (persona_api.PersonaApi) ------------------------------------

    def new_id(self) -> str:
        return new_task_id(self._upload_rng)

    async def _uri_check(self, key: str, body: Any):
        now = self.ctx.engine.clock.now()
        return generation.Checker("", "", {}, await self.uploads.finder(body, key, now)).uri

    async def create_upload(self, request: Request, decision: RequestDecision) -> Response:
        found = await self._keyed_body(request, decision)
        if isinstance(found, Response):
            return found
        key, body = found
        issues = []
        if not isinstance(body, dict):
            issues.append(generation.invalid_type([], "object", body))
        else:
            filename = body.get("filename")
            if not isinstance(filename, str) or not filename.strip():
                issues.append(generation.invalid_type(["filename"], "string", body.get("filename", None)))
            elif len(filename) > MAX_FILENAME or "/" in filename or "\\" in filename:
                issues.append(generation.custom(["filename"], "Invalid file name"))
            if body.get("type") != "ephemeral":
                issues.append(generation.invalid_value(["type"], ("ephemeral",), body.get("type")))
        if issues:
            return wire.error(400, "Validation of body failed", issues=issues)
        engine = self.ctx.engine
        return json_response(await self.uploads.create(key, body["filename"], engine.clock.now(),
                                                       self._upload_rng, self.origin(request)))

    async def receive_upload(self, request: Request) -> Response:
        try:
            return await self.uploads.receive(request, self.ctx.engine.clock.now())
        except StateUnavailable:  # a plain route (the storage bucket's), outside the endpoint's 503 handling
            return s3_error(503, "ServiceUnavailable", "Please reduce your request rate.")

    async def organization_usage(self, request: Request, decision: RequestDecision) -> Response:
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        try:
            raw_bytes = await read_body(request, self.ctx.settings.max_body)
            raw = orjson.loads(raw_bytes) if raw_bytes.strip() else None
        except (BodyError, orjson.JSONDecodeError) as exc:
            return wire.error(400, "Validation of body failed",
                              issues=[{"code": "invalid_json", "path": [], "message": str(exc)}])
        engine = self.ctx.engine
        today = datetime.datetime.fromtimestamp(engine.clock.epoch(), datetime.timezone.utc).date()
        span = parse_range(raw, today)
        if isinstance(span, list):
            return wire.error(400, "Validation of body failed", issues=span)
        now = engine.clock.now()

        def charged(job_id: str) -> float | None:
            job = engine.cached(job_id)
            if job is None:
                return None
            state, _ = job.state(now)
            return float(wire.charged(job, state)) if state in (SUCCEEDED, FAILED, CANCELLED) else job.cost

        return json_response(await self.usage.report(key, span[0], span[1], charged))

    async def _task_of(self, request: Request, decision: RequestDecision) -> Job | Response:
        """The caller's task named in the path, or Runway's error (auth, version, 404 for others' tasks)."""
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        job = await self.ctx.engine.get(self.name, request.path_params["task_id"])
        if job is None or job.account != key or "wf" in (job.data or {}):
            return wire.error(404, "Task not found.")
        return job

    async def get_task(self, request: Request, decision: RequestDecision) -> Response:
        # _task_of's checks written out here: the status poll is the hot path, and its await layer costs it
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        engine = self.ctx.engine
        job = await engine.get(self.name, request.path_params["task_id"])
        if job is None or job.account != key or "wf" in (job.data or {}):
            return wire.error(404, "Task not found.")
        state, progress = job.state(engine.clock.now())
        if state in (THROTTLED, QUEUED, RUNNING):  # no output links: the same answer, mostly kept
            return wire.unfinished_task(job, state, progress)
        return json_response(wire.task(job, state, progress, self._output_urls(request, decision, job, state)))

    async def delete_task(self, request: Request, decision: RequestDecision) -> Response:
        job = await self._task_of(request, decision)
        if isinstance(job, Response):
            return job
        engine = self.ctx.engine
        state, _ = job.state(engine.clock.now())
        if state in (THROTTLED, QUEUED, RUNNING):
            if state != RUNNING:
                job.data = {**(job.data or {}), "refunded": True}
                await engine.save(job)
            await engine.cancel(job, refund=state != RUNNING)
        else:
            await engine.forget(job)
        return no_content()

    async def organization(self, request: Request, decision: RequestDecision) -> Response:
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        engine = self.ctx.engine
        now = engine.clock.now()
        scope = await engine.usage(self.name, key)
        limits = decision.behaviour.limits
        budget = limits.credits if limits.credits is not None else UNLIMITED_CREDITS
        models = {}
        usage = {}
        for name in dict.fromkeys([*generation.all_models(), *MODELS]):
            model_limits = decision.assignment.profile.resolve(self.name, name).limits
            models[name] = {"maxConcurrentGenerations": model_limits.concurrent_jobs,
                            "maxDailyGenerations": model_limits.daily_jobs}
            usage[name] = {"dailyGenerations": scope.daily_for(name, now)}
        return json_response({
            "creditBalance": max(int(budget - scope.spent), 0),
            "tier": {"maxMonthlyCreditSpend": int(budget), "models": models},
            "usage": {"models": usage},
        })
