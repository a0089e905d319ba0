"""The explicit, versioned encoding of a job in Redis (orjson; no pickle).

A job has an immutable part, written once at creation and cached by every replica (``frozen``), and a small
mutable part kept as hash fields beside it (when it was admitted, when it was cancelled, its data version).
Media specs and quotes are encoded by name and field, so a replica can only ever build the types listed here.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import orjson

from ..engine.jobs import Job, Plan
from ..insight.prices import Quote
from ..media.render import VideoSpec
from ..media.sound import AudioSpec
from ..media.stills import ImageSpec

VERSION = 1
TYPES: dict[str, type] = {"video": VideoSpec, "image": ImageSpec, "audio": AudioSpec, "quote": Quote}
NAMES = {cls: name for name, cls in TYPES.items()}
FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in TYPES.values()}


class CodecError(ValueError):
    """What Redis holds is not a job this version can read."""


def encode_value(value: Any) -> Any:
    """A JSON-able form of ``value``: specs and quotes as {"$": name, ...}, tuples as {"$t": [...]}."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    cls = type(value)
    name = NAMES.get(cls)
    if name is not None:
        return {"$": name, **{f: encode_value(getattr(value, f)) for f in FIELDS[cls]}}
    if isinstance(value, dict):
        if any(not isinstance(k, str) for k in value):
            return {"$d": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
        if "$" in value or "$t" in value or "$f" in value or "$d" in value:
            return {"$d": [[k, encode_value(v)] for k, v in value.items()]}
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return {"$t": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    raise TypeError(f"cannot store a {cls.__name__} in shared state")


def decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$" in value:
        cls = TYPES.get(value["$"])
        if cls is None:
            raise CodecError(f"unknown type {value['$']!r}")
        return cls(**{f: decode_value(value[f]) for f in FIELDS[cls] if f in value})
    if "$t" in value:
        return tuple(decode_value(v) for v in value["$t"])
    if "$f" in value:
        return float(value["$f"])
    if "$d" in value:
        return {decode_value(k): decode_value(v) for k, v in value["$d"]}
    return {k: decode_value(v) for k, v in value.items()}


def encode_frozen(job: Job) -> bytes:
    """The part of ``job`` that never changes after creation."""
    plan = job.plan
    return orjson.dumps({
        "v": VERSION, "id": job.id, "provider": job.provider, "model": job.model, "account": job.account,
        "kind": job.kind, "seq": job.seq, "created": job.created, "cost": job.cost, "profile": job.profile,
        "slots": job.slots, "plan": [plan.queue, plan.run, plan.failure, plan.fail_at, plan.stuck],
        "output": encode_value(job.output), "usage": encode_value(job.usage), "quote": encode_value(job.quote),
        **({"limit_scope": job.limit_scope} if job.limit_scope else {}),  # most jobs have none: no bytes for it
    })


def decode_frozen(raw: bytes) -> Job:
    try:
        d = orjson.loads(raw)
        if d.get("v") != VERSION:
            raise CodecError(f"job encoding version {d.get('v')!r}, this replica reads {VERSION}")
        queue, run, failure, fail_at, stuck = d["plan"]
        return Job(id=d["id"], provider=d["provider"], model=d["model"], account=d["account"], kind=d["kind"],
                   seq=d["seq"], created=d["created"], plan=Plan(queue, run, failure, fail_at, stuck),
                   cost=d["cost"], output=decode_value(d["output"]), profile=d["profile"],
                   usage=decode_value(d["usage"]), quote=decode_value(d["quote"]), slots=d["slots"],
                   limit_scope=d.get("limit_scope", ""))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"unreadable job: {exc}") from None


def encode_data(data: Any) -> bytes:
    return orjson.dumps(encode_value(data))


def decode_data(raw: bytes | None) -> Any:
    return None if raw is None else decode_value(orjson.loads(raw))


def encode_time(value: float | None) -> str:
    """Engine times in hash fields: repr keeps every bit; '' is None (inf is 'inf')."""
    return "" if value is None else repr(float(value))


def decode_time(raw: bytes | str | None) -> float | None:
    if raw is None or raw == b"" or raw == "":
        return None
    return float(raw)
