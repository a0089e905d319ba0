"""ModelArk's wire format: the ``{"error": {code, message, param, type}}`` envelope and task objects."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...web.responses import json_response

QUEUED_STATUS = "queued"
EXPIRED = "expired"
STATUS = {THROTTLED: "queued", QUEUED: "queued", RUNNING: "running", SUCCEEDED: "succeeded", FAILED: "failed",
          CANCELLED: "cancelled"}
TYPES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
         408: "RequestTimeout", 409: "Conflict", 413: "RequestEntityTooLarge", 429: "TooManyRequests",
         500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
# an HTTP status (an injected fault, an unrouted path) -> the code ModelArk pairs with it
CODES = {400: "InvalidParameter", 401: "AuthenticationError", 403: "AccessDenied", 404: "NotFound",
         405: "MethodNotAllowed", 408: "RequestTimeout", 413: "RequestEntityTooLarge", 429: "ServerOverloaded",
         500: "InternalServiceError", 502: "InternalServiceError", 503: "ServiceUnavailable",
         504: "RequestTimeout"}

# neutral failure reason -> the task's error
FAILURES = {
    "content_policy": ("OutputVideoSensitiveContentDetected",
                       "The request failed because the output video may contain sensitive information."),
    "content_policy_input": ("InputTextSensitiveContentDetected",
                             "The request failed because the input text may contain sensitive information."),
    "internal": ("InternalServiceError", "The service encountered an unexpected internal error."),
}


def error(request_id: str, status: int, code: str, message: str, param: str = "",
          headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": f"{message} Request id: {request_id}", "param": param,
                      "type": TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequest")}}
    return json_response(body, status, {"x-request-id": request_id, **(headers or {})})


def code_for_status(status: int) -> str:
    return CODES.get(status, "InternalServiceError" if status >= 500 else "InvalidParameter")


def status_of(job: Job, state: str) -> str:
    data = job.data
    if data.get("ex"):
        return EXPIRED
    if state == FAILED and job.plan.failure == "timeout":
        return EXPIRED
    return STATUS[state]


def updated_at(job: Job, state: str) -> float:
    """Engine time of the task's last status change."""
    if state in (THROTTLED, QUEUED):
        return job.created
    if state == RUNNING:
        return job.started
    return job.ends


def task(job: Job, state: str, created: int, updated: int, video_url: str | None,
         last_frame_url: str | None = None) -> dict[str, Any]:
    """One task as GET, the list and callbacks show it."""
    data = job.data
    status = status_of(job, state)
    body: dict[str, Any] = {"id": job.id, "model": job.model, "status": status, "error": None}
    if status == "failed":
        reason = job.plan.failure or "internal"
        if reason == "content_policy" and job.plan.fail_at == 0.0:
            reason = "content_policy_input"
        code, message = FAILURES.get(reason, FAILURES["internal"])
        body["error"] = {"code": code, "message": message}
    if status == "succeeded" and video_url is not None:
        body["content"] = {"video_url": video_url}
        if last_frame_url is not None:
            body["content"]["last_frame_url"] = last_frame_url
        body["usage"] = {"completion_tokens": data["u"], "total_tokens": data["u"]}
    body.update({
        "created_at": created,
        "updated_at": updated,
        "seed": data["s"],
        "resolution": data["r"],
        "ratio": data["a"],
        "duration": data["d"],
        "framespersecond": data["f"],
        "service_tier": data["t"],
        "execution_expires_after": data["x"],
        "generate_audio": data["g"],
        "draft": data["dr"],
        "priority": data["p"],
    })
    if "fr" in data:
        body["frames"] = data["fr"]
    if "si" in data:
        body["safety_identifier"] = data["si"]
    return body
