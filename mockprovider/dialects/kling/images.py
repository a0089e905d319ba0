"""Kling's input image rules: a URL, or raw base64 (no ``data:`` prefix) of a jpg/png of at most 10 MB, at
least 300 px a side, with an aspect ratio between 1:2.5 and 2.5:1. Sizes are read from the file headers."""

from __future__ import annotations

import base64
import binascii

from ...media.imagesize import jpeg_size, png_size
from ...web.values import http_url

MAX_BYTES = 10 * 2**20
MIN_SIDE = 300
MAX_RATIO = 2.5
MAX_URL = 2048


def check(value: object, field: str) -> tuple[int, int] | str | None:
    """(width, height) of a base64 image, None for a URL (size unknown), or a message naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        return f"{field} must be a non-empty string: an image URL or raw base64"
    if value.startswith(("http://", "https://")):
        if http_url(value, max_length=MAX_URL) is None:
            return f"{field} is not a valid image URL"
        return None
    if value.startswith("data:"):
        return f"{field} must be raw base64 without a 'data:' prefix"
    if len(value) > MAX_BYTES * 4 // 3 + 4:
        return f"{field} is larger than 10MB"
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return f"{field} is neither an http(s) URL nor valid base64"
    if len(raw) > MAX_BYTES:
        return f"{field} is larger than 10MB"
    size = png_size(raw) or jpeg_size(raw)
    if size is None:
        return f"{field} format is not supported: use jpg, jpeg or png"
    width, height = size
    if min(width, height) < MIN_SIDE:
        return f"{field} is {width}x{height}; width and height must be at least {MIN_SIDE}px"
    if max(width / height, height / width) > MAX_RATIO:
        return f"{field} aspect ratio {width}:{height} is outside 1:2.5 to 2.5:1"
    return size
