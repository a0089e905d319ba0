"""Wan on DashScope (``dashscope.VideoSynthesis``: async_call, fetch, wait, cancel, list) under ``/api/v1``."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import QUEUED, SUCCEEDED, THROTTLED, Job
from ...engine.limits import OverLimit
from ...engine.rng import UuidStream, stream, uuid4_text
from ...media.imagesize import image_size
from ...media.render import VideoSpec
from ...media.routes import prewarm_output
from ...state.tables import TaskIndex
from ...web.body import BodyError, read_json
from ...web.multipart import MultipartError, MultipartReader, boundary_of
from ...web.responses import EncodedJSON, json_response
from ...web.values import has_whitespace, parse_int
from ..base import Dialect
from ..common import bearer_key
from . import responses as wire
from .models import IMAGE2VIDEO, MAX_SHOWN_PROMPT, MODELS, VIDEO_GENERATION, Invalid, Params, validate
from .uploads import (
    HEAD_BYTES,
    MAX_FILE_BYTES,
    POLICY_TTL,
    Policy,
    Upload,
    UploadStore,
    object_key,
    oss_urls,
)

KEY_PREFIX = "sk-"
TASK_KEPT = 86400.0
OUTPUT_CACHE = 4096
MAX_PAGE_SIZE = 100
MAX_PAGE_NO = 10_000
UPLOAD_PATH = "/api/v1/uploads/oss"
LIST_STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED")


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


class WanDialect(Dialect):
    name = "wan"
    title = "Wan (Alibaba DashScope)"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._request_ids = UuidStream(ctx.engine.seed, self.name, "request_ids")
        self._outputs: dict[tuple, bytes] = {}  # unfinished tasks' encoded outputs (bounded)
        # each account's task ids, shared by every replica (the list endpoint)
        self._tasks = TaskIndex(ctx.state, "wan:tasks", ctx.settings.max_jobs, ctx.settings.retention)
        self._upload_ids = stream(ctx.engine.seed, self.name, "uploads")
        self.uploads = UploadStore(ctx.state)

    # -- the dialect contract -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            self.route(f"/api/v1/services/aigc/{VIDEO_GENERATION}/video-synthesis", self.create_video, ["POST"],
                       "create"),
            self.route(f"/api/v1/services/aigc/{IMAGE2VIDEO}/video-synthesis", self.create_keyframes, ["POST"],
                       "create"),
            self.route("/api/v1/uploads", self.upload_policy, ["GET"], "status"),
            self.route(UPLOAD_PATH, self.upload_file, ["POST"], "create"),
            self.route("/api/v1/tasks", self.list_tasks, ["GET"], "list"),
            self.route("/api/v1/tasks/{task_id}", self.get_task, ["GET"], "status"),
            self.route("/api/v1/tasks/{task_id}/cancel", self.cancel_task, ["POST"], "cancel"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"base_http_api_url": f"{origin}/api/v1"}

    def owns(self, path: str) -> bool:
        return path.startswith("/api/v1/") or path == "/api/v1"

    def credential(self, request: Request) -> str | None:
        return bearer_key(request)

    def request_id(self) -> str:
        return self._request_ids.next()

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
        # submission_rate (the documented "RPS limit for task submission") and anything else
        return wire.error(rid, 429, "Throttling", "Requests throttling triggered.")

    def forget(self) -> None:
        self._request_ids = UuidStream(self.ctx.engine.seed, self.name, "request_ids")
        self._upload_ids = stream(self.ctx.engine.seed, self.name, "uploads")
        self._outputs.clear()

    async def reset(self) -> None:
        await self._tasks.clear()
        await self.uploads.clear()

    # -- auth -----------------------------------------------------------------------------------------------

    def _authenticate(self, request: Request, decision: RequestDecision) -> str | Response:
        key = decision.key
        if key is None:
            return wire.error(self.request_id(), 401, "InvalidApiKey", "No API-key provided.")
        allowed = decision.assignment.profile.auth(self.name).get("keys")
        if (key not in allowed) if allowed else (not key.startswith(KEY_PREFIX) or has_whitespace(key)):
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
        urls = oss_urls(body.get("input")) if isinstance(body, dict) else []
        uploaded = await self.uploads.get_many([u[len("oss://"):] for u in urls or ()])
        try:
            params = validate(body, path, lambda url: self._uploaded_image(key, url, uploaded))
        except Invalid as exc:
            return wire.error(self.request_id(), exc.status, exc.code, exc.message)
        refused = self._check_oss(request, key, urls, uploaded)
        if refused is not None:
            return refused
        model = params.model
        spec = video_spec(*params.size, float(params.duration), model.fps, params.audio)
        engine = self.ctx.engine
        result = await engine.submit(
            JobRequest(provider=self.name, model=model.name, account=key, kind=model.kind, make_id=uuid4_text,
                       cost=params.usd, output=spec, data=self._data(params), refund_failures=True,
                       usage={"seconds": params.duration, "resolution": params.tier.lower(), "audio": params.audio},
                       limit_scope=model.name),  # DashScope's submission RPS and concurrent tasks are per model
            decision.assignment, queue_when_busy=True)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(self.request_id(), 400, "DataInspectionFailed",
                              "Input data may contain inappropriate content.")
        prewarm_output(self.ctx, result)
        await self._tasks.add(key, result.id)
        return json_response({"output": {"task_status": "PENDING", "task_id": result.id},
                              "request_id": self.request_id()})

    def _uploaded_image(self, key: str, url: str, uploaded: dict[str, Upload]) -> tuple[int, int] | None:
        """The pixel size of an image this key uploaded (read at upload), so that the output follows its
        orientation as it does an inline image's."""
        upload = uploaded.get(url[len("oss://"):])
        return upload.image if upload is not None and upload.account == key else None

    def _check_oss(self, request: Request, key: str, urls: list[str] | None, uploaded: dict[str, Upload]
                   ) -> Response | None:
        """``oss://`` inputs (``urls``, found in the body's input) must name files this key uploaded
        (``uploaded``), and be sent with the resolve header."""
        if urls is None:
            return wire.error(self.request_id(), 400, "InvalidParameter", "Too many oss:// URLs in input.")
        if not urls:
            return None
        if request.headers.get("x-dashscope-ossresourceresolve", "").lower() != "enable":
            return wire.error(self.request_id(), 400, "InvalidParameter.DataInspection",
                              "The media format is not supported or incorrect for the data inspection: oss:// URLs "
                              "need the X-DashScope-OssResourceResolve: enable header.")
        for url in urls:
            upload = uploaded.get(url[len("oss://"):])
            if upload is None or upload.account != key:
                return wire.error(self.request_id(), 400, "InvalidParameter.DataInspection",
                                  "Download the media resource timed out during the data inspection process.")
        return None

    # -- uploads (dashscope's file:// inputs) --------------------------------------------------------------

    async def upload_policy(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        query = request.query_params
        if query.get("action") != "getPolicy":
            return wire.error(self.request_id(), 400, "InvalidParameter", "action must be getPolicy.")
        model = query.get("model")
        if not model:
            return wire.error(self.request_id(), 400, "InvalidParameter", 'Required parameter "model" missing '
                                                                          "from request.")
        if model not in MODELS:
            return wire.error(self.request_id(), 400, "InvalidParameter", "Model not exist.")
        now = self.ctx.engine.clock.now()
        rng = self._upload_ids
        dirs: dict[str, str] = {}

        def new_access_key(r) -> str:  # replicas share the seed: a key another one handed out is drawn again
            access = "LTAI" + "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
                                      for _ in range(20))
            dirs[access] = f"dashscope-instant/{uuid4_text(r).replace('-', '')}/{uuid4_text(r)}"
            return access

        access, policy = await self.uploads.grant_new(new_access_key, rng,
                                                      lambda made: Policy(key, dirs[made], now + POLICY_TTL))
        upload_dir = policy.upload_dir
        output = {"policy": uuid4_text(rng).replace("-", ""), "signature": uuid4_text(rng).replace("-", "")[:28],
                  "upload_dir": upload_dir, "upload_host": self.origin(request) + UPLOAD_PATH,
                  "expire_in_seconds": int(POLICY_TTL), "max_file_size_mb": MAX_FILE_BYTES // 2**20,
                  "capacity_limit_mb": 999_999_999, "oss_access_key_id": access, "x_oss_object_acl": "private",
                  "x_oss_forbid_overwrite": "true"}
        return json_response({"request_id": self.request_id(), "data": output})

    async def upload_file(self, request: Request, decision: RequestDecision) -> Response:
        """The OSS PostObject of the policy's form fields and one ``file`` part; 200 on success."""
        try:
            reader = MultipartReader(boundary_of(request.headers.get("content-type")), keep_head=HEAD_BYTES)
            async for chunk in request.stream():
                reader.feed(chunk)
                if sum(part.size for part in reader.parts if part.filename is not None) > MAX_FILE_BYTES:
                    return wire.error(self.request_id(), 413, "BadRequest.TooLarge",
                                      f"The file is larger than {MAX_FILE_BYTES // 2**20}MB.")
            parts = reader.finish()
        except MultipartError as exc:
            return wire.error(self.request_id(), 400, "InvalidParameter", str(exc))
        fields = {p.name: p.value.decode("utf-8", "replace") for p in parts if p.filename is None}
        files = [p for p in parts if p.filename is not None and p.name == "file"]
        policy = await self.uploads.policy(fields.get("OSSAccessKeyId", ""), self.ctx.engine.clock.now())
        if policy is None or not fields.get("policy") or not fields.get("Signature"):
            return wire.error(self.request_id(), 403, "AccessDenied", "Invalid according to Policy: the upload "
                                                                      "policy is unknown or has expired.")
        name = object_key(fields.get("key", ""), policy)
        if name is None:
            return wire.error(self.request_id(), 400, "InvalidParameter", "key must name a file in the policy's "
                                                                          "upload_dir.")
        if len(files) != 1:
            return wire.error(self.request_id(), 400, "InvalidParameter", "The form must hold one file part "
                                                                          "named file.")
        part = files[0]
        content_type = fields.get("x-oss-content-type") or part.content_type or "application/octet-stream"
        upload = Upload(policy.account, part.size, content_type[:200], image_size(bytes(part.head)))
        if not await self.uploads.add(name, upload):
            return wire.error(self.request_id(), 409, "FileAlreadyExists", "The object you specified already "
                                                                           "exists and can not be overwritten.")
        return Response(status_code=200)

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

    async def _own(self, request: Request, key: str) -> Job | None:
        """The caller's task; a task_id is valid for 24 hours, then DashScope no longer knows it."""
        engine = self.ctx.engine
        job = await engine.get(self.name, request.path_params["task_id"])
        if job is None or job.account != key or engine.clock.now() - job.created > TASK_KEPT:
            return None
        return job

    async def get_task(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        rid = self.request_id()
        job = await self._own(request, key)
        if job is None:  # DashScope answers 200 UNKNOWN for ids it does not know (or the key may not see)
            return json_response(wire.unknown(rid, request.path_params["task_id"][:200]))
        clock = self.ctx.engine.clock
        state, _ = job.state(clock.now())
        if state != SUCCEEDED:
            # An unsigned task's output reads the same poll after poll: kept encoded, the request id put around it
            key = (job.id, state, job.created, job.started, job.ends)
            cache = self._outputs
            out = cache.get(key)
            if out is None:
                if len(cache) >= OUTPUT_CACHE:
                    cache.clear()
                out = cache[key] = orjson.dumps(wire.output(job, state, clock.epoch, None))
            return EncodedJSON(b'{"request_id":"' + rid.encode() + b'","output":' + out + b"}")
        # OSS signs the result once, when the task ends: valid 24 h from then, the same link at every poll
        expires = int(clock.epoch(job.ends) + decision.behaviour.url_ttl)
        url = self.ctx.links.url_until(self.origin(request), job.id, 0, expires)
        return json_response(wire.task(rid, job, state, clock.epoch, url))

    async def cancel_task(self, request: Request, decision: RequestDecision) -> Response:
        """Only PENDING tasks can be canceled."""
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        job = await self._own(request, key)
        engine = self.ctx.engine
        if job is None or job.state(engine.clock.now())[0] not in (THROTTLED, QUEUED):
            return wire.error(self.request_id(), 400, "UnsupportedOperation",
                              "Failed to cancel the task, please confirm that the task exists and its status is "
                              "PENDING.")
        await engine.cancel(job, refund=True)
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
        for task_id in await self._tasks.newest(key):
            job = await engine.find(task_id)
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
