"""The insight part of the admin API: the request journal, the report, the price book and the metrics.

    GET    /__mock/requests        ?provider= &endpoint= &status= &key= &job= &method= &since= &limit=
           -> {"requests": [...oldest first...], "total": N matched, "dropped": M pushed out of the journal}
    GET    /__mock/requests/count  same filters -> {"count": N}
    DELETE /__mock/requests        clears the journal
    GET    /__mock/report          the client-behaviour report (insight/report.py)
    GET    /__mock/prices          the price book in force (with the active profile's overrides)
    GET    /__mock/metrics         Prometheus text format; with an admin token set, a scraper sends it or the
                                   separate metrics token (``--metrics-token``) as a Bearer token
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..state.backend import StateUnavailable
from ..web.responses import json_response, no_content
from . import report
from .journal import Filter, describe_all
from .metrics import CONTENT_TYPE, registry_for, render

MAX_LIMIT = 100_000


class QueryError(ValueError):
    pass


def _filter(request: Request, origin: float) -> Filter:
    q = request.query_params
    since = q.get("since")
    try:
        since_value = float(since) if since not in (None, "") else None
    except ValueError:
        raise QueryError("since: expected a Unix time in seconds") from None
    if since_value is not None and not math.isfinite(since_value):
        raise QueryError("since: expected a Unix time in seconds")
    try:
        return Filter(provider=q.get("provider") or None, endpoint=q.get("endpoint") or None,
                      status=q.get("status") or None, key=q.get("key") or None, job=q.get("job") or None,
                      since=since_value, method=q.get("method") or None, origin=origin)
    except ValueError:
        raise QueryError("status: expected codes like 429, 4xx, 500-599 or 200,201") from None


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise QueryError("limit: expected a whole number") from None
    return min(max(value, 0), MAX_LIMIT)


def metrics_allowed(request: Request, admin_token: str | None, metrics_token: str | None) -> bool:
    if not admin_token and not metrics_token:
        return True
    sent = request.headers.get("x-mockprovider-admin-token") or ""
    bearer = request.headers.get("authorization", "")
    if bearer[:7].lower() == "bearer ":
        sent = sent or bearer[7:]
    return any(token and hmac.compare_digest(sent.encode(), token.encode()) for token in (admin_token,
                                                                                          metrics_token))


def insight_handlers(ctx: Any) -> dict[str, Callable[[Request], Awaitable[Response]]]:
    engine = ctx.engine
    insight = engine.insight
    registry = registry_for(ctx)

    def origin() -> float:
        return engine.clock.epoch(0.0)

    def unavailable(exc: StateUnavailable) -> Response:
        return json_response({"error": f"the shared state (Redis) cannot be reached: {exc}"}, 503)

    async def list_requests(request: Request) -> Response:
        try:
            wanted, limit = _filter(request, origin()), _limit(request)
        except QueryError as exc:
            return json_response({"error": str(exc)}, 400)
        limit = 1000 if limit is None else limit
        shared = insight.shared
        if shared is not None:  # every replica's requests
            try:
                records, total, dropped = await shared.select(wanted, limit)
            except StateUnavailable as exc:
                return unavailable(exc)
            body = [{**r.describe(origin()), "key": r.key} for r in records]  # keys stored as fingerprints
            return json_response({"requests": body, "total": total, "dropped": dropped, "size": shared.size})
        records, total = insight.journal.select(wanted, limit)
        return json_response({"requests": describe_all(records, origin()), "total": total,
                              "dropped": insight.journal.dropped, "size": insight.journal.size})

    async def count_requests(request: Request) -> Response:
        try:
            wanted = _filter(request, origin())
        except QueryError as exc:
            return json_response({"error": str(exc)}, 400)
        if insight.shared is not None:
            try:
                return json_response({"count": await insight.shared.count(wanted)})
            except StateUnavailable as exc:
                return unavailable(exc)
        return json_response({"count": insight.journal.count(wanted)})

    async def clear_requests(request: Request) -> Response:
        if insight.shared is not None:
            try:
                await insight.shared.clear_journal()
            except StateUnavailable as exc:
                return unavailable(exc)
            return no_content()
        insight.clear_journal()
        return no_content()

    async def get_report(request: Request) -> Response:
        if insight.shared is not None:
            try:
                return json_response(await insight.shared.build_report())
            except StateUnavailable as exc:
                return unavailable(exc)
        return json_response(report.build(engine))

    async def get_prices(request: Request) -> Response:
        book = insight._book_for(engine.selector.active.profile)
        return json_response({"providers": book.describe()})

    async def metrics(request: Request) -> Response:
        if not metrics_allowed(request, ctx.settings.admin_token, getattr(ctx.settings, "metrics_token", None)):
            return json_response({"error": "metrics token missing or wrong (send it as 'Authorization: Bearer "
                                           "<token>', the admin token or --metrics-token)"}, 401)
        return Response(render(registry), media_type=CONTENT_TYPE)

    return {"list_requests": list_requests, "count_requests": count_requests, "clear_requests": clear_requests,
            "report": get_report, "prices": get_prices, "metrics": metrics}
