"""Luma's Dream Machine API v1 (lumaai 1.x): generations (text/image-to-video, keyframes, extend, interpolate,
modify, reframe, upscale, audio; Photon images and image reframes), get, list, delete, credits, concepts, ping and
callbacks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import QUEUED, RUNNING, SUCCEEDED, TERMINAL, THROTTLED, Job
from ...engine.limits import OverLimit
from ...media.render import VideoSpec
from ...media.routes import output_url, prewarm_output
from ...media.stills import ImageSpec
from ...state.tables import TaskIndex
from ...web.body import BodyError, read_body
from ...web.responses import json_response, no_content
from ...web.values import has_whitespace, parse_int
from ...webhooks import policy_for
from ..base import Dialect
from ..common import bearer_key, model_create_rate
from . import responses as wire
from .models import (
    CAMERA_MOTIONS,
    CONCEPTS,
    FPS,
    MODELS,
    ImageParams,
    Invalid,
    Params,
    parse_body_error,
    size_of,
    validate,
    validate_edit,
    validate_follow_up,
    validate_image,
    validate_image_reframe,
)

PREFIX = "/dream-machine/v1"
UNLIMITED_CENTS = 1_000_000.0
THUMBNAIL = 1  # the output index a thumbnail link is signed for (the video is 0)
THUMBNAIL_VARIANTS = 16  # distinct stills per geometry: enough to tell apart, few enough to cache
MAX_LIST_LIMIT = 1000
MAX_OFFSET = 10**9
LIST_SLACK = 64  # listed ids whose generation expired meanwhile, read past so a page stays full
MAX_KEPT = 4096  # unfinished generations' answers kept for their next polls


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=FPS, audio=audio)


def new_generation_id(rng) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int | Invalid:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = parse_int(raw.strip(), -(10**29), 10**29)
    if value is None:
        return Invalid(422, [{"type": "int_parsing", "loc": ["query", name],
                              "msg": "Input should be a valid integer, unable to parse string as an integer"}])
    if not low <= value <= high:
        return Invalid(422, [{"type": "less_than_equal" if value > high else "greater_than_equal",
                              "loc": ["query", name],
                              "msg": f"Input should be {'less' if value > high else 'greater'} than or equal to "
                                     f"{high if value > high else low}"}])
    return value


class LumaDialect(Dialect):
    name = "luma"
    title = "Luma Dream Machine"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        # each account's generation ids, shared by every replica (the list endpoint)
        self._listed = TaskIndex(ctx.state, "luma:generations", ctx.settings.max_jobs, ctx.settings.retention)
        # an unfinished generation's answer depends on the job and its state alone (no links yet): kept for the
        # polls that follow, by id and state, for that very job
        self._kept: dict[tuple[str, str], tuple[Job, Response]] = {}
        ctx.webhooks.register(self.name, self._callback)

    # -- the dialect contract -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        p = PREFIX
        return [
            self.route(p + "/generations/video", self.create_video, ["POST"], "create"),
            self.route(p + "/generations", self.create_video, ["POST"], "create"),  # docs' curl, older SDKs
            self.route(p + "/generations", self.list_generations, ["GET"], "list"),
            self.route(p + "/generations/video/modify", self.modify_video, ["POST"], "create"),
            self.route(p + "/generations/video/reframe", self.reframe_video, ["POST"], "create"),
            self.route(p + "/generations/image", self.create_image, ["POST"], "create"),
            self.route(p + "/generations/image/reframe", self.reframe_image, ["POST"], "create"),
            self.route(p + "/generations/concepts/list", self.list_concepts, ["GET"], "other"),
            self.route(p + "/generations/camera_motion/list", self.list_camera_motions, ["GET"], "other"),
            self.route(p + "/generations/{id}", self.get_generation, ["GET"], "status"),
            self.route(p + "/generations/{id}", self.delete_generation, ["DELETE"], "cancel"),
            self.route(p + "/generations/{id}/upscale", self.upscale, ["POST"], "create"),
            self.route(p + "/generations/{id}/audio", self.add_audio, ["POST"], "create"),
            self.route(p + "/credits", self.credits, ["GET"], "account"),
            self.route(p + "/assets/{id}/thumbnail.jpg", self.thumbnail, ["GET", "HEAD"], "download"),
            self.route(p + "/ping", self.ping, ["GET"], "other"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"LumaAI(base_url=...)": origin + PREFIX}

    def owns(self, path: str) -> bool:
        return path.startswith("/dream-machine/")

    def credential(self, request: Request) -> str | None:
        return bearer_key(request)

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        return wire.error(status, message if injected else None)

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        status, detail = wire.LIMITS.get(over.limit, wire.RATE_LIMITED)
        return wire.error(status, detail, wire.retry_headers(self.ctx.engine.wait_hint(over)) if status != 402
                          else None)

    def forget(self) -> None:
        self._kept.clear()

    async def reset(self) -> None:
        await self._listed.clear()

    # -- auth -----------------------------------------------------------------------------------------------

    def _authenticate(self, request: Request, decision: RequestDecision) -> str | Response:
        header = request.headers.get("authorization")
        if not header or header[:7].lower() != "bearer ":
            return wire.error(401, "Not authenticated")
        key = decision.key
        allowed = decision.assignment.profile.auth(self.name).get("keys")
        if key is None or has_whitespace(key) or (allowed and key not in allowed):
            return wire.error(401, "Invalid API key is provided")
        return key

    async def _body(self, request: Request, optional: bool = False) -> Any:
        try:
            raw = await read_body(request, self.ctx.settings.max_body)
            if optional and not raw.strip():
                return {}
            if not raw.strip():
                raise BodyError(400, "Request body is empty; expected JSON")
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return wire.error(422, parse_body_error(str(exc)).detail)
        except BodyError as exc:
            if exc.status == 413:
                return wire.error(413, "Request body is too large")
            invalid = parse_body_error(exc.message)
            return wire.error(invalid.status, invalid.detail)

    # -- creating -------------------------------------------------------------------------------------------

    async def _read(self, request: Request, decision: RequestDecision, check: Callable[[Any], Any]
                    ) -> tuple[str, Any] | Response:
        """The caller's key and its request body as ``check`` validated it, or the error to answer."""
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        params = check(body)
        if isinstance(params, Invalid):
            return wire.error(params.status, params.detail)
        return key, params

    async def create_video(self, request: Request, decision: RequestDecision) -> Response:
        read = await self._read(request, decision, validate)
        if isinstance(read, Response):
            return read
        key, params = read
        for ref in params.references():
            source = await self._own(key, ref)
            if source is None:
                return wire.error(400, f"Generation {ref[:64]} not found")
            if not isinstance(source.output, VideoSpec):
                return wire.error(400, f"Generation {ref[:64]} is not a video")
            if source.state(self.ctx.engine.clock.now())[0] != SUCCEEDED:
                return wire.error(400, f"Generation {ref[:64]} is not completed")
        return await self._submit_video(request, decision, key, params, 201)

    async def modify_video(self, request: Request, decision: RequestDecision) -> Response:
        return await self._edit(request, decision, "modify_video")

    async def reframe_video(self, request: Request, decision: RequestDecision) -> Response:
        return await self._edit(request, decision, "reframe_video")

    async def _edit(self, request: Request, decision: RequestDecision, kind: str) -> Response:
        read = await self._read(request, decision, lambda body: validate_edit(body, kind))
        if isinstance(read, Response):
            return read
        return await self._submit_video(request, decision, *read, 201)

    async def create_image(self, request: Request, decision: RequestDecision) -> Response:
        return await self._image(request, decision, validate_image)

    async def reframe_image(self, request: Request, decision: RequestDecision) -> Response:
        return await self._image(request, decision, validate_image_reframe)

    async def _image(self, request: Request, decision: RequestDecision,
                     check: Callable[[Any], ImageParams | Invalid]) -> Response:
        """A Photon still; with ``sync`` the answer waits (up to ``sync_timeout``) for it to finish."""
        read = await self._read(request, decision, check)
        if isinstance(read, Response):
            return read
        key, params = read
        width, height = params.size
        fmt = "png" if params.format == "png" else "jpeg"
        job = await self._submit(request, decision, key, model=params.model.name, kind=params.generation_type,
                           spec=ImageSpec(width, height, fmt), cents=params.cents, echo=params.request,
                           callback_url=params.callback_url,
                           usage={"images": 1, "megapixels": round(params.megapixels, 6)})
        if isinstance(job, Response):
            return job
        state = QUEUED
        if params.sync:
            state = await self._hold(job, params.sync_timeout)
        return json_response(self._render(job, state, self.origin(request), decision.behaviour.url_ttl), 201)

    async def _hold(self, job: Job, seconds: float) -> str:
        """Wait on the engine clock until ``job`` ends or ``seconds`` pass; its state then."""
        clock = self.ctx.engine.clock
        deadline = clock.now() + seconds
        while True:
            now = clock.now()
            state, _ = job.state(now)
            if state in TERMINAL or now >= deadline or not await self.ctx.engine.alive(job):
                return state
            await clock.sleep(max(min(job.ends, deadline) - now, 0.001))

    async def upscale(self, request: Request, decision: RequestDecision) -> Response:
        return await self._follow_up(request, decision, "upscale_video")

    async def add_audio(self, request: Request, decision: RequestDecision) -> Response:
        return await self._follow_up(request, decision, "add_audio")

    async def _follow_up(self, request: Request, decision: RequestDecision, kind: str) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        source = await self._own(key, request.path_params["id"])
        if source is None:
            return wire.error(404, "Generation not found")
        body = await self._body(request, optional=True)
        if isinstance(body, Response):
            return body
        if not isinstance(source.output, VideoSpec):
            return wire.error(400, "Generation is not a video")
        if source.state(self.ctx.engine.clock.now())[0] != SUCCEEDED:
            return wire.error(400, "Generation is not completed")
        params = validate_follow_up(body, kind, self._params_of(source))
        if isinstance(params, Invalid):
            return wire.error(params.status, params.detail)
        return await self._submit_video(request, decision, key, params, 200)

    def _params_of(self, job: Job) -> Params:
        data = job.data or {}
        spec = job.output
        return Params(model=MODELS[job.model], generation_type=job.kind, request={},
                      duration=f"{spec.duration:g}s", resolution=data.get("res", "720p"),
                      aspect_ratio=data.get("ar", "16:9"), callback_url=None, audio=spec.audio)

    async def _submit_video(self, request: Request, decision: RequestDecision, key: str, params: Params,
                      status: int) -> Response:
        width, height = size_of(params.resolution, params.aspect_ratio)
        job = await self._submit(request, decision, key, model=params.model.name, kind=params.generation_type,
                           spec=video_spec(width, height, params.seconds, params.audio), cents=params.cents,
                           echo=params.request, callback_url=params.callback_url,
                           usage={"seconds": params.seconds, "resolution": params.resolution,
                                  "audio": params.audio},
                           extra={"res": params.resolution, "ar": params.aspect_ratio})
        if isinstance(job, Response):
            return job
        return json_response(wire.generation(job, QUEUED, job.data["c"], None, None), status)

    async def _submit(self, request: Request, decision: RequestDecision, key: str, *, model: str, kind: str, spec: Any,
                cents: float, echo: dict[str, Any], callback_url: str | None, usage: dict[str, Any],
                extra: dict[str, Any] | None = None) -> Job | Response:
        """Admit one generation (its model's own create rate first); the job, or the error to answer."""
        engine = self.ctx.engine
        behaviour = decision.assignment.profile.resolve(self.name, model)
        over = await model_create_rate(self, key, model, behaviour, decision)  # Luma's RPM: on creates
        if over is not None:
            return self.over_limit(request, over)
        data: dict[str, Any] = {"r": wire.compact(echo), "c": wire.iso(engine.clock.epoch()), **(extra or {})}
        if callback_url is not None:
            data["cb"] = callback_url
            data["o"] = self.origin(request)
        result = await engine.submit(
            JobRequest(provider=self.name, model=model, account=key, kind=kind, make_id=new_generation_id,
                       cost=cents, output=spec, data=data, refund_failures=True, usage=usage),
            decision.assignment, queue_when_busy=False)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(400, "Contains blacklisted words")
        prewarm_output(self.ctx, result)
        await self._listed.add(result.account, result.id)
        if callback_url is not None:
            self._watch(result, behaviour)
        return result

    async def _own(self, key: str, generation_id: str) -> Job | None:
        job = await self.ctx.engine.get(self.name, generation_id)
        return job if job is not None and job.account == key else None

    # -- reading --------------------------------------------------------------------------------------------

    def _render(self, job: Job, state: str, origin: str, ttl: float) -> dict[str, Any]:
        if state != SUCCEEDED:
            return wire.generation(job, state, job.data["c"], None, None)
        if isinstance(job.output, ImageSpec):
            return wire.generation(job, state, job.data["c"], None, output_url(self.ctx, origin, job, 0, ttl))
        links = self.ctx.links
        signed = links.url("", job.id, THUMBNAIL, ttl, "jpg").partition("?")[2]
        return wire.generation(job, state, job.data["c"], links.url(origin, job.id, 0, ttl),
                               f"{origin}{PREFIX}/assets/{job.id}/thumbnail.jpg?{signed}")

    async def thumbnail(self, request: Request, decision: RequestDecision) -> Response:
        """``assets.image``: a JPEG still of the video's size, behind a signed, expiring link like the video's."""
        job_id = request.path_params["id"]
        problem = self.ctx.links.check(job_id, THUMBNAIL, request.query_params.get("exp"),
                                       request.query_params.get("sig"))
        if problem is not None:
            return PlainTextResponse(f"This asset link is {'expired' if problem == 'expired' else 'not valid'}.",
                                     403)
        job = await self.ctx.engine.get(self.name, job_id)
        if job is None or not isinstance(job.output, VideoSpec) or \
                job.state(self.ctx.engine.clock.now())[0] != SUCCEEDED:
            return PlainTextResponse("No such asset.", 404)
        spec = ImageSpec(job.output.width, job.output.height, "jpeg", seed=int(job.id[:8], 16) % THUMBNAIL_VARIANTS)
        data = await self.ctx.media.get(spec)
        return Response(b"" if request.method == "HEAD" else data, media_type="image/jpeg",
                        headers={"cache-control": "private, max-age=3600", "content-length": str(len(data))})

    async def _addressed(self, request: Request, decision: RequestDecision) -> Job | Response:
        """The caller's generation named in the path, or the error to answer (401, or 404 for another's)."""
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        job = await self._own(key, request.path_params["id"])
        return wire.error(404, "Generation not found") if job is None else job

    async def get_generation(self, request: Request, decision: RequestDecision) -> Response:
        job = await self._addressed(request, decision)
        if isinstance(job, Response):
            return job
        state, _ = job.state(self.ctx.engine.clock.now())
        if state in TERMINAL:
            return json_response(self._render(job, state, self.origin(request), decision.behaviour.url_ttl))
        kept = self._kept.get((job.id, state))
        if kept is not None and kept[0] is job:
            return kept[1]
        answer = json_response(self._render(job, state, "", 0.0))
        if len(self._kept) >= MAX_KEPT:
            self._kept.clear()
        self._kept[(job.id, state)] = (job, answer)
        return answer

    async def list_generations(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        limit = _int_param(request, "limit", 100, 1, MAX_LIST_LIMIT)
        offset = _int_param(request, "offset", 0, 0, MAX_OFFSET)
        for value in (limit, offset):
            if isinstance(value, Invalid):
                return wire.error(value.status, value.detail)
        assert isinstance(limit, int) and isinstance(offset, int)
        engine = self.ctx.engine
        now = engine.clock.now()
        origin = self.origin(request)
        ttl = decision.behaviour.url_ttl
        out: list[dict[str, Any]] = []
        skip = offset
        has_more = False
        for generation_id in await self._listed.newest(key, offset + limit + 1 + LIST_SLACK):
            job = await engine.find(generation_id)
            if job is None:
                continue
            if skip:
                skip -= 1
                continue
            if len(out) >= limit:
                has_more = True
                break
            out.append(self._render(job, job.state(now)[0], origin, ttl))
        return json_response(wire.page(out, has_more, limit, offset))

    async def delete_generation(self, request: Request, decision: RequestDecision) -> Response:
        job = await self._addressed(request, decision)
        if isinstance(job, Response):
            return job
        engine = self.ctx.engine
        state, _ = job.state(engine.clock.now())
        await engine.delete(job, refund=state not in TERMINAL)  # never finished: not billed
        return no_content()

    async def credits(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        budget = decision.behaviour.limits.credits
        total = budget if budget is not None else UNLIMITED_CENTS
        spent = await self.ctx.engine.spent(self.name, key)
        return json_response({"credit_balance": round(max(total - spent, 0.0), 2)})

    async def list_concepts(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        return key if isinstance(key, Response) else json_response(list(CONCEPTS))

    async def list_camera_motions(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        return key if isinstance(key, Response) else json_response(list(CAMERA_MOTIONS))

    async def ping(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        return key if isinstance(key, Response) else json_response({"message": "pong"})

    # -- callbacks ------------------------------------------------------------------------------------------

    def _watch(self, job: Job, behaviour) -> None:
        """POST the Generation at ``dreaming`` and at the end (Luma promises no POST at ``queued``)."""
        data = job.data or {}
        self.ctx.webhooks.follow(job, provider=self.name, url=data["cb"], policy=policy_for(behaviour),
                                 params={"o": data.get("o", ""), "ttl": behaviour.url_ttl}, initial=QUEUED)

    def _callback(self, job: Job, state: str, told: str | None, params: dict[str, Any]) -> list[tuple[str, Any]]:
        """The POSTs for ``state`` (after ``told``), the same on any replica."""
        if state in (THROTTLED, QUEUED):
            return []
        out: list[tuple[str, Any]] = []
        before = told in (None, THROTTLED, QUEUED)
        if state != RUNNING and before and job.ends > job.started:
            out += self._callback(job, RUNNING, told, params)  # the timeline ran late: it was dreaming
        if before or wire.STATE[told] != wire.STATE[state]:
            out.append((wire.STATE[state], self._render(job, state, params["o"], params["ttl"])))
        return out
