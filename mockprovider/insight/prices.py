"""The price book: what a job would have cost at the provider's list price, from the usage the dialect reports.

A dialect only says what the job used, in neutral quantities and attributes::

    JobRequest(..., usage={"seconds": 8, "resolution": "1080p", "audio": True})

and the book (``prices.yaml`` beside this module, overridable per profile under ``prices:``) turns that into a
``Quote``: the cost in the provider's own unit (credits, units, tokens...) and in US dollars, plus what the
provider charges for a failed or cancelled job. A model the book does not price gets no quote: the report
counts it as unpriced rather than inventing a figure.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BOOK = Path(__file__).with_name("prices.yaml")
QUANTITIES = ("seconds", "videos", "images", "tokens", "megapixels")
FAILED_POLICIES = ("charge", "free")
CANCELLED_POLICIES = ("charge", "free", "charge_if_started")


class PriceError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Quote:
    """The list price of one job: ``units`` of the provider's ``unit`` and ``usd`` dollars, if it succeeds."""

    usd: float
    units: float
    unit: str
    failed: str  # charge | free
    cancelled: str  # charge | free | charge_if_started

    def charged(self, outcome: str, started: bool) -> float:
        """Dollars charged for a job that ended in ``outcome`` (succeeded, failed, cancelled)."""
        if outcome == "failed":
            return self.usd if self.failed == "charge" else 0.0
        if outcome == "cancelled":
            if self.cancelled == "charge" or (self.cancelled == "charge_if_started" and started):
                return self.usd
            return 0.0
        return self.usd


@dataclass(frozen=True, slots=True)
class Rate:
    per: str
    every: float
    amount: float
    in_units: bool  # amount is in the provider's unit (else in dollars)
    minimum: float
    when: tuple[tuple[str, frozenset[str]], ...]

    def matches(self, usage: dict[str, Any]) -> bool:
        return all(_attr(usage.get(name)) in allowed for name, allowed in self.when)


def _attr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).lower()


@dataclass(frozen=True, slots=True)
class ProviderPrices:
    unit: str
    usd_per_unit: float
    failed: str
    cancelled: str
    exact: dict[str, tuple[Rate, ...]]
    globs: tuple[tuple[str, tuple[Rate, ...]], ...]

    def rates(self, model: str) -> tuple[Rate, ...] | None:
        found = self.exact.get(model)
        if found is not None:
            return found
        for pattern, rates in self.globs:
            if fnmatch.fnmatchcase(model, pattern):
                return rates
        return None


