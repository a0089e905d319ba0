"""What an inline input video says about itself: its length, read from the MP4's movie header (no decoding)."""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

MAX_BOXES = 64  # top-level and moov-level boxes looked at before giving up


def _boxes(data: bytes, start: int, end: int):
    seen = 0
    while start + 8 <= end and seen < MAX_BOXES:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1:
            if start + 16 > end:
                return
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            return
        yield kind, start + header, start + size
        start += size
        seen += 1


def mp4_seconds(data: bytes) -> float | None:
    """The duration in an MP4/MOV's ``moov/mvhd``, or None when there is none to read."""
    for kind, body, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for inner, at, stop in _boxes(data, body, end):
            if inner != b"mvhd" or stop - at < 20:
                continue
            if data[at] == 1:
                if stop - at < 32:
                    return None
                timescale, duration = struct.unpack_from(">IQ", data, at + 20)
            else:
                timescale, duration = struct.unpack_from(">II", data, at + 12)
            return duration / timescale if timescale and 0 < duration / timescale <= 3600 else None
    return None


def inline_video_seconds(body: Any) -> float | None:
    """The length of ``instances[0].video`` sent inline as base64, when it is a readable MP4."""
    try:
        encoded = body["instances"][0]["video"]["bytesBase64Encoded"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(encoded, str):
        return None
    try:
        return mp4_seconds(base64.b64decode(encoded, validate=False))
    except (binascii.Error, ValueError):
        return None
