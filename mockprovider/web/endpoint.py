"""The wrapper every provider route goes through: profile selection, latency, request faults and the
per-key request rate, before the dialect's own handler runs.

It is a plain ASGI app rather than a Starlette function endpoint: the status poll is the hottest path of a load
test, and the extra exception-handling layer Starlette puts around function endpoints costs it dearly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..engine.behaviour import MAX_HOLD
from ..engine.engine import RequestDecision
from ..engine.profile import ProfileError
from ..insight.journal import Record
from ..state.backend import StateUnavailable
from .faults import ResetResponse, TruncatedResponse, describe, hold, malformed_response
from .request import ProviderRequest

if TYPE_CHECKING:
    from ..dialects.base import Dialect

PROFILE_HEADER = "x-mockprovider-profile"
log = logging.getLogger("mockprovider")

Handler = Callable[[Request, RequestDecision], Awaitable[Response]]


class Endpoint:
    def __init__(self, dialect: Dialect, kind: str, handler: Handler) -> None:
        self.dialect = dialect
        self.kind = kind
        self.handler = handler
        self.count = dialect.ctx.metrics.counter(dialect.name, kind)
        self.insight = insight = dialect.ctx.engine.insight
        self.begin, self.finish = insight.begin, insight.finish
        self.provider = dialect.name
        self.__name__ = getattr(handler, "__name__", "endpoint")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = ProviderRequest(scope, receive, send)
        # The request's journal record (mockprovider/insight): the engine notes on it the job it touched.
        record = self.begin(self.provider, self.kind, scope["method"], scope["path"])
        try:
            decision = self.decide(request, record)
            if decision.__class__ is not RequestDecision:
                response = decision  # the profile header named no profile
            elif decision.delay > 0 or decision.fault is not None or (
                    decision.key is not None and decision.behaviour.limits.requests_per_minute is not None):
                response = await self._gated(request, decision)
            else:  # the common case, a coroutine layer shorter
                response = await self.handler(request, decision)
        except StateUnavailable:
            response = self.dialect.unavailable(request)
        except Exception:
            log.exception("%s %s failed", scope["method"], scope["path"])
            response = self.dialect.error(request, 500, "Internal error in mockprovider (see its log)")
        self.finish(record, self.count(response))
        await response(scope, receive, send)

    def decide(self, request: Request, record: Record | None) -> RequestDecision | Response:
        """The profile's decision for this request (noted on its record), or the error for a bad profile header."""
        dialect = self.dialect
        ctx = dialect.ctx
        engine = ctx.engine
        named = request.headers.get(PROFILE_HEADER)
        header_profile = None
        if named:
            try:
                header_profile = ctx.profile_named(named)
            except ProfileError as exc:
                return dialect.error(request, 400, f"mockprovider: {exc}")
        key = dialect.credential(request)
        decision = engine.decide(engine.assignment_for(key, header_profile), self.provider, self.kind, key)
        if record is not None:
            record.key = key
            fault = decision.fault
            if decision.delay > 0 or fault is not None:
                record.latency = decision.delay * engine.clock.scale
                record.fault = None if fault is None else fault.kind
                self.insight.injected(self.provider, self.kind, decision.delay, record.fault)
        return decision

    async def _gated(self, request: Request, decision: RequestDecision) -> Response:
        """Injected latency, an injected fault and the per-key request rate, then the handler."""
        if decision.delay > 0:
            await asyncio.sleep(self._real(min(decision.delay, MAX_HOLD)))
        if decision.fault is not None:
            return await self._fault(request, decision)
        key = decision.key
        if key is not None and decision.behaviour.limits.requests_per_minute is not None:
            provider = self.provider
            over = await self.dialect.ctx.engine.take_request(provider, key, decision.assignment)
            if over is not None:
                self.insight.rejected(provider, over.limit)
                return self.dialect.over_limit(request, over)
        return await self.handler(request, decision)

    def _real(self, seconds: float) -> float:
        """Request latency and hangs are real time, as a load test measures them, unless --scale-latency
        compresses them with the providers' world (see README, "Time")."""
        ctx = self.dialect.ctx
        return ctx.engine.clock.real_seconds(seconds) if ctx.settings.scale_latency else seconds

    async def _fault(self, request: Request, decision: RequestDecision) -> Response:
        dialect = self.dialect
        rule = decision.fault
        assert rule is not None
        if rule.kind == "error":
            return dialect.error(request, rule.status or 500, describe(rule), injected=True)
        if rule.kind == "hang":
            await hold(request, self._real(min(rule.hold, MAX_HOLD)))
            return dialect.error(request, 504, describe(rule), injected=True)
        if rule.kind == "reset":
            return ResetResponse()
        if rule.kind == "truncate":
            # The request is handled for real (a job may be created) and the answer is lost on the way.
            answer = await self.handler(request, decision)
            if not isinstance(getattr(answer, "body", None), bytes):
                answer = dialect.error(request, 500, describe(rule), injected=True)
            return TruncatedResponse(answer)
        return malformed_response()


def endpoint(dialect: Dialect, kind: str, handler: Handler) -> Endpoint:
    return Endpoint(dialect, kind, handler)
