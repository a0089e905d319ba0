"""MiniMax's wire format: every answer carries ``base_resp {status_code, status_msg}``, errors included, and
nearly all errors travel with HTTP 200."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...web.responses import json_response

# How long a new task reads "Preparing" (engine seconds) before it is "Queueing".
PREPARING_SECONDS = 1.0
FILE_OFFSET = 5 * 10**17
TASK_IDS = (10**17, 4 * 10**17)

MESSAGES = {
    0: "success",
    1000: "unknown error",
    1001: "request timeout",
    1002: "rate limit exceeded(RPM)",
    1004: "login fail: Please carry the API secret key in the 'Authorization' field of the request header",
    1008: "insufficient balance",
    1024: "internal error",
    1026: "input new_sensitive",
    1027: "output new_sensitive",
    2013: "invalid params",
    2049: "invalid api key",
    2056: "usage limit exceeded",
}

# an HTTP status (an injected fault, an unrouted path) -> the code MiniMax pairs with it
BY_STATUS = {400: 2013, 401: 1004, 403: 1004, 404: 1000, 405: 1000, 408: 1001, 413: 2013, 429: 1002, 500: 1000,
             502: 1024, 503: 1024, 504: 1001}

# neutral failure reason -> the base_resp of the failed task
FAILURES = {
    "content_policy_input": (1026, "input new_sensitive"),
    "content_policy": (1027, "output new_sensitive"),
    "internal": (1000, "unknown error"),
    "timeout": (1001, "request timeout"),
}


def base(code: int = 0, message: str | None = None) -> dict[str, Any]:
    return {"status_code": code, "status_msg": message or MESSAGES.get(code, "error")}


def ok(body: dict[str, Any]) -> Response:
    return json_response({**body, "base_resp": base()})


def error(code: int, message: str | None = None, http: int = 200, **fields: Any) -> Response:
    return json_response({**fields, "base_resp": base(code, message)}, http)


def code_for_status(status: int) -> int:
    return BY_STATUS.get(status, 1000 if status >= 500 else 2013)


def file_id_of(task_id: str) -> int:
    return int(task_id) + FILE_OFFSET


def task_id_of(file_id: int) -> str | None:
    task = file_id - FILE_OFFSET
    return str(task) if TASK_IDS[0] <= task < TASK_IDS[1] else None


def status_of(job: Job, state: str, now: float) -> str:
    if state in (THROTTLED, QUEUED):
        return "Preparing" if now < job.created + PREPARING_SECONDS else "Queueing"
    if state == RUNNING:
        return "Processing"
    return "Success" if state == SUCCEEDED else "Fail"


def failure(job: Job, state: str) -> tuple[int, str]:
    if state == CANCELLED:
        return FAILURES["internal"]
    reason = job.plan.failure or "internal"
    if reason == "content_policy" and job.plan.fail_at == 0.0:
        reason = "content_policy_input"
    return FAILURES.get(reason, FAILURES["internal"])


def task(job: Job, state: str, now: float, lower: bool = False) -> dict[str, Any]:
    """The query response (and, with ``lower``, the callback body: the same fields, lower-case status)."""
    status = status_of(job, state, now)
    body: dict[str, Any] = {"task_id": job.id, "status": status}
    resp = base()
    if state == SUCCEEDED:
        spec = job.output
        body.update(file_id=str(file_id_of(job.id)), video_width=spec.width, video_height=spec.height)
    elif state in (FAILED, CANCELLED):
        resp = base(*failure(job, state))
    if lower:
        body["status"] = {"Fail": "failed"}.get(status, status.lower())
    body["base_resp"] = resp
    return body


def file_object(job: Job, size: int, created_at: int, url: str) -> dict[str, Any]:
    return {"file_id": file_id_of(job.id), "bytes": size, "created_at": created_at, "filename": "output.mp4",
            "purpose": "video_generation", "download_url": url}


# -- v2 (MiniMax-H3): ``{"task": {...}}``, the statuses of the task API, the video linked at ``task.content.url``
# (a shape read in third-party clients of /v2 and their fixtures: UNCONFIRMED against the official page)

V2_STATUSES = {THROTTLED: "queued", QUEUED: "queued", RUNNING: "running", SUCCEEDED: "succeeded",
               FAILED: "failed", CANCELLED: "cancelled"}


def v2_task(job: Job, state: str, url: str | None) -> dict[str, Any]:
    data = job.data or {}
    status = V2_STATUSES.get(state, "failed")
    task: dict[str, Any] = {"id": job.id, "model": job.model, "status": status, "task_type": "generation",
                            "modality": "video", "resolution": data.get("r"), "duration": int(job.output.duration),
                            "ratio": data.get("ar", "adaptive")}
    if state == SUCCEEDED and url is not None:
        task["content"] = {"url": url}
        task["usage"] = {"output_seconds": int(job.output.duration), "input_image_count": data.get("i", 0)}
    elif state == FAILED:
        code, message = failure(job, state)
        task["error"] = {"code": code, "message": message}  # mock: the code of v1's failed task
    return {"task": task, "base_resp": base()}
