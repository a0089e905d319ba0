"""Toxiproxy 2.12's REST API over :class:`~mockprovider.proxy.collection.Collection`."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from .collection import Collection
from .errors import ApiError
from .httpd import Request, Response

VERSION = "2.12.0"
_PLAIN = "text/plain; charset=utf-8"
_XID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"


def go_json(value: Any) -> bytes:
    """Compact JSON escaped the way Go's ``json.Marshal`` escapes HTML characters."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def ok(value: Any, status: int = 200) -> Response:
    return Response(status, go_json(value), [("Content-Type", "application/json")])


def error(exc: ApiError) -> Response:
    body = go_json({"error": exc.message, "status": exc.status}) + b"\n"
    return Response(exc.status, body, [("Content-Type", _PLAIN), ("X-Content-Type-Options", "nosniff")])


def _go_decode_error(text: str, exc: json.JSONDecodeError) -> str:
    pos = exc.pos
    if pos >= len(text.rstrip()):
        return "unexpected EOF"
    ch = text[pos]
    msg = exc.msg
    if msg.startswith("Expecting property name"):
        where = "looking for beginning of object key string"
    elif msg.startswith("Expecting ':'"):
        where = "after object key"
    elif msg.startswith("Expecting ','"):
        where = "after object key:value pair" if "{" in text[:pos] else "after array element"
    else:
        where = "looking for beginning of value"
    return f"invalid character {ch!r} {where}".replace('"', "'")


class _NotJson(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _refuse_constant(name: str) -> Any:
    # Go's decoder knows no NaN or Infinity: they are not JSON.
    raise _NotJson(f"invalid character '{name[0] if name[0] != '-' else name[1]}' looking for beginning of value")


def _integer(text: str) -> Any:
    # Python refuses to build integers past 4300 digits; Go reads them as numbers and fails on the field. Keep
    # such a number as an infinite float: every numeric field then refuses it as out of range.
    return int(text) if len(text) <= 40 else float("-inf" if text.startswith("-") else "inf")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_integer)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(value: Any) -> Any:
    """Lone UTF-16 surrogates (``"\\ud800"``) become U+FFFD, as Go's decoder makes them: a name must be
    printable in every answer later, or a proxy could never be listed again."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list):
        return [_no_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in value.items()}
    return value


def decode(body: bytes) -> Any:
    """The first JSON value of ``body`` (trailing bytes ignored, as Go's decoder does)."""
    text = body.decode("utf-8", "replace").lstrip()
    if not text:
        raise ApiError(400, "bad request body: EOF")
    try:
        value, _ = _DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"bad request body: {_go_decode_error(text, exc)}") from None
    except _NotJson as exc:
        raise ApiError(400, f"bad request body: {exc.message}") from None
    except RecursionError:
        raise ApiError(400, "bad request body: exceeded max depth") from None
    except ValueError:
        raise ApiError(400, "bad request body: invalid number") from None
    try:
        return _no_surrogates(value)
    except RecursionError:
        raise ApiError(400, "bad request body: exceeded max depth") from None


def request_id() -> str:
    return "".join(secrets.choice(_XID_ALPHABET) for _ in range(20))


Route = Callable[[Request, dict[str, str]], Awaitable[Response]]


