"""A profile's ``network:`` section, and what applies it: to the embedded proxy (diffing the old
section against the new so untouched proxies keep their connections) or to a real Toxiproxy.

Example (YAML)::

    network:
      proxies:
        - name: provider
          listen: 127.0.0.1:18080
          upstream: 127.0.0.1:8080
          http:
            rules:
              - {method: POST, path_prefix: /v1/, probability: 0.1, status: 429, body: '{"error":"busy"}'}
          toxics:
            - {type: latency, stream: downstream, attributes: {latency: 40, jitter: 10}}
            - type: latency
              name: users
              attributes: {distribution: {mixture: [{weight: 0.7, value: 10ms}, {weight: 0.3, value: 200ms}]}}
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .collection import Collection
from .errors import ApiError
from .http_faults import HttpRules, readable
from .toxics import TYPES, decode_attributes, validate

log = logging.getLogger("mockprovider.proxy")

ToxicType = Literal["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "noop"]


class ToxicSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ToxicType
    name: str | None = None
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(1.0, ge=0, le=1)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _attributes(self) -> ToxicSpec:
        allowed = {n for n, _ in TYPES[self.type][1]} | ({"distribution"} if self.type == "latency" else set())
        unknown = sorted(set(self.attributes) - allowed)
        if unknown:
            raise ValueError(f"{self.type} has no attribute {unknown[0]!r}; it takes {sorted(allowed) or 'none'}")
        try:
            validate(self.type, decode_attributes(self.type, self.attributes))
        except ApiError as exc:
            raise ValueError(exc.message.removeprefix("bad request body: ")) from None
        return self

    @property
    def key(self) -> str:
        return self.name or f"{self.type}_{self.stream}"

    def body(self) -> dict[str, Any]:
        return {"name": self.key, "type": self.type, "stream": self.stream, "toxicity": self.toxicity,
                "attributes": self.attributes}


class ProxySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    listen: str = "127.0.0.1:0"
    upstream: str = Field(min_length=1)
    enabled: bool = True
    http: HttpRules | None = None
    toxics: tuple[ToxicSpec, ...] = ()

    @field_validator("http", mode="before")
    @classmethod
    def _http(cls, value: Any) -> Any:
        if value is True:
            return {}
        if value is False:
            return None
        if isinstance(value, list):
            return {"rules": value}
        return value

    @model_validator(mode="after")
    def _unique_toxics(self) -> ProxySpec:
        seen: set[str] = set()
        for toxic in self.toxics:
            if toxic.key in seen:
                raise ValueError(f"two toxics are named {toxic.key!r}; toxic names are unique per proxy")
            seen.add(toxic.key)
        return self

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "listen": self.listen, "upstream": self.upstream,
                                "enabled": self.enabled}
        if self.http is not None:
            body["http"] = self.http.to_json()
        return body


class NetworkSection(BaseModel):
    """``network:`` in a profile: ``proxies`` as a list, or a mapping keyed by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    proxies: tuple[ProxySpec, ...] = ()

    @field_validator("proxies", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [{"name": k, **(v or {})} for k, v in value.items()]
        return value

    @model_validator(mode="after")
    def _unique(self) -> NetworkSection:
        names = [p.name for p in self.proxies]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"proxy {sorted(dup)[0]!r} is defined twice")
        return self


def parse_network(data: Any) -> NetworkSection:
    """Validate a ``network:`` mapping; ``ValueError`` lists each problem as ``field: problem``."""
    try:
        return NetworkSection.model_validate(data or {})
    except ValidationError as exc:
        raise ValueError(readable(exc, "network")) from None


