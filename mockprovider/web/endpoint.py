"""The wrapper every provider route goes through: profile selection, latency, request faults and the
per-key request rate, before the dialect's own handler runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ..engine.engine import RequestDecision
from ..engine.profile import ProfileError
from .faults import ResetResponse, TruncatedResponse, describe, hold, malformed_response

if TYPE_CHECKING:
    from ..dialects.base import Dialect

PROFILE_HEADER = "x-mockprovider-profile"

Handler = Callable[[Request, RequestDecision], Awaitable[Response]]


def endpoint(dialect: Dialect, kind: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    ctx = dialect.ctx
    engine = ctx.engine
    clock = engine.clock
    provider = dialect.name
    counts = ctx.metrics.counter(provider, kind)

    async def run(request: Request) -> Response:
        named = request.headers.get(PROFILE_HEADER)
        header_profile = None
        if named:
            try:
                header_profile = ctx.profile_named(named)
            except ProfileError as exc:
                return counts(dialect.error(request, 400, f"mockprovider: {exc}"))
        key = dialect.credential(request)
        decision = engine.decide(engine.assignment_for(key, header_profile), provider, kind)
        if decision.delay > 0:
            await clock.sleep(decision.delay)
        fault = decision.fault
        if fault is not None:
            return counts(await _fault(dialect, request, decision, handler))
        if key is not None:
            over = engine.take_request(provider, key, decision.assignment)
            if over is not None:
                return counts(dialect.over_limit(request, over))
        return counts(await handler(request, decision))

    run.__name__ = getattr(handler, "__name__", "endpoint")
    return run


async def _fault(dialect: Dialect, request: Request, decision: RequestDecision, handler: Handler) -> Response:
    rule = decision.fault
    assert rule is not None
    if rule.kind == "error":
        return dialect.error(request, rule.status or 500, describe(rule), injected=True)
    if rule.kind == "hang":
        await hold(request, dialect.ctx.engine.clock, rule.hold)
        return dialect.error(request, 504, describe(rule), injected=True)
    if rule.kind == "reset":
        return ResetResponse()
    if rule.kind == "truncate":
        # The request is handled for real (a job may be created) and the answer is lost on the way.
        answer = await handler(request, decision)
        if not isinstance(getattr(answer, "body", None), bytes):
            answer = dialect.error(request, 500, describe(rule), injected=True)
        return TruncatedResponse(answer)
    return malformed_response()
