"""Small helpers several dialects share: reading a ``Bearer`` key, and a per-model create rate."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ..engine.engine import RequestDecision
from ..engine.limits import OverLimit


def bearer_key(request: Request) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header as sent (None when absent or blank)."""
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


async def model_create_rate(dialect: Any, key: str, model: str, behaviour: Any, decision: RequestDecision
                            ) -> OverLimit | None:
    """Count one create against a ``requests_per_minute`` set for ``model`` alone (providers whose RPM is per
    model, on generation requests); a provider-wide one already counted every request, so it is not counted
    twice. The limit's scope is the provider, the model and the key."""
    limits = behaviour.limits
    if limits.requests_per_minute is None or limits.requests_per_minute == \
            decision.behaviour.limits.requests_per_minute:
        return None
    return await dialect.ctx.engine.take_token(f"{dialect.name}:create:{model}", key, limits)
