"""Rendering jobs and errors in Runway's wire format."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import orjson
from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...web.responses import EncodedJSON, json_response

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


# what an input-stage moderation failure names, by the first kind of input the request had
INPUT_CODES = {"text": "SAFETY.INPUT.TEXT", "image": "SAFETY.INPUT.IMAGE", "video": "SAFETY.INPUT.VIDEO",
               "audio": "SAFETY.INPUT.AUDIO"}
OUTPUT_CODES = {"video": "SAFETY.OUTPUT.VIDEO", "image": "SAFETY.OUTPUT.IMAGE", "audio": "SAFETY.OUTPUT.AUDIO"}


def failure_of(job: Job) -> tuple[str, str]:
    """(failureCode, failure) for a failed task: moderation codes follow what the task took in and made."""
    reason = job.plan.failure or "internal"
    data = job.data or {}
    if reason == "content_policy" and job.plan.fail_at == 0.0:
        inputs = data.get("in") or ["text"]
        return INPUT_CODES.get(inputs[0], "SAFETY.INPUT.TEXT"), f"The input {inputs[0]} was flagged by our " \
                                                                 "content moderation system."
    if reason == "content_policy":
        kind = data.get("k", "video")
        return OUTPUT_CODES.get(kind, "SAFETY.OUTPUT.VIDEO"), f"The output {kind} was flagged by our content " \
                                                             "moderation system."
    return FAILURES.get(reason, FAILURES["internal"])


def rejected_input(inputs: list[str]) -> Response:
    """A create refused by moderation before a task exists: a prompt, or (no prompt) the first input asset."""
    if "text" in inputs or not inputs:
        return error(400, "Your prompt was flagged by our content moderation system.",
                     failureCode="INPUT_PREPROCESSING.SAFETY.TEXT")
    return error(400, f"Your input {inputs[0]} was flagged by our content moderation system.",
                 failureCode=INPUT_CODES.get(inputs[0], "SAFETY.INPUT.IMAGE"))


def charged(job: Job, state: str) -> int:
    if state == CANCELLED and job.data and job.data.get("refunded"):
        return 0
    if state == FAILED and job.plan.failure not in ("content_policy",):
        return 0
    return round(job.cost)


def task(job: Job, state: str, progress: float, output_urls: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": job.id, "createdAt": job.data["createdAt"], "status": STATUS[state]}
    if state in (THROTTLED, QUEUED, RUNNING):
        body["estimatedCost"] = {"credits": float((job.data or {}).get("est", job.cost))}
        if state == RUNNING:
            body["progress"] = round(progress, 4)
        return body
    body["cost"] = {"credits": charged(job, state)}
    if state == SUCCEEDED:
        body["output"] = output_urls
    elif state == FAILED:
        code, message = failure_of(job)
        body["failure"] = message
        body["failureCode"] = code
    return body



MAX_KEPT = 4096
# (id, createdAt, state, estimate) -> (progress as shown, the answer, its body up to the progress)
_kept: dict[tuple, tuple[float | None, Response, bytes]] = {}


def unfinished_task(job: Job, state: str, progress: float) -> Response:
    """``json_response(task(job, state, progress, []))`` for a task that has not finished: the same status,
    headers and bytes.

    Everything but a running task's progress reads the same poll after poll, so it is kept encoded (bounded)
    and the progress, encoded alone as orjson encodes it inside the object, is put after it; the answer itself
    is kept for the polls that read the same progress (nothing changes an answer once made)."""
    data = job.data
    key = (job.id, data["createdAt"], state, float(data.get("est", job.cost)))
    shown = round(progress, 4) if state == RUNNING else None
    kept = _kept.get(key)
    if kept is not None:
        if kept[0] == shown:
            return kept[1]
        head = kept[2]
    else:
        body = task(job, state, progress, [])
        body.pop("progress", None)
        head = orjson.dumps(body)
        if shown is not None:
            head = head[:-1] + b',"progress":'
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
    response = EncodedJSON(head if shown is None else head + orjson.dumps(shown) + b"}")
    _kept[key] = (shown, response, head)
    return response