def _number(value: Any, where: str, problems: list[str], positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
            or (positive and value == 0):
        problems.append(f"{where}: expected a {'positive' if positive else 'non-negative'} number, got {value!r}")
        return 1.0
    return float(value)


def _rate(raw: Any, where: str, problems: list[str]) -> Rate | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping like {{per: seconds, usd: 0.1}}")
        return None
    unknown = set(raw) - {"per", "every", "usd", "units", "minimum", "when"}
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    per = raw.get("per")
    if per not in QUANTITIES:
        problems.append(f"{where}.per: expected one of {', '.join(QUANTITIES)}, got {per!r}")
    if ("usd" in raw) == ("units" in raw):
        problems.append(f"{where}: give exactly one of 'usd' or 'units'")
        return None
    in_units = "units" in raw
    amount = _number(raw["units" if in_units else "usd"], where, problems)
    every = _number(raw.get("every", 1), f"{where}.every", problems, positive=True)
    minimum = _number(raw.get("minimum", 0), f"{where}.minimum", problems)
    when_raw = raw.get("when") or {}
    when: list[tuple[str, frozenset[str]]] = []
    if not isinstance(when_raw, dict):
        problems.append(f"{where}.when: expected a mapping of usage attributes")
    else:
        for name, allowed in when_raw.items():
            values = allowed if isinstance(allowed, list) else [allowed]
            when.append((str(name), frozenset(_attr(v) for v in values)))
    return Rate(str(per), every, amount, in_units, minimum, tuple(when))


def _provider(raw: Any, where: str, problems: list[str], base: ProviderPrices | None = None) -> ProviderPrices:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping")
        raw = {}
    unknown = set(raw) - {"unit", "usd_per_unit", "failed", "cancelled", "models"}
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    unit = str(raw.get("unit", base.unit if base else "usd"))
    usd_per_unit = _number(raw["usd_per_unit"], f"{where}.usd_per_unit", problems) if "usd_per_unit" in raw \
        else (base.usd_per_unit if base else 1.0)
    failed = raw.get("failed", base.failed if base else "charge")
    if failed not in FAILED_POLICIES:
        problems.append(f"{where}.failed: expected one of {', '.join(FAILED_POLICIES)}")
    cancelled = raw.get("cancelled", base.cancelled if base else "charge")
    if cancelled not in CANCELLED_POLICIES:
        problems.append(f"{where}.cancelled: expected one of {', '.join(CANCELLED_POLICIES)}")
    models: dict[str, tuple[Rate, ...]] = {}
    if base is not None:
        models.update(base.exact)
        models.update(base.globs)
    raw_models = raw.get("models") or {}
    if not isinstance(raw_models, dict):
        problems.append(f"{where}.models: expected a mapping of model -> rate(s)")
        raw_models = {}
    for name, spec in raw_models.items():
        specs = spec if isinstance(spec, list) else [spec]
        rates = [_rate(s, f"{where}.models.{name}[{i}]", problems) for i, s in enumerate(specs)]
        models[str(name)] = tuple(r for r in rates if r is not None)
    exact = {k: v for k, v in models.items() if not any(c in k for c in "*?[")}
    globs = tuple((k, v) for k, v in models.items() if k not in exact)
    return ProviderPrices(unit, usd_per_unit, str(failed), str(cancelled), exact, globs)


class PriceBook:
    def __init__(self, providers: dict[str, ProviderPrices]) -> None:
        self.providers = providers

    @classmethod
    def parse(cls, raw: Any, base: PriceBook | None = None, source: str = "prices") -> PriceBook:
        """A book from its YAML mapping; with ``base``, ``raw`` overrides it (a profile's negotiated rates)."""
        problems: list[str] = []
        if not isinstance(raw, dict):
            raise PriceError([f"{source}: expected a mapping of provider -> prices"])
        providers = dict(base.providers) if base else {}
        for name, section in raw.items():
            providers[str(name)] = _provider(section, f"{source}.{name}", problems,
                                             base.providers.get(str(name)) if base else None)
        if problems:
            raise PriceError(problems)
        return cls(providers)

    @classmethod
    def load(cls, path: Path = BOOK) -> PriceBook:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: the book is read at every start
        return cls.parse(yaml.load(path.read_text(encoding="utf-8"), Loader=loader), source=path.name)

    def quote(self, provider: str, model: str, usage: dict[str, Any] | None) -> Quote | None:
        """The list price of a job of ``model`` that used ``usage``; None when the book has no price for it."""
        prices = self.providers.get(provider)
        if prices is None or usage is None:
            return None
        rates = prices.rates(model)
        if not rates:
            return None
        for rate in rates:
            if rate.matches(usage):
                default = 1.0 if rate.per in ("videos", "images") else None
                quantity = usage.get(rate.per, default)
                if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
                    return None
                amount = max(quantity / rate.every * rate.amount, rate.minimum)
                if rate.in_units:
                    units, usd = amount, amount * prices.usd_per_unit
                elif prices.unit + "s" == rate.per:  # billed in the quantity itself (tokens)
                    usd, units = amount, float(quantity)
                else:
                    usd = amount
                    units = usd / prices.usd_per_unit if prices.usd_per_unit else 0.0
                return Quote(round(usd, 6), round(units, 6), prices.unit, prices.failed, prices.cancelled)
        return None

    def describe(self) -> dict[str, Any]:
        return {name: {"unit": p.unit, "usd_per_unit": p.usd_per_unit, "failed": p.failed,
                       "cancelled": p.cancelled, "models": sorted([*p.exact, *(g for g, _ in p.globs)])}
                for name, p in sorted(self.providers.items())}


_default: PriceBook | None = None


def default_book() -> PriceBook:
    global _default
    if _default is None:
        _default = PriceBook.load()
    return _default
