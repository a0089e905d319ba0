"""fal.ai's Model APIs as fal-client uses them: the queue (submit, status with queue positions and logs, the SSE
status stream, result, cancel) at the root, the synchronous run host under ``/run/``, the REST host under
``/fal-rest`` (storage tokens, upload initiation, the webhook JWKS) and the CDN under ``/fal-cdn``."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL, THROTTLED, Job, Plan, next_change
from ...engine.limits import OverLimit
from ...engine.rng import stream, uuid4_text
from ...media.render import VideoSpec
from ...media.routes import job_output, prewarm_output
from ...state.tables import TooLarge
from ...web.body import BodyError, read_body, read_json
from ...web.endpoint import endpoint
from ...web.responses import EncodedJSON, json_response
from ...web.routing import OpenRoute
from ...webhooks import Ed25519Key, policy_for
from ..base import Dialect
from . import responses as wire
from .models import APPS, ENDPOINTS, Endpoint, Invalid, validate
from .signing import FalWebhookSigner, user_id_for
from .storage import Storage

REST = "/fal-rest"
CDN = "/fal-cdn"
RUN = "/run"
MAX_WEBHOOK_URL = 2048
POLL_CACHE = 4096
KEEPALIVE = 15.0  # real seconds between SSE comments
STREAM_RECHECK = 1.0  # real seconds: queue positions move when other jobs start
INVALID_RUN = 0.5  # engine seconds a request with invalid input runs before its 422
MAX_TIMEOUT_HEADER = 86400.0 * 7
NO_LOGS = frozenset((b"", b"logs=false", b"logs=0"))  # a poll's query without logs (fal-client sends logs=false)


@lru_cache(maxsize=512)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


class FalDialect(Dialect):
    name = "fal"
    title = "fal.ai"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        seed = ctx.engine.seed
        self._request_ids = stream(seed, "fal", "request_ids")
        self._running: dict[tuple, tuple[bytes, tuple[bytes, bytes]]] = {}  # IN_PROGRESS bodies without logs
        self.webhook_key = Ed25519Key.generate(stream(seed, "fal", "webhook-key"))
        self.storage = Storage(ctx.state)
        self.reserved: frozenset[str] = frozenset()
        ctx.webhooks.register(self.name, self._completed, self._webhook_signer)

    # -- the dialect contract -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            self.route(RUN + "/{owner}/{alias}", self.run, ["POST"], "create"),
            self.route(RUN + "/{owner}/{alias}/{path:path}", self.run, ["POST"], "create"),
            self.route(REST + "/.well-known/jwks.json", self.jwks, ["GET"], "other"),
            self.route(REST + "/storage/auth/token", self.storage_token, ["POST"], "account"),
            self.route(REST + "/storage/upload/initiate", self.upload_initiate, ["POST"], "other"),
            self.route(CDN + "/files/upload", self.cdn_upload, ["POST"], "other"),
            self.route(CDN + "/upload/{upload_id}", self.gcs_put, ["PUT"], "other"),
            self.route(CDN + "/files/{file_id}/{name}", self.cdn_file, ["GET", "HEAD"], "download"),
        ]

    def catch_all_routes(self, reserved: frozenset[str]) -> list[BaseRoute]:
        self.reserved = reserved
        base = "/{owner}/{alias}/requests/{request_id}"

        def open_route(path: str, handler, methods: list[str], kind: str) -> OpenRoute:
            return OpenRoute(path, endpoint(self, kind, handler), methods=methods, reserved=reserved)

        return [
            open_route(base + "/status", self.status, ["GET"], "status"),
            open_route(base + "/status/stream", self.status_stream, ["GET"], "status"),
            open_route(base + "/cancel", self.cancel, ["PUT"], "cancel"),
            open_route(base, self.result, ["GET"], "status"),
            open_route("/{owner}/{alias}", self.submit, ["POST"], "create"),
            open_route("/{owner}/{alias}/{path:path}", self.submit, ["POST"], "create"),
        ]

    def base_urls(self, origin: str) -> dict[str, str]:
        return {"QUEUE_URL_FORMAT": origin + "/", "RUN_URL_FORMAT": origin + RUN + "/",
                "REST_URL": origin + REST, "CDN_URL": origin + CDN}

    def owns(self, path: str) -> bool:
        parts = path.split("/")
        if path.startswith((RUN + "/", REST + "/", CDN + "/")):
            return True
        return len(parts) >= 3 and parts[1] not in self.reserved and parts[1] != ""

    def credential(self, request: Request) -> str | None:
        header = request.headers.get("authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("key", "bearer") and value.strip():
            return value.strip()[:512]
        return None

    def request_id(self) -> str:
        return uuid4_text(self._request_ids)

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        if status == 404 and not injected:
            message = "Not Found"
        elif status == 405 and not injected:
            message = "Method Not Allowed"
        return wire.error(status, message, self.request_id())

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        status, detail = wire.LIMITS.get(over.limit, wire.RATE_LIMITED)
        return wire.error(status, detail, self.request_id())

    async def startup(self) -> None:
        await self.storage.start(self.ctx.state)
        if self.ctx.state.shared:  # replicas run with their own seeds: all sign with the key their JWKS publish
            self.webhook_key = Ed25519Key.generate(random.Random(await self.ctx.state.secret("fal-webhook-key")))

    def forget(self) -> None:
        self._request_ids = stream(self.ctx.engine.seed, "fal", "request_ids")
        self._running.clear()

    async def reset(self) -> None:
        await self.storage.clear()

    # -- auth -----------------------------------------------------------------------------------------------

    def _authenticate(self, request: Request, decision: RequestDecision) -> str | Response:
        key = decision.key  # self.credential(request), as the endpoint wrapper read it
        if key is None:
            return wire.error(401, "Missing authorization header" if not request.headers.get("authorization")
                              else "Invalid authorization header: expected 'Key <key_id:key_secret>'",
                              self.request_id())
        keys = decision.assignment.profile.auth(self.name).get("keys")
        if keys and key not in keys:
            return wire.error(401, "No user found for Key ID and Secret", self.request_id())
        return key

    # -- submitting -----------------------------------------------------------------------------------------

    def _endpoint(self, request: Request) -> Endpoint | Response:
        params = request.path_params
        app = f"{params['owner']}/{params['alias']}"
        if app not in APPS:
            return wire.error(404, f"Application '{params['alias']}' not found", self.request_id())
        endpoint_id = app + (f"/{params['path'].strip('/')}" if params.get("path", "").strip("/") else "")
        found = ENDPOINTS.get(endpoint_id)
        if found is None:
            return wire.error(404, "Not Found", self.request_id())
        return found

    async def _body(self, request: Request) -> Any | Response:
        try:
            return await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            if exc.status == 413:
                return wire.error(413, "Request body is too large", self.request_id())
            return wire.error(422, [{"loc": ["body"], "msg": exc.message, "type": "json_invalid"}],
                              self.request_id())

    def _start_timeout(self, request: Request) -> float | Response | None:
        raw = request.headers.get("x-fal-request-timeout")
        if raw is None:
            return None
        try:
            value = float(raw[:32])
        except ValueError:
            value = math.nan
        if not 0.1 < value <= MAX_TIMEOUT_HEADER:
            return wire.error(400, "Invalid X-Fal-Request-Timeout header: expected seconds, greater than 0.1",
                              self.request_id())
        return value

    def _webhook(self, request: Request) -> str | Response | None:
        url = request.query_params.get("fal_webhook")
        if url is None:
            return None
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) <= MAX_WEBHOOK_URL
        except ValueError:
            ok = False
        if not ok:
            return wire.error(422, wire.validation_detail("fal_webhook", "Input should be a valid URL", "url_parsing"),
                              self.request_id())
        return url

    async def _create(self, request: Request, decision: RequestDecision, key: str, found: Endpoint, body: Any, *,
                queue: bool) -> Job | Response:
        checked = validate(found, body)
        if isinstance(checked, Invalid) and not queue:
            return wire.error(422, checked.detail, self.request_id(), headers={"x-fal-billable-units": "0"})
        engine = self.ctx.engine
        data: dict[str, Any] = {"o": self.origin(request)}
        spec = None
        cost = 0.0
        usage = None
        if isinstance(checked, Invalid):
            data["invalid"] = checked.detail
        else:
            r = checked.render
            spec = video_spec(r.width, r.height, r.duration, r.fps, r.audio)
            cost = checked.cost
            short = min(r.width, r.height)
            usage = {"seconds": r.duration, "videos": 1, "audio": r.audio,
                     "resolution": "4k" if short >= 2160 else f"{short}p"}
            data["units"] = max(math.ceil(r.duration), 1)
            extra = found.output(checked.params, r)
            if extra:
                data["extra"] = extra
            if found.video_details:
                data["details"] = {"width": r.width, "height": r.height, "fps": r.fps, "duration": r.duration,
                                   "num_frames": round(r.duration * r.fps)}
        result = await engine.submit(
            JobRequest(provider=self.name, model=found.id, account=key, kind=found.app, make_id=uuid4_text,
                       cost=cost, output=spec, data=data, refund_failures=True, usage=usage,
                       # the runner answers a bad input as soon as it picks the request up
                       replan=_answer_invalid if isinstance(checked, Invalid) else None),
            decision.assignment, queue_when_busy=queue)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(422, wire.validation_detail("prompt", "The content could not be processed because it "
                                                          "contained material flagged by a content checker.",
                                                          "content_policy_violation"),
                              self.request_id(), headers={"x-fal-retryable": "false"})
        if not isinstance(checked, Invalid):
            prewarm_output(self.ctx, result)
        return result

    def _addressed(self, request: Request, decision: RequestDecision) -> tuple[str, Any] | Response:
        """The caller's key and the endpoint the path names, or the error to answer."""
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        found = self._endpoint(request)
        return found if isinstance(found, Response) else (key, found)

    async def submit(self, request: Request, decision: RequestDecision) -> Response:
        addressed = self._addressed(request, decision)
        if isinstance(addressed, Response):
            return addressed
        key, found = addressed
        webhook = self._webhook(request)
        if isinstance(webhook, Response):
            return webhook
        timeout = self._start_timeout(request)
        if isinstance(timeout, Response):
            return timeout
        priority = request.headers.get("x-fal-queue-priority")
        if priority is not None and priority not in ("normal", "low", "high"):
            return wire.error(400, "Invalid X-Fal-Queue-Priority header: expected normal or low", self.request_id())
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        job = await self._create(request, decision, key, found, body, queue=True)
        if isinstance(job, Response):
            return job
        if timeout is not None:
            self._expire_unstarted(job, timeout)
        if webhook is not None:
            self._follow(job, webhook, decision.assignment.profile.resolve(self.name, found.id))
        urls = self._urls(job, self.origin(request))
        return json_response({"status": "IN_QUEUE", "request_id": job.id, **urls,
                              "queue_position": await self._position(job), "gateway_request_id": job.id},
                             headers={"x-fal-request-id": job.id})

    def _expire_unstarted(self, job: Job, timeout: float) -> None:
        """``X-Fal-Request-Timeout``: a request that has not started by then ends with a 504."""
        engine = self.ctx.engine

        async def check() -> None:
            if not await engine.alive(job):
                return
            if job.state(engine.clock.now())[0] in (THROTTLED, QUEUED):
                job.data = {**(job.data or {}), "timed_out": True}
                await engine.save(job)
                await engine.cancel(job, refund=True)

        engine.timeline.at(job.created + timeout / engine.clock.scale, check)  # the caller's deadline: real seconds

    def _urls(self, job: Job, origin: str) -> dict[str, str]:
        base = f"{origin}/{job.kind}/requests/{job.id}"
        return {"response_url": base, "status_url": base + "/status", "cancel_url": base + "/cancel"}

    # -- reading a request ----------------------------------------------------------------------------------

    async def _job(self, request: Request, key: str) -> Job | None:
        params = request.path_params
        job = await self.ctx.engine.get(self.name, params["request_id"])
        if job is None or job.kind != f"{params['owner']}/{params['alias']}" or job.account != key:
            return None
        return job

    async def _position(self, job: Job) -> int:
        """How many of the account's requests submitted before this one have not started yet."""
        engine = self.ctx.engine
        now = engine.clock.now()
        ahead = 0
        for other in await engine.live_jobs(self.name, job.account):
            if other is job:
                break
            if other.started > now and other.ends > now:
                ahead += 1
        return ahead

    def _logs(self, job: Job, state: str, now: float) -> list[dict[str, Any]]:
        clock = self.ctx.engine.clock
        started = job.started
        if now < started:
            return []
        end = min(job.ends, now)
        logs = [wire.log_line("Starting generation", clock.epoch(started))]
        if (job.data or {}).get("invalid"):
            logs.append(wire.log_line("Input validation failed", clock.epoch(end), "ERROR"))
            return logs
        run = job.plan.run
        for step in (0.25, 0.5, 0.75):
            at = started + run * step
            if at <= end:
                logs.append(wire.log_line(f"Generating video: {int(step * 100)}%", clock.epoch(at)))
        if state == SUCCEEDED:
            logs.append(wire.log_line("Video generated", clock.epoch(job.ends)))
        elif state == FAILED:
            logs.append(wire.log_line("Generation failed", clock.epoch(job.ends), "ERROR"))
        return logs

    async def _status_body(self, job: Job, origin: str, with_logs: bool) -> tuple[dict[str, Any], bool]:
        now = self.ctx.engine.clock.now()
        state, _ = job.state(now)
        job_id = job.id
        base = f"{origin}/{job.kind}/requests/{job_id}"
        if state == RUNNING:  # the common poll: its body built in one literal, in the same key order
            return {"request_id": job_id, "response_url": base, "status_url": base + "/status",
                    "cancel_url": base + "/cancel", "status": "IN_PROGRESS",
                    "logs": self._logs(job, state, now) if with_logs else None}, False
        body: dict[str, Any] = {"request_id": job_id, "response_url": base, "status_url": base + "/status",
                                "cancel_url": base + "/cancel"}
        if state in (THROTTLED, QUEUED):
            body.update(status="IN_QUEUE", queue_position=await self._position(job))
            return body, False
        logs = self._logs(job, state, now) if with_logs else None
        status, detail, kind = self._outcome_error(job, state)
        body.update(status="COMPLETED", logs=logs,
                    metrics={"inference_time": round(max(min(job.ends, now) - job.started, 0.0), 3)})
        if status != 200:
            body["error"] = detail if isinstance(detail, str) else f"Invalid status code: {status}"
            body["error_type"] = kind
        return body, True

    def _outcome_error(self, job: Job, state: str) -> tuple[int, Any, str | None]:
        """(HTTP status, detail, error type) of a finished request; 200 for success."""
        data = job.data or {}
        if data.get("invalid"):
            return 422, data["invalid"], data["invalid"][0]["type"]
        if state == CANCELLED:
            if data.get("timed_out"):
                return 504, "Request timed out before it started (X-Fal-Request-Timeout)", "request_timeout"
            return 499, wire.CANCELLED, "client_cancelled"
        if state == FAILED:
            reason = job.plan.failure
            if reason == "content_policy":
                detail = wire.validation_detail("prompt", "The content could not be processed because it contained "
                                                "material flagged by a content checker.", "content_policy_violation")
                return 422, detail, "content_policy_violation"
            if reason == "timeout":
                return 504, "Generation timed out", "generation_timeout"
            return 500, "Internal server error while running the model", "runner_server_error"
        return 200, None, None

    def _output(self, job: Job, origin: str, size: int | None, ttl: float) -> dict[str, Any]:
        data = job.data or {}
        expires = int(self.ctx.engine.clock.epoch(job.ends) + ttl)  # the result is stored once: one link
        url = self.ctx.links.url_until(origin, job.id, 0, expires)
        return {"video": wire.file(url, size, **data.get("details", {})), **data.get("extra", {})}

    def _finished_response(self, job: Job, state: str, size: int | None, ttl: float) -> Response:
        status, detail, kind = self._outcome_error(job, state)
        headers = {"x-fal-request-id": job.id}
        if status == 200:
            origin = (job.data or {}).get("o", "")
            headers["x-fal-billable-units"] = str((job.data or {}).get("units", 1))
            return json_response(self._output(job, origin, size, ttl), 200, headers)
        headers["x-fal-billable-units"] = "0"
        if (job.data or {}).get("timed_out"):
            headers["x-fal-request-timeout-type"] = "user"  # fal-client never retries these
        if status == 422:
            return wire.error(422, detail, job.id, headers={**headers, "x-fal-retryable": "false"})
        return wire.error(status, detail, job.id, error_type=kind, headers=headers)

    async def _size(self, job: Job) -> int | None:
        if not isinstance(job.output, VideoSpec):
            return None
        return len(await self.ctx.media.output(job_output(self.ctx, job, 0)))

    def _cached_size(self, job: Job) -> int | None:
        if not isinstance(job.output, VideoSpec):
            return None
        output = job_output(self.ctx, job, 0)
        data = self.ctx.media.cached(output.spec)
        return None if data is None else len(data) + len(output.tag)

    async def status(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        # _job's checks written out (the status poll is the hot path: one await layer less)
        params = request.path_params
        job = await self.ctx.engine.get(self.name, params["request_id"])
        if job is None or job.kind != f"{params['owner']}/{params['alias']}" or job.account != key:
            return wire.error(404, wire.NOT_FOUND, self.request_id())
        origin = self.origin(request)
        with_logs = request.scope["query_string"] not in NO_LOGS and _truthy(request.query_params.get("logs"))
        if not with_logs and job.state(self.ctx.engine.clock.now())[0] == RUNNING:
            # IN_PROGRESS without logs reads the same poll after poll: kept encoded (bounded), with its
            # x-fal-request-id header
            kept = (job.id, job.kind, origin)
            cache = self._running
            found = cache.get(kept)
            if found is None:
                if len(cache) >= POLL_CACHE:
                    cache.clear()
                body, done = await self._status_body(job, origin, False)
                if done:  # finished in between
                    return json_response(body, 200, {"x-fal-request-id": job.id})
                found = cache[kept] = (orjson.dumps(body), (b"x-fal-request-id", job.id.encode("latin-1")))
            response = EncodedJSON(found[0], 202)
            response.raw_headers.append(found[1])
            return response
        body, done = await self._status_body(job, origin, with_logs)
        return json_response(body, 200 if done else 202, {"x-fal-request-id": job.id})

    async def status_stream(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        job = await self._job(request, key)
        if job is None:
            return wire.error(404, wire.NOT_FOUND, self.request_id())
        origin = self.origin(request)
        with_logs = _truthy(request.query_params.get("logs"))
        return StreamingResponse(self._events(job, origin, with_logs), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-fal-request-id": job.id})

    async def _events(self, job: Job, origin: str, with_logs: bool) -> AsyncIterator[bytes]:
        engine = self.ctx.engine
        clock = engine.clock
        last = b""
        ping_at = time.monotonic() + KEEPALIVE
        while True:
            if not await engine.alive(job):
                return  # deleted or evicted
            body, done = await self._status_body(job, origin, with_logs)
            encoded = orjson.dumps(body)
            if encoded != last:
                yield b"data: " + encoded + b"\n\n"
                last = encoded
            if done:
                return
            now = clock.now()
            until_change = clock.real_seconds(max(next_change(job, now) - now, 0.0))
            await asyncio.sleep(max(min(until_change, STREAM_RECHECK, ping_at - time.monotonic()), 0.005))
            if time.monotonic() >= ping_at:
                yield b": ping\n\n"
                ping_at = time.monotonic() + KEEPALIVE

    async def result(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        job = await self._job(request, key)
        if job is None:
            return wire.error(404, wire.NOT_FOUND, self.request_id())
        state, _ = job.state(self.ctx.engine.clock.now())
        if state not in TERMINAL:
            return wire.error(400, "Request is still in progress", job.id)
        return self._finished_response(job, state, await self._size(job), decision.behaviour.url_ttl)

    async def cancel(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        job = await self._job(request, key)
        if job is None:
            return json_response({"status": "NOT_FOUND"}, 404, {"x-fal-request-id": self.request_id()})
        engine = self.ctx.engine
        state, _ = job.state(engine.clock.now())
        headers = {"x-fal-request-id": job.id}
        if state in TERMINAL:
            return json_response({"status": "ALREADY_COMPLETED"}, 400, headers)
        await engine.cancel(job, refund=state != RUNNING)
        if state == RUNNING:
            return json_response({"status": "CANCELLATION_REQUESTED"}, 202, headers)
        return json_response({"status": "OK"}, 200, headers)

    # -- the synchronous host -------------------------------------------------------------------------------

    async def run(self, request: Request, decision: RequestDecision) -> Response:
        addressed = self._addressed(request, decision)
        if isinstance(addressed, Response):
            return addressed
        key, found = addressed
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        job = await self._create(request, decision, key, found, body, queue=False)
        if isinstance(job, Response):
            return job
        engine = self.ctx.engine
        clock = engine.clock
        disconnected = asyncio.ensure_future(_disconnect(request))
        try:
            while True:
                now = clock.now()
                state, _ = job.state(now)
                if state in TERMINAL:
                    break
                wait = min(clock.real_seconds(next_change(job, now) - now), 3600.0)
                done, _ = await asyncio.wait({disconnected}, timeout=max(wait, 0.001))
                if done:
                    await engine.cancel(job)  # the caller went away: nobody will read this answer
                    return Response(status_code=499)
        finally:
            disconnected.cancel()
        return self._finished_response(job, state, await self._size(job), decision.behaviour.url_ttl)

    # -- webhooks -------------------------------------------------------------------------------------------

    def _follow(self, job: Job, url: str, behaviour) -> None:
        self.ctx.webhooks.follow(job, provider=self.name, url=url, policy=policy_for(behaviour),
                                 params={"ttl": behaviour.url_ttl, "a": job.account})

    def _completed(self, job: Job, state: str, told: str | None, params: dict[str, Any]):
        """The one webhook, at the end, the same on any replica (awaitable when the payload names the size of
        a file still being rendered: seconds at most)."""
        if state not in TERMINAL:
            return []
        size = self._cached_size(job)
        if state == SUCCEEDED and size is None and isinstance(job.output, VideoSpec):
            return self._webhook_once_rendered(job, state, params["ttl"])
        return [("completed", self._webhook_body(job, state, size, params["ttl"]))]

    async def _webhook_once_rendered(self, job: Job, state: str, ttl: float) -> list[tuple[str, Any]]:
        return [("completed", self._webhook_body(job, state, await self._size(job), ttl))]

    def _webhook_body(self, job: Job, state: str, size: int | None, ttl: float) -> dict[str, Any]:
        status, detail, _ = self._outcome_error(job, state)
        ok = status == 200
        payload = self._output(job, (job.data or {}).get("o", ""), size, ttl) if ok else {"detail": detail}
        return {"request_id": job.id, "gateway_request_id": job.id, "status": "OK" if ok else "ERROR",
                "payload": payload, "error": None if ok else f"Invalid status code: {status}"}

    def _webhook_signer(self, params: dict[str, Any]) -> FalWebhookSigner:
        return FalWebhookSigner(self.webhook_key, user_id_for(params["a"]))

    async def jwks(self, request: Request, decision: RequestDecision) -> Response:
        return json_response({"keys": [self.webhook_key.jwk()]}, headers={"cache-control": "public, max-age=86400"})

    # -- storage (REST host and CDN) ------------------------------------------------------------------------

    async def storage_token(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        token, expires = self.storage.token(key)
        return json_response({"token": token, "token_type": "Bearer", "base_url": self.origin(request) + CDN,
                              "expires_at": wire.iso(expires)})

    async def upload_initiate(self, request: Request, decision: RequestDecision) -> Response:
        key = self._authenticate(request, decision)
        if isinstance(key, Response):
            return key
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        if not isinstance(body, dict) or not isinstance(body.get("content_type", ""), str) \
                or not isinstance(body.get("file_name", ""), str):
            return wire.error(422, wire.validation_detail("content_type", "Input should be a valid string",
                                                          "string_type"), self.request_id())
        upload_id, name = await self.storage.initiate(body.get("content_type") or "application/octet-stream",
                                                      body.get("file_name"))
        origin = self.origin(request)
        return json_response({"upload_url": f"{origin}{CDN}/upload/{upload_id}",
                              "file_url": f"{origin}{CDN}/files/{upload_id}/{name}"})

    async def gcs_put(self, request: Request, decision: RequestDecision) -> Response:
        try:
            data = await read_body(request, self.ctx.settings.max_body)
        except BodyError as exc:
            return wire.error(exc.status, exc.message, self.request_id())
        try:
            done = await self.storage.complete(request.path_params["upload_id"], data,
                                               request.headers.get("content-type"))
        except TooLarge as exc:
            return wire.error(413, f"File too large: {exc}", self.request_id())
        if not done:
            return wire.error(404, "No such upload", self.request_id())
        return Response(status_code=200)

    async def cdn_upload(self, request: Request, decision: RequestDecision) -> Response:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not self.storage.check_token(token.strip()):
            return wire.error(401, "Invalid or expired CDN token", self.request_id())
        try:
            data = await read_body(request, self.ctx.settings.max_body)
        except BodyError as exc:
            return wire.error(exc.status, exc.message, self.request_id())
        try:
            content_type = request.headers.get("content-type") or "application/octet-stream"
            file_id, name = await self.storage.put(data, content_type, request.headers.get("x-fal-file-name"))
        except TooLarge as exc:
            return wire.error(413, f"File too large: {exc}", self.request_id())
        return json_response({"access_url": f"{self.origin(request)}{CDN}/files/{file_id}/{name}"})

    async def cdn_file(self, request: Request, decision: RequestDecision) -> Response:
        stored = await self.storage.get(request.path_params["file_id"])
        if stored is None or stored.name != request.path_params["name"]:
            return wire.error(404, "File not found", self.request_id())
        body = b"" if request.method == "HEAD" else stored.data
        response = Response(body, media_type=stored.content_type, headers={"cache-control": "public, max-age=3600"})
        if request.method == "HEAD":
            response.headers["content-length"] = str(len(stored.data))
        return response


async def _disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _answer_invalid(plan: Plan) -> Plan:
    return dataclasses.replace(plan, run=INVALID_RUN, failure=None, stuck=False, fail_at=1.0)
