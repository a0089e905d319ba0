"""DashScope's wire format: ``{"request_id", "output": {...}, "usage": {...}}`` and ``{"request_id", "code",
"message"}`` errors (always ``application/json``: the SDK reads nothing else)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...web.responses import json_response

STATUS = {THROTTLED: "PENDING", QUEUED: "PENDING", RUNNING: "RUNNING", SUCCEEDED: "SUCCEEDED", FAILED: "FAILED",
          CANCELLED: "CANCELED"}
CHINA = timezone(timedelta(hours=8))

# an HTTP status (an injected fault, an unrouted path) -> the code DashScope pairs with it
CODES = {400: "InvalidParameter", 401: "InvalidApiKey", 403: "AccessDenied", 404: "NotFound",
         405: "MethodNotAllowed", 408: "RequestTimeOut", 413: "BadRequest.TooLarge", 429: "Throttling",
         500: "InternalError", 502: "InternalError", 503: "ServiceUnavailable", 504: "GatewayTimeout"}

FAILURES = {
    "content_policy": ("DataInspectionFailed", "Output data may contain inappropriate content."),
    "content_policy_input": ("DataInspectionFailed", "Input data may contain inappropriate content."),
    "internal": ("InternalError.Algo", "An internal error has occured, please try again later or contact "
                                       "service support."),
    "timeout": ("InternalError.Timeout", "An internal timeout error has occured during execution, please try "
                                         "again later or contact service support."),
}


def error(request_id: str, status: int, code: str, message: str) -> Response:
    return json_response({"request_id": request_id, "code": code, "message": message}, status)


def code_for_status(status: int) -> str:
    return CODES.get(status, "InternalError" if status >= 500 else "InvalidParameter")


@lru_cache(maxsize=4096)  # a task's times are fixed: every poll of it formats the same two or three
def china_time(epoch: float) -> str:
    """DashScope's timestamps: "YYYY-MM-DD HH:MM:SS.mmm" in China time."""
    return datetime.fromtimestamp(epoch, CHINA).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def output(job: Job, state: str, epoch, video_url: str | None) -> dict[str, Any]:
    """The task's ``output`` object; ``epoch`` turns engine times into Unix times."""
    data = job.data
    status = STATUS[state]
    out: dict[str, Any] = {"task_id": job.id, "task_status": status, "submit_time": china_time(epoch(job.created))}
    if state not in (THROTTLED, QUEUED) and job.started <= job.ends:
        out["scheduled_time"] = china_time(epoch(job.started))
    if status in ("SUCCEEDED", "FAILED", "CANCELED"):
        out["end_time"] = china_time(epoch(job.ends))
    if status == "FAILED":
        reason = job.plan.failure or "internal"
        if reason == "content_policy" and job.plan.fail_at == 0.0:
            reason = "content_policy_input"
        out["code"], out["message"] = FAILURES.get(reason, FAILURES["internal"])
    if data.get("p") is not None:
        out["orig_prompt"] = data["p"]
        if data.get("x"):
            out["actual_prompt"] = data["p"] + " The camera moves smoothly; soft natural light, fine detail."
    if status == "SUCCEEDED" and video_url is not None:
        out["video_url"] = video_url
    return out


def usage(job: Job) -> dict[str, Any]:
    """What a finished task is billed for: wan2.5 and later report seconds and the resolution tier; earlier models
    the duration and the size."""
    data = job.data
    seconds = data["d"]
    if data.get("n"):
        return {"duration": seconds + data.get("iv", 0), "input_video_duration": data.get("iv", 0),
                "output_video_duration": seconds, "video_count": 1, "SR": int(data["t"][:-1])}
    return {"video_duration": seconds, "video_ratio": data["s"], "video_count": 1}


def task(request_id: str, job: Job, state: str, epoch, video_url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"request_id": request_id, "output": output(job, state, epoch, video_url)}
    if state == SUCCEEDED:
        body["usage"] = usage(job)
    return body


def unknown(request_id: str, task_id: str) -> dict[str, Any]:
    return {"request_id": request_id, "output": {"task_id": task_id, "task_status": "UNKNOWN"}}


def list_item(job: Job, state: str, epoch) -> dict[str, Any]:
    item: dict[str, Any] = {"task_id": job.id, "task_status": STATUS[state], "model_name": job.model,
                            "submit_time": china_time(epoch(job.created))}
    if STATUS[state] in ("SUCCEEDED", "FAILED", "CANCELED"):
        item["end_time"] = china_time(epoch(job.ends))
    return item

