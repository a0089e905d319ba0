"""The admin API under ``/__mock/``: switch profiles (globally, per API key, with a TTL), inspect jobs,
move the clock, reset state. No provider uses this prefix."""

from __future__ import annotations

import hmac
import inspect
import logging
import math
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from ..context import Context
from ..engine.clock import check_scale
from ..engine.durations import parse_duration
from ..engine.profile import Profile, ProfileError, load_yaml, shape_problem
from ..engine.selection import Assignment
from ..insight.routes import insight_handlers
from ..state.backend import StateUnavailable
from ..web.body import BodyError, read_body
from ..web.responses import json_response, no_content
from ..web.values import brief, parse_int

log = logging.getLogger("mockprovider")
PREFIX = "/__mock"
MAX_NAME = 128
MAX_KEY = 4096
TOKEN_HEADER = "x-mockprovider-admin-token"


class AdminError(Exception):
    def __init__(self, status: int, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems


def _error(status: int, message: str, problems: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if problems:
        body["problems"] = problems
    return json_response(body, status)


def _assignment(ctx: Context, a: Assignment) -> dict[str, Any]:
    clock = ctx.engine.clock
    return {
        "name": a.profile.name,
        "description": a.profile.description,
        "source": a.profile.source,
        "since": clock.epoch(a.since),
        "until": None if a.until == math.inf else clock.epoch(a.until),
        "reverts_to": a.previous.profile.name if a.previous is not None else None,
    }


async def _body(request: Request, limit: int) -> Any:
    import orjson
    import yaml

    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    kind = request.headers.get("content-type", "")
    try:
        if "yaml" in kind:
            return {"profile": load_yaml(raw)}
        body = orjson.loads(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise AdminError(400, f"request body is not valid {'YAML' if 'yaml' in kind else 'JSON'}: "
                              f"{str(exc)[:300]}") from None
    problem = shape_problem(body)
    if problem is not None:
        raise AdminError(400, f"request body: {problem}")
    return body


def _ttl(ctx: Context, body: dict[str, Any]) -> float | None:
    """The TTL in engine seconds. A TTL is given in real time, as the tester schedules it ("a bad minute" lasts
    a minute at any time scale); the engine counts it in its own seconds."""
    if body.get("ttl") in (None, ""):
        return None
    try:
        real = parse_duration(body["ttl"])
    except ValueError as exc:
        raise AdminError(400, f"ttl: {exc}") from None
    return real / ctx.engine.clock.scale


def _profile_from(ctx: Context, body: Any) -> Profile:
    if not isinstance(body, dict):
        raise AdminError(400, "expected a JSON object: {\"name\": ...} or {\"profile\": {...}}, with an optional ttl")
    name = body.get("name")
    if isinstance(name, str) and len(name) > MAX_NAME:
        raise AdminError(400, f"name: a profile name is at most {MAX_NAME} characters")
    if "profile" in body:
        inline = body["profile"]
        if isinstance(inline, str):
            return ctx.library.load_text(inline, str(body.get("name") or "inline"))
        if not isinstance(inline, dict):
            raise AdminError(400, "profile: expected a mapping of profile settings")
        return ctx.library.load_inline(inline, str(body.get("name") or "inline"))
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise AdminError(400, "name: give the name of a profile, or an inline 'profile'")
    ctx.forget_loaded()
    return ctx.library.load(name)


def token_problem(request: Request, token: str | None) -> Response | None:
    """The 401 for a request without the admin token (when one is set), else None."""
    if not token:
        return None
    sent = request.headers.get(TOKEN_HEADER) or ""
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        sent = sent or bearer[7:]
    if hmac.compare_digest(sent.encode(), token.encode()):
        return None
    return _error(401, "admin token missing or wrong (send it as X-Mockprovider-Admin-Token)")


class TokenGuard:
    """Guards a mounted group of admin routes (a dialect's own) with the same token."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            problem = token_problem(Request(scope, receive), self.token)
            if problem is not None:
                await problem(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _run_all(hooks: list) -> None:
    for hook in hooks:
        done = hook()
        if inspect.isawaitable(done):  # a dialect whose state is in shared tables
            await done


def admin_routes(ctx: Context, extra: dict[str, Any] | None = None) -> list[Route]:
    engine = ctx.engine
    token = ctx.settings.admin_token

    def guarded(handler: Callable[[Request], Awaitable[Response]], open_: bool = False):
        async def run(request: Request) -> Response:
            problem = None if open_ else token_problem(request, token)
            if problem is not None:
                return problem
            try:
                return await handler(request)
            except AdminError as exc:
                return _error(exc.status, exc.message, exc.problems)
            except ProfileError as exc:
                log.warning("profile rejected (%s %s): %s", request.method, request.url.path, str(exc)[:500])
                return _error(400, f"profile rejected: {exc}", exc.problems)
            except BodyError as exc:
                return _error(exc.status, exc.message)
            except StateUnavailable as exc:
                return _error(503, f"the shared state is unavailable: {exc}")

        run.__name__ = handler.__name__
        return run

    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "version": __version__, "seed": engine.seed,
                              "seed_given": engine.fixed_seed, "pid": os.getpid()})

    async def index(request: Request) -> Response:
        origin = ctx.origin(str(request.base_url))
        return json_response({
            "version": __version__,
            "providers": {d.name: d.base_urls(origin) for d in (extra or {}).get("dialects", [])},
            "profile": _assignment(ctx, engine.selector.active),
            "clock": _clock(),
            "jobs": await engine.job_count(),
        })

    async def list_profiles(request: Request) -> Response:
        broken = {}
        for name in ctx.library.names():
            try:
                ctx.library.load(name)
            except ProfileError as exc:
                broken[name] = exc.problems
        return json_response({
            "available": ctx.library.names(),
            "broken": broken,
            "active": _assignment(ctx, engine.selector.active),
            "keys": {k: _assignment(ctx, a) for k, a in engine.selector.keys().items()},
        })

    async def get_profile(request: Request) -> Response:
        a = engine.selector.active
        return json_response({**_assignment(ctx, a), "profile": a.profile.raw})

    async def set_profile(request: Request) -> Response:
        body = await _body(request, ctx.settings.max_body)
        profile = _profile_from(ctx, body)
        ttl = _ttl(ctx, body)
        assignment = await engine.activate(profile, ttl)
        log.info("profile switched to %s%s", profile.name,
                 "" if ttl is None else f" for {body['ttl']} (then back to {assignment.previous.profile.name})"
                 if assignment.previous is not None else "")
        return json_response(_assignment(ctx, assignment))

    async def clear_profile(request: Request) -> Response:
        await engine.activate(engine.default_profile)
        return json_response(_assignment(ctx, engine.selector.active))

    async def set_key_profile(request: Request) -> Response:
        body = await _body(request, ctx.settings.max_body)
        profile = _profile_from(ctx, body)
        key = request.path_params["key"]
        if len(key) > MAX_KEY:
            raise AdminError(400, f"key: at most {MAX_KEY} characters")
        assignment = await engine.assign_key(key, profile, _ttl(ctx, body))
        return json_response({"key": request.path_params["key"], **_assignment(ctx, assignment)})

    async def clear_key_profile(request: Request) -> Response:
        if not await engine.unassign_key(request.path_params["key"]):
            raise AdminError(404, "no profile is assigned to that key")
        return no_content()

    async def list_jobs(request: Request) -> Response:
        q = request.query_params
        limit = parse_int(q.get("limit", "100"), 1, 10**9)
        if limit is None:
            raise AdminError(400, "limit: expected a whole number from 1")
        limit = min(limit, 10_000)
        now = engine.clock.now()
        wanted_state = q.get("state")
        jobs = await engine.recent_jobs(limit if not wanted_state else 10_000, q.get("provider"))
        out = [j.describe(now) for j in jobs]
        if wanted_state:
            out = [j for j in out if j["state"] == wanted_state][:limit]
        return json_response({"jobs": out, "total": await engine.job_count()})

    async def get_job(request: Request) -> Response:
        job = await engine.find(request.path_params["job_id"])
        if job is None:
            raise AdminError(404, "no such job")
        return json_response(job.describe(engine.clock.now()))

    async def reset(request: Request) -> Response:
        # the shared journal's and report's new generation first: the replicas that hear of the reset from the
        # engine then find it at once, and never clear the figures of a request made after it
        await _run_all((extra or {}).get("before_reset", []))
        await engine.reset()
        ctx.metrics.clear()
        ctx.loop_lag.clear()
        await _run_all((extra or {}).get("on_reset", []))
        return json_response({"status": "reset", "profile": engine.selector.active.profile.name})

    def _clock() -> dict[str, Any]:
        return {"now": engine.clock.now(), "epoch": engine.clock.epoch(), "scale": engine.clock.scale}

    async def get_clock(request: Request) -> Response:
        return json_response(_clock())

    async def set_clock(request: Request) -> Response:
        body = await _body(request, 64 * 1024)
        if not isinstance(body, dict):
            raise AdminError(400, "expected a JSON object with 'advance' and/or 'scale'")
        unknown = [k for k in body if k not in ("scale", "advance")]
        if unknown:
            raise AdminError(400, f"unknown field {brief(unknown[0])}; expected 'advance' and/or 'scale'")
        # Both are checked before either is applied: a request that is refused changes nothing.
        scale = advance = None
        try:
            if "scale" in body:
                scale = check_scale(body["scale"])
        except ValueError as exc:
            raise AdminError(400, f"scale: {exc}") from None
        try:
            if "advance" in body:
                advance = parse_duration(body["advance"])
                engine.clock.check_advance(advance)
        except ValueError as exc:
            raise AdminError(400, f"advance: {exc}") from None
        if scale is not None:
            await engine.set_scale(scale)
        if advance is not None:
            await engine.advance(advance)
        return json_response(_clock())

    async def stats(request: Request) -> Response:
        lateness = sorted(engine.timeline.lateness)
        return json_response({
            "jobs": await engine.job_count(),
            "evicted": await engine.jobs_evicted(),
            "created": engine.stats.created,
            "rejected": engine.stats.rejected,
            "timeline": {"pending": len(engine.timeline), "dropped": engine.timeline.dropped,
                         "late_p99": lateness[int(len(lateness) * 0.99)] if lateness else None},
            "media": ctx.media.stats(),
            "loop_lag": ctx.loop_lag.summary(),
        })

    insight = insight_handlers(ctx)

    r = Route
    return [
        r(PREFIX + "/health", guarded(health, open_=True), methods=["GET", "HEAD"]),
        r(PREFIX, guarded(index), methods=["GET"]),
        r(PREFIX + "/profiles", guarded(list_profiles), methods=["GET"]),
        r(PREFIX + "/profile", guarded(get_profile), methods=["GET"]),
        r(PREFIX + "/profile", guarded(set_profile), methods=["PUT", "POST"]),
        r(PREFIX + "/profile", guarded(clear_profile), methods=["DELETE"]),
        r(PREFIX + "/keys/{key}/profile", guarded(set_key_profile), methods=["PUT", "POST"]),
        r(PREFIX + "/keys/{key}/profile", guarded(clear_key_profile), methods=["DELETE"]),
        r(PREFIX + "/jobs", guarded(list_jobs), methods=["GET"]),
        r(PREFIX + "/jobs/{job_id}", guarded(get_job), methods=["GET"]),
        r(PREFIX + "/reset", guarded(reset), methods=["POST"]),
        r(PREFIX + "/clock", guarded(get_clock), methods=["GET"]),
        r(PREFIX + "/clock", guarded(set_clock), methods=["POST", "PUT"]),
        r(PREFIX + "/stats", guarded(stats), methods=["GET"]),
        # the metrics route checks the admin token or the separate metrics token itself
        r(PREFIX + "/metrics", guarded(insight["metrics"], open_=True), methods=["GET"]),
        r(PREFIX + "/requests", guarded(insight["list_requests"]), methods=["GET"]),
        r(PREFIX + "/requests", guarded(insight["clear_requests"]), methods=["DELETE"]),
        r(PREFIX + "/requests/count", guarded(insight["count_requests"]), methods=["GET"]),
        r(PREFIX + "/report", guarded(insight["report"]), methods=["GET"]),
        r(PREFIX + "/prices", guarded(insight["prices"]), methods=["GET"]),
    ]
