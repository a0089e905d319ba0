"""Profiles: YAML files that describe one scenario. Loading validates everything up front and reports
the file, the field and the problem, so a broken profile never replaces a working one."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .behaviour import Behaviour, ProviderBehaviour, Resolved

MAX_EXTENDS_DEPTH = 8


class ProfileError(ValueError):
    """A profile could not be loaded: ``source`` names the file (or "inline"), ``problems`` each field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class ProfileDocument(Behaviour):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    description: str = ""
    extends: str | None = None
    providers: dict[str, ProviderBehaviour] = {}
    network: dict[str, Any] | None = None
    prices: dict[str, Any] | None = None  # overrides of the price book (insight/prices.yaml), same shape


@dataclass(eq=False)
class Profile:
    name: str
    source: str
    raw: dict[str, Any]
    document: ProfileDocument
    network: BaseModel | None = None
    _resolved: dict[tuple[str, str | None], Resolved] = field(default_factory=dict, repr=False)
    _auth: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def description(self) -> str:
        return self.document.description

    def auth(self, provider: str) -> dict[str, Any]:
        found = self._auth.get(provider)
        if found is None:
            section = self.document.providers.get(provider)
            found = self._auth[provider] = (section.auth if section is not None else None) or {}
        return found

    def resolve(self, provider: str, model: str | None = None) -> Resolved:
        key = (provider, model)
        found = self._resolved.get(key)
        if found is None:
            layers: list[Behaviour] = [self.document]
            section = self.document.providers.get(provider)
            if section is not None:
                layers.append(section)
                if model is not None and section.models and model in section.models:
                    layers.append(section.models[model])
            found = self._resolved[key] = Resolved(layers)
        return found


NetworkParser = Any  # callable(dict) -> BaseModel, installed by the proxy package when present


def _network_parser() -> NetworkParser | None:
    try:
        from mockprovider.proxy.profile import parse_network
    except ImportError:
        return None
    return parse_network


def _location(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif str(item).startswith(("function-", "literal[", "dict[", "list[")):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _problems(error: ValidationError) -> list[str]:
    out = []
    for item in error.errors():
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        out.append(f"{_location(item['loc'])}: {message}")
    return out


def _deep_merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(source, [f"{where}invalid YAML: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(source, ["(top level): a profile is a mapping of settings"])
    return data


def build_profile(name: str, raw: dict[str, Any], source: str, lookup: Any = None, depth: int = 0) -> Profile:
    """Validate ``raw`` (already merged with nothing) into a Profile; ``lookup(name)`` finds a base profile's
    raw dict for ``extends``."""
    merged = raw
    base_name = raw.get("extends")
    if base_name is not None:
        if not isinstance(base_name, str):
            raise ProfileError(source, ["extends: must be the name of another profile"])
        if depth >= MAX_EXTENDS_DEPTH:
            raise ProfileError(source, ["extends: the chain of profiles is too long (a cycle?)"])
        if lookup is None:
            raise ProfileError(source, [f"extends: no profile library to find {base_name!r} in"])
        base_raw = lookup(base_name)
        if base_raw is None:
            raise ProfileError(source, [f"extends: no profile named {base_name!r}"])
        base = build_profile(base_name, base_raw, source, lookup, depth + 1)
        merged = _deep_merge(base.raw, {k: v for k, v in raw.items() if k != "extends"})
    try:
        document = ProfileDocument.model_validate(merged)
    except ValidationError as exc:
        raise ProfileError(source, _problems(exc)) from None
    if document.prices is not None:
        from ..insight.prices import PriceBook, PriceError, default_book

        try:
            PriceBook.parse(document.prices, default_book(), source="prices")
        except PriceError as exc:
            raise ProfileError(source, exc.problems) from None
    network = None
    if document.network is not None:
        parser = _network_parser()
        if parser is not None:
            try:
                network = parser(document.network)
            except ValueError as exc:
                raise ProfileError(source, str(exc).split("; ")) from None
    return Profile(name=name, source=source, raw=merged, document=document, network=network)


def bundled_dir() -> Path:
    return Path(str(resources.files("mockprovider.bundled_profiles")))


class ProfileLibrary:
    """Profiles by name, read from the bundled set and then from user folders (later folders win).
    Files are re-read on every lookup, so an edited file takes effect the next time it is selected."""

    def __init__(self, folders: list[Path] | None = None) -> None:
        self.folders = [bundled_dir(), *(folders or [])]

    def path_of(self, name: str) -> Path | None:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            return None
        for folder in reversed(self.folders):
            for suffix in (".yaml", ".yml"):
                path = folder / f"{name}{suffix}"
                if path.is_file():
                    return path
        return None

    def names(self) -> list[str]:
        found = set()
        for folder in self.folders:
            if folder.is_dir():
                found.update(p.stem for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        return sorted(found)

    def raw(self, name: str) -> dict[str, Any] | None:
        path = self.path_of(name)
        if path is None:
            return None
        return parse_yaml(path.read_text(encoding="utf-8"), str(path))

    def load(self, name: str) -> Profile:
        path = self.path_of(name)
        if path is None:
            raise ProfileError(name, [f"no profile named {name!r}; known: {', '.join(self.names())}"])
        raw = parse_yaml(path.read_text(encoding="utf-8"), str(path))
        return build_profile(name, raw, str(path), self.raw)

    def load_inline(self, raw: dict[str, Any], name: str = "inline") -> Profile:
        return build_profile(name, raw, "inline profile", self.raw)

    def load_text(self, text: str, name: str = "inline") -> Profile:
        return self.load_inline(parse_yaml(text, "inline profile"), name)

    def load_file(self, path: Path) -> Profile:
        raw = parse_yaml(path.read_text(encoding="utf-8"), str(path))
        return build_profile(path.stem, raw, str(path), self.raw)


def ttl_deadline(now: float, ttl: float | None) -> float:
    return math.inf if ttl is None else now + ttl