class NetworkController:
    """Applies network sections to the embedded proxy, undoing exactly what the previous section did: proxies
    it created are deleted, a proxy the user made by hand that a section named is put back as it was (its own
    toxics untouched), and proxies no section names are never touched."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self.applied: dict[str, ProxySpec] = {}
        self.adopted: dict[str, dict[str, Any]] = {}  # hand-made proxies a section took over: as they were

    async def _undo(self, name: str, old: ProxySpec) -> None:
        c = self.collection
        before = self.adopted.pop(name, None)
        with contextlib.suppress(ApiError):
            if before is None:
                await c.delete(name)
                return
            for toxic in old.toxics:
                with contextlib.suppress(ApiError):
                    await c.remove_toxic(name, toxic.key)
            await c.update(name, {k: before.get(k) for k in ("upstream", "enabled", "http")})

    async def apply(self, section: NetworkSection | None) -> None:
        new = {p.name: p for p in (section.proxies if section else ())}
        c = self.collection
        for name in [n for n in self.applied if n not in new]:
            await self._undo(name, self.applied.pop(name))
        for name, spec in new.items():
            old = self.applied.get(name)
            if old == spec:
                continue
            if old is None and name in c.proxies:  # the user's own proxy: adopted, and given back later
                current = c.get(name).to_json()
                self.adopted[name] = {k: current.get(k) for k in ("upstream", "enabled", "http")}
                body = spec.body()
                body.pop("listen")
                body.setdefault("http", None)
                await c.update(name, body)
                old_toxics: dict[str, ToxicSpec] = {}
            elif old is None or name not in c.proxies:
                await c.create(spec.body())
                old_toxics = {}
            else:
                if (old.listen, old.upstream, old.http, old.enabled) != (
                    spec.listen, spec.upstream, spec.http, spec.enabled
                ):
                    body = spec.body()
                    if old.listen == spec.listen:
                        body.pop("listen")  # keep the port a ':0' listen was given
                    if "http" not in body:
                        body["http"] = None
                    await c.update(name, body)
                old_toxics = {t.key: t for t in old.toxics}
            await _apply_toxics(c, name, old_toxics, {t.key: t for t in spec.toxics})
            self.applied[name] = spec

    async def close(self) -> None:
        await self.apply(None)


async def _apply_toxics(c: Collection, proxy: str, old: dict[str, ToxicSpec], new: dict[str, ToxicSpec]) -> None:
    for key, toxic in old.items():
        if key not in new or (new[key].type, new[key].stream) != (toxic.type, toxic.stream):
            with contextlib.suppress(ApiError):
                await c.remove_toxic(proxy, key)
    for key, toxic in new.items():
        before = old.get(key)
        if before == toxic:
            continue
        if before is not None and (before.type, before.stream) == (toxic.type, toxic.stream):
            attrs = decode_attributes(toxic.type, toxic.attributes)
            if "distribution" in before.attributes and "distribution" not in toxic.attributes:
                attrs["distribution"] = None
            await c.update_toxic(proxy, key, {"attributes": attrs, "toxicity": toxic.toxicity})
        else:
            await c.add_toxic(proxy, toxic.body())


class ToxiproxyDriver:
    """Applies network sections to a Toxiproxy API at ``url`` (a real Toxiproxy, or ours in another process)
    with ``toxiproxy-python``, undoing exactly what the previous section did: the toxics it added and the HTTP
    rules it set go away, the proxies it created are deleted, other proxies and toxics are left alone.
    Blocking: from async code call ``apply`` through ``asyncio.to_thread``."""

    def __init__(self, url: str = "http://127.0.0.1:8474") -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 8474
        self.base = f"http://{self.host}:{self.port}"
        self.applied: dict[str, ProxySpec] = {}
        self.created: set[str] = set()
        self._ours: bool | None = None

    def ours(self) -> bool:
        """Whether the API is mockprovider's proxy (which applies HTTP rules and distributions) or Toxiproxy."""
        if self._ours is None:
            import requests

            reply = requests.get(f"{self.base}/version", timeout=10)
            self._ours = MARKER_HEADER in {k.lower() for k in reply.headers}
        return self._ours

    def apply(self, section: NetworkSection | None) -> list[str]:
        import requests
        from toxiproxy import Toxiproxy

        server = Toxiproxy()
        server.update_api_consumer(self.host, self.port)
        new = {p.name: p for p in (section.proxies if section else ())}
        for name in [n for n in self.applied if n not in new]:
            old = self.applied.pop(name)
            proxy = server.get_proxy(name)
            if proxy is None:
                self.created.discard(name)
                continue
            if name in self.created:
                self.created.discard(name)
                proxy.destroy()
                continue
            present = proxy.toxics()
            for toxic in old.toxics:
                if toxic.key in present:
                    proxy.destroy_toxic(toxic.key)
            if old.http is not None:
                requests.patch(f"{self.base}/proxies/{name}", timeout=10, json={"http": None}).raise_for_status()
        warnings = _apply_proxies(server, self.base, list(new.values()), self.applied, self.created, self.ours())
        self.applied.update(new)
        for w in warnings:
            log.warning("%s", w)
        return warnings


MARKER_HEADER = "x-mockprovider-proxy"


def apply_to_toxiproxy(section: NetworkSection | None, url: str = "http://127.0.0.1:8474") -> list[str]:
    """Apply ``section`` once to a Toxiproxy API at ``url`` (see :class:`ToxiproxyDriver`, which also undoes a
    previous section); the warnings say what a real Toxiproxy will not do (none for mockprovider's proxy)."""
    return ToxiproxyDriver(url).apply(section)


def _apply_proxies(server: Any, base: str, specs: list[ProxySpec], applied: dict[str, ProxySpec],
                   created: set[str], ours: bool) -> list[str]:
    import requests

    warnings: list[str] = []
    for spec in specs:
        if spec.http is not None and not ours:
            warnings.append(f"proxy {spec.name}: a real Toxiproxy ignores HTTP rules "
                            "(mockprovider's proxy applies them)")
        proxy = server.get_proxy(spec.name)
        if proxy is not None and (proxy.upstream != spec.upstream or not _same_listen(proxy.listen, spec.listen)):
            proxy.destroy()
            proxy = None
        if proxy is None:
            proxy = server.create(upstream=spec.upstream, name=spec.name, listen=spec.listen, enabled=spec.enabled)
            created.add(spec.name)
        reply = requests.patch(f"{base}/proxies/{spec.name}", timeout=10,
                               json={"http": spec.http.to_json() if spec.http is not None else None})
        reply.raise_for_status()
        present = proxy.toxics()
        previous = applied.get(spec.name)
        mine = {t.key for t in previous.toxics} if previous is not None else set()
        for name in list(present):
            if name in mine or name in {t.key for t in spec.toxics}:
                proxy.destroy_toxic(name)
        for toxic in spec.toxics:
            attributes = dict(toxic.attributes)
            if "distribution" in attributes and not ours:
                warnings.append(f"proxy {spec.name}, toxic {toxic.key}: a real Toxiproxy ignores latency "
                                "distributions (mockprovider's proxy applies them)")
            proxy.add_toxic(type=toxic.type, stream=toxic.stream, name=toxic.key, toxicity=toxic.toxicity,
                            attributes=attributes)
        if spec.enabled and not proxy.enabled:
            proxy.enable()
        elif not spec.enabled and proxy.enabled:
            proxy.disable()
    return warnings


def _same_listen(actual: str, wanted: str) -> bool:
    if actual == wanted:
        return True
    a_host, _, a_port = actual.rpartition(":")
    w_host, _, w_port = wanted.rpartition(":")
    if w_port == "0":
        return w_host in (a_host, "localhost") or (w_host in ("", "0.0.0.0") and a_host == "[::]")
    return a_port == w_port and {a_host, w_host} <= {"127.0.0.1", "localhost"}
