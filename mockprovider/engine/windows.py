"""Log lines when a profile's fault windows (``during``) open and close, so a tester reading the server's log
sees when the bad minute began and ended. Scheduled on the timeline when the profile becomes active; a window
still open when its profile ends is logged as closed then."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from .behaviour import Behaviour, FaultRule
from .profile import Profile
from .timeline import Timeline

log = logging.getLogger("mockprovider")


def fault_windows(profile: Profile) -> list[tuple[str, FaultRule]]:
    """(what it applies to, rule) for every fault rule of ``profile`` limited to a window."""
    layers: list[tuple[str, Behaviour]] = [("every provider", profile.document)]
    for provider, section in profile.document.providers.items():
        layers.append((provider, section))
        layers += [(f"{provider} model {model}", behaviour) for model, behaviour in (section.models or {}).items()]
    return [(f"{where}, {endpoint} requests", rule)
            for where, layer in layers
            for endpoint, rules in (layer.faults or {}).items()
            for rule in rules if rule.during is not None]


def describe(rule: FaultRule) -> str:
    status = f" {rule.status}" if rule.status is not None else ""
    return f"{rule.kind}{status} at rate {rule.rate:g}"


def schedule(timeline: Timeline, profile: Profile, since: float, still_active: Callable[[], bool]) -> None:
    """Log each window's opening and closing at its engine time, while the profile is still the active one."""
    for where, rule in fault_windows(profile):
        window = rule.during
        assert window is not None
        text = f"{describe(rule)} on {where}"

        def opened(text: str = text) -> None:
            if still_active():
                log.info("profile %s: fault window opened: %s", profile.name, text)

        def closed(text: str = text) -> None:
            if still_active():
                log.info("profile %s: fault window closed: %s", profile.name, text)

        timeline.at(since + window.start, opened)
        if window.end != math.inf:
            timeline.at(since + window.end, closed)


def close_open(profile: Profile, since: float, now: float) -> None:
    """The profile ended: log the windows that were open as closed."""
    for where, rule in fault_windows(profile):
        window = rule.during
        assert window is not None
        if window.contains(now - since):
            log.info("profile %s ended: fault window closed: %s on %s", profile.name, describe(rule), where)
