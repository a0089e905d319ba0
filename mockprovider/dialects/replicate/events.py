"""Which webhooks a prediction sends, and when, as Replicate documents them.

``webhook_events_filter`` picks among ``start`` (at creation), ``logs`` (each time the logs grow), ``output``
(each new output) and ``completed`` (succeeded, failed or canceled); without a filter Replicate sends new outputs
and completion. ``logs`` and ``output`` requests go out at most once every 500 ms; ``start`` and ``completed`` are
always sent. Only the final webhook is retried. Every body is the prediction as ``GET /v1/predictions/{id}``
shows it, signed with Standard Webhooks under the account's default secret.

A video model's one output appears when the prediction succeeds, so ``output`` and ``completed`` coincide: the
final webhook is sent once, as ``completed`` if that was asked for, else as ``output``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ...engine.jobs import QUEUED, RUNNING, SUCCEEDED, TERMINAL, THROTTLED, Job
from ...webhooks import WebhookHub, WebhookPolicy

THROTTLE = 0.5  # engine seconds between two logs/output webhooks of one prediction



def log_step_times(job: Job, steps: int, done: int) -> float:
    """Engine time at which the job's logs show step ``done + 1`` (inf if they never will)."""
    plan = job.plan
    wanted = (done + 1) / steps
    if plan.stuck:  # progress 0.99 * (1 - exp(-elapsed / run)) never reaches 0.99
        if wanted >= 0.99:
            return math.inf
        return job.started - plan.run * math.log(1 - wanted / 0.99)
    return job.started + plan.run * wanted


class PredictionWebhooks:
    """``render(job, shown status or None, params)`` gives the prediction body; ``params`` (the follow's stored
    parameters, JSON) carry what it and the signer need, so any replica rebuilds the same webhook."""

    def __init__(self, hub: WebhookHub, provider: str, render: Callable[[Job, str | None, Any], dict[str, Any]]
                 ) -> None:
        self.hub = hub
        self.provider = provider
        self.render = render

    def follow(self, job: Job, *, url: str, events: list[str], policy: WebhookPolicy, params: dict[str, Any],
               steps: int, watch: Callable[[Job, str], None] | None = None) -> None:
        """Send ``job``'s webhooks from now on; ``watch(job, state)`` hears each state change here."""
        hub = self.hub
        once = replace(policy, attempts=1)  # intermediate webhooks are never retried
        wanted = set(events)
        final_event = "completed" if "completed" in wanted else "output" if "output" in wanted else None
        params = {**params, "fe": final_event, "st": steps}
        if "start" in wanted:
            hub.deliver(provider=self.provider, job=job.id, event="start", url=url,
                        payload=self.render(job, "starting", params), policy=once, params=params)
        hub.follow(job, provider=self.provider, url=url, policy=policy, params=params, watch=watch,
                   ticks=once if "logs" in wanted else None)

    def final(self, job: Job, state: str, told: str | None, params: dict[str, Any]) -> list[tuple[str, Any]]:
        """The final webhook (the hub's registered renderer)."""
        final_event = params["fe"]
        if state not in TERMINAL or final_event is None or (final_event == "output" and state != SUCCEEDED):
            return []
        return [(final_event, self.render(job, None, params))]

    def logs(self, job: Job, now: float, mark: list[float] | None, params: dict[str, Any]
             ) -> tuple[list[tuple[str, Any]], list[float] | None, float]:
        """The logs webhooks (the hub's registered ticker): one when the logs grow (a new step, or processing
        starts), never sooner than THROTTLE after the last one. ``mark``: the step shown last and when."""
        state, progress = job.state(now)
        if state in (THROTTLED, QUEUED):
            return [], mark, max(job.started, now + 1e-6)  # a freed slot may move the start
        if state != RUNNING:
            return [], mark, math.inf  # the final webhook carries the last logs
        steps = params["st"]
        shown, sent = mark if mark is not None else (-1, -math.inf)
        done = min(int(progress * steps), steps)
        events = []
        if done != shown:
            shown, sent = done, now
            events.append(("logs", self.render(job, None, params)))
        following = max(log_step_times(job, steps, done), sent + THROTTLE, now + 1e-6)
        return events, [shown, sent], following if following < job.ends else math.inf
