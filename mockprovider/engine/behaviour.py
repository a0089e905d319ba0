"""The schema of what a profile controls, in neutral terms.

A profile is layered: top-level settings apply to every provider, ``providers.<name>`` overrides them for one
provider and ``providers.<name>.models.<model>`` for one model. Each layer is a partial ``Behaviour``; the
resolved behaviour of a (provider, model) pair is the layers merged over ``BUILTIN``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator

from .distributions import Distribution, Fixed, parse_distribution
from .durations import parse_duration

Dist = Annotated[
    Distribution,
    BeforeValidator(parse_distribution),
    PlainSerializer(lambda d: d.describe(), return_type=dict),
]
Seconds = Annotated[float, BeforeValidator(parse_duration)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]

FAILURE_REASONS = ("content_policy", "internal", "timeout")
ENDPOINT_KINDS = ("create", "status", "cancel", "download", "account", "list", "other")


# The documented maxima (profiles/README.md): past them a limit is no limit, and concurrency slots are memory.
MAX_REQUESTS_PER_MINUTE = 10_000_000
MAX_SUBMISSIONS_PER_SECOND = 100_000
MAX_CONCURRENT_JOBS = 10_000
MAX_DAILY_JOBS = 1_000_000_000
MAX_CREDITS = 1e15
MAX_URL_TTL = 10 * 365 * 86400.0
MAX_HOLD = 3600.0


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)


class Window(Strict):
    """A time window relative to when the profile became active (engine seconds)."""

    start: Seconds = 0.0
    end: Seconds = math.inf

    def contains(self, elapsed: float) -> bool:
        return self.start <= elapsed < self.end


class FaultRule(Strict):
    """One request fault. ``kind``:
    error     answer ``status`` in the provider's own error shape
    hang      hold the request for ``hold`` engine seconds (default 600 s) and then answer 504
    reset     reset the TCP connection without an answer
    truncate  send the headers and half of the body, then close the connection
    malformed answer 200 with a body that is not valid JSON
    """

    kind: Literal["error", "hang", "reset", "truncate", "malformed"]
    rate: Probability
    status: int | None = Field(default=None, ge=400, le=599)
    message: str | None = None
    hold: Annotated[float, BeforeValidator(parse_duration), Field(le=MAX_HOLD)] = 600.0
    during: Window | None = None

    def model_post_init(self, __context: object) -> None:
        if self.kind == "error" and self.status is None:
            raise ValueError("an 'error' fault needs a 'status' (e.g. 503)")


class Jobs(Strict):
    queue: Dist | None = None
    run: Dist | None = None
    failure_rate: dict[Literal["content_policy", "internal", "timeout"], Probability] | None = None
    fail_at: Dist | None = None
    stuck_rate: Probability | None = None
    reject_at_submit: Probability | None = None

    @field_validator("failure_rate")
    @classmethod
    def _sum_at_most_one(cls, v: dict | None) -> dict | None:
        if v is not None and sum(v.values()) > 1.0 + 1e-9:
            raise ValueError("failure rates add up to more than 1")
        return v


class Limits(Strict):
    requests_per_minute: int | None = Field(default=None, ge=0, le=MAX_REQUESTS_PER_MINUTE)
    # job submissions admitted per account in any 1 s window (requests refused for other reasons do not count)
    submissions_per_second: int | None = Field(default=None, ge=0, le=MAX_SUBMISSIONS_PER_SECOND)
    concurrent_jobs: int | None = Field(default=None, ge=0, le=MAX_CONCURRENT_JOBS)
    daily_jobs: int | None = Field(default=None, ge=0, le=MAX_DAILY_JOBS)
    credits: float | None = Field(default=None, ge=0, le=MAX_CREDITS, allow_inf_nan=False)


class WebhookFaults(Strict):
    """Delivery faults, each a probability per delivery: ``drop`` never sends it; ``duplicate`` sends it twice;
    ``reorder`` holds it back until the job's next delivery has gone out; ``late`` adds ``late_by`` to its delay;
    ``early`` sends a job's next state change ``early_by`` before polls can see it."""

    drop: Probability | None = None
    duplicate: Probability | None = None
    reorder: Probability | None = None
    late: Probability | None = None
    late_by: Dist | None = None
    early: Probability | None = None
    early_by: Dist | None = None


