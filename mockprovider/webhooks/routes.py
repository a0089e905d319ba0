"""``GET /__mock/webhooks``: the journal of every delivery attempt, filtered by provider, job and outcome."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..admin.routes import token_problem
from ..web.responses import json_response
from .hub import WebhookHub
from .journal import OUTCOMES

PATH = "/__mock/webhooks"
MAX_LIMIT = 100_000


def limit_param(request: Request) -> int | str:
    raw = request.query_params.get("limit", "1000")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) > MAX_LIMIT:
        return f"limit must be a whole number from 0 to {MAX_LIMIT}"
    return int(raw)


def webhook_routes(hub: WebhookHub, admin_token: str | None) -> list[Route]:
    async def journal(request: Request) -> Response:
        problem = token_problem(request, admin_token)
        if problem is not None:
            return problem
        limit = limit_param(request)
        if isinstance(limit, str):
            return json_response({"error": limit}, 400)
        q = request.query_params
        outcome = q.get("outcome")
        if outcome is not None and outcome not in OUTCOMES:
            return json_response({"error": f"outcome must be one of {', '.join(OUTCOMES)}"}, 400)
        return json_response(await hub.report(provider=q.get("provider"), job=q.get("job"), outcome=outcome,
                                          limit=limit))

    return [Route(PATH, journal, methods=["GET"])]
