"""Rendering jobs and errors in Runway's wire format."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...web.responses import json_response

DOC_URL = "https://docs.dev.runwayml.com/api"

STATUS = {THROTTLED: "THROTTLED", QUEUED: "PENDING", RUNNING: "RUNNING", SUCCEEDED: "SUCCEEDED",
          FAILED: "FAILED", CANCELLED: "CANCELLED"}

# neutral failure reason -> (failureCode, failure) as Runway reports them
FAILURES = {
    "content_policy": ("SAFETY.OUTPUT.VIDEO", "The output was flagged by our content moderation system."),
    "content_policy_input": ("SAFETY.INPUT.TEXT", "The input was flagged by our content moderation system."),
    "internal": ("INTERNAL.BAD_OUTPUT.CODE01", "An internal error occurred while generating the output."),
    "timeout": ("INTERNAL", "The task did not finish in time and was stopped."),
}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return json_response({"error": message, **extra, "docUrl": DOC_URL}, status, headers)


def retry_headers(seconds: float | None) -> dict[str, str]:
    """Retry-After in whole seconds, and the exact wait in retry-after-ms, which the SDK reads first."""
    if seconds is None:
        return {}
    return {"retry-after": str(max(1, math.ceil(seconds))), "retry-after-ms": str(max(1, math.ceil(seconds * 1000)))}


def charged(job: Job, state: str) -> int:
    if state == CANCELLED and job.data and job.data.get("refunded"):
        return 0
    if state == FAILED and job.plan.failure not in ("content_policy",):
        return 0
    return round(job.cost)


def task(job: Job, state: str, progress: float, output_urls: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": job.id, "createdAt": job.data["createdAt"], "status": STATUS[state]}
    if state in (THROTTLED, QUEUED, RUNNING):
        body["estimatedCost"] = {"credits": float(job.cost)}
        if state == RUNNING:
            body["progress"] = round(progress, 4)
        return body
    body["cost"] = {"credits": charged(job, state)}
    if state == SUCCEEDED:
        body["output"] = output_urls
    elif state == FAILED:
        reason = job.plan.failure or "internal"
        if reason == "content_policy" and job.plan.fail_at == 0.0:
            reason = "content_policy_input"
        code, message = FAILURES[reason]
        body["failure"] = message
        body["failureCode"] = code
    return body