class Callbacks(Strict):
    """Pushed updates (webhooks): how long after a state change the POST goes out, retries and faults."""

    delay: Dist | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    backoff: Seconds | None = None  # first retry after this, then times ``growth`` after each failure
    growth: float | None = Field(default=None, ge=1.0, le=10.0)  # 2 (doubling) unless a provider says otherwise
    timeout: Seconds | None = None
    faults: WebhookFaults | None = None


class Outputs(Strict):
    url_ttl: Annotated[float, BeforeValidator(parse_duration), Field(gt=0, le=MAX_URL_TTL)] | None = None
    fps: int | None = Field(default=None, ge=1, le=60)


LatencyMap = dict[Literal["default", "create", "status", "cancel", "download", "account", "list", "other"], Dist]
FaultMap = dict[Literal["all", "create", "status", "cancel", "download", "account", "list", "other"], list[FaultRule]]


class Behaviour(Strict):
    latency: LatencyMap | None = None
    jobs: Jobs | None = None
    limits: Limits | None = None
    faults: FaultMap | None = None
    outputs: Outputs | None = None
    callbacks: Callbacks | None = None


class ProviderBehaviour(Behaviour):
    models: dict[str, Behaviour] | None = None
    auth: dict[str, Any] | None = None  # the dialect's own account settings (keys, secrets...)


NO_LATENCY = Fixed(0.0)


class Resolved:
    """A fully resolved behaviour for one (provider, model): every value present, ready for the hot path."""

    __slots__ = (
        "callback_attempts",
        "callback_backoff",
        "callback_delay",
        "callback_faults",
        "callback_growth",
        "callback_timeout",
        "fail_at",
        "failure_rate",
        "faults",
        "fps",
        "latency",
        "limits",
        "queue",
        "reject_at_submit",
        "run",
        "stuck_rate",
        "url_ttl",
    )

    def __init__(self, layers: list[Behaviour]) -> None:
        latency: dict[str, Distribution] = {}
        jobs: dict = {}
        limits: dict = {}
        faults: dict[str, list[FaultRule]] = {}
        outputs: dict = {}
        callbacks: dict = {}
        for layer in layers:
            if layer.latency:
                latency.update(layer.latency)
            if layer.jobs:
                jobs.update({k: getattr(layer.jobs, k) for k in layer.jobs.model_fields_set})
            if layer.limits:
                limits.update({k: getattr(layer.limits, k) for k in layer.limits.model_fields_set})
            if layer.faults is not None:
                faults.update(layer.faults)
            if layer.callbacks:
                callbacks.update({k: getattr(layer.callbacks, k) for k in layer.callbacks.model_fields_set})
            if layer.outputs:
                outputs.update({k: getattr(layer.outputs, k) for k in layer.outputs.model_fields_set})
        default_latency = latency.get("default", NO_LATENCY)
        self.latency = {kind: latency.get(kind, default_latency) for kind in ENDPOINT_KINDS}
        self.queue: Distribution = jobs.get("queue") or Fixed(0.0)
        self.run: Distribution = jobs.get("run") or Fixed(1.0)
        self.failure_rate: dict[str, float] = dict(jobs.get("failure_rate") or {})
        self.fail_at: Distribution = jobs.get("fail_at") or Fixed(0.5)
        self.stuck_rate: float = jobs.get("stuck_rate") or 0.0
        self.reject_at_submit: float = jobs.get("reject_at_submit") or 0.0
        self.limits = Limits(**limits)
        shared = faults.get("all", [])
        self.faults = {kind: tuple(shared) + tuple(faults.get(kind, [])) for kind in ENDPOINT_KINDS}
        self.url_ttl: float = outputs.get("url_ttl") or 86400.0
        self.fps: int = outputs.get("fps") or 24
        self.callback_delay: Distribution = callbacks.get("delay") or Fixed(0.0)
        self.callback_attempts: int = callbacks.get("max_attempts") or 5
        self.callback_backoff: float = callbacks.get("backoff") or 1.0
        self.callback_growth: float = callbacks.get("growth") or 2.0
        self.callback_timeout: float = callbacks.get("timeout") or 10.0
        self.callback_faults: WebhookFaults = callbacks.get("faults") or WebhookFaults()
