"""Seedance on BytePlus ModelArk (byteplus-python-sdk-v2, ``Ark().content_generation.tasks``): create, get, list
and delete content-generation tasks under ``/api/v3``."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...engine.limits import OverLimit
from ...engine.rng import stream
from ...media.render import VideoSpec
from ...media.routes import prewarm_output
from ...state.tables import TaskIndex
from ...web.body import BodyError, read_json
from ...web.responses import EncodedJSON, json_response
from ...web.values import has_whitespace, parse_int
from ...webhooks import policy_for
from ..base import Dialect
from ..common import bearer_key
from . import responses as wire
from .models import FPS, Invalid, Params, validate

BASE = "/api/v3/contents/generations/tasks"
MAX_QUEUED = 120  # queued tasks per account ([DOC]: running and finished ones do not count)
QUEUED_SCAN_STREAK = 512
CANCELLED_KEPT = 86400.0  # cancelled tasks are deleted after 24 h
MAX_PAGE_SIZE = 500
POLL_CACHE = 4096
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
LIST_STATUSES = ("queued", "running", "cancelled", "succeeded", "failed", "expired")


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=FPS, audio=audio)


class SeedanceDialect(Dialect):
    name = "seedance"
    title = "Seedance (BytePlus ModelArk)"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        seed = ctx.engine.seed
        self._request_ids = stream(seed, self.name, "request_ids")
        self._seeds = stream(seed, self.name, "seeds")
        self._polls: dict[tuple, bytes] = {}  # unsigned tasks' encoded bodies
        # each account's task ids, shared by every replica (the list endpoint)
        self._tasks = TaskIndex(ctx.state, "seedance:tasks", ctx.settings.max_jobs, ctx.settings.retention)
        ctx.webhooks.register(self.name, self._callback)

    # -- the dialect contract -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            self.route(BASE, self.create, ["POST"], "create"),
            self.route(BASE, self.list_tasks, ["GET"], "list"),
            self.route(BASE + "/{task_id}", self.get_task, ["GET"], "status"),
            self.route(BASE + "/{task_id}", self.delete_task, ["DELETE"], "cancel"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"Ark(base_url=...)": f"{origin}/api/v3"}

    def owns(self, path: str) -> bool:
        return path.startswith("/api/v3/") or path == "/api/v3"

    def credential(self, request: Request) -> str | None:
        return bearer_key(request)

    def request_id(self, now: float | None = None) -> str:
        """A fresh request id: the time (``now`` in engine seconds if the request read the clock already) and
        96 seeded random bits."""
        millis = int(self.ctx.engine.clock.epoch(now) * 1000)
        # the 24 hex digits of f"{bits:024x}", written faster
        return f"021{millis}{self._request_ids.getrandbits(96).to_bytes(12, 'big').hex()}"

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        return self._error(request, status, wire.code_for_status(status), message)

    def _error(self, request: Request, status: int, code: str, message: str, param: str = "") -> Response:
        headers = {}
        client_id = request.headers.get("x-client-request-id")
        if client_id:
            headers["x-client-request-id"] = client_id[:128]
        return wire.error(self.request_id(), status, code, message, param, headers)

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        if over.limit == "credits":
            return self._error(request, 403, "AccountOverdueError",
                               "The request failed because your account has an overdue balance.")
        if over.limit == "rate":
            return self._error(request, 429, "RateLimitExceeded.EndpointRPMExceeded",
                               "The request failed because you have exceeded the RPM limit of the endpoint. "
                               "Please try again later.")
        if over.limit == "daily":
            return self._error(request, 429, "QuotaExceeded",
                               "The request failed because you have exceeded the quota of the model for today.")
        return self._error(request, 429, "ServerOverloaded",
                           "The service is overloaded by a surge of requests. Please try again later.")

    def forget(self) -> None:
        seed = self.ctx.engine.seed
        self._request_ids = stream(seed, self.name, "request_ids")
        self._seeds = stream(seed, self.name, "seeds")
        self._polls.clear()

    async def reset(self) -> None:
        await self._tasks.clear()

    # -- auth -----------------------------------------------------------------------------------------------

    def _authenticate(self, request: Request, decision: RequestDecision) -> str | Response:
        key = decision.key
        allowed = decision.assignment.profile.auth(self.name).get("keys")
        if key is None or has_whitespace(key) or (allowed and key not in allowed):
            return self._error(request, 401, "AuthenticationError",
                               "The API key or AK/SK in the request is missing or invalid.")
        return key

    def _answer(self, request: Request, body: Any) -> Response:
        return json_response(body, 200, self._answer_headers(request))

    def _answer_headers(self, request: Request) -> dict[str, str]:
        headers = {"x-request-id": self.request_id()}
        client_id = request.headers.get("x-client-request-id")
        if client_id:
            headers["x-client-request-id"] = client_id[:128]
        return headers

    # -- create ---------------------------------------------------------------------------------------------

    async def create(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            if exc.status == 413:
                return self._error(request, 413, "RequestEntityTooLarge", exc.message)
            return self._error(request, 400, "InvalidParameter", exc.message)
        account = decision.assignment.profile.auth(self.name)
        try:
            params = validate(body, account.get("endpoints") or {})
        except Invalid as exc:
            return self._error(request, exc.status, exc.code, exc.message, exc.param)
        engine = self.ctx.engine
        if params.draft_task is not None:
            draft = await engine.get(self.name, params.draft_task)
            if draft is None or draft.account != key or not draft.data.get("dr") or draft.model != params.model.name \
                    or wire.status_of(draft, draft.state(engine.clock.now())[0]) != "succeeded":
                return self._error(request, 400, "InvalidParameter",
                                   f"The parameter `content` specified in the request is not valid: "
                                   f"{params.draft_task[:200]} is not a succeeded draft task of {params.model.name}.",
                                   "content")
        max_queued = account.get("max_queued", MAX_QUEUED)
        if await self._queued(key, max_queued) >= max_queued:
            return self._error(request, 429, "QuotaExceeded",
                               f"The request failed because your account already has {max_queued} queued tasks. "
                               "Please try again after some of them start.")
        spec = video_spec(*params.size, float(params.duration), params.generate_audio)
        data = self._data(params)
        now_epoch = engine.clock.epoch()
        result = await engine.submit(
            JobRequest(provider=self.name, model=params.model.name, account=key, kind=params.mode,
                       make_id=lambda rng: new_task_id(rng, now_epoch), cost=params.usd, output=spec, data=data,
                       refund_failures=True, usage=params.usage),
            decision.assignment, queue_when_busy=True)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return self._error(request, 400, "InputTextSensitiveContentDetected",
                               "The request failed because the input text may contain sensitive information.")
        prewarm_output(self.ctx, result)
        await self._tasks.add(result.account, result.id)
        self._schedule_expiry(result, params.expires_after)
        if params.callback_url is not None:
            self._follow(result, params.callback_url, self.origin(request),
                         decision.assignment.profile.resolve(self.name, params.model.name))
        answer: dict[str, Any] = {"id": result.id}
        if params.safety_identifier is not None:
            answer["safety_identifier"] = params.safety_identifier
        return self._answer(request, answer)

    def _data(self, params: Params) -> dict[str, Any]:
        seed = params.seed if params.seed >= 0 else self._seeds.randrange(2**31)
        data: dict[str, Any] = {
            "s": seed, "r": params.resolution, "a": params.ratio, "d": params.duration, "f": FPS,
            "t": params.service_tier, "x": params.expires_after, "g": params.generate_audio, "dr": params.draft,
            "p": params.priority, "u": params.tokens,
        }
        if params.frames != params.duration * FPS + 1:
            data["fr"] = params.frames
        if params.safety_identifier is not None:
            data["si"] = params.safety_identifier
        if params.return_last_frame:
            data["lf"] = 1
        return data

    async def _queued(self, account: str, limit: int) -> int:
        """How many of the account's tasks are queued, counted up to ``limit``. Queued tasks are the newest
        (slots go in submission order), so the count walks back from the newest and stops after a long run of
        tasks that are not queued: a create stays cheap with thousands of tasks running."""
        engine = self.ctx.engine
        now = engine.clock.now()
        count = streak = 0
        for job in reversed(await engine.live_jobs(self.name, account)):
            if job.ends > now and job.state(now)[0] in (THROTTLED, QUEUED):
                count, streak = count + 1, 0
                if count >= limit:
                    break
            else:
                streak += 1
                if streak > QUEUED_SCAN_STREAK:
                    break
        return count


    def _schedule_expiry(self, job: Job, seconds: int) -> None:
        """A task not finished ``execution_expires_after`` seconds after its creation becomes ``expired``."""
        engine = self.ctx.engine
        deadline = job.created + seconds
        if job.natural_end <= deadline and job.admitted == job.created:
            return

        async def expire() -> None:
            if await engine.alive(job):
                await self._expire_if_due(job)

        engine.timeline.at(deadline, expire)

    async def _expire_if_due(self, job: Job) -> None:
        """Expire a task past its ``execution_expires_after`` that has not finished: on its timer, and again
        whenever the task is read, so a read never sees it running past its deadline (a clock moved by the
        admin API fires the timer a moment after its answer)."""
        if self._expiry_due(job):
            await self._expire(job)

    def _expiry_due(self, job: Job) -> bool:
        now = self.ctx.engine.clock.now()
        return not job.data.get("ex") and job.created + job.data["x"] <= now < job.ends

    async def _expire(self, job: Job) -> None:
        engine = self.ctx.engine
        job.data["ex"] = 1
        await engine.save(job)
        await engine.refund(job)
        await engine.cancel(job)

    # -- pushed updates -------------------------------------------------------------------------------------

    def _follow(self, job: Job, url: str, origin: str, behaviour) -> None:
        """ModelArk POSTs the task, as GET shows it, to ``callback_url`` at each change of its status."""
        self.ctx.webhooks.follow(job, provider=self.name, url=url, policy=policy_for(behaviour),
                                 params={"o": origin, "ttl": behaviour.url_ttl}, initial=QUEUED)

    def _callback(self, job: Job, state: str, told: str | None, params: dict[str, Any]) -> list[tuple[str, Any]]:
        """The POSTs for ``state`` (after ``told``), the same on any replica."""
        status = wire.status_of(job, state)
        before = None if told is None else wire.STATUS[told]  # told is never the end: no "expired" there
        if status == before:
            return []
        out = []
        if status in ("succeeded", "failed") and before == "queued" and job.ends > job.started:
            out += self._callback(job, RUNNING, told, params)  # the timeline ran late: the task did run
        out.append((status, self.render(job, params["o"], params["ttl"], state)))
        return out

    # -- queries --------------------------------------------------------------------------------------------

    async def _task_of(self, request: Request, decision: RequestDecision) -> Job | Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        wanted = request.path_params["task_id"]
        engine = self.ctx.engine
        job = await engine.get(self.name, wanted)
        if job is not None and job.cancelled_at is not None and job.account == key:
            job = await self._unless_deleted(job)
        if job is None or job.account != key:
            return self._error(request, 404, "ResourceNotFound",
                               f"The specified task {wanted[:200]} is not found.", "task_id")
        if self._expiry_due(job):  # checked here, awaited only when due: a poll is one coroutine layer shorter
            await self._expire(job)
        return job

    async def _unless_deleted(self, job: Job) -> Job | None:
        """A cancelled task, or None once it has been deleted (24 h after its cancellation; expired ones stay)."""
        engine = self.ctx.engine
        if not job.data.get("ex") and engine.clock.now() - job.cancelled_at > CANCELLED_KEPT:
            await engine.forget(job)
            return None
        return job

    def render(self, job: Job, origin: str, ttl: float, state: str | None = None) -> dict[str, Any]:
        clock = self.ctx.engine.clock
        if state is None:
            state, _ = job.state(clock.now())
        url = frame = None
        if state == SUCCEEDED:  # TOS signs the results once, when the task ends: 24 h from then, poll after poll
            links, expires = self.ctx.links, int(clock.epoch(job.ends) + ttl)
            url = links.url_until(origin, job.id, 0, expires)
            if job.data.get("lf"):
                frame = links.url_until(origin, job.id, 0, expires, "png")
        created = int(clock.epoch(job.created))
        updated = int(clock.epoch(wire.updated_at(job, state)))
        return wire.task(job, state, created, updated, url, frame)

    async def get_task(self, request: Request, decision: RequestDecision) -> Response:
        # _task_of's checks written out here (the status poll is the hot path: one await layer less), with one
        # clock read for the expiry check and the state unless the task expires now
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        wanted = request.path_params["task_id"]
        engine = self.ctx.engine
        job = await engine.get(self.name, wanted)
        if job is not None and job.cancelled_at is not None and job.account == key:
            job = await self._unless_deleted(job)
        if job is None or job.account != key:
            return self._error(request, 404, "ResourceNotFound",
                               f"The specified task {wanted[:200]} is not found.", "task_id")
        clock = engine.clock
        now = clock.now()
        data = job.data
        ends = job.ends
        if not data.get("ex") and job.created + data["x"] <= now < ends:
            await self._expire(job)
            now, ends = clock.now(), job.ends
        state, _ = job.state(now)
        if state == SUCCEEDED:  # its link signed once, at the end, for url_ttl from then
            return self._answer(request, self.render(job, self.origin(request), decision.behaviour.url_ttl, state))
        # an unsigned task reads the same poll after poll: kept encoded (bounded), its fresh request id in a header
        kept = (job.id, state, job.created, job.admitted, ends, data.get("ex"))  # admitted: the start, plan fixed
        cache = self._polls
        body = cache.get(kept)
        if body is None:
            if len(cache) >= POLL_CACHE:
                cache.clear()
            body = cache[kept] = orjson.dumps(self.render(job, "", 0.0, state))
        response = EncodedJSON(body)  # the headers _answer_headers gives, put in encoded
        raw = response.raw_headers
        raw.append((b"x-request-id", self.request_id(now).encode()))
        client_id = request.headers.get("x-client-request-id")
        if client_id:
            raw.append((b"x-client-request-id", client_id[:128].encode("latin-1")))
        return response

    async def delete_task(self, request: Request, decision: RequestDecision) -> Response:
        """Queued: cancelled. Running or cancelled: refused. Finished (succeeded, failed, expired): deleted."""
        job = await self._task_of(request, decision)
        if isinstance(job, Response):
            return job
        engine = self.ctx.engine
        state, _ = job.state(engine.clock.now())
        status = wire.status_of(job, state)
        if status == "queued":
            await engine.refund(job)
            await engine.cancel(job)
        elif status in ("running", "cancelled"):
            return self._error(request, 400, "InvalidParameter",
                               f"The task {job.id} is {status}; only queued tasks can be cancelled and only "
                               "finished tasks deleted.", "task_id")
        else:
            await engine.forget(job)
        return self._answer(request, {})

    async def list_tasks(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        query = request.query_params
        pages = []
        for name, default in (("page_num", 1), ("page_size", 10)):
            raw = query.get(name)
            value = default if raw in (None, "") else parse_int(raw, 1, MAX_PAGE_SIZE)
            if value is None:
                return self._error(request, 400, "InvalidParameter",
                                   f"The parameter `{name}` specified in the request is not valid: expected an "
                                   f"integer from 1 to {MAX_PAGE_SIZE}.", name)
            pages.append(value)
        page, size = pages
        status = query.get("filter.status")
        if status is not None and status not in LIST_STATUSES:
            return self._error(request, 400, "InvalidParameter",
                               "The parameter `filter.status` specified in the request is not valid: expected one "
                               "of " + ", ".join(LIST_STATUSES) + ".", "filter.status")
        model = query.get("filter.model")
        tier = query.get("filter.service_tier")
        wanted_ids = set(query.getlist("filter.task_ids"))
        engine = self.ctx.engine
        now = engine.clock.now()
        origin = self.origin(request)
        ttl = decision.behaviour.url_ttl
        skip = (page - 1) * size
        total = 0
        items: list[dict[str, Any]] = []
        for task_id in await self._tasks.newest(key):
            if wanted_ids and task_id not in wanted_ids:
                continue
            job = await engine.find(task_id)
            if job is None or (model and job.model != model) or (tier and job.data["t"] != tier):
                continue
            await self._expire_if_due(job)
            if status is not None and wire.status_of(job, job.state(now)[0]) != status:
                continue
            total += 1
            if total > skip and len(items) < size:
                items.append(self.render(job, origin, ttl))
        return self._answer(request, {"total": total, "items": items})


def new_task_id(rng, epoch: float) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(epoch))
    return f"cgt-{stamp}-" + "".join(rng.choice(ALPHABET) for _ in range(5))
