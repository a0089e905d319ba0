"""Runway's models and request validation, as runwayml 5.x and the API docs describe them.

Validation failures come back as Zod-style issues, the way Runway reports them:
``{"error": "Validation of body failed", "issues": [{"code", "path", "message", ...}]}``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from ...web.values import http_url

IMAGE_TO_VIDEO = "image_to_video"
TEXT_TO_VIDEO = "text_to_video"

MAX_PROMPT_UTF16 = 1000
MAX_URL_LENGTH = 2048
MAX_DATA_URI_BYTES = 5 * 2**20
MAX_SEED = 4_294_967_295
DATA_URI = re.compile(r"^data:([a-z]+)/([a-z0-9.+-]+);base64,(.*)$", re.S | re.I)
IMAGE_SUBTYPES = ("png", "jpeg", "jpg", "webp", "gif")

GEN4_RATIOS = ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672")
VEO_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")


@dataclass(frozen=True)
class Model:
    name: str
    endpoints: dict[str, tuple[str, ...]]  # endpoint -> allowed ratios ("" = ratio not accepted)
    durations: tuple[int, ...]
    default_duration: int | None  # None: duration is required
    required: dict[str, tuple[str, ...]]  # endpoint -> required fields
    positions: tuple[str, ...] = ("first",)
    audio: bool = False
    credits_per_second: float = 5.0
    default_ratio: dict[str, str] = field(default_factory=dict)


MODELS: dict[str, Model] = {m.name: m for m in (
    Model("gen4.5", {IMAGE_TO_VIDEO: GEN4_RATIOS, TEXT_TO_VIDEO: ("1280:720", "720:1280")},
          tuple(range(2, 11)), None,
          {IMAGE_TO_VIDEO: ("promptImage", "promptText", "ratio", "duration"),
           TEXT_TO_VIDEO: ("promptText", "ratio", "duration")}, credits_per_second=12),
    Model("gen4_turbo", {IMAGE_TO_VIDEO: GEN4_RATIOS}, (5, 10), 10,
          {IMAGE_TO_VIDEO: ("promptImage", "ratio")}, credits_per_second=5),
    Model("veo3.1", {IMAGE_TO_VIDEO: VEO_RATIOS, TEXT_TO_VIDEO: VEO_RATIOS}, (4, 6, 8), 8,
          {IMAGE_TO_VIDEO: ("promptImage", "ratio"), TEXT_TO_VIDEO: ("promptText", "ratio")},
          positions=("first", "last"), audio=True, credits_per_second=40),
    Model("veo3.1_fast", {IMAGE_TO_VIDEO: VEO_RATIOS, TEXT_TO_VIDEO: VEO_RATIOS}, (4, 6, 8), 8,
          {IMAGE_TO_VIDEO: ("promptImage", "ratio"), TEXT_TO_VIDEO: ("promptText", "ratio")},
          positions=("first", "last"), audio=True, credits_per_second=15),
    Model("veo3", {IMAGE_TO_VIDEO: VEO_RATIOS, TEXT_TO_VIDEO: VEO_RATIOS}, (8,), None,
          {IMAGE_TO_VIDEO: ("promptImage", "ratio", "duration"), TEXT_TO_VIDEO: ("promptText", "ratio", "duration")},
          audio=True, credits_per_second=40),
    Model("gen3a_turbo", {IMAGE_TO_VIDEO: ("1280:768", "768:1280")}, (5, 10), 10,
          {IMAGE_TO_VIDEO: ("promptImage",)}, positions=("first", "last"), credits_per_second=5,
          default_ratio={IMAGE_TO_VIDEO: "1280:768"}),
    Model("kling2.5_turbo_pro",
          {IMAGE_TO_VIDEO: (), TEXT_TO_VIDEO: ("1920:1080", "1440:1440", "1080:1920", "1280:720", "720:720",
                                                 "720:1280")},
          (5, 10), 5, {IMAGE_TO_VIDEO: ("promptImage", "promptText"), TEXT_TO_VIDEO: ("promptText",)},
          positions=("first", "last"), credits_per_second=7,
          default_ratio={IMAGE_TO_VIDEO: "1280:720", TEXT_TO_VIDEO: "1280:720"}),
)}


@dataclass(frozen=True)
class Params:
    model: Model
    endpoint: str
    ratio: str
    duration: int
    audio: bool

    @property
    def size(self) -> tuple[int, int]:
        width, height = self.ratio.split(":")
        return int(width), int(height)

    @property
    def credits(self) -> float:
        return float(self.model.credits_per_second * self.duration)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def invalid_type(path: list, expected: str, value: Any) -> dict[str, Any]:
    received = "undefined" if value is _MISSING else _describe(value)
    return {"code": "invalid_type", "expected": expected, "path": path,
            "message": f"Invalid input: expected {expected}, received {received}"}


def invalid_value(path: list, options: tuple, value: Any) -> dict[str, Any]:
    listed = "|".join(f'"{o}"' if isinstance(o, str) else str(o) for o in options)
    return {"code": "invalid_value", "values": list(options), "path": path,
            "message": f"Invalid option: expected one of {listed}"}


def too_big(path: list, maximum: int, origin: str, message: str) -> dict[str, Any]:
    return {"code": "too_big", "maximum": maximum, "origin": origin, "inclusive": True, "path": path,
            "message": message}


def custom(path: list, message: str) -> dict[str, Any]:
    return {"code": "custom", "path": path, "message": message}


_MISSING = object()


def asset_issues(value: Any, path: list, media: str) -> list[dict[str, Any]]:
    """Issues of one asset reference carrying ``media`` (image, video, audio): an HTTPS URL with a host name, a
    base64 data URI of that media type, or a ``runway://`` URI (whose upload the caller checks)."""
    if not isinstance(value, str):
        return [invalid_type(path, "string", value)]
    if value.startswith("runway://"):
        return []
    if value.startswith("data:"):
        match = DATA_URI.match(value)
        if not match or match.group(1).lower() != media or (
                media == "image" and match.group(2).lower() not in IMAGE_SUBTYPES):
            return [custom(path, f"Data URIs here must be base64-encoded {media} files")]
        try:
            decoded = base64.b64decode(match.group(3), validate=True)
        except (binascii.Error, ValueError):
            return [custom(path, "The data URI is not valid base64")]
        if len(decoded) > MAX_DATA_URI_BYTES:
            return [too_big(path, MAX_DATA_URI_BYTES, "file", "Data URIs must be at most 5MB")]
        return []
    if len(value) > MAX_URL_LENGTH:
        return [too_big(path, MAX_URL_LENGTH, "string", "URLs must be at most 2048 characters")]
    parts = http_url(value, ("https",), MAX_URL_LENGTH)
    if parts is None:
        return [custom(path, "Invalid asset URI: must be an HTTPS URL, a runway:// upload URI or a data URI")]
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        return []
    return [custom(path, "Asset URLs must use a domain name, not an IP address")]


