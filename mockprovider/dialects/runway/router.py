"""Runway's Model Router (runwayml 5.24.0 ``routers`` and ``generate.video|image|audio``): saved router configs per
account, and model-agnostic generation routed to one model of the catalog by capability, allow/deny lists, a credit
ceiling and ``optimizeFor``. The routed task is an ordinary task of the chosen model.

Which models the router considers, and how they rank for latency and quality, is the mock's own choice (Runway does
not publish it); credit estimates use the same rates as the model's own endpoint (``generation.py``).
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from ...media.render import MAX_DURATION, VideoSpec
from ...media.sound import AudioSpec
from ...media.stills import ImageSpec
from .generation import DURATIONS, IMAGE_RATE, VIDEO_RATE, Generation, all_models, frame_size
from .models import custom, invalid_type
from .schema import check_fields

SETTINGS = {"fallback": [False, {"obj": {"onCapacity": [False, "bool"]}}],
            "maxCreditsPerGeneration": [False, {"obj": {"audio": [False, "int"], "image": [False, "int"],
                                                        "video": [False, "int"]}}],
            "models": [False, {"obj": {"ids": [True, {"list": "str"}],
                                       "mode": [True, {"enum": ["allow_new_except", "allowlist_only"]}]}}],
            "optimizeFor": [False, {"enum": ["cost", "latency", "quality"]}],
            "schemaVersion": [False, {"enum": [1]}]}
CREATE = {"slug": (True, "str"), "description": (False, "str"), "name": (False, "str"),
          "settings": (False, {"obj": SETTINGS})}
UPDATE = {name: spec for name, spec in CREATE.items() if name != "slug"}
INPUTS: dict[str, dict[str, tuple[bool, Any]]] = {
    "video": {"input": (True, {"obj": {
        "aspectRatio": [False, {"enum": ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"]}], "audio": [False, "bool"],
        "contentModeration": [False, {"obj": {"publicFigureThreshold": [False, {"enum": ["auto", "low"]}]}}],
        "duration": [False, "int"], "negativePrompt": [False, "str"], "promptText": [False, "str"],
        "referenceAudio": [False, {"list": {"obj": {"uri": [True, "str"]}}}],
        "referenceImages": [False, {"list": {"obj": {"role": [True, {"enum": ["first", "last", "reference"]}],
                                                     "uri": [True, "str"]}}}],
        "referenceVideos": [False, {"list": {"obj": {"role": [True, {"enum": ["source", "reference"]}],
                                                     "uri": [True, "str"]}}}],
        "resolution": [False, {"enum": ["480p", "720p", "1080p", "4k"]}], "seed": [False, "int"]}})},
    "image": {"input": (True, {"obj": {
        "promptText": [True, "str"],
        "aspectRatio": [False, {"enum": ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "2:3", "3:2", "4:5", "5:4"]}],
        "contentModeration": [False, {"obj": {"publicFigureThreshold": [False, {"enum": ["auto", "low"]}]}}],
        "outputCount": [False, "int"], "referenceImages": [False, {"list": {"obj": {"uri": [True, "str"]}}}],
        "resolution": [False, {"enum": ["1k", "2k", "4k"]}], "seed": [False, "int"]}})},
    "audio": {"input": (True, {"obj": {
        "promptText": [True, "str"], "type": [True, {"enum": ["speech", "audio"]}], "duration": [False, "float"],
        "loop": [False, "bool"], "referenceAudios": [False, {"list": {"obj": {"uri": [True, "str"]}}}],
        "voice": [False, "dict"]}})},
}
for kind in INPUTS:
    INPUTS[kind]["configId"] = (True, "str")

# mock candidates: model -> (endpoint, makes audio, latency rank, quality rank); lower ranks are better
VIDEO_MODELS = {"gen4_turbo": ("image_to_video", False, 1, 6), "gen4.5": ("text_to_video", False, 3, 3),
                "veo3.1_fast": ("text_to_video", True, 2, 4), "veo3.1": ("text_to_video", True, 5, 1),
                "seedance2": ("text_to_video", True, 4, 2), "kling3.0_standard": ("text_to_video", True, 6, 5)}
IMAGE_MODELS = {"gen4_image_turbo": ("text_to_image", False, 1, 4), "gen4_image": ("text_to_image", False, 2, 2),
                "gemini_2.5_flash": ("text_to_image", False, 3, 3), "gpt_image_2": ("text_to_image", False, 4, 1)}
AUDIO_MODELS = {"speech": {"eleven_multilingual_v2": ("text_to_speech", True, 1, 2),
                           "eleven_v3": ("text_to_speech", True, 2, 1)},
                "audio": {"eleven_text_to_sound_v2": ("sound_effect", True, 1, 2),
                          "mirelo_sfx_2_0": ("sound_effect", True, 2, 1)}}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")  # mock pattern
MAX_ROUTERS = 100  # per account (mock)
MAX_REQUESTS = 100  # routing records kept per router
MAX_ACCOUNTS = 10_000
RATIO_SIZE = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960), "4:3": (960, 720), "3:4": (720, 960),
              "21:9": (1680, 720), "2:3": (832, 1248), "3:2": (1248, 832), "4:5": (896, 1120), "5:4": (1120, 896)}


@dataclass
class Router:
    id: str
    slug: str
    name: str
    description: str | None
    settings: dict[str, Any]
    created: str
    updated: str
    version: int = 1
    requests: deque = field(default_factory=lambda: deque(maxlen=MAX_REQUESTS))

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "name": self.name, "description": self.description,
                "settings": {"schemaVersion": 1, **self.settings}, "createdAt": self.created,
                "updatedAt": self.updated, "version": self.version}


def settings_of(body: dict) -> dict[str, Any]:
    """A router's stored settings: what the body set, nulls dropped (null counts as absent)."""
    settings = body.get("settings") or {}
    return {name: value for name, value in settings.items() if value is not None}


