"""Replicate's wire format: prediction objects, their logs, and RFC 7807 problem details."""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from starlette.responses import Response

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from ...web.responses import json_response

STATUS = {THROTTLED: "starting", QUEUED: "starting", RUNNING: "processing", SUCCEEDED: "succeeded",
          FAILED: "failed", CANCELLED: "canceled"}
TERMINAL = frozenset({"succeeded", "failed", "canceled"})

# What Replicate's API predictions keep: inputs, outputs and logs go after an hour.
RETENTION = 3600.0

# neutral failure reason -> prediction.error
FAILURES = {
    "content_policy": "The input or output was flagged as sensitive. Please try again with different inputs. (E005)",
    "internal": "Prediction interrupted; please retry (code: PA)",
    "timeout": "Prediction timed out",
}

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # lowercase Crockford base 32, as recent prediction ids use
TITLES = {400: "Bad request", 401: "Unauthenticated", 402: "Insufficient credit", 403: "Forbidden",
          404: "Not found", 405: "Method not allowed", 409: "Conflict", 413: "Request entity too large",
          422: "Unprocessable Entity", 429: "Too many requests", 500: "Internal server error",
          502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}
NOT_FOUND = "The requested resource could not be found."


def new_id(rng: random.Random) -> str:
    n = rng.getrandbits(130)
    return "".join(_ID_ALPHABET[(n >> (5 * i)) & 31] for i in range(26))


@lru_cache(maxsize=16384)  # a job's timestamps are rendered at every poll
def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def problem(status: int, detail: str, title: str | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    body: dict[str, Any] = {"title": title or TITLES.get(status, "Error"), "detail": detail, "status": status}
    body.update(extra)
    return json_response(body, status, headers)


def not_found() -> Response:
    return json_response({"detail": NOT_FOUND, "status": 404}, 404)


def throttled(seconds: float | None) -> Response:
    wait = max(1, math.ceil(seconds)) if seconds is not None else 30
    return json_response({"detail": f"Request was throttled. Your rate limit resets in ~{wait}s.", "status": 429},
                         429, {"retry-after": str(wait)})


# -- logs ---------------------------------------------------------------------------------------------------


def _clock_text(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def progress_line(done: int, total: int, elapsed: float, per_step: float) -> str:
    """One tqdm line, the shape Prediction.progress parses: `` 40%|████      | 12/30 [00:08<00:12, 1.50s/it]``."""
    percent = done * 100 // total
    filled = done * 10 // total
    bar = "█" * filled + " " * (10 - filled)
    left = (total - done) * per_step
    return f"{percent:3d}%|{bar}| {done}/{total} [{_clock_text(elapsed)}<{_clock_text(left)}, {per_step:.2f}s/it]"


def logs(job: Job, state: str, progress: float, steps: int, header: tuple[str, ...]) -> str:
    """The prediction's logs at ``progress``: the model's start-up lines, then one progress line per step done."""
    if state in (THROTTLED, QUEUED):
        return ""
    per_step = max(job.plan.run / steps, 0.01)
    done = steps if state == SUCCEEDED else min(int(progress * steps), steps)
    tail = ""
    if state == SUCCEEDED:
        tail = "Video generated, uploading"
    elif state == FAILED:
        tail = f"Error: {FAILURES.get(job.plan.failure or 'internal', FAILURES['internal'])}"
    return _logs_text(header, steps, per_step, done, tail)


@lru_cache(maxsize=4096)  # polls between two steps see the same text: build it once
def _logs_text(header: tuple[str, ...], steps: int, per_step: float, done: int, tail: str) -> str:
    lines = [*header, *(progress_line(k, steps, k * per_step, per_step) for k in range(done + 1))]
    if tail:
        lines.append(tail)
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=4096)
def log_header(seed: int, duration: float, width: int, height: int, fps: int) -> tuple[str, ...]:
    return (f"Using seed: {seed}", f"Generating a {duration:g}s {width}x{height} video at {fps} fps")


# -- the prediction object ----------------------------------------------------------------------------------


def completed_at(job: Job, state: str) -> float | None:
    return job.ends if STATUS[state] in TERMINAL else None


def prediction(job: Job, state: str, progress: float, *, epoch, origin: str, now: float,
               output: Any = None, steps: int = 30, header: tuple[str, ...] = (),
               as_status: str | None = None) -> dict[str, Any]:
    """The prediction as GET /v1/predictions/{id} shows it. ``epoch`` turns engine times into Unix times;
    ``as_status`` renders it in an earlier status (a Prefer: wait that ran out answers "starting")."""
    data = job.data or {}
    status = as_status or STATUS[state]
    started = job.started if status not in ("starting",) else None
    if status == "canceled" and job.cancelled_at is not None and job.cancelled_at <= job.started:
        started = None
    done = completed_at(job, state) if status in TERMINAL else None
    removed = done is not None and now >= done + RETENTION
    body: dict[str, Any] = {
        "id": job.id,
        "model": data["m"],
        "version": data["v"],
        "input": None if removed else data.get("i", {}),
        "logs": None if removed else ("" if status == "starting" else logs(job, state, progress, steps,
                                                                            header)),
        "output": None if removed else (output if status == "succeeded" else None),
        "data_removed": removed,
        "error": None,
        "status": status,
        "source": "api",
        "created_at": iso(epoch(job.created)),
        "started_at": None if started is None else iso(epoch(started)),
        "completed_at": None if done is None else iso(epoch(done)),
        "urls": {
            "cancel": f"{origin}/v1/predictions/{job.id}/cancel",
            "get": f"{origin}/v1/predictions/{job.id}",
            "web": f"https://replicate.com/p/{job.id}",
        },
        "metrics": {},
    }
    if "d" in data:
        body["deployment"] = data["d"]
    if "w" in data:
        body["webhook"] = data["w"]
        body["webhook_events_filter"] = data["f"]
    if status == "failed":
        body["error"] = FAILURES.get(job.plan.failure or "internal", FAILURES["internal"])
    if done is not None:
        begun = job.started if started is not None else done
        body["metrics"] = {"predict_time": round(max(done - begun, 0.0), 6),
                           "total_time": round(max(done - job.created, 0.0), 6)}
    return body
