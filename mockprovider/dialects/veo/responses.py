"""Google's wire shapes: the google.rpc Status error envelope and long-running operations."""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, SUCCEEDED, Job
from ...web.responses import json_response

GEMINI_SERVICE = "generativelanguage.googleapis.com"
VERTEX_SERVICE = "aiplatform.googleapis.com"
TYPE = "type.googleapis.com/"

STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 412: "FAILED_PRECONDITION", 413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE",
    503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

# google.rpc.Code numbers, for errors inside an operation
CODE_CANCELLED = 1
CODE_DEADLINE_EXCEEDED = 4
CODE_INTERNAL = 13

# neutral failure reason -> the operation's error (content_policy is not an error: it filters the output)
OPERATION_ERRORS = {
    "internal": (CODE_INTERNAL, "Video generation failed due to an internal server issue. Please try again in a "
                                "few minutes."),
    "timeout": (CODE_DEADLINE_EXCEEDED, "Video generation did not finish in time and was stopped. Please try "
                                        "again."),
}
FILTER_REASONS = (
    "The video could not be generated because it may violate Google's Responsible AI practices. Try rephrasing "
    "the prompt. Support codes: 58061214",
    "Your current safety settings for person generation blocked the video. Try rephrasing the prompt or "
    "changing personGeneration. Support codes: 17301594",
    "We encountered an issue with the audio for your prompt. You have not been charged for this request. "
    "Please try a different prompt. Support codes: 29310472",
)

ENDED = (SUCCEEDED, FAILED, CANCELLED)  # an operation is done in these states
GEMINI_RESPONSE_TYPE = TYPE + "google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
VERTEX_RESPONSE_TYPE = TYPE + "cloud.ai.large_models.vision.GenerateVideoResponse"


def status_name(status: int) -> str:
    return STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")


def error(status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"code": status, "message": message, "status": status_name(status)}
    if details:
        body["details"] = details
    return json_response({"error": body}, status)


def error_info(reason: str, service: str, **metadata: str) -> dict[str, Any]:
    return {"@type": TYPE + "google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
            "metadata": {"service": service, **metadata}}


def retry_info(seconds: float | None) -> list[dict[str, Any]]:
    if seconds is None:
        return []
    # google.protobuf.Duration in JSON: "41s", or fractional seconds ("0.600s") when the time scale shrinks it
    delay = f"{math.ceil(seconds)}s" if seconds >= 1 else f"{max(seconds, 0.001):.3f}s"
    return [{"@type": TYPE + "google.rpc.RetryInfo", "retryDelay": delay}]


def quota_failure(metric: str, quota_id: str, value: float | None) -> dict[str, Any]:
    violation: dict[str, Any] = {"quotaMetric": metric, "quotaId": quota_id}
    if value is not None:
        violation["quotaValue"] = str(int(value))
    return {"@type": TYPE + "google.rpc.QuotaFailure", "violations": [violation]}


def filter_reasons(job: Job, count: int) -> list[str]:
    return [FILTER_REASONS[(job.seq + i) % len(FILTER_REASONS)] for i in range(count)]


def finished_error(job: Job, state: str) -> dict[str, Any] | None:
    """The operation's ``error`` when it ended without output (content filtering is not one)."""
    if state == CANCELLED:
        return {"code": CODE_CANCELLED, "message": "Operation was cancelled."}
    if state == FAILED and job.plan.failure != "content_policy":
        code, message = OPERATION_ERRORS.get(job.plan.failure or "internal", OPERATION_ERRORS["internal"])
        return {"code": code, "message": message}
    return None


def operation(name: str, state: str, job: Job, result: dict[str, Any] | None, *, pending_done: bool,
              ) -> dict[str, Any]:
    """An Operation: pending, failed (``error``) or done (``response`` as given)."""
    if state not in ENDED:
        return {"name": name, "done": False} if pending_done else {"name": name}
    failure = finished_error(job, state)
    if failure is not None:
        return {"name": name, "done": True, "error": failure}
    return {"name": name, "done": True, "response": result}


MAX_PENDING = 4096
_pending: dict[tuple[str, bool], Response] = {}  # (name, with done) -> the answer


def pending_operation(name: str, *, pending_done: bool) -> Response:
    """``json_response(operation(name, <pending>, ...))``: what a pending operation answers is the same poll after
    poll, so the answer is kept (bounded; nothing changes an answer once made)."""
    key = (name, pending_done)
    found = _pending.get(key)
    if found is None:
        if len(_pending) >= MAX_PENDING:
            _pending.clear()
        found = _pending[key] = json_response({"name": name, "done": False} if pending_done else {"name": name})
    return found


def filtered(job: Job, samples: int) -> dict[str, Any]:
    return {"raiMediaFilteredCount": samples, "raiMediaFilteredReasons": filter_reasons(job, samples)}


def gemini_result(job: Job, state: str, samples: int, uris: list[str]) -> dict[str, Any]:
    if state == FAILED:
        inner = filtered(job, samples)
    else:
        inner = {"generatedSamples": [{"video": {"uri": uri}} for uri in uris]}
    return {"@type": GEMINI_RESPONSE_TYPE, "generateVideoResponse": inner}


def vertex_result(job: Job, state: str, samples: int, videos: list[dict[str, str]]) -> dict[str, Any]:
    if state == FAILED:
        return {"@type": VERTEX_RESPONSE_TYPE, **filtered(job, samples)}
    return {"@type": VERTEX_RESPONSE_TYPE, "raiMediaFilteredCount": 0, "videos": videos}
