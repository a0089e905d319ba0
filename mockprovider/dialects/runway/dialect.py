"""Runway's API (runwayml 5.x): image_to_video, text_to_video, tasks and organization."""

from __future__ import annotations

import uuid
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...engine.limits import OverLimit
from ...media.render import VideoSpec
from ...media.routes import prewarm_output
from ...web.body import BodyError, read_json
from ...web.responses import json_response, no_content
from ..base import Dialect
from . import responses as wire
from .models import IMAGE_TO_VIDEO, MODELS, TEXT_TO_VIDEO, validate

API_VERSION = "2024-11-06"
KEY_PREFIX = "key_"
UNLIMITED_CREDITS = 1_000_000


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


def new_task_id(rng) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class RunwayDialect(Dialect):
    name = "runway"
    title = "Runway"

    def routes(self) -> list[BaseRoute]:
        return [
            self.route("/v1/image_to_video", self.image_to_video, ["POST"], "create"),
            self.route("/v1/text_to_video", self.text_to_video, ["POST"], "create"),
            self.route("/v1/tasks/{task_id}", self.get_task, ["GET"], "status"),
            self.route("/v1/tasks/{task_id}", self.delete_task, ["DELETE"], "cancel"),
            self.route("/v1/organization", self.organization, ["GET"], "account"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"RunwayML(base_url=...)": origin}

    def owns(self, path: str) -> bool:
        return path.startswith(("/v1/tasks", "/v1/image_to_video", "/v1/text_to_video", "/v1/organization"))

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
        params = validate(body, endpoint)
        if isinstance(params, list):
            return wire.error(400, "Validation of body failed", issues=params)
        behaviour = decision.assignment.profile.resolve(self.name, params.model.name)
        width, height = params.size
        spec = video_spec(width, height, float(params.duration), behaviour.fps, params.audio)
        result = self.ctx.engine.submit(
            JobRequest(provider=self.name, model=params.model.name, account=key, kind=endpoint,
                       make_id=new_task_id, cost=params.credits, output=spec,
                       usage={"seconds": params.duration, "audio": params.audio,
                              "resolution": f"{min(width, height)}p"},
                       data={"createdAt": wire.iso(self.ctx.engine.clock.epoch())}),
            decision.assignment, queue_when_busy=True)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(400, "Your prompt was flagged by our content moderation system.",
                              failureCode="INPUT_PREPROCESSING.SAFETY.TEXT")
        prewarm_output(self.ctx, result)
        return json_response({"id": result.id, "estimatedCost": {"credits": float(result.cost)}})

    def _task_of(self, request: Request, decision: RequestDecision) -> Job | Response:
        """The caller's task named in the path, or Runway's error (auth, version, 404 for others' tasks)."""
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        job = self.ctx.engine.get(self.name, request.path_params["task_id"])
        if job is None or job.account != key:
            return wire.error(404, "Task not found.")
        return job

    async def get_task(self, request: Request, decision: RequestDecision) -> Response:
        job = self._task_of(request, decision)
        if isinstance(job, Response):
            return job
        engine = self.ctx.engine
        state, progress = job.state(engine.clock.now())
        urls: list[str] = []
        if state == SUCCEEDED:
            origin = self.origin(request)
            urls = [self.ctx.links.url(origin, job.id, 0, decision.behaviour.url_ttl)]
        return json_response(wire.task(job, state, progress, urls))

    async def delete_task(self, request: Request, decision: RequestDecision) -> Response:
        job = self._task_of(request, decision)
        if isinstance(job, Response):
            return job
        engine = self.ctx.engine
        state, _ = job.state(engine.clock.now())
        if state in (THROTTLED, QUEUED, RUNNING):
            if state != RUNNING:
                job.data = {**(job.data or {}), "refunded": True}
                engine.limits.refund(engine.scope(self.name, job.account), job.cost)
            engine.cancel(job)
        else:
            engine.store.remove(job.id)
        return no_content()

    async def organization(self, request: Request, decision: RequestDecision) -> Response:
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        engine = self.ctx.engine
        now = engine.clock.now()
        scope = engine.scope(self.name, key)
        limits = decision.behaviour.limits
        budget = limits.credits if limits.credits is not None else UNLIMITED_CREDITS
        models = {}
        usage = {}
        for name in MODELS:
            model_limits = decision.assignment.profile.resolve(self.name, name).limits
            models[name] = {"maxConcurrentGenerations": model_limits.concurrent_jobs,
                            "maxDailyGenerations": model_limits.daily_jobs}
            usage[name] = {"dailyGenerations": scope.daily_for(name, now)}
        return json_response({
            "creditBalance": max(int(budget - scope.spent), 0),
            "tier": {"maxMonthlyCreditSpend": int(budget), "models": models},
            "usage": {"models": usage},
        })
