"""Fast JSON responses (orjson, headers built directly) and the empty 204."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

_JSON_TYPE = (b"content-type", b"application/json")


class JSON(Response):
    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body = orjson.dumps(content)
        raw = [(b"content-length", str(len(body)).encode()), _JSON_TYPE]
        if headers:
            raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
        self.raw_headers = raw


class EncodedJSON(JSON):
    """A JSON response from bytes already encoded (a poll's body kept between identical polls)."""

    def __init__(self, body: bytes, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        raw = [(b"content-length", str(len(body)).encode()), _JSON_TYPE]
        if headers:
            raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
        self.raw_headers = raw


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSON:
    return JSON(content, status, headers)


def no_content() -> Response:
    return Response(status_code=204)
