"""Luma's wire format: the Generation object, the list page and the ``{"detail": ...}`` error envelope."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...web.responses import json_response

STATE = {THROTTLED: "queued", QUEUED: "queued", RUNNING: "dreaming", SUCCEEDED: "completed", FAILED: "failed",
         CANCELLED: "failed"}

# neutral failure reason -> failure_reason, as Luma words them
FAILURES = {
    "content_policy_input": "Advanced prompt moderation failed",
    "content_policy": "Frame moderation failed",
    "internal": "Job failed",
    "timeout": "Job timed out",
    "cancelled": "Job cancelled",
}

# an HTTP status (an injected fault, an unrouted path) -> its detail text when the caller gave none
DEFAULT_DETAIL = {401: "Invalid API key is provided", 402: "Insufficient credits", 403: "Forbidden",
                  404: "Not Found", 405: "Method Not Allowed", 429: "Too many requests",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  504: "Gateway Timeout"}


# a limit the engine reports -> Luma's status and detail (a 429 or 503 carries Retry-After)
LIMITS = {"credits": (402, "Insufficient credits"),
          "capacity": (503, "Service is at capacity, please try again later"),
          "concurrency": (429, "Too many concurrent generations, please wait for one to finish"),
          "daily": (429, "Daily generation limit reached")}
RATE_LIMITED = (429, "Rate limit exceeded, please try again later")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def error(status: int, detail: Any = None, headers: dict[str, str] | None = None) -> Response:
    return json_response({"detail": detail if detail is not None else DEFAULT_DETAIL.get(status, "Error")},
                         status, headers)


def retry_headers(seconds: float | None) -> dict[str, str]:
    if seconds is None:
        return {}
    return {"retry-after": str(max(1, math.ceil(seconds)))}


def failure_reason(job: Job, state: str) -> str | None:
    if state == CANCELLED:
        return FAILURES["cancelled"]
    if state != FAILED:
        return None
    reason = job.plan.failure or "internal"
    if reason == "content_policy" and job.plan.fail_at == 0.0:
        reason = "content_policy_input"
    return FAILURES.get(reason, FAILURES["internal"])


IMAGE_KINDS = frozenset({"image", "reframe_image"})


def generation(job: Job, state: str, created: str, video_url: str | None, image_url: str | None
               ) -> dict[str, Any]:
    """One Generation, as create, get, list, upscale, audio and the callbacks show it; an image generation's
    still is in ``assets.image`` (its ``video`` null)."""
    data = job.data or {}
    request = dict(REQUEST_NULLS.get(job.kind, {}))
    request.update(data.get("r") or {})
    wire_state = STATE[state]
    return {
        "id": job.id,
        "generation_type": "image" if job.kind in IMAGE_KINDS else "video",
        "state": wire_state,
        "failure_reason": failure_reason(job, state),
        "created_at": created,
        "assets": {"video": video_url, "image": image_url, "progress_video": None}
        if video_url or image_url else None,
        "model": job.model,
        "request": request,
    }


# Keys each request kind echoes as null when they were not sent (the stored echo keeps only what was).
REQUEST_NULLS: dict[str, dict[str, None]] = {
    "video": dict.fromkeys(("prompt", "keyframes", "callback_url", "concepts")),
    "modify_video": dict.fromkeys(("callback_url", "prompt", "first_frame")),
    "reframe_video": dict.fromkeys(("callback_url", "prompt", "first_frame", "grid_position_x", "grid_position_y",
                                    "resized_height", "resized_width", "x_end", "x_start", "y_end", "y_start")),
    "upscale_video": dict.fromkeys(("callback_url",)),
    "add_audio": dict.fromkeys(("callback_url", "prompt", "negative_prompt")),
    "image": dict.fromkeys(("prompt", "callback_url", "image_ref", "style_ref", "character_ref",
                            "modify_image_ref")),
    "reframe_image": dict.fromkeys(("callback_url", "prompt", "grid_position_x", "grid_position_y",
                                    "resized_height", "resized_width", "x_end", "x_start", "y_end", "y_start")),
}


def compact(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if v is not None}


def page(generations: list[dict[str, Any]], has_more: bool, limit: int, offset: int) -> dict[str, Any]:
    return {"generations": generations, "count": len(generations), "has_more": has_more, "limit": limit,
            "offset": offset}
