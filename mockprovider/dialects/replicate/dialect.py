"""Replicate's HTTP API (replicate 1.x): predictions by model, version or deployment, Prefer: wait, cancel,
cursor pages, the model and version lookups of ``run()``, files, the webhook signing secret and the account."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import orjson
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.behaviour import Limits
from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import QUEUED, RUNNING, SUCCEEDED, TERMINAL, THROTTLED, Job
from ...engine.limits import OverLimit
from ...engine.rng import derive_seed, stream
from ...media.render import VideoSpec
from ...media.routes import output_url, prewarm_output
from ...state.tables import TooLarge
from ...web.body import BodyError, read_body, read_json
from ...web.responses import EncodedJSON, json_response, no_content
from ...web.values import parse_int
from ...webhooks import StandardWebhooks, policy_for
from ..base import Dialect
from . import responses as wire
from .events import PredictionWebhooks
from .files import MAX_BYTES, MAX_NAME_BYTES, FileStore
from .models import MAX_PROBLEMS, MODELS, Problem, VideoModel, describe, echoed, find, type_name, validate

TOKEN_PREFIX = "r8_"
KIND = "prediction"
PAGE = 100
MAX_WAIT = 60
EVENTS = ("start", "output", "logs", "completed")
DEFAULT_EVENTS = ["output", "completed"]
BODY_FIELDS = frozenset({"version", "input", "webhook", "webhook_completed", "webhook_events_filter", "stream"})
MAX_WEBHOOK_URL = 2048
MAX_UPLOAD = 100 * 2**20
PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait(?:\s*=\s*([0-9]{1,6}))?\s*(?:$|[,;])", re.I | re.A)
GO_DURATION = re.compile(r"^(?:([0-9]{1,6}(?:\.[0-9]{1,6})?)h)?(?:([0-9]{1,6}(?:\.[0-9]{1,6})?)m)?"
                         r"(?:([0-9]{1,9}(?:\.[0-9]{1,6})?)s)?$", re.A)
MIN_CANCEL_AFTER = 5.0
POLL_CACHE = 4096
FILE_ID = "[A-Za-z0-9+=-]{16,128}"
FILE_PATH = re.compile(f"/v1/files/{FILE_ID}(?:/download)?")


class FileIdConvertor(Convertor):
    """Replicate's file ids (long base64 text): never MiniMax's ``/v1/files/retrieve`` and its kin."""

    regex = FILE_ID

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("replicate_file", FileIdConvertor())


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


def cancel_after(header: str | None) -> float | str | None:
    """Seconds from a ``Cancel-After`` header (Go duration text such as ``90s``, ``5m``, ``1h30m``, or bare
    seconds), None without one, or the problem with it."""
    if header is None:
        return None
    text = header.strip().lower()
    if parse_int(text, 0, 10**9) is not None:
        seconds = float(text)
    else:
        match = GO_DURATION.match(text)
        if not text or match is None or not any(match.groups()):
            return "Cancel-After must be a duration such as 90s, 5m or 1h30m"
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds < MIN_CANCEL_AFTER:
        return f"Cancel-After must be at least {MIN_CANCEL_AFTER:g} seconds"
    return min(seconds, 7 * 86400.0)


def prefer_wait(header: str | None) -> int | None:
    """The seconds a ``Prefer: wait[=N]`` asks for, clamped to 1-60; None if the request does not ask."""
    if not header:
        return None
    match = PREFER_WAIT.search(header)
    if match is None:
        return None
    return MAX_WAIT if match.group(1) is None else max(1, min(int(match.group(1)), MAX_WAIT))


class ReplicateDialect(Dialect):
    name = "replicate"
    title = "Replicate"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.files = FileStore(ctx.state)
        self._secret_root: str | None = None
        # prediction id -> its submission number, owned by the account: the list's order and cursors, shared
        self._listed = ctx.state.table("replicate:predictions", ctx.settings.max_jobs, ttl=ctx.settings.retention)
        self._waiters: dict[str, list[asyncio.Future]] = {}
        self._file_ids = stream(ctx.engine.seed, "replicate", "files")
        self._seeds = stream(ctx.engine.seed, "replicate", "seeds")
        self._signers: dict[str, StandardWebhooks] = {}
        self._polls: dict[tuple, bytes] = {}  # unfinished predictions' encoded bodies, by logs step
        self.webhooks = PredictionWebhooks(
            ctx.webhooks, self.name, lambda job, status, params: self.render(job, params["o"], params["ttl"],
                                                                             as_status=status))
        ctx.webhooks.register(self.name, self.webhooks.final, lambda params: self._signer_of(params["s"]),
                              tick=self.webhooks.logs)

    # -- the dialect contract -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        r = self.route
        return [
            r("/v1/predictions", self.create_by_version, ["POST"], "create"),
            r("/v1/predictions", self.list_predictions, ["GET"], "list"),
            r("/v1/predictions/{prediction_id}", self.get_prediction, ["GET"], "status"),
            r("/v1/predictions/{prediction_id}/cancel", self.cancel_prediction, ["POST"], "cancel"),
            r("/v1/models/{owner}/{name}/predictions", self.create_by_model, ["POST"], "create"),
            r("/v1/deployments/{owner}/{name}/predictions", self.create_by_deployment, ["POST"], "create"),
            r("/v1/models", self.list_models, ["GET"], "list"),
            r("/v1/models/{owner}/{name}", self.get_model, ["GET"], "other"),
            r("/v1/models/{owner}/{name}/versions", self.list_versions, ["GET"], "list"),
            r("/v1/models/{owner}/{name}/versions/{version_id}", self.get_version, ["GET"], "other"),
            r("/v1/deployments/{owner}/{name}", self.get_deployment, ["GET"], "other"),
            r("/v1/webhooks/default/secret", self.webhook_secret, ["GET"], "account"),
            r("/v1/account", self.account, ["GET"], "account"),
            r("/v1/files", self.create_file, ["POST"], "other"),
            r("/v1/files", self.list_files, ["GET"], "list"),
            r("/v1/files/{file_id:replicate_file}", self.get_file, ["GET"], "other"),
            r("/v1/files/{file_id:replicate_file}", self.delete_file, ["DELETE"], "other"),
            r("/v1/files/{file_id:replicate_file}/download", self.download_file, ["GET"], "download"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"replicate.Client(base_url=...)": origin}

    def owns(self, path: str) -> bool:
        if path.startswith("/v1/files/"):  # MiniMax has /v1/files/retrieve and kin
            return FILE_PATH.fullmatch(path) is not None
        return path in ("/v1/files", "/v1/account", "/v1/models", "/v1/predictions") or path.startswith(
            ("/v1/predictions/", "/v1/models/", "/v1/deployments/", "/v1/webhooks/", "/v1/hardware",
             "/v1/collections", "/v1/trainings"))

    def credential(self, request: Request) -> str | None:
        header = request.headers.get("authorization")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() in ("bearer", "token"):
                return token.strip() or None
        return None

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        if status == 404 and not injected:
            return wire.not_found()
        return wire.problem(status, message)

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        if over.limit == "credits":
            return wire.problem(402, "You have insufficient credit to run this model. Go to "
                                     "https://replicate.com/account/billing to purchase credit.",
                                "Insufficient credit")
        if over.limit == "capacity":
            return wire.problem(503, "The service is at capacity; please retry shortly.",
                                headers={"retry-after": "1"})
        return wire.throttled(self.ctx.engine.wait_hint(over))

    async def startup(self) -> None:
        if self.ctx.state.shared:  # replicas run with their own seeds: derive account secrets from a shared one
            self._secret_root = (await self.ctx.state.secret("replicate-webhooks")).hex()

    async def reset(self) -> None:
        await self.files.clear()
        await self._listed.clear()

    def forget(self) -> None:
        for waiting in self._waiters.values():
            for future in waiting:
                if not future.done():
                    future.cancel()
        self._waiters.clear()
        self._file_ids = stream(self.ctx.engine.seed, "replicate", "files")
        self._seeds = stream(self.ctx.engine.seed, "replicate", "seeds")
        self._signers.clear()
        self._polls.clear()

    # -- auth -----------------------------------------------------------------------------------------------

    def _authenticate(self, decision: RequestDecision) -> str | Response:
        key = decision.key
        if key is None:
            return wire.problem(401, "You did not pass an authentication token", "Unauthenticated")
        allowed = decision.assignment.profile.auth(self.name).get("keys")
        if (key not in allowed) if allowed else not key.startswith(TOKEN_PREFIX):
            return wire.problem(401, "You did not pass a valid authentication token", "Unauthenticated")
        return key

    async def _take_create(self, key: str, decision: RequestDecision) -> OverLimit | None:
        """Replicate limits creating predictions apart from other calls (600 a minute against 3000)."""
        per_minute = decision.assignment.profile.auth(self.name).get("create_requests_per_minute")
        if per_minute is None:
            return None
        return await self.ctx.engine.take_token(self.name, key + "\x00create",
                                                Limits(requests_per_minute=int(per_minute)))

    # -- creating predictions -------------------------------------------------------------------------------

    async def create_by_version(self, request: Request, decision: RequestDecision) -> Response:
        return await self._create(request, decision, None, None)

    async def create_by_model(self, request: Request, decision: RequestDecision) -> Response:
        ref = f"{request.path_params['owner']}/{request.path_params['name']}"
        return await self._create(request, decision, ref, None)

    async def create_by_deployment(self, request: Request, decision: RequestDecision) -> Response:
        ref = f"{request.path_params['owner']}/{request.path_params['name']}"
        return await self._create(request, decision, None, ref)

    def _deployment_model(self, decision: RequestDecision, deployment: str) -> VideoModel | None:
        """A deployment runs the model the profile names for it (``auth.deployments``), else the catalogue model
        with the deployment's name (``acme/hailuo-02`` runs ``minimax/hailuo-02``)."""
        named = (decision.assignment.profile.auth(self.name).get("deployments") or {}).get(deployment)
        if isinstance(named, str):
            return find(named)
        wanted = deployment.partition("/")[2]
        return next((m for m in MODELS.values() if m.name == wanted), None)

    async def _create(self, request: Request, decision: RequestDecision, model_ref: str | None,
                      deployment: str | None) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        over = await self._take_create(key, decision)
        if over is not None:
            return self.over_limit(request, over)
        try:
            body = await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            return wire.problem(exc.status, exc.message)
        if not isinstance(body, dict):
            return self._invalid([Problem("invalid_type", "(root)", "Invalid type. Expected: object, given: "
                                                                    f"{type_name(body)}")])
        problems = _check_body(body, versioned=model_ref is None and deployment is None)
        if problems:
            return self._invalid(problems)
        if deployment is not None:
            model = self._deployment_model(decision, deployment)
            if model is None:
                return wire.not_found()
            version = model.version
        elif model_ref is not None:
            model = MODELS.get(model_ref)
            if model is None:
                return wire.not_found()
            version = "hidden"
        else:
            model = find(body["version"])
            if model is None:
                return wire.problem(422, "The specified version does not exist (or perhaps you don't have "
                                         "permission to use it?)", "Invalid version or not permitted")
            version = model.version
        params = validate(model, body.get("input", {}))
        if isinstance(params, list):
            return self._invalid(params)
        deadline = cancel_after(request.headers.get("cancel-after"))
        if isinstance(deadline, str):
            return wire.problem(400, deadline)
        wait = prefer_wait(request.headers.get("prefer"))
        webhook, events = _webhook_of(body)
        origin = self.origin(request)
        data: dict[str, Any] = {"m": model.ref, "v": version, "o": origin,
                                "i": {name: echoed(value) for name, value in params.input.items()},
                                "sd": self._seeds.getrandbits(31)}  # the seed the logs show when none is given
        if deployment is not None:
            data["d"] = deployment
        if webhook is not None:
            data["w"], data["f"] = webhook, events
        spec = video_spec(params.width, params.height, params.duration, params.fps, params.audio)
        engine = self.ctx.engine
        usage = params.usage
        quote = engine.quote(self.name, model.ref, usage, decision.assignment.profile)
        result = await engine.submit(  # Replicate bills in dollars: the price book's where it has one
            JobRequest(provider=self.name, model=model.ref, account=key, kind=KIND, make_id=wire.new_id,
                       cost=quote.usd if quote is not None else params.price, output=spec, data=data,
                       refund_failures=True, usage=usage),
            decision.assignment, queue_when_busy=True)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.problem(422, "The input was flagged as sensitive. Please try again with different "
                                     "inputs. (E005)", "Input flagged")
        prewarm_output(self.ctx, result)
        await self._listed.set(result.id, result.seq, owner=result.account)
        if deadline is not None:
            engine.timeline.at(result.created + deadline, lambda job=result: self._deadline(job))
        if webhook is not None:
            ttl = decision.behaviour.url_ttl
            secret = self.signing_secret(decision.assignment.profile.auth(self.name), key)
            self.webhooks.follow(
                result, url=webhook, events=events, policy=policy_for(
                    decision.assignment.profile.resolve(self.name, model.ref)),
                params={"o": origin, "ttl": ttl, "s": secret}, steps=model.steps,
                watch=self._release_at_end if wait is not None else None)
        elif wait is not None:
            self.ctx.engine.watch(result, self._release_at_end)
        headers = {}
        as_status: str | None = "starting"  # what a create answers, however quickly the prediction moves on
        if wait is not None:
            await self._hold(result, wait)
            headers["preference-applied"] = "wait"
            if result.state(engine.clock.now())[0] in TERMINAL:
                as_status = None  # else "starting": run() takes anything else as finished
        body_out = self.render(result, origin, decision.behaviour.url_ttl, as_status=as_status)
        headers["location"] = body_out["urls"]["get"]
        return json_response(body_out, 201, headers)

    def _invalid(self, problems: list[Problem]) -> Response:
        problems = problems[:MAX_PROBLEMS]
        return wire.problem(422, describe(problems), "Input validation failed",
                            invalid_fields=[p.wire() for p in problems])


    async def _deadline(self, job: Job) -> None:
        if await self.ctx.engine.alive(job):
            await self._cancel(job)

    # -- following a prediction (Prefer: wait) --------------------------------------------------------------

    def _release_at_end(self, job: Job, state: str) -> None:
        if state in TERMINAL:
            self._release(job)

    def _release(self, job: Job) -> None:
        """Answer the requests held for ``job`` once polls see it finished (a webhook fault may call early)."""
        if job.id not in self._waiters:
            return
        engine = self.ctx.engine
        if job.state(engine.clock.now())[0] not in TERMINAL:
            engine.timeline.at(job.ends, lambda: self._release(job))
            return
        for future in self._waiters.pop(job.id, ()):
            if not future.done():
                future.set_result(None)

    async def _hold(self, job: Job, seconds: int) -> None:
        """Hold the request until the prediction finishes or ``seconds`` pass (engine seconds, and never more
        real seconds than the client's read timeout of ``seconds + 0.5``)."""
        clock = self.ctx.engine.clock
        if job.state(clock.now())[0] in TERMINAL:
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(job.id, []).append(future)
        try:
            await asyncio.wait_for(future, min(clock.real_seconds(seconds), float(seconds)))
        except (asyncio.TimeoutError, asyncio.CancelledError):
            pass
        finally:
            waiting = self._waiters.get(job.id)
            if waiting is not None and future in waiting:
                waiting.remove(future)
                if not waiting:
                    del self._waiters[job.id]

    # -- reading predictions --------------------------------------------------------------------------------

    def render(self, job: Job, origin: str, url_ttl: float, as_status: str | None = None) -> dict[str, Any]:
        engine = self.ctx.engine
        now = engine.clock.now()
        state, progress = job.state(now)
        output = None
        if state == SUCCEEDED:
            ttl = min(url_ttl, max(job.ends + wire.RETENTION - now, 1.0))
            output = output_url(self.ctx, origin, job, 0, ttl)
        model = MODELS.get(job.model)
        spec = job.output
        data = job.data or {}
        seed = data["i"].get("seed")
        header = wire.log_header(data["sd"] if seed is None else seed, spec.duration, spec.width, spec.height,
                                 spec.fps)
        return wire.prediction(job, state, progress, epoch=engine.clock.epoch, origin=origin, now=now,
                               output=output, steps=model.steps if model else 30, header=header,
                               as_status=as_status)

    async def _prediction_of(self, request: Request, decision: RequestDecision) -> Job | Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        job = await self.ctx.engine.get(self.name, request.path_params["prediction_id"])
        if job is None or job.account != key:
            return wire.not_found()
        return job

    async def get_prediction(self, request: Request, decision: RequestDecision) -> Response:
        job = await self._prediction_of(request, decision)
        if isinstance(job, Response):
            return job
        origin = self.origin(request)
        state, progress = job.state(self.ctx.engine.clock.now())
        if state not in (THROTTLED, QUEUED, RUNNING):
            return json_response(self.render(job, origin, decision.behaviour.url_ttl))
        # A running prediction reads the same until its logs gain a step: render it once per step.
        model = MODELS.get(job.model)
        key = (job.id, state, int(progress * (model.steps if model else 30)), job.started, origin)
        cache = self._polls
        body = cache.get(key)
        if body is None:
            if len(cache) >= POLL_CACHE:
                cache.clear()
            body = cache[key] = orjson.dumps(self.render(job, origin, decision.behaviour.url_ttl))
        return EncodedJSON(body)  # kept encoded: an identical poll is not serialized again

    async def cancel_prediction(self, request: Request, decision: RequestDecision) -> Response:
        job = await self._prediction_of(request, decision)
        if isinstance(job, Response):
            return job
        await self._cancel(job)
        return json_response(self.render(job, self.origin(request), decision.behaviour.url_ttl))

    async def _cancel(self, job: Job) -> None:
        """Cancel a prediction that has not finished. Video models bill per output, so a canceled one is free."""
        engine = self.ctx.engine
        state, _ = job.state(engine.clock.now())
        if state in (THROTTLED, QUEUED, RUNNING) and await engine.cancel(job):
            await engine.refund(job)

    async def list_predictions(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        query = request.query_params
        cursor = _read_cursor(query.get("cursor"))
        if isinstance(cursor, str):
            return wire.problem(400, cursor)
        bounds = []
        for name in ("created_after", "created_before"):
            value = _read_time(query.get(name))
            if value is not None and value.startswith("expected"):
                return wire.problem(400, f"{name}: {value}")
            bounds.append(value)
        after, before = bounds
        engine = self.ctx.engine
        epoch = engine.clock.epoch
        origin = self.origin(request)
        listed = [(n, prediction_id) for prediction_id, n in await self._listed.owned(key)]
        direction, mark = cursor if cursor is not None else ("b", None)
        newest_first = reversed(listed) if direction == "b" else iter(listed)
        page: list[tuple[int, Job]] = []
        for n, job_id in newest_first:
            if mark is not None and (n >= mark if direction == "b" else n <= mark):
                continue
            job = await engine.find(job_id)
            if job is None:
                continue
            created = wire.iso(epoch(job.created))  # compared as created_at shows it (fixed-width UTC text)
            if (after is not None and created <= after) or (before is not None and created >= before):
                continue
            page.append((n, job))
            if len(page) > PAGE:
                break
        more = len(page) > PAGE
        page = page[:PAGE]
        if direction == "a":
            page.reverse()
        ttl = decision.behaviour.url_ttl
        results = [self.render(job, origin, ttl) for _, job in page]
        base = f"{origin}/v1/predictions?"
        extra = "".join(f"&{name}={quote(query[name], safe='')}" for name in ("created_after", "created_before")
                        if name in query)
        older = more if direction == "b" else mark is not None
        newer = mark is not None if direction == "b" else more
        return json_response({
            "previous": f"{base}cursor={_cursor('a', page[0][0])}{extra}" if page and newer else None,
            "next": f"{base}cursor={_cursor('b', page[-1][0])}{extra}" if page and older else None,
            "results": results,
        })

    # -- models, versions, deployments ----------------------------------------------------------------------

    def _model_of(self, request: Request) -> VideoModel | None:
        return MODELS.get(f"{request.path_params['owner']}/{request.path_params['name']}")

    def _version_wire(self, model: VideoModel) -> dict[str, Any]:
        return {"id": model.version, "created_at": model.created_at, "cog_version": model.cog_version,
                "openapi_schema": model.openapi_schema()}

    def _model_wire(self, model: VideoModel) -> dict[str, Any]:
        return {
            "url": f"https://replicate.com/{model.ref}", "owner": model.owner, "name": model.name,
            "description": model.description, "visibility": "public", "is_official": True,
            "github_url": None, "paper_url": None, "license_url": None, "cover_image_url": None,
            "run_count": int(derive_seed(0, model.ref) % 5_000_000), "default_example": None,
            "latest_version": self._version_wire(model),
        }

    async def get_model(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        model = self._model_of(request)
        return wire.not_found() if model is None else json_response(self._model_wire(model))

    async def list_models(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        return json_response({"previous": None, "next": None,
                              "results": [self._model_wire(m) for m in MODELS.values()]})

    async def list_versions(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        model = self._model_of(request)
        if model is None:
            return wire.not_found()
        return json_response({"previous": None, "next": None, "results": [self._version_wire(model)]})

    async def get_version(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        model = self._model_of(request)
        if model is None or request.path_params["version_id"] != model.version:
            return wire.not_found()
        return json_response(self._version_wire(model))

    async def get_deployment(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        owner, name = request.path_params["owner"], request.path_params["name"]
        model = self._deployment_model(decision, f"{owner}/{name}")
        if model is None:
            return wire.not_found()
        return json_response({
            "owner": owner, "name": name,
            "current_release": {
                "number": 1, "model": model.ref, "version": model.version, "created_at": model.created_at,
                "created_by": self._account_wire(key),
                "configuration": {"hardware": "gpu-h100", "min_instances": 0, "max_instances": 5},
            },
        })

    # -- account and webhook secret -------------------------------------------------------------------------

    def _account_wire(self, key: str) -> dict[str, Any]:
        handle = "mock-" + hashlib.sha256(key.encode()).hexdigest()[:10]
        return {"type": "user", "username": handle, "name": handle, "github_url": None}

    async def account(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        return json_response(self._account_wire(key))

    def signing_secret(self, profile_auth: dict[str, Any], key: str) -> str:
        """The account's default webhook secret: the profile's ``auth.webhook_secret``, else one derived from
        the run's seed (or with shared state, a secret every replica shares) and the token."""
        configured = profile_auth.get("webhook_secret")
        if isinstance(configured, str) and _usable_secret(configured):
            return configured
        root = self._secret_root or self.ctx.engine.seed
        raw = hashlib.sha256(f"{root}/replicate/{key}".encode()).digest()
        return "whsec_" + base64.b64encode(raw).decode()

    def _signer_of(self, secret: str) -> StandardWebhooks:
        signer = self._signers.get(secret)
        if signer is None:
            if len(self._signers) >= 4096:
                self._signers.clear()
            signer = self._signers[secret] = StandardWebhooks(secret)
        return signer

    async def webhook_secret(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        return json_response({"key": self.signing_secret(decision.assignment.profile.auth(self.name), key)})

    # -- files ----------------------------------------------------------------------------------------------

    async def create_file(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        limit = min(self.ctx.settings.max_body, MAX_UPLOAD)
        if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            return wire.problem(415, "Expected a multipart/form-data body with a 'content' part",
                                "Unsupported media type")
        try:
            raw = await read_body(request, limit)  # bounded before the form parser sees it
        except BodyError as exc:
            return wire.problem(exc.status, exc.message)

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(max_files=1, max_fields=8, max_part_size=limit)
        except Exception as exc:  # the multipart parser's own errors for malformed bodies
            return wire.problem(400, f"Could not parse the multipart body: {str(exc)[:200]}")
        try:
            content = form.get("content")
            if content is None or isinstance(content, str):
                return self._invalid([Problem("required", "(root)", "content is required")])
            name = form.get("filename") if isinstance(form.get("filename"), str) else content.filename
            name = name or "file"
            if len(name.encode()) > MAX_NAME_BYTES:
                return self._invalid([Problem("string_lte", "filename",
                                              f"String length must be less than or equal to {MAX_NAME_BYTES}")])
            metadata: Any = {}
            if isinstance(form.get("metadata"), str):
                try:
                    metadata = orjson.loads(form["metadata"])
                except orjson.JSONDecodeError:
                    metadata = None
                if not isinstance(metadata, dict):
                    return self._invalid([Problem("invalid_type", "metadata",
                                                  "Invalid type. Expected: object, given: string")])
            data = await content.read()
            content_type = (form.get("type") if isinstance(form.get("type"), str) else None) or (
                content.content_type or "application/octet-stream")
        finally:
            await form.close()
        engine = self.ctx.engine
        try:
            stored = await self.files.add(self._file_ids, key, name, content_type, data, metadata,
                                          engine.clock.now())
        except TooLarge:
            return wire.problem(413, f"The file is too large: at most {MAX_BYTES // 2**20} MiB")
        return json_response(stored.wire(self.origin(request), engine.clock.epoch), 201)

    async def list_files(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        engine = self.ctx.engine
        origin = self.origin(request)
        return json_response({"previous": None, "next": None, "results": [
            f.wire(origin, engine.clock.epoch) for f in await self.files.owned(key, engine.clock.now())]})

    async def get_file(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        engine = self.ctx.engine
        stored = await self.files.get(key, request.path_params["file_id"], engine.clock.now())
        if stored is None:
            return wire.not_found()
        return json_response(stored.wire(self.origin(request), engine.clock.epoch))

    async def delete_file(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        if not await self.files.delete(key, request.path_params["file_id"], self.ctx.engine.clock.now()):
            return wire.not_found()
        return no_content()

    async def download_file(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(decision)
        if isinstance(key, Response):
            return key
        stored = await self.files.get(key, request.path_params["file_id"], self.ctx.engine.clock.now())
        content = None if stored is None else await self.files.content(stored.id)
        if stored is None or content is None:
            return wire.not_found()
        return Response(content, media_type=stored.content_type,
                        headers={"content-disposition": f'attachment; filename="{_header_safe(stored.name)}"'})


# -- request helpers ----------------------------------------------------------------------------------------


def _check_body(body: dict[str, Any], versioned: bool) -> list[Problem]:
    """The top level of a create body: what Replicate's schema for it allows."""
    problems: list[Problem] = []
    allowed = BODY_FIELDS if versioned else BODY_FIELDS - {"version"}
    for name in body:
        if name not in allowed:
            problems.append(Problem("additional_property_not_allowed", "(root)",
                                    f"Additional property {str(name)[:100]} is not allowed"))
    if versioned:
        if "version" not in body:
            problems.append(Problem("required", "(root)", "version is required"))
        elif not isinstance(body["version"], str):
            problems.append(Problem("invalid_type", "version", "Invalid type. Expected: string, given: "
                                                               f"{type_name(body['version'])}"))
    if "input" not in body:
        problems.append(Problem("required", "(root)", "input is required"))
    for name in ("webhook", "webhook_completed"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(Problem("invalid_type", name, f"Invalid type. Expected: string, given: "
                                                          f"{type_name(value)}"))
        elif len(value) > MAX_WEBHOOK_URL or re.match(r"^https?://[^/\s?#]+(?:[/?#]\S*)?$", value, re.I) is None:
            problems.append(Problem("format", name, "Does not match format 'uri'"))
    events = body.get("webhook_events_filter")
    if events is not None:
        if not isinstance(events, list):
            problems.append(Problem("invalid_type", "webhook_events_filter",
                                    f"Invalid type. Expected: array, given: {type_name(events)}"))
        else:
            for n, event in enumerate(events):
                if event not in EVENTS:
                    problems.append(Problem("enum", f"webhook_events_filter.{n}",
                                            f"webhook_events_filter.{n} must be one of the following: "
                                            + ", ".join(f'"{e}"' for e in EVENTS)))
    stream_flag = body.get("stream")
    if stream_flag is not None and not isinstance(stream_flag, bool):
        problems.append(Problem("invalid_type", "stream", f"Invalid type. Expected: boolean, given: "
                                                          f"{type_name(stream_flag)}"))
    return problems


def _webhook_of(body: dict[str, Any]) -> tuple[str | None, list[str]]:
    """Where and for which events to send webhooks: ``webhook`` with its filter (default: new outputs and
    completion), or the deprecated ``webhook_completed`` as completion only."""
    if body.get("webhook"):
        events = body.get("webhook_events_filter")
        return body["webhook"], list(dict.fromkeys(events)) if events else list(DEFAULT_EVENTS)
    if body.get("webhook_completed"):
        return body["webhook_completed"], ["completed"]
    return None, []


def _cursor(direction: str, n: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}{n}".encode()).decode().rstrip("=")


def _read_cursor(raw: str | None) -> tuple[str, int] | str | None:
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return "Invalid cursor"
    n = parse_int(text[1:], 0, 10**18)
    if not text or text[0] not in "ab" or n is None:
        return "Invalid cursor"
    return text[0], n


def _read_time(raw: str | None) -> str | None:
    """A query's ISO 8601 time as UTC text in created_at's own format (so the two compare as strings), or what is
    wrong with it (a message starting with "expected")."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        return "expected an ISO 8601 date-time"
    if moment.tzinfo is None:
        return "expected a time zone (such as Z)"
    try:
        utc = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return "expected an ISO 8601 date-time"
    if not 1000 <= utc.year <= 9999:
        return "expected a year between 1000 and 9999"
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _usable_secret(secret: str) -> bool:
    """``whsec_<standard base64>`` with no other ``_`` (the SDK splits the key on ``_`` and wants two parts)."""
    prefix, _, encoded = secret.partition("_")
    if prefix != "whsec" or not encoded or "_" in encoded:
        return False
    try:
        return bool(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return False


def _header_safe(name: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)

