"""Which profile applies to a request: the one named by a request header, else the one assigned to the
request's API key, else the active one. Assignments may carry a TTL after which the previous one returns."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from .clock import Clock
from .profile import Profile

log = logging.getLogger("mockprovider")


@dataclass(slots=True)
class Assignment:
    profile: Profile
    since: float  # engine time it became active
    until: float = math.inf
    previous: Assignment | None = None


class ProfileSelector:
    def __init__(self, clock: Clock, default: Profile,
                 on_change: Callable[[Profile, Profile], None] | None = None) -> None:
        self.clock = clock
        self._active = Assignment(default, clock.now())
        self._by_key: dict[str, Assignment] = {}
        self.on_change = on_change

    @property
    def active(self) -> Assignment:
        assignment = self._active
        if assignment.until == math.inf:  # no TTL: nothing to expire, no clock to read (every request asks)
            return assignment
        now = self.clock.now()
        if now >= assignment.until:
            while now >= assignment.until and assignment.previous is not None:
                assignment = assignment.previous
            old = self._active.profile
            log.info("profile %s ended (its TTL ran out); back to %s", old.name, assignment.profile.name)
            self._active = Assignment(assignment.profile, now, assignment.until, assignment.previous)
            if self.on_change is not None and old is not assignment.profile:
                self.on_change(old, assignment.profile)
        return self._active

    def expiry_pending(self) -> float | None:
        until = self._active.until
        return None if until == math.inf else until

    def activate(self, profile: Profile, ttl: float | None = None) -> Assignment:
        current = self.active
        now = self.clock.now()
        until = math.inf if ttl is None else now + ttl
        previous = current if ttl is not None else None
        self._active = Assignment(profile, now, until, previous)
        if self.on_change is not None and current.profile is not profile:
            self.on_change(current.profile, profile)
        return self._active

    def assign_key(self, key: str, profile: Profile, ttl: float | None = None) -> Assignment:
        now = self.clock.now()
        assignment = Assignment(profile, now, math.inf if ttl is None else now + ttl)
        self._by_key[key] = assignment
        return assignment

    def unassign_key(self, key: str) -> bool:
        return self._by_key.pop(key, None) is not None

    def for_key(self, key: str | None) -> Assignment:
        if key is not None and self._by_key:
            assignment = self._by_key.get(key)
            if assignment is not None:
                if self.clock.now() < assignment.until:
                    return assignment
                del self._by_key[key]
        return self.active

    def keys(self) -> dict[str, Assignment]:
        now = self.clock.now()
        for key in [k for k, a in self._by_key.items() if now >= a.until]:
            del self._by_key[key]
        return dict(self._by_key)

    def replace(self, active: Assignment | None, by_key: dict[str, Assignment]) -> None:
        """Adopt a selection made elsewhere (another replica); listeners hear of a new active profile."""
        old = self._active.profile
        if active is not None:
            self._active = active
        self._by_key = dict(by_key)
        new = self.active.profile
        if self.on_change is not None and old is not new:
            self.on_change(old, new)

    def reset(self, default: Profile) -> None:
        self._by_key.clear()
        self.activate(default)
