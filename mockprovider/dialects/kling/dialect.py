"""Kling's official API: text2video, image2video, omni-video, multi-image2video, video-extend, identify-face and
advanced-lip-sync, effects and image generation tasks, queries, lists, account costs and callbacks."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...engine.limits import OverLimit
from ...engine.rng import UuidStream, stream
from ...media.render import VideoSpec
from ...media.routes import output_url, prewarm_output
from ...media.stills import ImageSpec
from ...web.body import BodyError, read_json
from ...web.responses import EncodedJSON, json_response, no_content
from ...web.values import brief, http_url, parse_int
from ...webhooks import policy_for
from ...webhooks.routes import limit_param
from ..base import Dialect
from . import auth, families
from . import responses as wire
from .keys import MAX_RUNTIME_KEYS, KeyBook
from .models import KINDS, Invalid, Params, validate

UNLIMITED_UNITS = 1_000_000
MAX_PAGE_NUM = 1000
MAX_PAGE_SIZE = 500
LIST_SLACK = 64  # listed ids whose task expired meanwhile, read past so a page stays full
POLL_CACHE = 4096  # encoded bodies of unfinished tasks: the tasks a load test polls at once
UNFINISHED = frozenset((THROTTLED, QUEUED, RUNNING))


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


def external_key(account: str, external_id: str) -> str:
    return f"{len(account)}:{account}:{external_id}"


def new_task_id(rng) -> str:
    return str(rng.randrange(8 * 10**17, 9 * 10**17))


class KlingDialect(Dialect):
    name = "kling"
    title = "Kling AI"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        state, settings = ctx.state, ctx.settings
        self.keys = KeyBook(state.table("kling:keys", MAX_RUNTIME_KEYS), state.shared)
        engine = ctx.engine
        self._request_ids = UuidStream(engine.seed, "kling", "request_ids")
        # What every replica must see: external_task_id -> task_id per account, each account's task ids by
        # kind (the lists), identify-face sessions.
        self._external = state.table("kling:external", settings.max_jobs, ttl=settings.retention)
        self._tasks = state.table("kling:tasks", settings.max_jobs, ttl=settings.retention)
        self.sessions = families.FaceSessions(state.table("kling:faces", families.MAX_SESSIONS,
                                                          ttl=families.SESSION_TTL))
        self._sessions = stream(engine.seed, "kling", "sessions")
        self._polls: dict[tuple, bytes] = {}  # unfinished tasks' encoded bodies (see _unfinished)
        ctx.webhooks.register(self.name, self._callback)

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
        for kind in families.FAMILIES:
            base = families.PATHS[kind]
            routes += [
                self.route(base, self._creator(kind), ["POST"], "create"),
                self.route(base, self._lister(kind), ["GET"], "list"),
                self.route(base + "/{task_id}", self._getter(kind), ["GET"], "status"),
            ]
        routes.append(self.route("/v1/videos/omni-video/", self._creator(families.OMNI), ["POST"], "create"))
        for path in ("/v1/videos/identify-face", "/v1/videos/Identify-face"):  # both spellings are documented
            routes.append(self.route(path, self.identify_face, ["POST"], "create"))
        routes.append(Route("/__media/kling/faces/{session_id}.jpg", self.face_image, methods=["GET"]))
        routes.append(self.route("/account/costs", self.account_costs, ["GET"], "account"))
        return routes

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"API base URL": origin}

    def owns(self, path: str) -> bool:
        return path.startswith(("/v1/videos/", "/v1/images/", "/v1/audio/", "/v1/general/", "/account/")) or path in (
            "/v1/videos", "/v1/images", "/account")

    def credential(self, request: Request) -> str | None:
        found = self._token(request)
        return found.iss or None if found.__class__ is auth.Token else None

    @staticmethod
    def _token(request: Request) -> auth.Token | auth.AuthFailure:
        """The request's bearer token, read (not verified) once per request: ``credential`` (the endpoint's
        profile and limit scope) and the auth check both need it."""
        found = request.__dict__.get("_kling_token")
        if found is None:
            header = request.headers.get("authorization")
            found = request._kling_token = auth.read(header) if header else auth.EMPTY
        return found

    def request_id(self) -> str:
        return self._request_ids.next()

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

    def forget(self) -> None:
        self._request_ids = UuidStream(self.ctx.engine.seed, "kling", "request_ids")
        self.keys.forget()
        self._polls.clear()

    async def reset(self) -> None:
        await self.keys.clear()
        await self._external.clear()
        await self._tasks.clear()
        await self.sessions.clear()

    # -- auth -----------------------------------------------------------------------------------------------

    async def _authenticate(self, request: Request, decision: RequestDecision) -> str | Response:
        if not self.keys.shared:
            return self._authenticate_here(request, decision)
        header = request.headers.get("authorization")
        access_key = auth.issuer(header)
        secret = None
        if access_key is not None:
            secret = await self.keys.secret_for(decision.assignment.profile.auth(self.name), access_key)
        return self._verified(header, secret)

    def _authenticate_here(self, request: Request, decision: RequestDecision) -> str | Response:
        """The same check with this process's key pairs: no coroutine to await (a poll's common case). The
        header is read once (decoded once per distinct header, its signature checked once per token and
        secret); the key pair is looked up and the dates checked against the clock on every request."""
        found = self._token(request)
        if found.__class__ is not auth.Token:
            return self._refused(found)
        if found.problem is not None:
            return self._refused(found.problem)
        secret = self.keys.local_secret_for(decision.assignment.profile.auth(self.name), found.iss)
        checked = auth.checked(found, secret)
        return checked if checked.__class__ is str else self._refused(checked)

    def _refused(self, failure: auth.AuthFailure) -> Response:
        return wire.error(self.request_id(), failure.code, failure.message)

    def _verified(self, header: str | None, secret: str | None) -> str | Response:
        found = auth.verify(header, lambda _: secret)
        return self._refused(found) if isinstance(found, auth.AuthFailure) else found

    # -- create ---------------------------------------------------------------------------------------------

    def _creator(self, kind: str):
        async def create(request: Request, decision: RequestDecision) -> Response:
            return await self._create(request, decision, kind)

        create.__name__ = f"create_{kind}"
        return create

    async def _create(self, request: Request, decision: RequestDecision, kind: str) -> Response:
        key = await self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        rid = self.request_id()
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            return wire.error(rid, 1200, f"Invalid request parameters: {exc.message}", exc.status)
        if kind in families.FAMILIES:
            now = self.ctx.engine.clock.now()
            session = await self.sessions.get(body.get("session_id"), key, now) if isinstance(body, dict) else None
            params = families.validate(
                body, kind, source=await self._extendable(key, body) if kind == families.EXTEND else None,
                session=session)
        else:
            params = validate(body, kind)
        if isinstance(params, Invalid):
            return wire.error(rid, params.code, params.message)
        external = None if params.external_task_id is None else external_key(key, params.external_task_id)
        if external is not None and not await self._claim_external(external):
            return wire.error(rid, 1201, f"external_task_id {params.external_task_id!r} already exists")
        model = params.model
        behaviour = decision.assignment.profile.resolve(self.name, model.name)
        width, height = params.size
        if isinstance(params, families.FamilyParams):
            spec = params.output
            usage = ({"images": params.count, "resolution": f"{min(width, height)}p"}
                     if kind == families.IMAGES else
                     {"seconds": spec.duration, "mode": params.mode, "audio": params.sound,
                      "resolution": f"{min(width, height)}p"})
        else:
            spec = video_spec(width, height, float(params.duration), model.fps, params.sound)
            usage = {"seconds": int(params.duration), "mode": params.mode, "audio": params.sound,
                     "resolution": f"{min(width, height)}p"}
        data: dict[str, Any] = {"m": params.mode}
        if isinstance(params, families.FamilyParams):
            data.update(params.data)
            if params.count > 1:
                data["n"] = params.count
        if params.external_task_id is not None:
            data["x"] = params.external_task_id
        if params.watermark:
            data["w"] = 1
        if params.callback_url is not None:
            data["cb"] = params.callback_url
            data["o"] = self.origin(request)
        engine = self.ctx.engine
        result = await engine.submit(
            JobRequest(provider=self.name, model=model.name, account=key, kind=kind, make_id=new_task_id,
                       cost=params.units, output=spec, data=data or None, refund_failures=True,
                       usage=usage, slots=params.count if kind == families.IMAGES else 1),
            decision.assignment, queue_when_busy=False)
        if not isinstance(result, Job) and external is not None:
            await self._external.delete(external)  # the id is free again: no task took it
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(rid, 1301, "Failure to pass the risk control system: the input was flagged by "
                                         "the content security policy")
        prewarm_output(self.ctx, result)
        await self._remember(result, external)
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

    async def _remember(self, job: Job, external: str | None) -> None:
        await self._tasks.set(job.id, 0, owner=f"{job.account}\n{job.kind}")
        if external is not None:
            await self._external.set(external, job.id)

    async def _claim_external(self, external: str) -> bool:
        """Take an external_task_id for a task about to be made (one replica wins a race); an id whose task is
        gone is free again. A claim in progress is stored as "" until the task exists."""
        if await self._external.add(external, ""):
            return True
        task_id = await self._external.get(external)
        if task_id and await self.ctx.engine.get(self.name, task_id) is None:
            await self._external.set(external, "")
            return True
        return False

    async def _find_external(self, account: str, external_id: str) -> Job | None:
        external = external_key(account, external_id)
        task_id = await self._external.get(external)
        if not task_id:
            return None
        job = await self.ctx.engine.get(self.name, task_id)
        if job is None:
            await self._external.delete(external)
        return job

    # -- pushed updates -------------------------------------------------------------------------------------

    def _watch(self, job: Job, params: Params, behaviour) -> None:
        """Kling posts the flat task body at each change of ``task_status``."""
        assert params.callback_url is not None
        origin = (job.data or {}).get("o") or self.ctx.origin(f"http://{self.ctx.settings.host}:"
                                                               f"{self.ctx.settings.port}")
        # QUEUED now, not when the timeline first runs: a short queue could be over by then
        self.ctx.webhooks.follow(job, provider=self.name, url=params.callback_url, policy=policy_for(behaviour),
                                 params={"o": origin, "ttl": behaviour.url_ttl}, initial=QUEUED)

    def _callback(self, job: Job, state: str, told: str | None, params: dict[str, Any]) -> list[tuple[str, Any]]:
        """The callbacks for ``state`` (after ``told``), the same on any replica."""
        status = wire.STATUS[state]
        before = None if told is None else wire.STATUS[told]
        if status == before:
            return []
        out = []
        if status in ("succeed", "failed") and before == "submitted" and job.ends > job.started:
            out += self._callback(job, RUNNING, told, params)  # the timeline ran late: it was processing
        out.append((status, self._render(job, state, params["o"], params["ttl"])))
        return out

    # -- queries --------------------------------------------------------------------------------------------

    def _render(self, job: Job, state: str, origin: str, ttl: float) -> dict[str, Any]:
        clock = self.ctx.engine.clock
        videos: list[dict[str, Any]] = []
        data = job.data or {}
        if state == SUCCEEDED and job.kind == families.IMAGES:
            videos = [{"index": i, "url": output_url(self.ctx, origin, job, i, ttl)} for i in range(data.get("n", 1))]
        elif state == SUCCEEDED:
            spec = job.output
            video = {"id": wire.video_id(job.id), "url": output_url(self.ctx, origin, job, 0, ttl),
                     "duration": wire.duration_text(spec.duration)}
            if data.get("w"):
                video["watermark_url"] = output_url(self.ctx, origin, job, 1, ttl)
            videos.append(video)
        created = int(clock.epoch(job.created) * 1000)
        updated = int(clock.epoch(wire.updated_at(job, state)) * 1000)
        body = wire.task(job, state, created, updated, videos, "images" if job.kind == families.IMAGES else "videos")
        # the parent is read from this replica's copy: rendering also runs in synchronous webhook callbacks
        parent = self.ctx.engine.cached(data["p"]) if "p" in data else None
        if parent is not None and parent.provider == self.name:
            body["task_info"]["parent_video"] = {"id": wire.video_id(parent.id),
                                                 "url": output_url(self.ctx, origin, parent, 0, ttl) if origin else "",
                                                 "duration": wire.duration_text(parent.output.duration)}
        return body

    def _getter(self, kind: str):
        async def get_task(request: Request, decision: RequestDecision) -> Response:
            key = (await self._authenticate(request, decision) if self.keys.shared
                   else self._authenticate_here(request, decision))
            if isinstance(key, Response):
                return key
            rid = self.request_id()
            wanted = request.path_params["task_id"]
            job = await self.ctx.engine.get(self.name, wanted)
            if job is None or job.account != key:
                job = await self._find_external(key, wanted)
            if job is None or job.kind != kind:
                return wire.error(rid, 1203, f"task {brief(wanted)} does not exist")
            state, _ = job.state(self.ctx.engine.clock.now())
            if state in UNFINISHED and "p" not in (job.data or {}):
                return self._unfinished(rid, job, state)
            origin = self.origin(request) if state == SUCCEEDED else ""  # only finished tasks carry links
            return wire.envelope(rid, self._render(job, state, origin, decision.behaviour.url_ttl))

        get_task.__name__ = f"get_{kind}"
        return get_task

    def _unfinished(self, rid: str, job: Job, state: str) -> Response:
        """A submitted or processing task reads the same poll after poll: its body is kept encoded (bounded), by
        everything it shows, and the fresh request id put in front of it (the bytes ``wire.envelope`` writes)."""
        clock = self.ctx.engine.clock
        key = (job.id, state, (job.data or {}).get("x"), int(clock.epoch(job.created) * 1000),
               int(clock.epoch(wire.updated_at(job, state)) * 1000))
        cache = self._polls
        tail = cache.get(key)
        if tail is None:
            if len(cache) >= POLL_CACHE:
                cache.clear()
            tail = cache[key] = wire.envelope_tail(self._render(job, state, "", 0.0))
        return EncodedJSON(wire.ENVELOPE_HEAD + rid.encode() + tail)

    def _lister(self, kind: str):
        async def list_tasks(request: Request, decision: RequestDecision) -> Response:
            key = await self._authenticate(request, decision)
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
            listed = await self._tasks.owned(f"{key}\n{kind}", limit=page * size + LIST_SLACK)
            for task_id, _ in reversed(listed):
                job = await engine.get(self.name, task_id)
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
        key = await self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        rid = self.request_id()
        times = {}
        for name in ("start_time", "end_time"):
            value = request.query_params.get(name)
            if value is None or value == "":
                return wire.error(rid, 1201, f"{name} is required: a Unix time in milliseconds")
            times[name] = parse_int(value, 0, 10**15)
            if times[name] is None:
                return wire.error(rid, 1201, f"{name} must be a Unix time in milliseconds")
        if times["end_time"] < times["start_time"]:
            return wire.error(rid, 1201, "end_time must not be earlier than start_time")
        wanted = request.query_params.get("resource_pack_name")
        engine = self.ctx.engine
        credits = decision.behaviour.limits.credits
        total = credits if credits is not None else UNLIMITED_UNITS
        remaining = max(total - await engine.spent(self.name, key), 0.0)
        started = int(engine.clock.epoch(0.0) * 1000)
        name = "Video Generation - mock resource pack"
        packs = [] if wanted and wanted != name else [{
                "resource_pack_name": name,
                "resource_pack_id": f"mock-{key}"[:64],
                "resource_pack_type": "decreasing_total",
                "total_quantity": float(total),
                "remaining_quantity": round(remaining, 2),
                "purchase_time": started,
                "effective_time": started,
                "invalid_time": started + 365 * 86400 * 1000,
                "status": "online" if remaining > 0 else "runOut",
            }]
        return wire.envelope(rid, {"code": 0, "msg": "", "resource_pack_subscribe_infos": packs})

    # -- video-extend, identify-face ---------------------------------------------------------------------------

    async def _video_job(self, key: str, body: Any, field: str = "video_id") -> Job | None:
        """The finished video task of ``key`` whose result ``video_id`` is named in the body."""
        video_id = body.get(field) if isinstance(body, dict) else None
        if not isinstance(video_id, str) or not (video_id.isascii() and video_id.isdigit()) or len(video_id) > 20:
            return None
        job = await self.ctx.engine.get(self.name, wire.task_id_of_video(video_id))
        if job is None or job.account != key or not isinstance(job.output, VideoSpec):
            return None
        if job.state(self.ctx.engine.clock.now())[0] != SUCCEEDED:
            return None
        return job

    async def _extendable(self, key: str, body: Any) -> tuple[Job, str] | None:
        job = await self._video_job(key, body)
        if job is None or job.kind not in ("text2video", "image2video", families.EXTEND):
            return None
        return job, (job.data or {}).get("m", "std")

    async def identify_face(self, request: Request, decision: RequestDecision) -> Response:
        """Synchronous: the faces of a video (one of ours by ``video_id``, or any by ``video_url``)."""
        key = await self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        rid = self.request_id()
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            return wire.error(rid, 1200, f"Invalid request parameters: {exc.message}", exc.status)
        if not isinstance(body, dict):
            return wire.error(rid, 1200, "invalid request parameters: the body must be a JSON object")
        by_id, by_url = body.get("video_id"), body.get("video_url")
        if (by_id is None) == (by_url is None):
            return wire.error(rid, 1201, "exactly one of video_id and video_url is required")
        if by_id is not None:
            if not isinstance(by_id, str) or not by_id:
                return wire.error(rid, 1201, "video_id must be a string")
            job = await self._video_job(key, body)
            if job is None:  # as video-extend answers an unknown video: the resource does not exist
                return wire.error(rid, 1203, f"video_id {brief(by_id)} does not name a finished video of this "
                                             "account")
            seconds, width, height = job.output.duration, job.output.width, job.output.height
        else:
            if not isinstance(by_url, str) or http_url(by_url) is None:
                return wire.error(rid, 1201, "video_url must be an http(s) URL of an mp4 or mov video")
            seconds, width, height = 5.0, 1280, 720  # an outside video: the mock assumes 5 s of 720p
        if seconds > 60:
            return wire.error(rid, 1201, "the video must be at most 60 seconds long")
        duration_ms = int(seconds * 1000)
        engine = self.ctx.engine
        session = families.Session(key, engine.clock.now(), duration_ms, width, height, ("0",))
        session_id = await self.sessions.add_new(self._sessions, session)
        face = f"{self.origin(request)}/__media/kling/faces/{session_id}.jpg"
        return wire.envelope(rid, {"session_id": session_id, "final_unit_deduction": "0.05",
                                   "face_data": [{"face_id": "0", "face_image": face, "start_time": 0,
                                                  "end_time": duration_ms}]})

    async def face_image(self, request: Request) -> Response:
        """The cropped face picture identify-face links to (a real JPEG)."""
        session_id = request.path_params["session_id"]
        if len(session_id) > 64:
            return Response(status_code=404)
        seed = int.from_bytes(session_id.encode()[:8].ljust(8, b"\0"), "big")
        data = await self.ctx.media.get(ImageSpec(256, 256, "jpeg", seed))
        return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=86400"})

    # -- admin (under /__mock/kling/) -----------------------------------------------------------------------

    def _active_auth(self) -> dict[str, Any]:
        return self.ctx.engine.selector.active.profile.auth(self.name)

    async def admin_list_keys(self, request: Request) -> Response:
        return json_response({"keys": await self.keys.describe(self._active_auth())})

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
        if not await self.keys.add(access, secret):
            return json_response({"error": "too many key pairs; remove some first"}, 409)
        return json_response({"access_key": access, "source": "admin"}, 201)

    async def admin_remove_key(self, request: Request) -> Response:
        if not await self.keys.remove(request.path_params["access_key"]):
            return json_response({"error": "no such key pair added through the admin API"}, 404)
        return no_content()

    async def admin_callbacks(self, request: Request) -> Response:
        """The webhook journal's Kling part, as before it moved to ``/__mock/webhooks`` (kept as an alias)."""
        limit = limit_param(request)
        if isinstance(limit, str):
            return json_response({"error": limit}, 400)
        found = await self.ctx.webhooks.report(provider=self.name, job=request.query_params.get("task_id"),
                                               limit=limit)
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

