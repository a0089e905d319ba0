"""Kling's wire format: the ``{code, message, request_id, data}`` envelope, its error codes and task objects."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...web.responses import json_response

STATUS = {THROTTLED: "submitted", QUEUED: "submitted", RUNNING: "processing", SUCCEEDED: "succeed",
          FAILED: "failed", CANCELLED: "failed"}

# code -> (HTTP status, default message)
CODES: dict[int, tuple[int, str]] = {
    1000: (401, "Authentication failed"),
    1001: (401, "Authorization is empty"),
    1002: (401, "Authorization is invalid"),
    1003: (401, "Authorization is not yet valid"),
    1004: (401, "Authorization is expired"),
    1100: (429, "Account exception"),
    1101: (429, "Account in arrears"),
    1102: (429, "Resource pack depleted or expired"),
    1103: (403, "No access to the requested API or model"),
    1200: (400, "Invalid request parameters"),
    1201: (400, "Invalid parameter"),
    1202: (404, "Invalid request method"),
    1203: (404, "Requested resource does not exist"),
    1300: (400, "Platform strategy triggered"),
    1301: (400, "Content security policy triggered"),
    1302: (429, "The API request is too fast, please slow down"),
    1303: (429, "parallel task over resource pack limit"),
    1304: (429, "IP whitelist policy triggered"),
    5000: (500, "Server internal error"),
    5001: (503, "Server temporarily unavailable, usually due to maintenance"),
    5002: (504, "Server internal timeout, usually due to a backlog"),
}

# an HTTP status (an injected fault, an unrouted path) -> the code Kling pairs with it
BY_STATUS = {400: 1200, 401: 1000, 403: 1103, 404: 1203, 405: 1202, 429: 1302, 500: 5000, 502: 5000,
             503: 5001, 504: 5002}

# neutral failure reason -> task_status_msg
FAILURES = {
    "content_policy": "Failure to pass the risk control system",
    "internal": "Internal error, the task failed; please try again later",
    "timeout": "Task timed out; please try again later",
    "cancelled": "Task was terminated",
}


def envelope(request_id: str, data: Any) -> Response:
    return json_response({"code": 0, "message": "SUCCEED", "request_id": request_id, "data": data})


# the envelope's bytes up to its request id, as orjson writes them (keys in this order, no spaces)
ENVELOPE_HEAD = b'{"code":0,"message":"SUCCEED","request_id":"'


def envelope_tail(data: Any) -> bytes:
    """What follows a (plain ASCII) request id in ``envelope``'s bytes: ``ENVELOPE_HEAD + id + tail``."""
    return b'","data":' + orjson.dumps(data) + b"}"


def error(request_id: str, code: int, message: str | None = None, status: int | None = None) -> Response:
    http, default = CODES[code]
    return json_response({"code": code, "message": message or default, "request_id": request_id}, status or http)


def code_for_status(status: int) -> int:
    if status in BY_STATUS:
        return BY_STATUS[status]
    return 5000 if status >= 500 else 1200


def video_id(task_id: str) -> str:
    return f"{(int(task_id) + 184_549_382) % 10**18:018d}" if task_id.isdigit() else task_id + "-0"


def task_id_of_video(video_id: str) -> str:
    """The task whose result video has ``video_id`` (the inverse of ``video_id``)."""
    return str((int(video_id) - 184_549_382) % 10**18)


def duration_text(seconds: float) -> str:
    return f"{seconds:g}"


def task(job: Job, state: str, created_ms: int, updated_ms: int, videos: list[dict[str, Any]],
         result_key: str = "videos") -> dict[str, Any]:
    """One task as the query, list and callback bodies show it."""
    data = job.data or {}
    status = STATUS[state]
    body: dict[str, Any] = {
        "task_id": job.id,
        "task_status": status,
        "task_status_msg": "",
        "task_info": {"external_task_id": data["x"]} if "x" in data else {},
        "task_result": {},
        "created_at": created_ms,
        "updated_at": updated_ms,
    }
    if status == "failed":
        reason = "cancelled" if state == CANCELLED else (job.plan.failure or "internal")
        body["task_status_msg"] = FAILURES.get(reason, FAILURES["internal"])
        body["final_unit_deduction"] = "0"
    elif status == "succeed":
        body["task_result"] = {result_key: videos}
        body["watermark_info"] = {"enabled": bool(data.get("w"))}
        body["final_unit_deduction"] = f"{job.cost:g}"
    return body


def updated_at(job: Job, state: str) -> float:
    """Engine time of the task's last status change."""
    if state in (THROTTLED, QUEUED):
        return job.created
    if state == RUNNING:
        return job.started
    return job.ends
