"""MiniMax's video generation API (v1, Hailuo): create, query, the files that hold the outputs and the ones callers
upload (upload, retrieve, retrieve_content, list, delete), the token plan's remaining quota, and callbacks with the
challenge handshake; and the v2 task API of MiniMax-H3 / H3-Max (create, query, cancel or delete)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute

from ...engine.behaviour import Resolved
from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import CANCELLED, FAILED, RUNNING, SUCCEEDED, Job
from ...engine.limits import DAY, OverLimit
from ...engine.rng import stream
from ...media.render import VideoSpec
from ...media.routes import job_output, mp4_response, prewarm_output
from ...state.tables import TaskIndex, TooLarge
from ...web.body import BodyError, read_json
from ...web.multipart import MultipartError, MultipartReader, boundary_of
from ...web.responses import json_response
from ...web.values import has_whitespace, parse_int, whole_number
from ...webhooks import Handshake, policy_for
from ..base import Dialect
from ..common import bearer_key, model_create_rate
from . import responses as wire
from .models import FPS, MODELS, Invalid, validate
from .uploads import (
    FILE_IDS,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_TOTAL_BYTES,
    UPLOAD_FORMATS,
    Uploaded,
    check_upload,
    clean_name,
    max_bytes,
)
from .v2 import validate_v2

FILE_ENDPOINTS = frozenset({"retrieve", "retrieve_content", "list", "delete", "upload", "content"})

PURPOSES = ("video_generation", *UPLOAD_FORMATS, "t2a_async")
MAX_LISTED_FILES = 1000
LIST_SLACK = 64  # listed ids whose task expired or whose file was deleted, read past
UPLOAD_LINK = 0  # the output index an uploaded file's download link is signed for
MAX_ID_DIGITS = 24
CHALLENGE_TIMEOUT = 3.0  # real seconds the receiver has to echo the challenge (a network round trip: not scaled)


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=FPS)


@lru_cache(maxsize=256)
def video_spec_v2(width: int, height: int, duration: float) -> VideoSpec:
    """H3 renders native stereo audio [2nd]: the mock's MP4 carries a sound track."""
    return VideoSpec(width=width, height=height, duration=duration, fps=FPS, audio=True)


def new_task_id(rng) -> str:
    return str(rng.randrange(*wire.TASK_IDS))


def _is_v2(job: Job) -> bool:
    return bool((job.data or {}).get("v2"))


def _file_id(raw: Any) -> int | None:
    if isinstance(raw, str):
        return parse_int(raw, 0, 10**MAX_ID_DIGITS)
    return whole_number(raw, 0, 10**MAX_ID_DIGITS)


