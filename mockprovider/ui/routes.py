"""The live page's routes under ``/__mock/ui``: the page and its files, a ticket for the event stream, the
stream itself, a one-off JSON snapshot and one job's detail. Switching profiles and resetting go through the
admin API itself, with the token the page holds."""

from __future__ import annotations

import asyncio
import contextlib
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..admin.routes import PREFIX, token_problem
from ..web.responses import json_response
from . import auth, views
from .sampler import Sampler, sse

UI = PREFIX + "/ui"
KEEP_ALIVE = 10.0
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8",
          "index.html": "text/html; charset=utf-8"}
NO_STORE = {"cache-control": "no-store"}


def _file(name: str) -> bytes:
    return resources.files("mockprovider.ui").joinpath("static", name).read_bytes()


def job_webhooks(ctx: Any, job: Any) -> list[dict[str, Any]]:
    """The webhook attempts sent about this job, in the timeline's terms."""
    hub = getattr(ctx, "webhooks", None)
    if hub is None:
        return []
    return [{"t": a["at"] / 1000, "what": a.get("event"), "attempt": a.get("attempt"), "outcome": a.get("outcome"),
             "status": a.get("http_status"), "delivered": a.get("delivered"), "error": a.get("error"),
             "url": a.get("url")} for a in hub.journal.query(job=job.id, limit=50)]


def ui_routes(app: Any, sampler: Sampler) -> list[Route]:
    ctx = app.ctx
    token = ctx.settings.admin_token

    def allowed(request: Request) -> Response | None:
        """Read-only routes take the ticket cookie or the token itself."""
        if not token or auth.has_ticket(request, token):
            return None
        return token_problem(request, token)

    async def page(request: Request) -> Response:
        return Response(_file("index.html"), media_type=STATIC["index.html"], headers=NO_STORE)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return json_response({"error": "no such file"}, 404)
        return Response(_file(name), media_type=STATIC[name], headers={"cache-control": "no-cache"})

    async def session(request: Request) -> Response:
        if not token:
            return json_response({"auth": False})
        problem = token_problem(request, token)
        if problem is not None:
            return problem
        reply = json_response({"auth": True, "expires_in": auth.TICKET_SECONDS})
        reply.set_cookie(auth.COOKIE, auth.issue(token), max_age=auth.TICKET_SECONDS, path=UI, httponly=True,
                         samesite="strict")
        return reply

    async def end_session(request: Request) -> Response:
        reply = json_response({"auth": bool(token)})
        reply.delete_cookie(auth.COOKIE, path=UI)
        return reply

    async def state(request: Request) -> Response:
        problem = allowed(request)
        if problem is not None:
            return problem
        return json_response(sampler.current())

    async def job_detail(request: Request) -> Response:
        problem = allowed(request)
        if problem is not None:
            return problem
        job = await ctx.engine.find(request.path_params["job_id"])
        if job is None:
            return json_response({"error": "no such job"}, 404)
        clock = ctx.engine.clock
        requests = []
        finder = sampler.job_sources.get("requests")
        if finder is not None:
            requests = finder(job.id)
        return json_response({
            "job": job.describe(clock.now()),
            "timeline": views.timeline(job, clock, job_webhooks(ctx, job), requests),
            "scale": clock.scale,
        })

    async def events(request: Request) -> Response:
        problem = allowed(request)
        if problem is not None:
            return problem
        if "text/event-stream" not in request.headers.get("accept", ""):
            return json_response({"error": "this is a Server-Sent Events stream: send Accept: text/event-stream "
                                           f"(or GET {UI}/state for one snapshot)"}, 406)
        viewer = sampler.subscribe()
        if viewer is None:
            return json_response({"error": f"the live page has {sampler.max_viewers} viewers already"}, 503)
        since = sampler.resume_point(request.headers.get("last-event-id", ""))

        async def stream():
            try:
                loop = asyncio.get_running_loop()
                yield b"retry: 500\n\n"
                yield sse("history", {"points": sampler.history_since(since), "resumed": since is not None,
                                      "interval_s": sampler.interval}, sampler.event_id)
                yield sampler.current_event()
                viewer.take()
                ends = loop.time() + sampler.stream_seconds
                while (left := ends - loop.time()) > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(viewer.wake.wait(), timeout=min(KEEP_ALIVE, left))
                    data = viewer.take()
                    yield data if data is not None else b": keep-alive\n\n"
            finally:
                sampler.unsubscribe(viewer)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    return [
        Route(UI, page, methods=["GET"]),
        Route(UI + "/static/{name}", static, methods=["GET"]),
        Route(UI + "/session", session, methods=["POST"]),
        Route(UI + "/session", end_session, methods=["DELETE"]),
        Route(UI + "/state", state, methods=["GET"]),
        Route(UI + "/events", events, methods=["GET"]),
        Route(UI + "/jobs/{job_id}", job_detail, methods=["GET"]),
    ]
