"""Range-checked reading of untrusted values: numbers from bodies, query strings, headers and tokens; URLs in
bodies; and bounded descriptions of bad input for error messages.

Every dialect should read client-sent numbers and URLs through these helpers rather than ``int()``,
``str.isdigit()`` (which accepts ``"²"``) or ``urlsplit()`` (which raises on ``"https://[x"``): a value that is
out of range, not finite, absurdly long or oddly written comes back as None, for the dialect to answer with its
own validation error. Nothing here raises on any input.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import SplitResult, urlsplit

MAX_DIGITS = 30  # more digits than any id, count or millisecond timestamp needs; far below Python's 4300 limit
_ASCII_DIGITS = frozenset("0123456789")
_WHITESPACE = re.compile(r"\s")  # the characters str.isspace() calls whitespace, exactly


def has_whitespace(text: str) -> bool:
    """``any(c.isspace() for c in text)`` in one regex search (keys are checked on every request)."""
    return _WHITESPACE.search(text) is not None


def parse_int(text: str | None, minimum: int, maximum: int) -> int | None:
    """An ASCII decimal integer in [minimum, maximum] from a query string, header or path, else None.
    Only ``0-9`` with an optional leading ``-`` count: no Unicode digits, signs, spaces or underscores."""
    if text is None or not isinstance(text, str):
        return None
    digits = text[1:] if text.startswith("-") else text
    if not digits or len(digits) > MAX_DIGITS or not _ASCII_DIGITS.issuperset(digits):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def whole_number(value: Any, minimum: int, maximum: int) -> int | None:
    """A JSON integer (not a bool, not a float) in [minimum, maximum], else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if minimum <= value <= maximum else None


def finite_number(value: Any, minimum: float = -math.inf, maximum: float = math.inf) -> float | None:
    """A JSON number (int or float, not a bool) that is finite and in [minimum, maximum], else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    if not math.isfinite(number) or not minimum <= number <= maximum:
        return None
    return number


def http_url(value: Any, schemes: tuple[str, ...] = ("http", "https"), max_length: int = 2048
             ) -> SplitResult | None:
    """The parts of an absolute URL with one of ``schemes``, a host and a valid port, else None."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    if any(ord(c) < 0x21 or c == "\x7f" for c in value):
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        return None
    if parts.scheme.lower() not in schemes or not host:
        return None
    return parts


def brief(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters: error messages name bad input, never echo all of it."""
    try:
        if isinstance(value, (dict, list, tuple)):
            text = f"<{type(value).__name__} of {len(value)}>"
        else:
            text = repr(value) if not isinstance(value, int) or abs(value) < 10**MAX_DIGITS else "<huge integer>"
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