class MiniMaxDialect(Dialect):
    name = "minimax"
    title = "MiniMax Hailuo"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        # each account's task ids, shared by every replica (the files list)
        self._listed = TaskIndex(ctx.state, "minimax:tasks", ctx.settings.max_jobs, ctx.settings.retention)
        self._challenges = stream(ctx.engine.seed, self.name, "challenges")
        self._file_ids = stream(ctx.engine.seed, self.name, "file_ids")
        # uploaded files: metadata (owned by the account, for lists) and bytes, in tables every replica sees
        self._uploads = ctx.state.table("minimax:uploads", MAX_FILES)
        self._contents = ctx.state.table("minimax:contents", MAX_FILES, max_bytes=MAX_TOTAL_BYTES,
                                         max_value=MAX_FILE_BYTES)
        ctx.webhooks.register(self.name, self._updates)

    # -- the dialect contract -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            self.route("/v1/video_generation", self.create, ["POST"], "create"),
            self.route("/v1/query/video_generation", self.query, ["GET"], "status"),
            self.route("/v1/files/retrieve", self.retrieve_file, ["GET"], "other"),
            self.route("/v1/files/retrieve_content", self.retrieve_content, ["GET"], "download"),
            self.route("/v1/files/list", self.list_files, ["GET"], "list"),
            self.route("/v1/files/delete", self.delete_file, ["POST"], "other"),
            self.route("/v1/files/upload", self.upload_file, ["POST"], "create"),
            self.route("/v1/files/content/{file_id}", self.uploaded_content, ["GET", "HEAD"], "download"),
            self.route("/v1/token_plan/remains", self.remains, ["GET"], "account"),
            self.route("/v1/api/openplatform/coding_plan/remains", self.remains, ["GET"], "account"),
            self.route("/v2/video_generation", self.create_v2, ["POST"], "create"),
            self.route("/v2/video_generation/{task_id}", self.delete_v2, ["DELETE"], "cancel"),
            self.route("/v2/query/video_generation/{task_id}", self.query_v2, ["GET"], "status"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"API host (MINIMAX_API_HOST)": origin}

    def owns(self, path: str) -> bool:
        if path.startswith("/v1/files/"):  # only MiniMax's own endpoints: other providers keep files there too
            return path[len("/v1/files/"):].partition("/")[0] in FILE_ENDPOINTS
        return path.startswith(("/v1/video_generation", "/v1/query/", "/v1/token_plan/", "/v1/api/openplatform/",
                                "/v2/video_generation", "/v2/query/"))

    def credential(self, request: Request) -> str | None:
        return bearer_key(request) or (request.headers.get("x-api-key") or "").strip() or None

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        code = wire.code_for_status(status)
        return wire.error(code, message if injected else None, http=status)

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        if over.limit == "credits":
            return wire.error(1008, task_id="")
        if over.limit == "daily":
            return wire.error(2056, task_id="")
        if over.limit == "capacity":
            return wire.error(1024, task_id="")
        return wire.error(1002, task_id="")

    def forget(self) -> None:
        self._challenges = stream(self.ctx.engine.seed, self.name, "challenges")
        self._file_ids = stream(self.ctx.engine.seed, self.name, "file_ids")

    async def reset(self) -> None:
        await self._listed.clear()
        await self._uploads.clear()
        await self._contents.clear()

    # -- auth -----------------------------------------------------------------------------------------------

    def _authenticate(self, decision: RequestDecision, **fields: Any) -> str | Response:
        key = decision.key
        if key is None or has_whitespace(key):
            return wire.error(1004, **fields)
        allowed = decision.assignment.profile.auth(self.name).get("keys")
        if allowed and key not in allowed:
            return wire.error(2049, **fields)
        return key

    # -- create and query -----------------------------------------------------------------------------------

    async def _admitted(self, request: Request, decision: RequestDecision, validator: Callable[[Any], Any]
                        ) -> tuple[str, Any, Resolved] | Response:
        """A create's key, its body's params (``validator``'s) and its model's behaviour once auth, the body and
        the model's requests-per-minute (MiniMax counts them per model) let it through, else the answer."""
        key = self._authenticate(decision, task_id="")
        if isinstance(key, Response):
            return key
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            return wire.error(2013, f"invalid params, {exc.message}", http=413 if exc.status == 413 else 200,
                              task_id="")
        params = validator(body)
        if isinstance(params, Invalid):
            return wire.error(params.code, params.message, task_id="")
        behaviour = decision.assignment.profile.resolve(self.name, params.model.name)
        over = await model_create_rate(self, key, params.model.name, behaviour, decision)
        if over is not None:
            return self.over_limit(request, over)
        return key, params, behaviour

    async def create(self, request: Request, decision: RequestDecision) -> Response:
        admitted = await self._admitted(request, decision, validate)
        if isinstance(admitted, Response):
            return admitted
        key, params, behaviour = admitted
        width, height = params.size
        data: dict[str, Any] | None = None
        if params.callback_url is not None:
            data = {"cb": params.callback_url, "o": self.origin(request)}
        result = await self._submitted(request, decision, key, params, behaviour,
                                       video_spec(width, height, float(params.duration)), data, {})
        if isinstance(result, Response):
            return result
        await self._listed.add(result.account, result.id)
        return wire.ok({"task_id": result.id})

    async def _submitted(self, request: Request, decision: RequestDecision, key: str, params: Any,
                         behaviour: Resolved, output: VideoSpec, data: dict[str, Any] | None,
                         usage: dict[str, Any]) -> Job | Response:
        """Submit an admitted create (v1 or v2: they differ in their output, data and usage); the job, followed
        by its callbacks if it asked for them, or MiniMax's answer to a limit or a moderation reject."""
        width, height = params.size
        result = await self.ctx.engine.submit(
            JobRequest(provider=self.name, model=params.model.name, account=key, kind=params.mode,
                       make_id=new_task_id, cost=params.price, output=output, data=data, refund_failures=True,
                       usage={"seconds": float(params.duration), "resolution": f"{min(width, height)}p", **usage}),
            decision.assignment, queue_when_busy=True)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(1026, task_id="")
        prewarm_output(self.ctx, result)
        if params.callback_url is not None:
            self._watch(result, behaviour)
        return result

    async def query(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision, task_id="", status="")
        if isinstance(key, Response):
            return key
        task_id = request.query_params.get("task_id")
        if not task_id:
            return wire.error(2013, "invalid params, task_id is required", task_id="", status="")
        job = await self.ctx.engine.get(self.name, task_id)
        if job is None or job.account != key or _is_v2(job):
            return wire.error(2013, "invalid params, task_id not found", task_id=task_id[:64], status="")
        now = self.ctx.engine.clock.now()
        state, _ = job.state(now)
        return json_response(wire.task(job, state, now))

    # -- v2 (MiniMax-H3): create, query, cancel or delete -------------------------------------------------

    async def create_v2(self, request: Request, decision: RequestDecision) -> Response:
        """``POST /v2/video_generation``: the ``task_id``, errors in ``base_resp`` as on v1 (mock: v1's codes)."""
        admitted = await self._admitted(request, decision, validate_v2)
        if isinstance(admitted, Response):
            return admitted
        key, params, behaviour = admitted
        width, height = params.size
        # the link's lifetime as the create's profile gives it: the query and the callbacks sign the same link
        data: dict[str, Any] = {"v2": 1, "r": params.resolution, "ar": params.ratio, "i": params.images,
                                "ttl": behaviour.url_ttl}
        if params.callback_url is not None:
            data.update(cb=params.callback_url, o=self.origin(request))
        result = await self._submitted(request, decision, key, params, behaviour,
                                       video_spec_v2(width, height, float(params.duration)), data, {"audio": True})
        return result if isinstance(result, Response) else wire.ok({"task_id": result.id})

    async def _v2_job(self, request: Request, decision: RequestDecision) -> tuple[Job, float] | Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        task_id = request.path_params["task_id"]
        job = await self.ctx.engine.get(self.name, task_id) if task_id.isdigit() and len(task_id) < 32 else None
        if job is None or job.account != key or not _is_v2(job):
            return wire.error(2013, "invalid params, task not found")
        return job, self.ctx.engine.clock.now()

    def _v2_url(self, job: Job, origin: str, ttl: float) -> str:
        """Signed once for the finished task: it expires ``ttl`` after the task ended, however often it is read."""
        return self.ctx.links.url_until(origin, job.id, 0, int(self.ctx.engine.clock.epoch(job.ends) + ttl))

    def _v2_body(self, job: Job, state: str, origin: str, ttl: float) -> dict[str, Any]:
        url = self._v2_url(job, origin, ttl) if state == SUCCEEDED else None
        return wire.v2_task(job, state, url)

    async def query_v2(self, request: Request, decision: RequestDecision) -> Response:
        """``GET /v2/query/video_generation/{task_id}``: ``{"task": {...}}`` with queued | running | succeeded |
        failed | cancelled and, once succeeded, the video at ``task.content.url``."""
        found = await self._v2_job(request, decision)
        if isinstance(found, Response):
            return found
        job, now = found
        state, _ = job.state(now)
        ttl = (job.data or {}).get("ttl") or decision.behaviour.url_ttl
        return json_response(self._v2_body(job, state, self.origin(request), ttl))

    async def delete_v2(self, request: Request, decision: RequestDecision) -> Response:
        """``DELETE /v2/video_generation/{task_id}`` [2nd, one client citing the docs]: a queued task is cancelled
        (not billed), a finished one deleted, a running one refused."""
        found = await self._v2_job(request, decision)
        if isinstance(found, Response):
            return found
        job, now = found
        state, _ = job.state(now)
        status = wire.V2_STATUSES.get(state, "failed")
        engine = self.ctx.engine
        if status == "queued":
            await engine.cancel(job, refund=True)  # refunded only by the cancel that ends it
        elif status == "running":
            return wire.error(2013, f"invalid params, task {job.id} is running; only queued tasks can be cancelled")
        else:
            await engine.forget(job)
        return wire.ok({"task_id": job.id})

    # -- files ----------------------------------------------------------------------------------------------

    async def _file(self, key: str, raw: Any) -> Job | Response:
        file_id = _file_id(raw)
        if file_id is None:
            return wire.error(2013, "invalid params, file_id must be an integer")
        task_id = wire.task_id_of(file_id)
        job = await self.ctx.engine.get(self.name, task_id) if task_id else None
        if (job is None or job.account != key or (job.data or {}).get("fd") or _is_v2(job)
                or job.state(self.ctx.engine.clock.now())[0] != SUCCEEDED):
            return wire.error(2013, "invalid params, file not found")
        return job

    async def _uploaded(self, key: str, raw: Any) -> Uploaded | None:
        file_id = _file_id(raw)
        if file_id is None or not FILE_IDS[0] <= file_id < FILE_IDS[1]:
            return None
        value = await self._uploads.get(str(file_id))
        if value is None or value["a"] != key:
            return None
        return Uploaded.from_value(file_id, value)

    def _upload_url(self, request: Request, file: Uploaded, ttl: float) -> str:
        signed = self.ctx.links.url("", f"mmf{file.file_id}", UPLOAD_LINK, ttl, file.extension).partition("?")[2]
        return f"{self.origin(request)}/v1/files/content/{file.file_id}?{signed}"

    async def retrieve_file(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        uploaded = await self._uploaded(key, request.query_params.get("file_id"))
        if uploaded is not None:
            return wire.ok({"file": uploaded.wire(self._upload_url(request, uploaded, decision.behaviour.url_ttl))})
        job = await self._file(key, request.query_params.get("file_id"))
        if isinstance(job, Response):
            return job
        return wire.ok({"file": await self._file_object(request, job, decision.behaviour.url_ttl)})

    async def _file_object(self, request: Request, job: Job, ttl: float) -> dict[str, Any]:
        data = await self.ctx.media.output(job_output(self.ctx, job, 0))
        url = self.ctx.links.url(self.origin(request), job.id, 0, ttl)
        return wire.file_object(job, len(data), int(self.ctx.engine.clock.epoch(job.ends)), url)

    async def retrieve_content(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        uploaded = await self._uploaded(key, request.query_params.get("file_id"))
        if uploaded is not None:
            return await self._content_response(request, uploaded)
        job = await self._file(key, request.query_params.get("file_id"))
        if isinstance(job, Response):
            return job
        return await mp4_response(self.ctx, request, job_output(self.ctx, job, 0))

    async def list_files(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        purpose = request.query_params.get("purpose")
        if purpose not in PURPOSES:
            return wire.error(2013, "invalid params, purpose must be one of " + ", ".join(PURPOSES))
        files: list[dict[str, Any]] = []
        if purpose in UPLOAD_FORMATS:
            ttl = decision.behaviour.url_ttl
            for file_id, value in reversed(await self._uploads.owned(key)):
                if value["p"] == purpose:
                    uploaded = Uploaded.from_value(int(file_id), value)
                    files.append(uploaded.wire(self._upload_url(request, uploaded, ttl)))
        elif purpose == "video_generation":
            engine = self.ctx.engine
            now = engine.clock.now()
            ttl = decision.behaviour.url_ttl
            for task_id in await self._listed.newest(key, MAX_LISTED_FILES + LIST_SLACK):
                job = await engine.find(task_id)
                if job is None or (job.data or {}).get("fd") or job.state(now)[0] != SUCCEEDED:
                    continue
                files.append(await self._file_object(request, job, ttl))
                if len(files) >= MAX_LISTED_FILES:
                    break
        return wire.ok({"files": files})

    async def delete_file(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            return wire.error(2013, f"invalid params, {exc.message}", http=413 if exc.status == 413 else 200)
        if not isinstance(body, dict):
            return wire.error(2013, "invalid params, the request body must be a JSON object")
        if body.get("purpose", "video_generation") not in PURPOSES:
            return wire.error(2013, "invalid params, purpose must be one of " + ", ".join(PURPOSES))
        uploaded = await self._uploaded(key, body.get("file_id"))
        if uploaded is not None:
            await self._uploads.delete(str(uploaded.file_id))
            await self._contents.delete(str(uploaded.file_id))
            return wire.ok({"file_id": uploaded.file_id})
        job = await self._file(key, body.get("file_id"))
        if isinstance(job, Response):
            return job
        job.data = {**(job.data or {}), "fd": 1}
        await self.ctx.engine.save(job)
        return wire.ok({"file_id": wire.file_id_of(job.id)})

    async def upload_file(self, request: Request, decision: RequestDecision) -> Response:
        """A multipart ``purpose`` and ``file``: the file object (no download_url), as MiniMax answers."""
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        limit = MAX_FILE_BYTES
        try:
            reader = MultipartReader(boundary_of(request.headers.get("content-type")), keep_head=limit + 1)
            async for chunk in request.stream():
                reader.feed(chunk)
                if sum(part.size for part in reader.parts if part.filename is not None) > limit:
                    return wire.error(2013, f"invalid params, file size exceeds {limit // 2**20}MB")
            parts = reader.finish()
        except MultipartError as exc:
            return wire.error(2013, f"invalid params, {exc}")
        fields = {p.name: p.value.decode("utf-8", "replace") for p in parts if p.filename is None}
        files = [p for p in parts if p.filename is not None and p.name == "file"]
        purpose = fields.get("purpose")
        problem = check_upload(purpose, files[0].filename if len(files) == 1 else None)
        if problem is not None:
            return wire.error(2013, problem)
        assert purpose is not None
        part = files[0]
        if part.size > max_bytes(purpose):
            return wire.error(2013, f"invalid params, file size exceeds {max_bytes(purpose) // 10**6}MB")
        if part.size == 0:
            return wire.error(2013, "invalid params, file is empty")
        now = int(self.ctx.engine.clock.epoch())
        name = clean_name(part.filename or "")
        try:
            file_id, _ = await self._uploads.add_new(
                lambda rng: str(rng.randrange(*FILE_IDS)), self._file_ids,
                lambda file_id: Uploaded(int(file_id), key, purpose, name, part.size, now).to_value(), owner=key)
            await self._contents.set(file_id, bytes(part.head))
        except TooLarge:
            return wire.error(2013, f"invalid params, file size exceeds {MAX_FILE_BYTES // 2**20}MB")
        file = Uploaded(int(file_id), key, purpose, name, part.size, now).wire("")
        del file["download_url"]
        return wire.ok({"file": file})

    async def _content_response(self, request: Request, file: Uploaded) -> Response:
        data = await self._contents.get(str(file.file_id))
        if data is None:  # evicted from the bounded store
            return wire.error(2013, "invalid params, file not found")
        return Response(b"" if request.method == "HEAD" else data, media_type=file.content_type,
                        headers={"content-length": str(len(data)),
                                 "content-disposition": f'attachment; filename="{file.filename}"'})

    async def uploaded_content(self, request: Request, decision: RequestDecision) -> Response:
        """An uploaded file's ``download_url``: signed and expiring like the videos' links, no key needed."""
        file_id = _file_id(request.path_params["file_id"])
        problem = None if file_id is None else self.ctx.links.check(
            f"mmf{file_id}", UPLOAD_LINK, request.query_params.get("exp"), request.query_params.get("sig"))
        if file_id is None or problem is not None:
            return PlainTextResponse(f"This link is {'expired' if problem == 'expired' else 'not valid'}.", 403)
        value = await self._uploads.get(str(file_id))
        if value is None:
            return PlainTextResponse("No such file.", 404)
        return await self._content_response(request, Uploaded.from_value(file_id, value))

    # -- the token plan's quota -----------------------------------------------------------------------------

    async def remains(self, request: Request, decision: RequestDecision) -> Response:
        """Per video model with a daily limit: this interval's total and what is left of it (MiniMax names the
        remaining count ``current_interval_usage_count``)."""
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        engine = self.ctx.engine
        now = engine.clock.now()
        scope = await engine.usage(self.name, key)
        start = int(now // DAY) * DAY
        start_ms, end_ms = int(engine.clock.epoch(start) * 1000), int(engine.clock.epoch(start + DAY) * 1000)
        out = []
        profile = decision.assignment.profile
        for name in MODELS:
            total = profile.resolve(self.name, name).limits.daily_jobs
            if total is None:
                continue
            used = scope.daily_total(now) if profile.resolve(self.name).limits.daily_jobs == total else \
                scope.daily_for(name, now)
            out.append({"model_name": name, "start_time": start_ms, "end_time": end_ms,
                        "remains_time": max(end_ms - int(engine.clock.epoch() * 1000), 0),
                        "current_interval_total_count": total,
                        "current_interval_usage_count": max(total - used, 0)})
        return wire.ok({"model_remains": out})

    # -- callbacks ------------------------------------------------------------------------------------------

    def _watch(self, job: Job, behaviour) -> None:
        """First the challenge, which the receiver must echo within 3 s (else the URL is not validated and no
        update follows); then the query body with a lower-case status at ``processing`` and at the end."""
        challenge = {"challenge": f"{self._challenges.getrandbits(128):032x}"}
        self.ctx.webhooks.follow(
            job, provider=self.name, url=(job.data or {})["cb"], policy=policy_for(behaviour),
            handshake=Handshake("challenge", challenge, expect=challenge,
                                timeout=CHALLENGE_TIMEOUT / self.ctx.engine.clock.scale))

    def _updates(self, job: Job, state: str, told: str | None, params: Any) -> list[tuple[str, Any]]:
        """The callbacks of a state change (the follow's registered renderer, on any replica)."""
        if state not in (RUNNING, SUCCEEDED, FAILED, CANCELLED):
            return []
        if _is_v2(job):
            return self._v2_updates(job, state, told)
        now = self.ctx.engine.clock.now()
        events = []
        if state != RUNNING and told != RUNNING and job.ends > job.started:
            # the job ran between two looks: still tell the receiver it was processing
            events.append(("processing", wire.task(job, RUNNING, now, lower=True)))
        payload = wire.task(job, state, now, lower=True)
        events.append((payload["status"], payload))
        return events

    def _v2_updates(self, job: Job, state: str, told: str | None) -> list[tuple[str, Any]]:
        """v2 callbacks: the query body at each change (UNCONFIRMED: the docs say only that updates follow the
        challenge)."""
        ttl = (job.data or {}).get("ttl") or \
            self.ctx.engine.selector.for_key(job.account).profile.resolve(self.name, job.model).url_ttl
        origin = (job.data or {}).get("o", "")
        events = []
        if state != RUNNING and told != RUNNING and job.ends > job.started:
            events.append(("running", self._v2_body(job, RUNNING, origin, ttl)))
        payload = self._v2_body(job, state, origin, ttl)
        events.append((payload["task"]["status"], payload))
        return events
