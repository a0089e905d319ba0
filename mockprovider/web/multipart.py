"""A streaming multipart/form-data reader that never holds a file part in memory: it keeps small text fields
and, for file parts, their headers and byte count. Enough to accept uploads of any size within a bound."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_HEADER_BYTES = 16 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 64


class MultipartError(ValueError):
    pass


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    size: int = 0
    value: bytearray = field(default_factory=bytearray)  # kept for text fields only (bounded)
    head: bytearray = field(default_factory=bytearray)  # a file part's first bytes, up to the reader's keep_head


def boundary_of(content_type: str | None) -> bytes:
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError("Content-Type must be multipart/form-data")
    for item in content_type.split(";")[1:]:
        key, _, value = item.strip().partition("=")
        if key.lower() == "boundary" and value:
            value = value.strip('"')
            if len(value) > 200:
                break
            return value.encode("latin-1")
    raise MultipartError("multipart/form-data without a boundary")


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    value = headers.get("content-disposition", "")
    kind, *params = value.split(";")
    if kind.strip().lower() != "form-data":
        raise MultipartError("part without Content-Disposition: form-data")
    name, filename = None, None
    for param in params:
        key, _, raw = param.strip().partition("=")
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"'):
            raw = raw[1:-1]
        if key.lower() == "name":
            name = raw
        elif key.lower() == "filename":
            filename = raw
    if name is None:
        raise MultipartError("part without a name")
    return name, filename


class MultipartReader:
    """Feed chunks in order, then ``finish()``; ``parts`` lists what was seen. ``keep_head`` bytes of each file
    part are kept (its header, to tell an image's size, or a small file whole)."""

    def __init__(self, boundary: bytes, keep_head: int = 0) -> None:
        self._keep_head = keep_head
        self._delimiter = b"\r\n--" + boundary
        self._buffer = bytearray(b"\r\n")  # so the first boundary looks like every other one
        self._state = "preamble"
        self._part: Part | None = None
        self.parts: list[Part] = []

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while self._step():
            pass
        if self._state == "headers" and len(self._buffer) > MAX_HEADER_BYTES:
            raise MultipartError("part headers too large")

    def finish(self) -> list[Part]:
        if self._state != "done":
            raise MultipartError("multipart body ended before its closing boundary")
        return self.parts

    def _take(self, data: bytes | bytearray) -> None:
        part = self._part
        if part is None:
            return
        part.size += len(data)
        if part.filename is None:
            if len(part.value) + len(data) > MAX_FIELD_BYTES:
                raise MultipartError(f"form field {part.name!r} is too large")
            part.value += data
        elif len(part.head) < self._keep_head:
            part.head += data[: self._keep_head - len(part.head)]

    def _step(self) -> bool:
        buf = self._buffer
        if self._state in ("preamble", "body"):
            at = buf.find(self._delimiter)
            if at < 0:
                keep = len(self._delimiter) + 2
                if len(buf) > keep:
                    if self._state == "body":
                        self._take(buf[: len(buf) - keep])
                    del buf[: len(buf) - keep]
                return False
            if len(buf) < at + len(self._delimiter) + 2:
                return False
            if self._state == "body":
                self._take(buf[:at])
            tail = bytes(buf[at + len(self._delimiter): at + len(self._delimiter) + 2])
            del buf[: at + len(self._delimiter) + 2]
            if tail == b"--":
                self._state = "done"
                buf.clear()
                return False
            if tail != b"\r\n":
                raise MultipartError("malformed boundary line")
            self._state = "headers"
            return True
        if self._state == "headers":
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if buf.startswith(b"\r\n"):  # a part with no headers at all
                    raise MultipartError("part without headers")
                return False
            headers: dict[str, str] = {}
            for line in bytes(buf[:end]).decode("latin-1").split("\r\n"):
                key, sep, value = line.partition(":")
                if not sep:
                    raise MultipartError("malformed part header")
                headers[key.strip().lower()] = value.strip()
            del buf[: end + 4]
            name, filename = _disposition(headers)
            if len(self.parts) >= MAX_PARTS:
                raise MultipartError("too many parts")
            self._part = Part(name, filename, headers.get("content-type"))
            self.parts.append(self._part)
            self._state = "body"
            return True
        buf.clear()  # epilogue after the closing boundary is ignored
        return False
