"""MiniMax's input image rules: a public URL or a ``data:image/...;base64,`` URL of a JPG, PNG or WebP under
20 MB, short side over 300 px, aspect ratio between 2:5 and 5:2. Sizes are read from the file headers."""

from __future__ import annotations

import base64
import binascii

from ...media.imagesize import jpeg_size, png_size, webp_size
from ...web.values import http_url

MAX_BYTES = 20 * 2**20
MIN_SHORT_SIDE = 300
MIN_RATIO, MAX_RATIO = 2 / 5, 5 / 2
MAX_URL = 4096
DATA_TYPES = ("image/jpeg", "image/jpg", "image/png", "image/webp")


def check(value: object, field: str) -> tuple[int, int] | str | None:
    """(width, height) of an inline image, None for a URL (not fetched), or a message naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        return f"{field} must be a non-empty string: an image URL or a data URL"
    if value.startswith(("http://", "https://")):
        return None if http_url(value, max_length=MAX_URL) else f"{field} is not a valid image URL"
    if not value.startswith("data:"):
        return f"{field} must be a public URL or a data URL (data:image/jpeg;base64,...)"
    head, sep, payload = value[5:].partition(",")
    media_type, _, encoding = head.partition(";")
    if not sep or encoding != "base64" or media_type.lower() not in DATA_TYPES:
        return f"{field} data URL must be data:image/(jpeg|png|webp);base64,<data>"
    if len(payload) > MAX_BYTES * 4 // 3 + 4:
        return f"{field} is larger than 20MB"
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return f"{field} data URL is not valid base64"
    readers = {"image/png": png_size, "image/webp": webp_size}
    size = readers.get(media_type.lower(), jpeg_size)(raw)
    if size is None:
        if png_size(raw) or jpeg_size(raw) or webp_size(raw):
            return f"{field} data does not match its media type {media_type}"
        return f"{field} format is not supported: use JPG, JPEG, PNG or WebP"
    width, height = size
    if min(width, height) <= MIN_SHORT_SIDE:
        return f"{field} is {width}x{height}; the short side must be more than {MIN_SHORT_SIDE}px"
    if not MIN_RATIO <= width / height <= MAX_RATIO:
        return f"{field} aspect ratio {width}:{height} must be between 2:5 and 5:2"
    return size
