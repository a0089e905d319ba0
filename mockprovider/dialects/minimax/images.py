"""MiniMax's input image rules: a public URL or a ``data:image/...;base64,`` URL of a JPG, PNG or WebP under
20 MB, short side over 300 px, aspect ratio between 2:5 and 5:2. Sizes are read from the file headers."""

from __future__ import annotations

import base64
import binascii
import struct

from ...web.values import http_url

MAX_BYTES = 20 * 2**20
MIN_SHORT_SIDE = 300
MIN_RATIO, MAX_RATIO = 2 / 5, 5 / 2
MAX_URL = 4096
DATA_TYPES = ("image/jpeg", "image/jpg", "image/png", "image/webp")
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


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


def png_size(raw: bytes) -> tuple[int, int] | None:
    if len(raw) < 24 or raw[:8] != b"\x89PNG\r\n\x1a\n" or raw[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", raw[16:24])
    return (width, height) if width and height else None


def jpeg_size(raw: bytes) -> tuple[int, int] | None:
    if raw[:2] != b"\xff\xd8":
        return None
    i, n = 2, len(raw)
    while i + 4 <= n:
        if raw[i] != 0xFF:
            return None
        marker = raw[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", raw[i + 2 : i + 4])
        if marker in _SOF:
            if i + 9 > n:
                return None
            height, width = struct.unpack(">HH", raw[i + 5 : i + 9])
            return (width, height) if width and height else None
        i += 2 + length
    return None


def webp_size(raw: bytes) -> tuple[int, int] | None:
    if len(raw) < 30 or raw[:4] != b"RIFF" or raw[8:12] != b"WEBP":
        return None
    chunk = raw[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(raw[24:27], "little")
        height = 1 + int.from_bytes(raw[27:30], "little")
    elif chunk == b"VP8 " and raw[23:26] == b"\x9d\x01\x2a":
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", raw[26:30]))
    elif chunk == b"VP8L" and raw[20] == 0x2F:
        bits = int.from_bytes(raw[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return None
    return (width, height) if width and height else None
