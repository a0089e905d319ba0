"""Kling's official API: text2video and image2video tasks, queries, lists, account costs and callbacks."""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import QUEUED, RUNNING, SUCCEEDED, Job
from ...engine.limits import OverLimit
from ...engine.rng import stream, uuid4_text
from ...media.render import VideoSpec
from ...media.routes import prewarm_output
from ...web.body import BodyError, read_json
from ...web.responses import json_response, no_content
from ...web.values import brief, parse_int
from ...webhooks import policy_for
from ...webhooks.routes import limit_param
from ..base import Dialect
from . import auth
from . import responses as wire
from .keys import KeyBook
from .models import KINDS, Invalid, Params, validate

UNLIMITED_UNITS = 1_000_000
MAX_PAGE_NUM = 1000
MAX_PAGE_SIZE = 500


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


def new_task_id(rng) -> str:
    return str(rng.randrange(8 * 10**17, 9 * 10**17))


class KlingDialect(Dialect):
    name = "kling"
    title = "Kling AI"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.keys = KeyBook()
        engine = ctx.engine
        self._request_ids = stream(engine.seed, "kling", "request_ids")
        self._max_tasks = ctx.settings.max_jobs
        self._external: dict[tuple[str, str], str] = {}  # (account, external_task_id) -> task_id
        self._tasks: dict[tuple[str, str], deque[str]] = {}  # (account, kind) -> task ids, oldest first

    # -- the dialect contract -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = []
        for kind in KINDS:
            base = f"/v1/videos/{kind}"
            routes += [
                self.route(base, self._creator(kind), ["POST"], "create"),
                self.route(base, self._lister(kind), ["GET"], "list"),
                self.route(base + "/{task_id}", self._getter(kind), ["GET"], "status"),
            ]
        routes.append(self.route("/account/costs", self.account_costs, ["GET"], "account"))
        return routes

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"API base URL": origin}

    def owns(self, path: str) -> bool:
        return path.startswith(("/v1/videos/", "/v1/images/", "/account/"))

    def credential(self, request: Request) -> str | None:
        return auth.issuer(request.headers.get("authorization"))

    def request_id(self) -> str:
        return uuid4_text(self._request_ids)

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        code = wire.code_for_status(status)
        return wire.error(self.request_id(), code, message, status if injected else wire.CODES[code][0])

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        rid = self.request_id()
        if over.limit == "concurrency":
            return wire.error(rid, 1303)
        if over.limit == "credits":
            return wire.error(rid, 1102, "Account balance is insufficient: the resource pack is depleted")
        if over.limit == "daily":
            return wire.error(rid, 1302, "The daily task quota of this account is used up, try again tomorrow")
        return wire.error(rid, 1302)

    def admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/keys", self.admin_list_keys, methods=["GET"]),
            Route("/keys", self.admin_add_key, methods=["POST"]),
            Route("/keys/{access_key}", self.admin_remove_key, methods=["DELETE"]),
            Route("/callbacks", self.admin_callbacks, methods=["GET"]),
        ]

    def reset(self) -> None:
        self.keys.clear()
        self._external.clear()
        self._tasks.clear()
        self._request_ids = stream(self.ctx.engine.seed, "kling", "request_ids")

    # -- auth -----------------------------------------------------------------------------------------------

    def _authenticate(self, request: Request, decision: RequestDecision) -> str | Response:
        profile_auth = decision.assignment.profile.auth(self.name)
        found = auth.verify(request.headers.get("authorization"),
                            lambda access_key: self.keys.secret_for(profile_auth, access_key))
        if isinstance(found, auth.AuthFailure):
            return wire.error(self.request_id(), found.code, found.message)
        return found

    # -- create ---------------------------------------------------------------------------------------------

    def _creator(self, kind: str):
        async def create(request: Request, decision: RequestDecision) -> Response:
            return await self._create(request, decision, kind)

        create.__name__ = f"create_{kind}"
        return create

    async def _create(self, request: Request, decision: RequestDecision, kind: str) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        rid = self.request_id()
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            return wire.error(rid, 1200, f"Invalid request parameters: {exc.message}", exc.status)
        params = validate(body, kind)
        if isinstance(params, Invalid):
            return wire.error(rid, params.code, params.message)
        if params.external_task_id is not None and self._find_external(key, params.external_task_id) is not None:
            return wire.error(rid, 1201, f"external_task_id {params.external_task_id!r} already exists")
        model = params.model
        behaviour = decision.assignment.profile.resolve(self.name, model.name)
        width, height = params.size
        spec = video_spec(width, height, float(params.duration), model.fps, params.sound)
        data: dict[str, Any] = {}
        if params.external_task_id is not None:
            data["x"] = params.external_task_id
        if params.watermark:
            data["w"] = 1
        if params.callback_url is not None:
            data["cb"] = params.callback_url
            data["o"] = self.origin(request)
        engine = self.ctx.engine
        result = engine.submit(
            JobRequest(provider=self.name, model=model.name, account=key, kind=kind, make_id=new_task_id,
                       cost=params.units, output=spec, data=data or None, refund_failures=True,
                       usage={"seconds": int(params.duration), "mode": params.mode, "audio": params.sound,
                              "resolution": f"{min(width, height)}p"}),
            decision.assignment, queue_when_busy=False)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(rid, 1301, "Failure to pass the risk control system: the input was flagged by "
                                         "the content security policy")
        prewarm_output(self.ctx, result)
        self._remember(result, params)
        if params.callback_url is not None:
            self._watch(result, params, behaviour)
        created = int(engine.clock.epoch(result.created) * 1000)
        return wire.envelope(rid, {
            "task_id": result.id,
            "task_status": "submitted",
            "task_info": {"external_task_id": params.external_task_id} if params.external_task_id else {},
            "created_at": created,
            "updated_at": created,
        })

    def _remember(self, job: Job, params: Params) -> None:
        tasks = self._tasks.get((job.account, job.kind))
        if tasks is None:
            tasks = self._tasks[(job.account, job.kind)] = deque(maxlen=self._max_tasks)
        tasks.append(job.id)
        if params.external_task_id is not None:
            external = self._external
            if len(external) >= self._max_tasks:
                store = self.ctx.engine.store
                for pair in [p for p, task_id in external.items() if task_id not in store]:
                    del external[pair]
                while len(external) >= self._max_tasks * 9 // 10:  # room to spare: prune rarely
                    del external[next(iter(external))]
            external[(job.account, params.external_task_id)] = job.id

    def _find_external(self, account: str, external_id: str) -> Job | None:
        task_id = self._external.get((account, external_id))
        if task_id is None:
            return None
        job = self.ctx.engine.get(self.name, task_id)
        if job is None:
            del self._external[(account, external_id)]
        return job

    # -- pushed updates -------------------------------------------------------------------------------------

    def _watch(self, job: Job, params: Params, behaviour) -> None:
        """Kling posts the flat task body at each change of ``task_status``."""
        url = params.callback_url
        assert url is not None
        origin = (job.data or {}).get("o") or self.ctx.origin(f"http://{self.ctx.settings.host}:"
                                                               f"{self.ctx.settings.port}")
        ttl = behaviour.url_ttl
        last: list[str | None] = [None]

        def render(job: Job, state: str) -> list[tuple[str, Any]]:
            status = wire.STATUS[state]
            if status == last[0]:
                return []
            out = []
            if status in ("succeed", "failed") and last[0] == "submitted" and job.ends > job.started:
                out += render(job, RUNNING)  # the timeline ran late: still tell the receiver it was processing
            last[0] = status
            out.append((status, self._render(job, state, origin, ttl)))
            return out

        # QUEUED now, not when the timeline first runs: a short queue could be over by then
        self.ctx.webhooks.follow(job, provider=self.name, url=url, policy=policy_for(behaviour), render=render,
                                 initial=QUEUED)

    # -- queries --------------------------------------------------------------------------------------------

    def _render(self, job: Job, state: str, origin: str, ttl: float) -> dict[str, Any]:
        clock = self.ctx.engine.clock
        videos: list[dict[str, str]] = []
        if state == SUCCEEDED:
            spec = job.output
            video = {"id": wire.video_id(job.id), "url": self.ctx.links.url(origin, job.id, 0, ttl),
                     "duration": wire.duration_text(spec.duration)}
            if (job.data or {}).get("w"):
                video["watermark_url"] = self.ctx.links.url(origin, job.id, 1, ttl)
            videos.append(video)
        created = int(clock.epoch(job.created) * 1000)
        updated = int(clock.epoch(wire.updated_at(job, state)) * 1000)
        return wire.task(job, state, created, updated, videos)

    def _getter(self, kind: str):
        async def get_task(request: Request, decision: RequestDecision) -> Response:
            key = self._authenticate(request, decision)
            if isinstance(key, Response):
                return key
            rid = self.request_id()
            wanted = request.path_params["task_id"]
            job = self.ctx.engine.get(self.name, wanted)
            if job is None or job.account != key:
                job = self._find_external(key, wanted)
            if job is None or job.kind != kind:
                return wire.error(rid, 1203, f"task {brief(wanted)} does not exist")
            state, _ = job.state(self.ctx.engine.clock.now())
            origin = self.origin(request) if state == SUCCEEDED else ""  # only finished tasks carry links
            return wire.envelope(rid, self._render(job, state, origin, decision.behaviour.url_ttl))

        get_task.__name__ = f"get_{kind}"
        return get_task

    def _lister(self, kind: str):
        async def list_tasks(request: Request, decision: RequestDecision) -> Response:
            key = self._authenticate(request, decision)
            if isinstance(key, Response):
                return key
            rid = self.request_id()
            page = _page_param(request, "pageNum", 1, MAX_PAGE_NUM)
            size = _page_param(request, "pageSize", 30, MAX_PAGE_SIZE)
            for value in (page, size):
                if isinstance(value, str):
                    return wire.error(rid, 1201, value)
            engine = self.ctx.engine
            now = engine.clock.now()
            origin = self.origin(request)
            ttl = decision.behaviour.url_ttl
            skip = (page - 1) * size
            out: list[dict[str, Any]] = []
            for task_id in reversed(self._tasks.get((key, kind), ())):
                job = engine.store.get(task_id)
                if job is None:
                    continue
                if skip:
                    skip -= 1
                    continue
                out.append(self._render(job, job.state(now)[0], origin, ttl))
                if len(out) >= size:
                    break
            return wire.envelope(rid, out)

        list_tasks.__name__ = f"list_{kind}"
        return list_tasks

    async def account_costs(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        rid = self.request_id()
        for name in ("start_time", "end_time"):
            value = request.query_params.get(name)
            if value is not None and parse_int(value, 0, 10**15) is None:
                return wire.error(rid, 1201, f"{name} must be a Unix time in milliseconds")
        engine = self.ctx.engine
        credits = decision.behaviour.limits.credits
        total = credits if credits is not None else UNLIMITED_UNITS
        remaining = max(total - engine.spent(self.name, key), 0.0)
        started = int(engine.clock.epoch(0.0) * 1000)
        return wire.envelope(rid, {
            "code": 0,
            "msg": "",
            "resource_pack_subscribe_infos": [{
                "resource_pack_name": "Video Generation - mock resource pack",
                "resource_pack_id": f"mock-{key}"[:64],
                "resource_pack_type": "decreasing_total",
                "total_quantity": float(total),
                "remaining_quantity": round(remaining, 2),
                "purchase_time": started,
                "effective_time": started,
                "invalid_time": started + 365 * 86400 * 1000,
                "status": "online" if remaining > 0 else "runOut",
            }],
        })

    # -- admin (under /__mock/kling/) -----------------------------------------------------------------------

    def _active_auth(self) -> dict[str, Any]:
        return self.ctx.engine.selector.active.profile.auth(self.name)

    async def admin_list_keys(self, request: Request) -> Response:
        return json_response({"keys": self.keys.describe(self._active_auth())})

    async def admin_add_key(self, request: Request) -> Response:
        try:
            body = await read_json(request, 64 * 1024)
        except BodyError as exc:
            return json_response({"error": exc.message}, exc.status)
        if not isinstance(body, dict):
            return json_response({"error": "expected {\"access_key\": ..., \"secret_key\": ...}"}, 400)
        access, secret = body.get("access_key"), body.get("secret_key")
        for field, value in (("access_key", access), ("secret_key", secret)):
            if not isinstance(value, str) or not value or len(value) > 512:
                return json_response({"error": f"{field} must be a non-empty string (at most 512 chars)"}, 400)
        if not self.keys.add(access, secret):
            return json_response({"error": "too many key pairs; remove some first"}, 409)
        return json_response({"access_key": access, "source": "admin"}, 201)

    async def admin_remove_key(self, request: Request) -> Response:
        if not self.keys.remove(request.path_params["access_key"]):
            return json_response({"error": "no such key pair added through the admin API"}, 404)
        return no_content()

    async def admin_callbacks(self, request: Request) -> Response:
        """The webhook journal's Kling part, as before it moved to ``/__mock/webhooks`` (kept as an alias)."""
        limit = limit_param(request)
        if isinstance(limit, str):
            return json_response({"error": limit}, 400)
        found = self.ctx.webhooks.describe(provider=self.name, job=request.query_params.get("task_id"), limit=limit)
        found["attempts"] = [{"task_id": a["job"], "task_status": a["event"], **a} for a in found["attempts"]]
        found["in_flight_tasks"] = found["lanes"]
        return json_response(found)


def _page_param(request: Request, name: str, default: int, maximum: int) -> int | str:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = parse_int(raw, 1, maximum)
    if value is None:
        return f"{name} must be an integer between 1 and {maximum}"
    return value

