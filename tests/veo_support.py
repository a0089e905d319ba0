"""Per-key profiles the Veo tests assign, so each scenario gets its own behaviour on one server."""

from __future__ import annotations

from typing import Any

from mockprovider.testing import MockServer

PROFILES: dict[str, dict[str, Any]] = {
    "filtered": {"extends": "happy", "jobs": {"failure_rate": {"content_policy": 1.0}}},
    "failed": {"extends": "happy", "jobs": {"failure_rate": {"internal": 1.0}}},
    "bad": {"extends": "happy", "providers": {"veo": {"auth": {"keys": ["some-other-key"],
                                                               "tokens": ["some-other-token"]}}}},
    "limited": {"extends": "happy", "limits": {"requests_per_minute": 1}},
    "busy": {"extends": "happy", "jobs": {"run": "60s"}, "limits": {"concurrent_jobs": 1}},
}


def assign(server: MockServer, key: str, profile: str) -> None:
    answer = server.admin("PUT", f"/keys/{key}/profile", json={"profile": PROFILES[profile], "name": profile})
    assert answer.status_code == 200, answer.text


def assign_all(server: MockServer, prefix: str = "k-") -> None:
    for name in PROFILES:
        assign(server, prefix + name, name)
