"""Wan on DashScope (``dashscope.VideoSynthesis``: async_call, fetch, wait, cancel, list) under ``/api/v1``."""

from __future__ import annotations

import math
from collections import deque
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import QUEUED, SUCCEEDED, THROTTLED, Job
from ...engine.limits import OverLimit
from ...engine.rng import stream, uuid4_text
from ...media.render import VideoSpec
from ...media.routes import prewarm_output
from ...web.body import BodyError, read_json
from ...web.responses import json_response
from ...web.values import parse_int
from ..base import Dialect
from . import responses as wire
from .models import IMAGE2VIDEO, MAX_SHOWN_PROMPT, VIDEO_GENERATION, Invalid, Params, validate

KEY_PREFIX = "sk-"
TASK_KEPT = 86400.0
MAX_PAGE_SIZE = 100
MAX_PAGE_NO = 10_000
LIST_STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED")


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


class WanDialect(Dialect):
    name = "wan"
    title = "Wan (Alibaba DashScope)"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._request_ids = stream(ctx.engine.seed, self.name, "request_ids")
        self._max_tasks = ctx.settings.max_jobs
        self._tasks: dict[str, deque[str]] = {}  # account -> task ids, oldest first

    # -- the dialect contract -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            self.route(f"/api/v1/services/aigc/{VIDEO_GENERATION}/video-synthesis", self.create_video, ["POST"],
                       "create"),
            self.route(f"/api/v1/services/aigc/{IMAGE2VIDEO}/video-synthesis", self.create_keyframes, ["POST"],
                       "create"),
            self.route("/api/v1/tasks", self.list_tasks, ["GET"], "list"),
            self.route("/api/v1/tasks/{task_id}", self.get_task, ["GET"], "status"),
            self.route("/api/v1/tasks/{task_id}/cancel", self.cancel_task, ["POST"], "cancel"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"base_http_api_url": f"{origin}/api/v1"}

    def owns(self, path: str) -> bool:
        return path.startswith("/api/v1/") or path == "/api/v1"

    def credential(self, request: Request) -> str | None:
        header = request.headers.get("authorization")
        if header and header[:7].lower() == "bearer ":
            return header[7:].strip() or None
        return None

    def request_id(self) -> str:
        return uuid4_text(self._request_ids)

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        return wire.error(self.request_id(), status, wire.code_for_status(status), message)

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        rid = self.request_id()
        if over.limit == "credits":
            return wire.error(rid, 400, "Arrearage",
                              "Access denied, plesase make sure your account is in good standing.")
        if over.limit == "rate":
            return wire.error(rid, 429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again "
                                                                "later.")
        if over.limit == "daily":
            return wire.error(rid, 429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase "
                                                                      "your quota limit.")
        if over.limit == "concurrency":
            return wire.error(rid, 429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase "
                                                                      "your quota limit.")
        return wire.error(rid, 429, "Throttling", "Requests throttling triggered.")

    def reset(self) -> None:
        self._request_ids = stream(self.ctx.engine.seed, self.name, "request_ids")
        self._tasks.clear()

    # -- auth -----------------------------------------------------------------------------------------------

    def _authenticate(self, request: Request, decision: RequestDecision) -> str | Response:
        key = decision.key
        if key is None:
            return wire.error(self.request_id(), 401, "InvalidApiKey", "No API-key provided.")
        allowed = decision.assignment.profile.auth(self.name).get("keys")
        if (key not in allowed) if allowed else (not key.startswith(KEY_PREFIX) or any(c.isspace() for c in key)):
            return wire.error(self.request_id(), 401, "InvalidApiKey", "Invalid API-key provided.")
        return key

    # -- create ---------------------------------------------------------------------------------------------

    async def create_video(self, request: Request, decision: RequestDecision) -> Response:
        return await self._create(request, decision, VIDEO_GENERATION)

    async def create_keyframes(self, request: Request, decision: RequestDecision) -> Response:
        return await self._create(request, decision, IMAGE2VIDEO)

    async def _create(self, request: Request, decision: RequestDecision, path: str) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        if request.headers.get("x-dashscope-async", "").lower() != "enable":
            return wire.error(self.request_id(), 403, "AccessDenied",
                              "current user api does not support synchronous calls")
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            if exc.status == 413:
                return wire.error(self.request_id(), 413, "BadRequest.TooLarge", exc.message)
            return wire.error(self.request_id(), 400, "InvalidParameter", exc.message)
        try:
            params = validate(body, path)
        except Invalid as exc:
            return wire.error(self.request_id(), exc.status, exc.code, exc.message)
        model = params.model
        spec = video_spec(*params.size, float(params.duration), model.fps, params.audio)
        engine = self.ctx.engine
        result = engine.submit(
            JobRequest(provider=self.name, model=model.name, account=key, kind=model.kind, make_id=uuid4_text,
                       cost=params.usd, output=spec, data=self._data(params), refund_failures=True,
                       usage={"seconds": params.duration, "resolution": params.tier.lower(), "audio": params.audio}),
            decision.assignment, queue_when_busy=True)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(self.request_id(), 400, "DataInspectionFailed",
                              "Input data may contain inappropriate content.")
        prewarm_output(self.ctx, result)
        tasks = self._tasks.get(key)
        if tasks is None:
            tasks = self._tasks[key] = deque(maxlen=self._max_tasks)
        tasks.append(result.id)
        return json_response({"output": {"task_status": "PENDING", "task_id": result.id},
                              "request_id": self.request_id()})

    def _data(self, params: Params) -> dict[str, Any]:
        width, height = params.size
        data: dict[str, Any] = {"d": params.duration, "t": params.tier, "s": f"{width}*{height}"}
        if params.input_video_seconds:
            data["iv"] = params.input_video_seconds
        if params.prompt:
            data["p"] = params.prompt[:MAX_SHOWN_PROMPT]
            if params.prompt_extend:
                data["x"] = 1
        name = params.model.name
        if not name.startswith(("wan2.2", "wanx", "wan2.1")):
            data["n"] = 1  # wan2.5 and later report usage by seconds and resolution tier
        return data

    # -- queries --------------------------------------------------------------------------------------------

    def _own(self, request: Request, key: str) -> Job | None:
        """The caller's task; a task_id is valid for 24 hours, then DashScope no longer knows it."""
        engine = self.ctx.engine
        job = engine.get(self.name, request.path_params["task_id"])
        if job is None or job.account != key or engine.clock.now() - job.created > TASK_KEPT:
            return None
        return job

    async def get_task(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        rid = self.request_id()
        job = self._own(request, key)
        if job is None:  # DashScope answers 200 UNKNOWN for ids it does not know (or the key may not see)
            return json_response(wire.unknown(rid, request.path_params["task_id"][:200]))
        clock = self.ctx.engine.clock
        state, _ = job.state(clock.now())
        url = None
        if state == SUCCEEDED:
            url = self.ctx.links.url(self.origin(request), job.id, 0, decision.behaviour.url_ttl)
        return json_response(wire.task(rid, job, state, clock.epoch, url))

    async def cancel_task(self, request: Request, decision: RequestDecision) -> Response:
        """Only PENDING tasks can be canceled."""
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        job = self._own(request, key)
        engine = self.ctx.engine
        if job is None or job.state(engine.clock.now())[0] not in (THROTTLED, QUEUED):
            return wire.error(self.request_id(), 400, "UnsupportedOperation",
                              "Failed to cancel the task, please confirm that the task exists and its status is "
                              "PENDING.")
        engine.limits.refund(engine.scope(self.name, job.account), job.cost)
        engine.cancel(job)
        return json_response({"request_id": self.request_id()})

    async def list_tasks(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        query = request.query_params
        numbers = []
        for name, default, maximum in (("page_no", 1, MAX_PAGE_NO), ("page_size", 10, MAX_PAGE_SIZE)):
            raw = query.get(name)
            value = default if raw in (None, "") else parse_int(raw, 1, maximum)
            if value is None:
                return wire.error(self.request_id(), 400, "InvalidParameter",
                                  f"{name} must be an integer between 1 and {maximum}.")
            numbers.append(value)
        page, size = numbers
        status = query.get("status")
        if status is not None and status not in LIST_STATUSES:
            return wire.error(self.request_id(), 400, "InvalidParameter",
                              "status must be one of " + ", ".join(LIST_STATUSES) + ".")
        window = []
        for name in ("start_time", "end_time"):
            raw = query.get(name)
            if raw is not None and (len(raw) != 14 or parse_int(raw, 0, 10**14) is None):
                return wire.error(self.request_id(), 400, "InvalidParameter",
                                  f"{name} must be a time like 20230420000000.")
            window.append(raw)
        model = query.get("model_name")
        engine = self.ctx.engine
        clock = engine.clock
        now = clock.now()
        skip = (page - 1) * size
        total = 0
        tasks: list[dict[str, Any]] = []
        for task_id in reversed(self._tasks.get(key, ())):
            job = engine.store.get(task_id)
            if job is None or (model and job.model != model):
                continue
            state, _ = job.state(now)
            if status is not None and wire.STATUS[state] != status:
                continue
            stamp = wire.china_time(clock.epoch(job.created))
            compact = stamp[:19].replace("-", "").replace(" ", "").replace(":", "")
            if (window[0] and compact < window[0]) or (window[1] and compact > window[1]):
                continue
            total += 1
            if total > skip and len(tasks) < size:
                tasks.append(wire.list_item(job, state, clock.epoch))
        # flat, with the tasks under "tasks": what dashscope 2.x's JobList.from_payload reads
        return json_response({"request_id": self.request_id(), "tasks": tasks, "total": total,
                              "total_page": math.ceil(total / size), "page_no": page, "page_size": size})