class RouterBook:
    """Each account's router configs, bounded."""

    def __init__(self) -> None:
        self._accounts: OrderedDict[str, OrderedDict[str, Router]] = OrderedDict()

    def reset(self) -> None:
        self._accounts.clear()

    def of(self, account: str) -> OrderedDict[str, Router]:
        routers = self._accounts.get(account)
        if routers is None:
            routers = self._accounts[account] = OrderedDict()
            while len(self._accounts) > MAX_ACCOUNTS:
                self._accounts.popitem(last=False)
        return routers

    def find(self, account: str, ref: Any) -> Router | None:
        if not isinstance(ref, str):
            return None
        routers = self._accounts.get(account) or {}
        return routers.get(ref) or next((r for r in routers.values() if r.slug == ref), None)


def check_router(body: Any, creating: bool, taken: set[str]) -> list[dict[str, Any]]:
    """Zod-style issues of a create or update body."""
    if not isinstance(body, dict):
        return [invalid_type([], "object", body)]
    issues = check_fields(body, CREATE if creating else UPDATE, [], lambda value, path, media: [])
    slug = body.get("slug")
    if creating and isinstance(slug, str):
        if not SLUG.match(slug):
            issues.append(custom(["slug"], "Slugs are 1-63 lowercase letters, digits and hyphens"))
        elif slug in taken:
            issues.append(custom(["slug"], "A router with this slug already exists"))
    settings = body.get("settings")
    ids = settings.get("models", {}).get("ids") if isinstance(settings, dict) and isinstance(
        settings.get("models"), dict) else None
    if isinstance(ids, list):
        known = set(all_models())
        for i, model in enumerate(ids[:100]):
            if isinstance(model, str) and model not in known:
                issues.append(custom(["settings", "models", "ids", i], f"Unknown model id: {model[:64]}"))
    for name in ("name", "description"):
        if isinstance(body.get(name), str) and len(body[name]) > 1000:  # mock bound
            issues.append(custom([name], f"{name} must be at most 1000 characters"))
    return issues


@dataclass
class Routed:
    generation: Generation
    record: dict[str, Any]
    resolved: dict[str, Any]


def route(kind: str, router: Router, given: dict, fps: int) -> Routed | dict[str, Any]:
    """The model a routed request goes to and what it makes, or the routing record of a failure."""
    given = {name: value for name, value in given.items() if value is not None}  # null counts as absent
    settings = router.settings
    optimize = settings.get("optimizeFor") or "cost"
    ceiling = (settings.get("maxCreditsPerGeneration") or {}).get(kind)
    candidates = AUDIO_MODELS[given["type"]] if kind == "audio" else VIDEO_MODELS if kind == "video" else IMAGE_MODELS
    pipeline: list[dict[str, Any]] = []
    plans = {model: _plan(kind, model, info, given, fps) for model, info in candidates.items()}
    eligible = [m for m, p in plans.items() if p is not None]
    pipeline.append({"type": "filter", "filter": "capability", "models": list(eligible)})
    rule = settings.get("models")
    if rule:
        listed = set(rule["ids"])
        eligible = [m for m in eligible if (m in listed) == (rule["mode"] == "allowlist_only")]
        pipeline.append({"type": "filter", "filter": "allow_deny", "models": list(eligible)})
    if ceiling is not None:
        eligible = [m for m in eligible if plans[m].estimate <= ceiling]
        pipeline.append({"type": "filter", "filter": "price", "models": list(eligible)})
    base = {"configId": router.slug, "pipeline": pipeline}
    if not eligible:
        emptied = next(stage["filter"] for stage in pipeline if not stage["models"])
        return {**base, "status": "no_eligible_model", "emptiedBy": [emptied],
                "reason": "No model satisfies this request and the router's settings"}
    rank = {"cost": lambda m: (plans[m].estimate, candidates[m][2]),
            "latency": lambda m: (candidates[m][2], plans[m].estimate),
            "quality": lambda m: (candidates[m][3], plans[m].estimate)}[optimize]
    model = min(eligible, key=rank)
    reason = {"cost": "lowest_cost", "latency": "best_latency", "quality": "best_quality"}[optimize]
    if len(eligible) == 1:
        reason = "only_eligible_model"
    pipeline.append({"type": "rank", "outcome": "single_candidate" if len(eligible) == 1 else "selected",
                     "models": [model]})
    found = plans[model]
    return Routed(found, {**base, "status": "routed", "model": model, "provider": "runway", "reasonCode": reason,
                          "estimatedCredits": found.estimate},
                  {"optimizeFor": optimize, "priceCeiling": ceiling})


