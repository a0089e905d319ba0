"""Webhooks, in neutral terms: a dialect says "job J reached event E, deliver this payload to URL U signed with
scheme S"; this package delivers it on the engine's clock as the profile says, and journals every attempt.

How a dialect calls it (``self.ctx.webhooks`` is the server's one ``WebhookHub``)::

    from mockprovider.webhooks import Handshake, StandardWebhooks, UNSIGNED, policy_for

    policy = policy_for(decision.assignment.profile.resolve(self.name, model))   # once, at job creation

    # (a) one delivery, now-ish (after the profile's delay draw and faults):
    self.ctx.webhooks.deliver(provider=self.name, job=job.id, event="completed", url=url,
                              payload={...}, policy=policy, signer=self.signer)

    # (b) or follow the job: register once (in the dialect's __init__) how the provider's follows render and
    #     sign, from the job, the state, the state told before (None at first) and the follow's JSON params:
    self.ctx.webhooks.register(self.name, render, sign)   # render(job, state, told, params) -> [(event, payload)]
                                                          # (or an awaitable of it); sign(params) -> Signer
    #     then, per job (engine states: throttled, queued, running, succeeded, failed, cancelled; [] skips one).
    #     Only follow() can send a state *before* polls see it (the profile's ``early`` fault).
    self.ctx.webhooks.follow(job, provider=self.name, url=url, policy=policy, params={"o": origin},
                             initial=QUEUED)

    #     A follow may start with a handshake the receiver must pass before anything else is sent (a URL
    #     verification: the 2xx reply must be a JSON object holding ``expect``; if it fails nothing follows):
    self.ctx.webhooks.follow(..., handshake=Handshake("challenge", {"challenge": token},
                                                      expect={"challenge": token}, timeout=3 / scale))
    #     and may send progress between state changes: register a ticker, then follow with ``ticks=`` (the
    #     policy of those deliveries, e.g. ``replace(policy, attempts=1)``):
    self.ctx.webhooks.register(self.name, render, sign, tick=tick)  # tick(job, now, mark, params)
                                                                    #   -> (events, mark, next engine time)

- With ``serve --state redis://...`` (webhooks/shared.py) follows (their handshakes and ticks included) and
  deliveries go to one queue in Redis: any replica renders, signs and sends each event once (per-job order,
  retries, faults, journal as below), and another replica takes over a delivery whose holder died (its lease
  lapses). ``deliver(check=, done=)`` (callbacks only this process can hear) stays in this process. The journal
  answers for every replica, and ``max_pending_bytes`` bounds the bodies waiting in Redis for all of them.
- A job's deliveries leave in the order they were queued (one lane per job; a retry holds the lane), unless
  the ``reorder`` fault swaps one with the next. ``deliver(..., delay=0)`` skips the delay draw;
  ``message_id=`` sets the id a signature covers (default ``msg_<24 hex>``, the same on retries and duplicates).
- ``payload`` is JSON-encoded (orjson) unless it is ``bytes``; it is sent as ``Content-Type: application/json``.
- Signing schemes (``signer=``): ``UNSIGNED``; ``StandardWebhooks(secret)`` / ``StandardWebhooks.generate(rng)``
  (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>``; ``.secret`` is the ``whsec_...``
  to publish); any object with ``headers(message, body, timestamp) -> dict`` (``message`` is a ``Message``
  with ``id``, ``provider``, ``job``, ``event``; ``timestamp`` is real Unix seconds, not engine time, so a
  receiver's tolerance check works at any time scale). ``Ed25519Key.generate(rng)`` gives a signing key and
  its JWK for schemes built on ED25519.
- Bounded: at most ``max_pending`` deliveries (10,000) and ``max_pending_bytes`` (64 MiB) wait; more are
  journaled as ``dropped``. At most 64 POSTs are in flight. ``POST /__mock/reset`` forgets everything.
- Targets: never this server's own listeners (its admin API), the chaos proxy's API, or link-local addresses
  (169.254.0.0/16, fe80::/10, fd00:ec2::254), checked after DNS resolution; ``serve --webhook-allow`` restricts
  targets to the hosts, ``.suffixes``, IPs and CIDRs it lists. Private and loopback addresses are allowed.
  A refused delivery is journaled as ``refused`` and never retried. Redirects are not followed.

How a profile configures it (``callbacks:`` at any layer: top level, provider, model)::

    callbacks:
      delay: {lognormal: {median: 300ms, p99: 3s}}   # from the state change to the first attempt
      max_attempts: 5                                 # default 5
      backoff: 1s                                     # first retry after this; default 1 s
      growth: 2                                       # each later wait times this (1: evenly spaced); default 2
      timeout: 10s                                    # per attempt (at least 0.5 s real); default 10 s
      faults:                                         # probabilities per delivery
        drop: 0.01          # never sent
        duplicate: 0.01     # sent twice (same message id)
        reorder: 0.02       # held back until the job's next delivery has gone out (at most 30 s)
        late: 0.01          # delivered late_by (default 60 s) after its delay
        late_by: {uniform: [30s, 5m]}
        early: 0.05         # (follow only) the next state's deliveries go out early_by (default 2 s) before
        early_by: 2s        # polls can see that state

All times are engine seconds (``--time-scale`` shrinks them); the journal reports ``retry_in_seconds`` in real
seconds. The journal is ``GET /__mock/webhooks?provider=&job=&outcome=&limit=`` (outcomes: delivered,
retrying, gave_up, dropped, refused).
"""

from .hub import Handshake, WebhookHub
from .journal import DELIVERED, DROPPED, GAVE_UP, OUTCOMES, REFUSED, RETRYING
from .policy import WebhookPolicy, policy_for
from .signing import UNSIGNED, Ed25519Key, Message, Signer, StandardWebhooks, Unsigned
from .targets import Refused, TargetRules

__all__ = [
    "DELIVERED",
    "DROPPED",
    "GAVE_UP",
    "OUTCOMES",
    "REFUSED",
    "RETRYING",
    "UNSIGNED",
    "Ed25519Key",
    "Handshake",
    "Message",
    "Refused",
    "Signer",
    "StandardWebhooks",
    "TargetRules",
    "Unsigned",
    "WebhookHub",
    "WebhookPolicy",
    "policy_for",
]