def _check_prompt_image(value: Any, model: Model) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return asset_issues(value, ["promptImage"], "image")
    if not isinstance(value, list):
        return [invalid_type(["promptImage"], "string | array", value)]
    if not 1 <= len(value) <= len(model.positions):
        return [too_big(["promptImage"], len(model.positions), "array",
                        f"Too many images: {model.name} takes at most {len(model.positions)}")]
    issues: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            issues.append(invalid_type(["promptImage", i], "object", item))
            continue
        if "uri" in item:
            issues += asset_issues(item["uri"], ["promptImage", i, "uri"], "image")
        else:
            issues.append(invalid_type(["promptImage", i, "uri"], "string", _MISSING))
        position = item.get("position", _MISSING)
        if position not in model.positions:
            issues.append(invalid_value(["promptImage", i, "position"], model.positions, position))
        elif position in seen:
            issues.append(custom(["promptImage", i, "position"], f"Duplicate position '{position}'"))
        else:
            seen.add(position)
    return issues


def validate(body: Any, endpoint: str) -> Params | list[dict[str, Any]]:
    """The request's parameters, or the Zod-style issues that reject it."""
    if not isinstance(body, dict):
        return [invalid_type([], "object", body)]
    name = body.get("model", _MISSING)
    candidates = tuple(n for n, m in MODELS.items() if endpoint in m.endpoints)
    if name is _MISSING:
        return [invalid_type(["model"], "string", _MISSING)]
    model = MODELS.get(name) if isinstance(name, str) else None
    if model is None or endpoint not in model.endpoints:
        return [invalid_value(["model"], candidates, name)]
    issues: list[dict[str, Any]] = []
    for key in model.required[endpoint]:
        if key not in body or body[key] is None:
            expected = "number" if key == "duration" else "string"
            issues.append(invalid_type([key], expected, _MISSING))
    ratios = model.endpoints[endpoint]
    ratio = body.get("ratio", model.default_ratio.get(endpoint))
    if "ratio" in body and body["ratio"] is not None:
        if not ratios:
            issues.append(custom(["ratio"], f"{model.name} does not take a ratio; the output follows the image"))
        elif body["ratio"] not in ratios:
            issues.append(invalid_value(["ratio"], ratios, body["ratio"]))
    duration = body.get("duration")
    if duration is None:
        duration = model.default_duration
    if "duration" in body and body["duration"] is not None:
        d = body["duration"]
        if isinstance(d, bool) or not isinstance(d, int):
            issues.append(invalid_type(["duration"], "int", d))
        elif d not in model.durations:
            if model.durations == tuple(range(model.durations[0], model.durations[-1] + 1)):
                issues.append({"code": "too_big" if d > model.durations[-1] else "too_small",
                               "maximum" if d > model.durations[-1] else "minimum":
                               model.durations[-1] if d > model.durations[-1] else model.durations[0],
                               "origin": "number", "inclusive": True, "path": ["duration"],
                               "message": f"Duration must be between {model.durations[0]} and "
                                          f"{model.durations[-1]} seconds"})
            else:
                issues.append(invalid_value(["duration"], model.durations, d))
    if "promptText" in body and body["promptText"] is not None:
        text = body["promptText"]
        if not isinstance(text, str):
            issues.append(invalid_type(["promptText"], "string", text))
        elif not text.strip():
            issues.append({"code": "too_small", "minimum": 1, "origin": "string", "inclusive": True,
                           "path": ["promptText"], "message": "Too small: expected string to have >=1 characters"})
        elif len(text.encode("utf-16-le")) // 2 > MAX_PROMPT_UTF16:
            issues.append(too_big(["promptText"], MAX_PROMPT_UTF16, "string",
                                  "Too big: expected string to have <=1000 characters"))
    if endpoint == IMAGE_TO_VIDEO and body.get("promptImage") is not None:
        issues += _check_prompt_image(body["promptImage"], model)
    if "seed" in body and body["seed"] is not None:
        seed = body["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int):
            issues.append(invalid_type(["seed"], "int", seed))
        elif not 0 <= seed <= MAX_SEED:
            issues.append(too_big(["seed"], MAX_SEED, "number", f"Seed must be between 0 and {MAX_SEED}"))
    moderation = body.get("contentModeration")
    if moderation is not None:
        if not isinstance(moderation, dict):
            issues.append(invalid_type(["contentModeration"], "object", moderation))
        elif "publicFigureThreshold" in moderation and moderation["publicFigureThreshold"] not in ("auto", "low"):
            issues.append(invalid_value(["contentModeration", "publicFigureThreshold"], ("auto", "low"),
                                        moderation["publicFigureThreshold"]))
    audio = body.get("audio", model.audio)
    if "audio" in body and body["audio"] is not None:
        if not isinstance(body["audio"], bool):
            issues.append(invalid_type(["audio"], "boolean", body["audio"]))
        elif not model.audio and body["audio"]:
            issues.append(custom(["audio"], f"{model.name} does not generate audio"))
    if "negativePrompt" in body and body["negativePrompt"] is not None and not isinstance(body["negativePrompt"], str):
        issues.append(invalid_type(["negativePrompt"], "string", body["negativePrompt"]))
    if issues:
        return issues
    if not ratio:
        ratio = "1280:720"
    return Params(model=model, endpoint=endpoint, ratio=ratio, duration=int(duration), audio=bool(audio))