def _plan(kind: str, model: str, info: tuple, given: dict, fps: int) -> Generation | None:
    endpoint, audio_capable = info[0], info[1]
    inputs = ["text"] if isinstance(given.get("promptText"), str) else []
    if kind == "video":
        images = given.get("referenceImages") or []
        if images:
            inputs.append("image")
        if given.get("referenceVideos") or given.get("referenceAudio"):
            return None  # the mock's candidates take neither
        if endpoint == "image_to_video" and not any(i.get("role") == "first" for i in images):
            return None
        if given.get("audio") is True and not audio_capable:
            return None
        low, high, default = DURATIONS.get(model, (1, 30, 5))
        seconds = given.get("duration", default)
        if not low <= seconds <= high or (model.startswith("veo") and seconds not in (4, 6, 8)):
            return None
        resolution = given.get("resolution", "720p")
        if (resolution == "4k" and model != "seedance2") or (resolution == "480p" and model.startswith("veo")):
            return None
        width, height = frame_size(given.get("aspectRatio", "16:9"), resolution, 4096)
        audio = audio_capable and given.get("audio") is not False
        credits = VIDEO_RATE[model] * seconds
        output = VideoSpec(width, height, float(min(seconds, MAX_DURATION)), fps, audio)
        return Generation(endpoint, model, "video", output, 1, credits, credits, inputs,
                          {"ratio": f"{width}:{height}", "resolution": resolution})
    if kind == "image":
        count = given.get("outputCount", 1)
        if not 1 <= count <= 10 or (given.get("resolution") == "4k" and model != "gpt_image_2"):
            return None
        if given.get("referenceImages"):
            inputs.append("image")
        side = {"1k": 1, "2k": 2, "4k": 4}[given.get("resolution", "1k")]
        width, height = RATIO_SIZE[given.get("aspectRatio", "1:1")]
        scale = side * 1024 / max(width, height) if side > 1 else 1
        output = ImageSpec(int(width * scale) & ~1, int(height * scale) & ~1, "png")
        credits = IMAGE_RATE[model] * count
        return Generation(endpoint, model, "image", output, count, credits, credits, inputs,
                          {"ratio": f"{output.width}:{output.height}", "resolution": given.get("resolution", "1k")})
    text = given["promptText"]
    if given["type"] == "speech":
        seconds = max(1.0, len(text) / 15)
        credits = math.ceil(len(text) / 50)
    else:
        seconds = float(given.get("duration", 5.0))
        if not 0.5 <= seconds <= 30:
            return None
        credits = 2 if model == "eleven_text_to_sound_v2" else math.ceil(seconds)
    return Generation(endpoint, model, "audio", AudioSpec(round(seconds, 3), "mp3"), 1, credits, credits, inputs,
                      {"voice": "preset" if given.get("voice") else "default"})


def input_issues(kind: str, body: Any, check_uri) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [invalid_type([], "object", body)]
    issues = check_fields(body, INPUTS[kind], [], check_uri)
    given = body.get("input")
    if issues or not isinstance(given, dict):
        return issues
    text = given.get("promptText")
    if isinstance(text, str) and len(text) > 5000:  # mock bound
        issues.append(custom(["input", "promptText"], "promptText must be at most 5000 characters"))
    if kind == "video" and not text and not given.get("referenceImages"):
        issues.append(custom(["input"], "Provide promptText or referenceImages"))
    for name in ("duration", "outputCount", "seed"):
        value = given.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not -2**53 < value < 2**53:
            issues.append(custom(["input", name], f"{name} is out of range"))
    return issues