class Api:
    def __init__(self, collection: Collection) -> None:
        self.c = collection
        self.routes: list[tuple[re.Pattern[str], dict[str, Route]]] = [
            (re.compile(r"^/reset$"), {"POST": self.reset}),
            (re.compile(r"^/proxies$"), {"GET": self.index, "POST": self.create}),
            (re.compile(r"^/populate$"), {"POST": self.populate}),
            (re.compile(r"^/proxies/(?P<proxy>[^/]+)$"),
             {"GET": self.show, "POST": self.update, "PATCH": self.update, "DELETE": self.delete}),
            (re.compile(r"^/proxies/(?P<proxy>[^/]+)/toxics$"),
             {"GET": self.toxic_index, "POST": self.toxic_create}),
            (re.compile(r"^/proxies/(?P<proxy>[^/]+)/toxics/(?P<toxic>[^/]+)$"),
             {"GET": self.toxic_show, "POST": self.toxic_update, "PATCH": self.toxic_update,
              "DELETE": self.toxic_delete}),
            (re.compile(r"^/version$"), {"GET": self.version}),
            (re.compile(r"^/metrics$"), {"*": self.metrics}),
        ]

    async def __call__(self, req: Request) -> Response:
        for pattern, methods in self.routes:
            match = pattern.match(req.path)
            if not match:
                continue
            route = methods.get(req.method) or methods.get("*")
            if route is None:
                return Response(405)
            resp = await self._dispatch(route, req, {k: unquote(v) for k, v in match.groupdict().items()})
            resp.headers.append(("X-Toxiproxy-Request-Id", request_id()))
            return resp
        return Response(404, b"404 page not found\n", [("Content-Type", _PLAIN),
                                                        ("X-Content-Type-Options", "nosniff")])

    async def _dispatch(self, route: Route, req: Request, params: dict[str, str]) -> Response:
        if req.headers.get("user-agent", "").startswith("Mozilla/"):
            return Response(403, b"User agent not allowed\n", [("Content-Type", _PLAIN),
                                                               ("X-Content-Type-Options", "nosniff")])
        try:
            return await route(req, params)
        except ApiError as exc:
            return error(exc)

    # ------------------------------------------------------------ proxies
    async def reset(self, req: Request, p: dict[str, str]) -> Response:
        await self.c.reset()
        return Response(204)

    async def index(self, req: Request, p: dict[str, str]) -> Response:
        return ok(self.c.index())

    async def create(self, req: Request, p: dict[str, str]) -> Response:
        proxy = await self.c.create(decode(req.body))
        return ok(proxy.to_json(), 201)

    async def populate(self, req: Request, p: dict[str, str]) -> Response:
        try:
            body = decode(req.body)
        except ApiError as exc:
            done, err = [], exc
        else:
            done, err = await self.c.populate(body)
        proxies = [x.to_json() for x in done] or None
        if err is None:
            return ok({"proxies": proxies}, 201)
        return ok({"error": err.message, "status": err.status, "proxies": proxies}, err.status)

    async def show(self, req: Request, p: dict[str, str]) -> Response:
        return ok(self.c.get(p["proxy"]).to_json())

    async def update(self, req: Request, p: dict[str, str]) -> Response:
        self.c.get(p["proxy"])
        proxy = await self.c.update(p["proxy"], decode(req.body))
        return ok(proxy.to_json())

    async def delete(self, req: Request, p: dict[str, str]) -> Response:
        await self.c.delete(p["proxy"])
        return Response(204)

    # ------------------------------------------------------------- toxics
    async def toxic_index(self, req: Request, p: dict[str, str]) -> Response:
        return ok([t.to_json() for t in self.c.get(p["proxy"]).all_toxics()])

    async def toxic_create(self, req: Request, p: dict[str, str]) -> Response:
        self.c.get(p["proxy"])
        toxic = await self.c.add_toxic(p["proxy"], decode(req.body))
        return ok(toxic.to_json())

    async def toxic_show(self, req: Request, p: dict[str, str]) -> Response:
        return ok(self.c.find_toxic(p["proxy"], p["toxic"])[1].to_json())

    async def toxic_update(self, req: Request, p: dict[str, str]) -> Response:
        self.c.find_toxic(p["proxy"], p["toxic"])
        toxic = await self.c.update_toxic(p["proxy"], p["toxic"], decode(req.body))
        return ok(toxic.to_json())

    async def toxic_delete(self, req: Request, p: dict[str, str]) -> Response:
        await self.c.remove_toxic(p["proxy"], p["toxic"])
        return Response(204)

    # --------------------------------------------------------------- misc
    async def version(self, req: Request, p: dict[str, str]) -> Response:
        body = f'{{"version": "{VERSION}"}}\n'.encode()
        # The marker lets mockprovider's server tell this proxy from a real Toxiproxy (which ignores HTTP rules
        # and latency distributions, and is warned about); Toxiproxy clients ignore unknown headers.
        return Response(200, body, [("Content-Type", "application/json;charset=utf-8"),
                                    ("X-Mockprovider-Proxy", VERSION)])

    async def metrics(self, req: Request, p: dict[str, str]) -> Response:
        return Response(200, self.c.metrics.render().encode(),
                        [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")])
