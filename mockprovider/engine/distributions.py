"""Seeded, clippable distributions of durations (or any positive quantity).

Accepted forms, as written in a profile (durations may be numbers of seconds or strings like ``40s``):

    40s                                         fixed
    {fixed: 40s}
    {uniform: {min: 10s, max: 20s}}             also {uniform: [10s, 20s]}
    {normal: {mean: 40s, stddev: 5s}}
    {exponential: {mean: 2s}}
    {lognormal: {median: 40s, p99: 240s}}       or {lognormal: {mu: 3.7, sigma: 0.8}} (log-seconds)
    {p50: 40s, p90: 90s, p99: 240s}             percentiles, interpolated between the given points
    {mixture: [{weight: 0.7, value: 10ms}, {weight: 0.3, value: {uniform: [50ms, 200ms]}}]}

Any form except a bare value may add ``min`` and/or ``max`` to clip samples.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from .durations import MAX_SECONDS, parse_duration

_STANDARD_NORMAL = NormalDist()
_Z99 = _STANDARD_NORMAL.inv_cdf(0.99)


class Distribution:
    """Base class: ``sample`` draws one value from ``rng``; ``quantile`` is the exact inverse CDF if known."""

    low: float = 0.0
    high: float = math.inf

    def draw(self, rng: random.Random) -> float:
        raise NotImplementedError

    def sample(self, rng: random.Random) -> float:
        """One draw, clipped to [min, max] and to MAX_SECONDS: a heavy tail (a lognormal with a large sigma,
        percentiles extrapolated far out) overflows to the cap rather than to an error or Infinity."""
        try:
            value = self.draw(rng)
        except OverflowError:
            value = MAX_SECONDS
        if value != value:  # NaN
            value = self.low
        return min(max(value, self.low), self.high, MAX_SECONDS)

    def describe(self) -> dict:
        raise NotImplementedError

    def _clip_description(self, body: dict) -> dict:
        if self.low > 0:
            body["min"] = self.low
        if self.high != math.inf:
            body["max"] = self.high
        return body


@dataclass(eq=False)
class Fixed(Distribution):
    value: float
    low: float = 0.0
    high: float = math.inf

    def draw(self, rng: random.Random) -> float:
        return self.value

    def describe(self) -> dict:
        return self._clip_description({"fixed": self.value})


@dataclass(eq=False)
class Uniform(Distribution):
    lower: float
    upper: float
    low: float = 0.0
    high: float = math.inf

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.lower, self.upper)

    def describe(self) -> dict:
        return self._clip_description({"uniform": {"min": self.lower, "max": self.upper}})


@dataclass(eq=False)
class Normal(Distribution):
    mean: float
    stddev: float
    low: float = 0.0
    high: float = math.inf

    def draw(self, rng: random.Random) -> float:
        return rng.gauss(self.mean, self.stddev)

    def describe(self) -> dict:
        return self._clip_description({"normal": {"mean": self.mean, "stddev": self.stddev}})


@dataclass(eq=False)
class Exponential(Distribution):
    mean: float
    low: float = 0.0
    high: float = math.inf

    def draw(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0

    def describe(self) -> dict:
        return self._clip_description({"exponential": {"mean": self.mean}})


@dataclass(eq=False)
class LogNormal(Distribution):
    mu: float
    sigma: float
    low: float = 0.0
    high: float = math.inf

    @classmethod
    def from_median_p99(cls, median: float, p99: float, low: float = 0.0, high: float = math.inf) -> LogNormal:
        if median <= 0:
            raise ValueError("lognormal median must be positive")
        if p99 < median:
            raise ValueError("lognormal p99 must be at least the median")
        mu = math.log(median)
        return cls(mu, (math.log(p99) - mu) / _Z99, low, high)

    def draw(self, rng: random.Random) -> float:
        return rng.lognormvariate(self.mu, self.sigma)

    def describe(self) -> dict:
        return self._clip_description({"lognormal": {"mu": self.mu, "sigma": self.sigma}})


@dataclass(eq=False)
class Percentiles(Distribution):
    """Piecewise lognormal through the given points: ln(value) is linear in the normal quantile between
    neighbouring points, and the tails continue the slope of the nearest segment."""

    points: tuple[tuple[float, float], ...]  # (probability in (0, 1), value > 0), sorted
    low: float = 0.0
    high: float = math.inf

    def __post_init__(self) -> None:
        self._z = [_STANDARD_NORMAL.inv_cdf(p) for p, _ in self.points]
        self._log = [math.log(v) for _, v in self.points]

    def quantile(self, p: float) -> float:
        if len(self.points) == 1:
            return self.points[0][1]
        p = min(max(p, 1e-12), 1 - 1e-12)
        z = _STANDARD_NORMAL.inv_cdf(p)
        zs, logs = self._z, self._log
        i = 1
        while i < len(zs) - 1 and z > zs[i]:
            i += 1
        z0, z1, l0, l1 = zs[i - 1], zs[i], logs[i - 1], logs[i]
        return math.exp(l0 + (l1 - l0) * (z - z0) / (z1 - z0))

    def draw(self, rng: random.Random) -> float:
        return self.quantile(rng.random())

    def describe(self) -> dict:
        return self._clip_description({f"p{_format_percent(p)}": v for p, v in self.points})


@dataclass(eq=False)
class Mixture(Distribution):
    weights: tuple[float, ...]
    parts: tuple[Distribution, ...]
    low: float = 0.0
    high: float = math.inf

    def __post_init__(self) -> None:
        total = sum(self.weights)
        acc, cumulative = 0.0, []
        for w in self.weights:
            acc += w / total
            cumulative.append(acc)
        self._cumulative = cumulative

    def draw(self, rng: random.Random) -> float:
        u = rng.random()
        for bound, part in zip(self._cumulative, self.parts, strict=False):
            if u < bound:
                return part.sample(rng)
        return self.parts[-1].sample(rng)

    def describe(self) -> dict:
        return self._clip_description(
            {"mixture": [{"weight": w, "value": p.describe()} for w, p in zip(self.weights, self.parts, strict=False)]}
        )


def _format_percent(p: float) -> str:
    return f"{p * 100:g}".replace(".", "_")


def _percent_key(key: str) -> float | None:
    if len(key) < 2 or key[0] != "p":
        return None
    try:
        value = float(key[1:].replace("_", "."))
    except ValueError:
        return None
    if not 0 < value < 100:
        raise ValueError(f"percentile {key!r} must be between p0 and p100, exclusive")
    return value / 100


def _mapping(value: object, form: str, keys: Sequence[str]) -> dict:
    if isinstance(value, (list, tuple)) and len(value) == len(keys):
        return dict(zip(keys, value, strict=False))
    if not isinstance(value, dict):
        raise ValueError(f"{form} takes a mapping with {', '.join(keys)}")
    return value


def _require(body: dict, form: str, key: str) -> float:
    if key not in body:
        raise ValueError(f"{form} needs '{key}'")
    return parse_duration(body[key])


MAX_LOG_MU = math.log(MAX_SECONDS)  # about 20.7
MAX_SIGMA = 10.0
_FORMS = ("fixed", "uniform", "normal", "exponential", "lognormal", "mixture")


def parse_distribution(spec: object) -> Distribution:
    """Build a distribution from its profile form; ``ValueError`` says what is wrong."""
    if isinstance(spec, Distribution):
        return spec
    if not isinstance(spec, dict):
        return Fixed(parse_duration(spec))
    body = dict(spec)
    low = parse_duration(body.pop("min")) if "min" in body else 0.0
    high = parse_duration(body.pop("max")) if "max" in body else math.inf
    if low > high:
        raise ValueError("min is larger than max")
    forms = [k for k in body if k in _FORMS]
    percentiles = {}
    for key in body:
        p = _percent_key(key)
        if p is not None:
            percentiles[p] = parse_duration(body[key])
    unknown = [k for k in body if k not in _FORMS and _percent_key(k) is None]
    if unknown:
        raise ValueError(
            f"unknown distribution key {str(unknown[0])[:40]!r}; use one of {', '.join(_FORMS)}, "
            "percentiles such as p50/p99, min and max"
        )
    if len(forms) + (1 if percentiles else 0) != 1:
        if not forms and not percentiles:
            raise ValueError(f"a distribution needs one of {', '.join(_FORMS)} or percentiles such as p50")
        raise ValueError("a distribution takes exactly one form")
    if percentiles:
        points = tuple(sorted(percentiles.items()))
        values = [v for _, v in points]
        if any(v <= 0 for v in values):
            raise ValueError("percentile values must be positive")
        if values != sorted(values):
            raise ValueError("percentile values must not decrease as the percentile grows")
        return Percentiles(points, low, high)
    form = forms[0]
    value = body[form]
    if form == "fixed":
        return Fixed(parse_duration(value), low, high)
    if form == "uniform":
        b = _mapping(value, form, ("min", "max"))
        lower, upper = _require(b, form, "min"), _require(b, form, "max")
        if lower > upper:
            raise ValueError("uniform min is larger than its max")
        return Uniform(lower, upper, low, high)
    if form == "normal":
        b = _mapping(value, form, ("mean", "stddev"))
        return Normal(_require(b, form, "mean"), _require(b, form, "stddev"), low, high)
    if form == "exponential":
        b = value if isinstance(value, dict) else {"mean": value}
        return Exponential(_require(b, form, "mean"), low, high)
    if form == "lognormal":
        if not isinstance(value, dict):
            raise ValueError("lognormal takes {median, p99} or {mu, sigma}")
        if "mu" in value or "sigma" in value:
            try:
                mu, sigma = float(value["mu"]), float(value["sigma"])
            except (KeyError, TypeError, ValueError):
                raise ValueError("lognormal {mu, sigma} takes two numbers (log-seconds)") from None
            if not (math.isfinite(mu) and math.isfinite(sigma)):
                raise ValueError("lognormal mu and sigma must be finite numbers")
            if sigma < 0:
                raise ValueError("lognormal sigma cannot be negative")
            if not -MAX_LOG_MU <= mu <= MAX_LOG_MU or sigma > MAX_SIGMA:
                raise ValueError(f"lognormal mu must be within +-{MAX_LOG_MU:g} (log-seconds: e^{MAX_LOG_MU:g} s "
                                 f"is {math.exp(MAX_LOG_MU):.3g} s) and sigma at most {MAX_SIGMA:g}")
            return LogNormal(mu, sigma, low, high)
        return LogNormal.from_median_p99(_require(value, form, "median"), _require(value, form, "p99"), low, high)
    if not isinstance(value, list) or not value:
        raise ValueError("mixture takes a non-empty list of {weight, value}")
    weights, parts = [], []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "weight" not in item or "value" not in item:
            raise ValueError(f"mixture item {i} needs 'weight' and 'value'")
        weight = item["weight"]
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1e12:
            raise ValueError(f"mixture item {i}: weight must be a non-negative number")
        weights.append(float(weight))
        parts.append(parse_distribution(item["value"]))
    if sum(weights) <= 0:
        raise ValueError("mixture weights must add up to more than 0")
    return Mixture(tuple(weights), tuple(parts), low, high)
