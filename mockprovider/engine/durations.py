"""Durations as people write them in profiles: ``250ms``, ``40s``, ``3m``, ``1h``, or a bare number of seconds."""

from __future__ import annotations

import re

_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*(us|µs|ms|s|min|m|h|d)?\s*$")


def parse_duration(value: object) -> float:
    """Return seconds for ``value``; raise ``ValueError`` with a readable reason otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '250ms', '40s' or '3m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if not match:
            raise ValueError(f"expected a duration like '250ms', '40s' or '3m', got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"expected a duration like '250ms', '40s' or '3m', got {value!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 120:
        return f"{seconds:g}s"
    return f"{seconds / 60:g}m"
