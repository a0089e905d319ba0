"""Durations as people write them in profiles: ``250ms``, ``40s``, ``3m``, ``1h``, or a bare number of seconds."""

from __future__ import annotations

import math
import re

# The longest duration a profile or the admin API may give (about 31 years): past it, and for NaN or Infinity,
# arithmetic on dates and sleeps stops meaning anything.
MAX_SECONDS = 1e9

_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*(us|µs|ms|s|min|m|h|d)?\s*$")


def parse_duration(value: object) -> float:
    """Return seconds for ``value``; raise ``ValueError`` with a readable reason otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '250ms', '40s' or '3m', got {_brief(value)}")
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if not match:
            raise ValueError(f"expected a duration like '250ms', '40s' or '3m', got {_brief(value)}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"expected a duration like '250ms', '40s' or '3m', got {_brief(value)}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {_brief(value)}")
    if not math.isfinite(seconds) or seconds > MAX_SECONDS:
        raise ValueError(f"a duration must be finite and at most {MAX_SECONDS:g} s, got {_brief(value)}")
    return seconds


def _brief(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's digit limit
        text = "<huge number>"
    return text if len(text) <= 60 else text[:57] + "..."


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 120:
        return f"{seconds:g}s"
    return f"{seconds / 60:g}m"
