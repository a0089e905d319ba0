"""The proxies and their toxics, with Toxiproxy's create/update/populate/reset semantics.

Every method takes already-decoded JSON (see :mod:`.api`) and raises :class:`ApiError` with
Toxiproxy's status and message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Any

from . import network
from .errors import ApiError, not_found_proxy, not_found_toxic
from .http_faults import HttpRules, parse_http
from .metrics import Metrics
from .server import Proxy
from .toxics import TYPES, Toxic, decode_attributes, json_kind, parse_stream, validate


def _string(body: dict[str, Any], key: str, struct: str = "Proxy") -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(
            400,
            f"bad request body: json: cannot unmarshal {json_kind(value)} into Go struct field "
            f"{struct}.{key} of type string",
        )
    return value


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(
            400,
            f"bad request body: json: cannot unmarshal {json_kind(value)} into Go struct field "
            f"Proxy.{key} of type bool",
        )
    return value


def _object(body: Any, gotype: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        kind = json_kind(body)
        raise ApiError(400, f"bad request body: json: cannot unmarshal {kind} into Go value of type {gotype}")
    return body


def _toxicity(body: dict[str, Any], default: float) -> float:
    value = body.get("toxicity")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(
            400,
            f"bad request body: json: cannot unmarshal {json_kind(value)} into Go struct field "
            "ToxicWrapper.toxicity of type float32",
        )
    if not math.isfinite(value) or abs(value) > 3.4e38:
        raise ApiError(400, "bad request body: json: cannot unmarshal number into Go struct field "
                            "ToxicWrapper.toxicity of type float32")
    return float(value)


class Collection:
    def __init__(self, seed: int = 0, metrics: Metrics | None = None) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.seed = seed
        self.metrics = metrics or Metrics()
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise not_found_proxy()
        return proxy

    def index(self) -> dict[str, Any]:
        return {name: self.proxies[name].to_json() for name in sorted(self.proxies)}

    # ------------------------------------------------------------ proxies
    def _new(self, name: str, listen: str, upstream: str, http: HttpRules | None) -> Proxy:
        return Proxy(name, listen, upstream, self.metrics, self.seed, http)

    async def create(self, body: Any) -> Proxy:
        body = _object(body, "toxiproxy.Proxy")
        name, upstream = _string(body, "name") or "", _string(body, "upstream") or ""
        listen = _string(body, "listen") or ""
        enabled = _bool(body, "enabled", True)
        http = parse_http(body.get("http"))
        if not name:
            raise ApiError(400, "missing required field: name")
        if not upstream:
            raise ApiError(400, "missing required field: upstream")
        async with self.lock:
            if name in self.proxies:
                raise ApiError(409, "proxy already exists")
            proxy = self._new(name, listen, upstream, http)
            if enabled:
                await proxy.start()
            self.proxies[name] = proxy
            return proxy

    async def _differs(self, proxy: Proxy, listen: str, upstream: str) -> bool:
        if upstream != proxy.upstream:
            return True
        if listen == proxy.listen:
            return False
        try:
            return await network.canonical(listen) != proxy.listen
        except ValueError as exc:
            raise ApiError(500, str(exc)) from None

    async def update(self, name: str, body: Any) -> Proxy:
        async with self.lock:
            proxy = self.get(name)
            body = _object(body, "toxiproxy.Proxy")
            listen = _string(body, "listen")
            upstream = _string(body, "upstream")
            listen = proxy.listen if listen is None else listen
            upstream = proxy.upstream if upstream is None else upstream
            enabled = _bool(body, "enabled", proxy.enabled)
            http_given = "http" in body
            http = parse_http(body.get("http")) if http_given else proxy.http
            if await self._differs(proxy, listen, upstream) or (http_given and http != proxy.http):
                await proxy.stop()
                proxy.listen, proxy.upstream, proxy.http = listen, upstream, http
                if enabled:
                    await proxy.start()
            elif enabled and not proxy.enabled:
                await proxy.start()
            elif not enabled and proxy.enabled:
                await proxy.stop()
            return proxy

    async def delete(self, name: str) -> None:
        async with self.lock:
            proxy = self.get(name)
            del self.proxies[name]
        await proxy.stop()

    async def populate(self, body: Any) -> tuple[list[Proxy], ApiError | None]:
        """Toxiproxy's populate: validate all, then add or replace in order; stop at the first error."""
        if not isinstance(body, list):
            return [], ApiError(
                400,
                f"bad request body: json: cannot unmarshal {json_kind(body)} into Go value of type "
                "[]struct { Name string; Listen string; Upstream string; Enabled *bool }",
            )
        items = []
        try:
            for i, item in enumerate(body, 1):
                item = _object(item, "struct { Name string; Listen string; Upstream string; Enabled *bool }")
                name, upstream = _string(item, "name") or "", _string(item, "upstream") or ""
                if not name:
                    raise ApiError(400, f"missing required field: name at proxy {i}")
                if not upstream:
                    raise ApiError(400, f"missing required field: upstream at proxy {i}")
                items.append((name, _string(item, "listen") or "", upstream, _bool(item, "enabled", True),
                              parse_http(item.get("http"))))
        except ApiError as exc:
            return [], exc
        done: list[Proxy] = []
        async with self.lock:
            for name, listen, upstream, enabled, http in items:
                try:
                    existing = self.proxies.get(name)
                    if existing is not None:
                        if not await self._differs(existing, listen, upstream) and existing.http == http:
                            done.append(existing)
                            continue
                        await existing.stop()
                        del self.proxies[name]
                    proxy = self._new(name, listen, upstream, http)
                    if enabled:
                        await proxy.start()
                    self.proxies[name] = proxy
                    done.append(proxy)
                except ApiError as exc:
                    return done, exc
        return done, None

    async def reset(self) -> None:
        async with self.lock:
            for proxy in list(self.proxies.values()):
                await proxy.start()
                removed = proxy.all_toxics()
                proxy.toxics = {k: [] for k in proxy.toxics}
                if removed:
                    await _after_removal(proxy, removed)

    # ------------------------------------------------------------- toxics
    async def add_toxic(self, proxy_name: str, body: Any) -> Toxic:
        async with self.lock:
            proxy = self.get(proxy_name)
            body = _object(body, "toxics.ToxicWrapper")
            stream_raw = _string(body, "stream", "ToxicWrapper")
            stream_raw = "downstream" if stream_raw is None else stream_raw
            kind = _string(body, "type", "ToxicWrapper") or ""
            name = _string(body, "name", "ToxicWrapper") or f"{kind}_{stream_raw}"
            toxicity = _toxicity(body, 1.0)
            direction = parse_stream(stream_raw)
            if direction is None:
                raise ApiError(400, "stream was invalid, can be either upstream or downstream")
            if kind not in TYPES:
                raise ApiError(400, "invalid toxic type")
            if any(t.name == name for t in proxy.all_toxics()):
                raise ApiError(409, "toxic already exists")
            attrs = decode_attributes(kind, body.get("attributes"))
            dist = validate(kind, attrs)
            toxic = Toxic(name, kind, stream_raw, toxicity, attrs, dist)
            proxy.toxics[direction].append(toxic)
        await proxy.toxics_changed(direction)
        return toxic

    def find_toxic(self, proxy_name: str, toxic_name: str) -> tuple[Proxy, Toxic]:
        proxy = self.get(proxy_name)
        for toxic in proxy.all_toxics():
            if toxic.name == toxic_name:
                return proxy, toxic
        raise not_found_toxic()

    async def update_toxic(self, proxy_name: str, toxic_name: str, body: Any) -> Toxic:
        async with self.lock:
            proxy, toxic = self.find_toxic(proxy_name, toxic_name)
            body = _object(body, "struct { Attributes interface {}; Toxicity float32 }")
            attrs = decode_attributes(toxic.type, body.get("attributes"), toxic.attributes)
            dist = validate(toxic.type, attrs)
            new = dataclasses.replace(
                toxic, attributes=attrs, toxicity=_toxicity(body, toxic.toxicity), distribution=dist,
                version=toxic.version + 1,
            )
            chain = proxy.toxics[toxic.direction]
            chain[chain.index(toxic)] = new
        await proxy.toxics_changed(new.direction)
        return new

    async def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        async with self.lock:
            proxy, toxic = self.find_toxic(proxy_name, toxic_name)
            proxy.toxics[toxic.direction].remove(toxic)
        await _after_removal(proxy, [toxic])

    async def close(self) -> None:
        async with self.lock:
            proxies = list(self.proxies.values())
            self.proxies.clear()
        await asyncio.gather(*(p.stop() for p in proxies), return_exceptions=True)


async def _after_removal(proxy: Proxy, removed: list[Toxic]) -> None:
    """Rewire live connections; as in Toxiproxy, removing a ``timeout`` toxic closes them."""
    if any(t.type == "timeout" for t in removed):
        await asyncio.gather(*(c.shutdown() for c in list(proxy.connections)), return_exceptions=True)
        return
    for direction in {t.direction for t in removed}:
        await proxy.toxics_changed(direction)
