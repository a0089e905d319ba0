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
MAX_NAME = 128
MAX_DEPTH = 64  # nesting of a profile document (YAML or JSON)
MAX_NODES = 100_000  # values in it, aliases expanded: a YAML alias bomb stops here
MAX_ALIASES = 1_000
MAX_PROBLEMS = 50


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a bound on nesting (no RecursionError on 20,000 brackets) and on aliases."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.YAMLError(f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def shape_problem(value: Any, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> str | None:
    """Why ``value`` (parsed JSON or YAML) is too deep or too large once aliases are expanded, else None.
    Iterative, and it stops counting at the bound, so an alias bomb costs no more than the bound."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            return f"more than {max_nodes} values"
        if depth > max_depth:
            return f"nested more than {max_depth} levels deep"
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            nodes += len(item)
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return None


def load_yaml(text: str | bytes) -> Any:
    """``yaml.safe_load`` within the bounds above; yaml.YAMLError otherwise."""
    data = yaml.load(text, Loader=BoundedLoader)
    problem = shape_problem(data)
    if problem is not None:
        raise yaml.YAMLError(problem)
    return data


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
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(source, [f"{where}invalid YAML: {str(problem)[:300]}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(source, ["(top level): a profile is a mapping of settings"])
    return data


def build_profile(name: str, raw: dict[str, Any], source: str, lookup: Any = None, depth: int = 0) -> Profile:
    """Validate ``raw`` (already merged with nothing) into a Profile; ``lookup(name)`` finds a base profile's
    raw dict for ``extends``."""
    problem = shape_problem(raw)
    if problem is not None:
        raise ProfileError(source, [f"(top level): {problem}"])
    merged = raw
    problems: list[str] = []
    base_name = raw.get("extends")
    if base_name is not None:
        own = {k: v for k, v in raw.items() if k != "extends"}
        merged = own  # if the base cannot be had, the profile's own settings are still checked
        if not isinstance(base_name, str) or len(base_name) > MAX_NAME:
            problems.append("extends: must be the name of another profile")
        elif depth >= MAX_EXTENDS_DEPTH:
            problems.append("extends: the chain of profiles is too long (a cycle?)")
        elif lookup is None:
            problems.append(f"extends: no profile library to find {base_name!r} in")
        else:
            try:
                base_raw = lookup(base_name)
            except ProfileError as exc:
                base_raw = None
                problems += [f"extends {base_name}: {p}" for p in exc.problems]
            else:
                if base_raw is None:
                    problems.append(f"extends: no profile named {base_name!r}")
            if base_raw is not None:
                try:
                    base = build_profile(base_name, base_raw, source, lookup, depth + 1)
                except ProfileError as exc:
                    problems += [p if p.startswith("extends") else f"extends {base_name}: {p}" for p in exc.problems]
                else:
                    merged = _deep_merge(base.raw, own)
    document = None
    try:
        document = ProfileDocument.model_validate(merged)
    except ValidationError as exc:
        problems += _problems(exc)
    if problems or document is None:
        raise ProfileError(source, problems[:MAX_PROBLEMS])
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
        if not name or len(name) > MAX_NAME or "/" in name or "\\" in name or "\x00" in name \
                or name.startswith("."):
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
            shown = name if len(name) <= 60 else name[:57] + "..."
            if len(name) > MAX_NAME:
                raise ProfileError(shown, [f"a profile name is at most {MAX_NAME} characters"])
            raise ProfileError(shown, [f"no profile named {shown!r}; known: {', '.join(self.names())}"])
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
