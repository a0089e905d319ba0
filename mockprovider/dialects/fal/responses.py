"""fal's wire format: queue status bodies, logs, File objects and its error shapes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ...web.responses import JSON, json_response

# Platform error categories (``error_type`` and ``X-Fal-Error-Type``) by HTTP status, for errors fal itself answers.
PLATFORM_ERROR_TYPES = {400: "bad_request", 499: "client_cancelled", 500: "internal_error",
                        502: "runner_incomplete_response", 503: "runner_scheduling_failure", 504: "request_timeout"}
CANCELLED = "Request cancelled by the client."
NOT_FOUND = "Request not found"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat().replace("+00:00", "Z")


# a limit the engine reports -> fal's status and detail
LIMITS = {"credits": (403, "User is locked. Reason: Exhausted balance. Top up your balance at "
                           "fal.ai/dashboard/billing."),
          "capacity": (503, "The queue is at capacity, try again later"),
          "concurrency": (429, "Concurrent request limit reached for this account"),
          "daily": (429, "Daily request limit reached for this account")}
RATE_LIMITED = (429, "Too many requests, slow down")


def error(status: int, detail: Any, request_id: str, *, error_type: str | None = None,
          headers: dict[str, str] | None = None) -> JSON:
    """``{"detail": ...}`` (plus ``error_type`` and ``X-Fal-Error-Type`` for platform errors)."""
    body: dict[str, Any] = {"detail": detail}
    out = {"x-fal-request-id": request_id, **(headers or {})}
    kind = error_type or (PLATFORM_ERROR_TYPES.get(status) if isinstance(detail, str) else None)
    if kind:
        body["error_type"] = kind
        out["x-fal-error-type"] = kind
    return json_response(body, status, out)


def validation_detail(field: str, message: str, kind: str) -> list[dict[str, Any]]:
    return [{"loc": ["body", field], "msg": message, "type": kind, "url": f"https://docs.fal.ai/errors/#{kind}"}]


def log_line(message: str, epoch: float, level: str = "INFO") -> dict[str, Any]:
    return {"message": message, "level": level, "source": "USER", "timestamp": iso(epoch)}


def file(url: str, size: int | None, name: str = "output.mp4", **details: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"url": url, "content_type": "video/mp4", "file_name": name}
    if size is not None:
        out["file_size"] = size
    out.update(details)
    return out
