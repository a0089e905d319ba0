"""Every Runway generation endpoint of runwayml 5.24.0 beyond the legacy table in ``models.py``: validation on top
of the SDK's field types (``catalog.py``), the limits Runway states only in docs, the credit cost, and what the
task outputs (an MP4 or the ``outputFormat`` asked for, see ``formats.py``; PNG/JPEG/WebP/SVG images; or
MP3/WAV/FLAC/Ogg audio).

Facts are from runwayml 5.24.0's docstrings and the reference notes; where neither states a limit or a price the
value here is the mock's own choice and is marked ``# mock`` (a test pins its behaviour, not Runway's).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...media.deliveries import DeliverySpec
from ...media.render import MAX_DURATION, VideoSpec
from ...media.sound import AudioSpec
from ...media.stills import ALPHA_FORMATS, ImageSpec
from . import formats
from .catalog import FIELDS
from .models import _MISSING, MAX_SEED, asset_issues, custom, invalid_type, invalid_value, too_big
from .personas import readiness_issue
from .schema import check_fields

VIDEO, IMAGE, AUDIO = "video", "image", "audio"
KIND = {
    "image_to_video": VIDEO, "text_to_video": VIDEO, "video_to_video": VIDEO, "video_upscale": VIDEO,
    "character_performance": VIDEO, "video_to_hdr": VIDEO,
    "text_to_image": IMAGE, "image_upscale": IMAGE,
    "sound_effect": AUDIO, "text_to_speech": AUDIO, "speech_to_speech": AUDIO, "voice_isolation": AUDIO,
    "voice_dubbing": AUDIO, "video_to_audio": AUDIO,
    "avatar_videos": VIDEO, "recipes/multi_shot_video": VIDEO, "recipes/product_ad": VIDEO,
    "recipes/product_swap": VIDEO, "recipes/product_ugc": VIDEO,
    "recipes/ad_localization": IMAGE, "recipes/marketing_stock_image": IMAGE, "recipes/product_campaign_image": IMAGE,
}
# the body field that picks the entry in ``catalog.FIELDS`` (recipes are versioned, not modelled)
SELECTOR = {endpoint: "version" for endpoint in KIND if endpoint.startswith("recipes/")}
RECIPE_DURATIONS = {"recipes/multi_shot_video": (5, 15, 5), "recipes/product_ad": (5, 15, 10),  # mock ranges
                    "recipes/product_swap": (3, 15, 5), "recipes/product_ugc": (5, 15, 10)}
RECIPE_RATE = {VIDEO: 15, IMAGE: 5}  # mock: credits per second / per image; prices.md has no recipe prices
AVATAR_CREDITS = (2, 2, 6)  # prices.md: gwm1_avatars 2 up front + 2 per 6 s
SPEECH_CHARS_PER_SECOND = 15
FIELDS_WITH_CHOICES = {"recipes/multi_shot_video": ("duration",)}  # the SDK's enum already bounds it
INPUT_SECONDS = 5.0  # mock: how long an input video is when we cannot know (external URL)

# (min, max, default) for int durations; "auto" allowed where AUTO lists the model. Sources: SDK docstrings
# (gen4.5 2-10, gemini_omni_flash* 3-10), a 2026-08 live probe (seedance2 4-15, seedance2_5 4-30, grok 1-15).
DURATIONS: dict[str, tuple[int, int, int]] = {
    "gen4.5": (2, 10, 5), "gen4_turbo": (2, 10, 10), "veo3.1": (4, 8, 8), "veo3.1_fast": (4, 8, 8),
    "kling2.5_turbo_pro": (5, 10, 5),
    "kling3.0_standard": (3, 15, 5), "kling3.0_pro": (3, 15, 5), "kling3.0_4k": (3, 15, 5),  # mock range
    "klingO3_standard": (3, 15, 5), "klingO3_pro": (3, 15, 5), "klingO3_4k": (3, 15, 5),  # mock range
    "kling_4": (3, 15, 5),  # mock range
    "seedance2": (4, 15, 5), "seedance2_fast": (4, 15, 5), "seedance2_mini": (4, 15, 5), "seedance2_5": (4, 30, 5),
    "hailuo3": (5, 10, 6), "h3_max": (5, 10, 6), "wan3": (2, 15, 5), "wan3_prime": (2, 15, 5),  # mock ranges
    "happyhorse_1_0": (3, 15, 5),  # mock range
    "gemini_omni_flash": (3, 10, 5), "gemini_omni_flash_1.1": (3, 10, 5),
    "grok_imagine_1_5": (1, 15, 5), "grok_imagine_1_5_lite": (1, 15, 5),
}
FREEFORM_PIXELS = {"seedream5_lite": (3_686_400, 16_777_216)}  # SDK docstring: width*height bounds
CHOICES = {"veo3.1": (4, 6, 8), "veo3.1_fast": (4, 6, 8), "kling2.5_turbo_pro": (5, 10)}
AUTO = {"seedance2", "seedance2_fast", "seedance2_mini", "seedance2_5", "gemini_omni_flash_1.1"}

PROMPT_LIMIT = {"happyhorse_1_0": 2500, "seedance2": 3500, "seedance2_fast": 3500, "seedance2_mini": 3500,
                "seedance2_5": 15000, "gpt_image_2": 32000, "gpt_image_2_5_flare": 32000,
                "gpt_image_2_5_sunburst": 32000, "seedream5_pro": 4000, "seedream5_lite": 4000,
                "seedream5_flash": 4000}
DEFAULT_PROMPT_LIMIT = {VIDEO: 1000, IMAGE: 1000, AUDIO: 5000}  # mock for image/audio models without a docstring

# (endpoint, model, field) -> (min, max) items; from the SDK docstrings and the reference's matrix
ITEM_LIMITS: dict[tuple[str, str, str], tuple[int, int]] = {
    **{("image_to_video", m, "references"): (0, 7) for m in ("klingO3_standard", "klingO3_pro", "klingO3_4k")},
    **{("video_to_video", m, "references"): (0, 4) for m in ("klingO3_standard", "klingO3_pro", "klingO3_4k")},
    ("image_to_video", "kling_4", "references"): (0, 10), ("text_to_video", "kling_4", "references"): (0, 10),
    ("video_to_video", "kling_4", "references"): (0, 10),
    ("image_to_video", "kling_4", "referenceVideos"): (0, 5), ("text_to_video", "kling_4", "referenceVideos"): (0, 5),
    **{("text_to_video", m, "references"): (0, 9) for m in ("seedance2", "seedance2_fast", "seedance2_mini",
                                                           "hailuo3")},
    ("text_to_video", "seedance2_5", "references"): (0, 30),
    ("text_to_video", "wan3", "references"): (0, 10), ("text_to_video", "wan3_prime", "references"): (0, 10),
    ("video_to_video", "aleph2", "keyframes"): (0, 5),
    ("text_to_image", "gen4_image_turbo", "referenceImages"): (1, 3),
    ("text_to_image", "gen4_image", "referenceImages"): (0, 3),
    ("text_to_image", "gemini_2.5_flash", "referenceImages"): (0, 3),
    ("text_to_image", "grok_imagine_image_2", "referenceImages"): (0, 3),
    ("text_to_image", "muse_image", "referenceImages"): (0, 10),
    ("text_to_image", "bria_fibo_edit_1_5", "referenceImages"): (1, 4),
    **{("text_to_image", m, "referenceImages"): (0, 16) for m in ("gpt_image_2", "gpt_image_2_5_flare",
                                                                   "gpt_image_2_5_sunburst")},
    **{("text_to_image", m, "referenceImages"): (0, 14) for m in ("gemini_image3_pro", "gemini_image3.1_flash",
                                                                   "gemini_image3.1_flash_lite", "nano_banana_2.1")},
    ("sound_effect", "seed_audio", "referenceAudios"): (0, 3),
}
# field -> (min, max) for numbers; SDK docstrings (0-100 grain/detail, 1-5 intensity, 0-1 voice settings, 0.5-30 s)
NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "expressionIntensity": (1, 5), "creativity": (0, 100), "sharpen": (0, 100), "smartGrain": (0, 100),
    "ultraDetail": (0, 100), "cfgScale": (0, 1), "stability": (0, 1), "similarityBoost": (0, 1), "style": (0, 1),
    "outputCount": (1, 10), "numVariants": (1, 4), "numSpeakers": (1, 32),  # mock: numVariants, numSpeakers
    "loudnessRate": (-50, 100), "pitchRate": (-12, 12), "speechRate": (-50, 100),  # mock
}
SPEED = {"eleven_v3": (0.7, 1.2), "eleven_v4": (0.5, 2.0)}  # v3 from the docstring; v4 mock

# credits per output second (video) or per image; the reference's 3.4 table. ``# mock`` = UNCONFIRMED there.
VIDEO_RATE: dict[str, float] = {
    "gen4.5": 12, "gen4_turbo": 5, "veo3.1": 40, "veo3.1_fast": 15, "aleph2": 28, "act_two": 5,
    "seedance2": 36, "seedance2_fast": 29, "seedance2_5": 30, "grok_imagine_1_5": 16.25, "happyhorse_1_0": 15,
    "kling2.5_turbo_pro": 7, "kling3.0_standard": 10, "kling3.0_pro": 15, "kling3.0_4k": 30,  # mock
    "klingO3_standard": 12, "klingO3_pro": 18, "klingO3_4k": 36, "kling_4": 20, "hailuo3": 10, "h3_max": 15,  # mock
    "wan3": 10, "wan3_prime": 20, "seedance2_mini": 20, "gemini_omni_flash": 15, "gemini_omni_flash_1.1": 15,  # mock
    "grok_imagine_1_5_lite": 8, "enhance_frame_rate": 2,  # mock
}
IMAGE_RATE: dict[str, float] = {
    "gen4_image": 5, "gen4_image_turbo": 2, "gemini_2.5_flash": 5, "gemini_image3_pro": 20, "gpt_image_2": 11,
    "muse_image": 1, "ideogram_4_0": 7, "ideogram_4_5": 4, "bria_fibo_1_5": 5, "magnific_precision_upscaler_v2": 25,
}
QUALITY_RATE = {"gpt_image_2": {"low": 1, "medium": 11, "high": 41, "auto": 11},
                "ideogram_4_0": {"low": 4, "medium": 7, "high": 11},
                "ideogram_4_5": {"very_low": 1, "low": 4, "medium": 8, "high": 25}}
DEFAULT_IMAGE_RATE = 5  # mock, for image models the reference prices as UNCONFIRMED
TENBIT = {"hdr10", "hlg", "sdr_rec709_10bit", "hdr_pq_12bit_master", "hdr_prores", "hdr_png_sequence",
          "hdr_exr_sequence", "hdr_exr_acescg_sequence_1_3", "hdr_exr_acescg_sequence_2_0"}

RESOLUTION_SIDE = {"480p": 480, "720p": 720, "768p": 768, "1080p": 1080, "1k": 1080, "2k": 1440, "4k": 2160}
AUTO_SIZE = {"auto_480p": (854, 480), "auto_720p": (1280, 720), "auto_1080p": (1920, 1080),
             "auto": (1024, 1024), "auto_1k": (1024, 1024), "auto_2k": (2048, 2048), "adaptive": (1280, 720)}


@dataclass
class Generation:
    """What one validated request will produce and cost."""

    endpoint: str
    model: str
    kind: str
    output: Any  # VideoSpec | ImageSpec | AudioSpec
    outputs: int
    credits: float  # the final charge
    estimate: float  # estimatedCost at create time (the maximum for duration "auto")
    inputs: list[str] = field(default_factory=list)  # text, image, video, audio: what moderation could flag
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Runway charges whole credits (the balance, cost and usage are ints): a fractional rate is rounded up
        self.credits = float(math.ceil(round(self.credits, 6)))
        self.estimate = float(math.ceil(round(self.estimate, 6)))


# Endpoints whose validator refuses keys the model does not take (a 2026-08 live probe [2nd] saw the video
# endpoints report `unrecognized_keys`, and text_to_image with gen4_image accept unknown keys: strictness is per
# endpoint). The SDK sends none: only a hand-written client can.
STRICT_ENDPOINTS = frozenset({"image_to_video", "text_to_video"})


def unrecognized_keys(keys: list[str]) -> dict[str, Any]:
    """The validator's issue for keys it does not know (zod's wording, names shortened to 64 characters)."""
    shown = [str(k)[:64] for k in keys[:20]]
    return {"code": "unrecognized_keys", "keys": shown, "path": [],
            "message": f"Unrecognized key{'s' if len(shown) > 1 else ''}: " + ", ".join(f'"{k}"' for k in shown)}


UploadLookup = Callable[[str], Any]  # runway:// URI -> Upload | str (why refused)
Known = Callable[[str, str], "str | None"]  # ("avatar" | "voice", id) -> its status, None if not the caller's


def _even(value: float) -> int:
    return max(16, int(value) & ~1)


def _fit(width: float, height: float, limit: int) -> tuple[int, int]:
    scale = min(1.0, limit / max(width, height))
    return _even(width * scale), _even(height * scale)


SIZE = re.compile(r"([0-9]{1,6}):([0-9]{1,6})")  # ASCII digits only: str.isdigit() also takes "²" and "٣"


def _size_of(ratio: Any) -> tuple[int, int] | None:
    """A ``<width>:<height>`` ratio as two ints (at most six digits each), else None."""
    found = SIZE.fullmatch(ratio) if isinstance(ratio, str) else None
    return None if found is None else (int(found.group(1)), int(found.group(2)))


def frame_size(ratio: Any, resolution: Any, limit: int, default: tuple[int, int] = (1280, 720)) -> tuple[int, int]:
    """Pixel size from a ratio ("1280:720", "16:9", "auto_720p", "adaptive") and an optional resolution."""
    side = RESOLUTION_SIDE.get(str(resolution).lower()) if resolution is not None else None
    if isinstance(ratio, str) and ratio in AUTO_SIZE:
        width, height = AUTO_SIZE[ratio]
        if side:
            width, height = round(side * 16 / 9), side
        return _fit(width, height, limit)
    size = _size_of(ratio)
    if size is not None and all(size):
        w, h = size
        if max(w, h) >= 64 and not side:
            return _fit(w, h, limit)
        short = side or 720
        if w >= h:
            return _fit(short * w / h, short, limit)
        return _fit(short, short * h / w, limit)
    if side:
        return _fit(round(side * 16 / 9), side, limit)
    return default


class Checker:
    """Validates one request of one model, collecting every issue."""

    def __init__(self, endpoint: str, model: str, body: dict, uploads: UploadLookup,
                 known: Known | None = None) -> None:
        self.endpoint, self.model, self.body = endpoint, model, body
        self.uploads = uploads
        self.known = known
        self.issues: list[dict[str, Any]] = []
        self.upload_sizes: list[int] = []

    def uri(self, value: Any, path: list, media: str) -> list[dict[str, Any]]:
        if isinstance(value, str) and value.startswith("runway://"):
            found = self.uploads(value)
            if isinstance(found, str):
                return [custom(path, found)]
            if found.kind is not None and found.kind != media:
                article = "an" if media == AUDIO else "a"
                return [custom(path, f"Expected {article} {media} asset, but the upload is {found.content_type}")]
            self.upload_sizes.append(found.size)
            return []
        return asset_issues(value, path, media)

    def run(self) -> None:
        fields = FIELDS[self.endpoint][self.model]
        self.issues += check_fields(self.body, fields, [], self.uri)
        if self.endpoint in STRICT_ENDPOINTS:
            unknown = [name for name in self.body if name != "model" and name not in fields]
            if unknown:
                self.issues.append(unrecognized_keys(unknown))
        body = self.body
        kind = KIND[self.endpoint]
        text = body.get("promptText")
        if isinstance(text, str):
            limit = PROMPT_LIMIT.get(self.model, DEFAULT_PROMPT_LIMIT[kind])
            if not text.strip():
                self.issues.append({"code": "too_small", "minimum": 1, "origin": "string", "inclusive": True,
                                    "path": ["promptText"],
                                    "message": "Too small: expected string to have >=1 characters"})
            elif len(text.encode("utf-16-le")) // 2 > limit:
                self.issues.append(too_big(["promptText"], limit, "string",
                                           f"Too big: expected string to have <={limit} characters"))
        seed = body.get("seed")
        if isinstance(seed, int) and not isinstance(seed, bool) and not 0 <= seed <= MAX_SEED:
            self.issues.append(too_big(["seed"], MAX_SEED, "number", f"Seed must be between 0 and {MAX_SEED}"))
        for name, (low, high) in NUMBER_RANGES.items():
            self._range(name, low, high)
        if self.model in SPEED:
            self._range("speed", *SPEED[self.model])
        if self.endpoint == "sound_effect" and self.model == "eleven_text_to_sound_v2":
            self._range("duration", 0.5, 30)
        if self.endpoint in ("sound_effect", "video_to_audio") and self.model == "mirelo_sfx_2_0":
            self._range("duration", 1, 30)  # mock range
        if kind == VIDEO and self.endpoint in ("image_to_video", "text_to_video", "video_to_video"):
            self._duration()
        if self.endpoint in RECIPE_DURATIONS and "duration" not in FIELDS_WITH_CHOICES.get(self.endpoint, ()):
            self._range("duration", *RECIPE_DURATIONS[self.endpoint][:2])
        if self.endpoint.startswith("recipes/"):
            self._recipe()
        if self.endpoint == "avatar_videos":
            self._avatar()
        for (endpoint, model, name), (low, high) in ITEM_LIMITS.items():
            if endpoint == self.endpoint and model == self.model:
                self._count(name, low, high)
        if self.endpoint == "image_to_video":
            self._positions()
        if self.model in FREEFORM_PIXELS:
            self._freeform_size()
        self._modes()
        if {"outputFormat", "proresProfile"} & set(FIELDS[self.endpoint][self.model]):
            self.issues += formats.format_issues(self.endpoint, self.model, body)

    def _freeform_size(self) -> None:
        """A ratio outside the model's list is a free-form `<width>:<height>` within its pixel bounds."""
        ratio = self.body.get("ratio")
        enum = next(k["enum"] for k in FIELDS[self.endpoint][self.model]["ratio"][1]["union"] if isinstance(k, dict))
        if not isinstance(ratio, str) or ratio in enum:
            return
        low, high = FREEFORM_PIXELS[self.model]
        size = _size_of(ratio)
        if size is None or not low <= size[0] * size[1] <= high:
            self.issues.append(custom(["ratio"], f"Expected one of the listed ratios or a <width>:<height> size "
                                                 f"of {low} to {high} pixels"))

    def _recipe(self) -> None:
        body = self.body
        if self.endpoint == "recipes/multi_shot_video":
            if body.get("mode") == "auto" and body.get("prompt") is None:
                self.issues.append(invalid_type(["prompt"], "string", _MISSING))
            if body.get("mode") == "custom":
                shots = body.get("shots")
                if shots is None:
                    self.issues.append(invalid_type(["shots"], "array", _MISSING))
                elif isinstance(shots, list) and not 1 <= len(shots) <= 10:  # mock bound
                    self.issues.append(custom(["shots"], "Between 1 and 10 shots are allowed"))
            elif body.get("shots") is not None:
                self.issues.append(unrecognized_keys(["shots"]))
        for name in ("prompt", "productInfo", "userConcept"):
            text = body.get(name)
            if isinstance(text, str) and len(text) > 5000:  # mock bound
                self.issues.append(too_big([name], 5000, "string", "Too big: expected string to have <=5000 "
                                                                   "characters"))
        images = body.get("productImages")
        if isinstance(images, list) and not 1 <= len(images) <= 4:  # mock bound
            self._count("productImages", 1, 4)

    def _avatar(self) -> None:
        avatar, speech = self.body.get("avatar"), self.body.get("speech")
        if isinstance(avatar, dict) and avatar.get("type") == "custom":
            self._persona("avatar", avatar.get("avatarId"), ["avatar", "avatarId"])
        if isinstance(speech, dict):
            voice = speech.get("voice")
            if isinstance(voice, dict) and voice.get("type") == "custom":
                self._persona("voice", voice.get("id"), ["speech", "voice", "id"])
            text = speech.get("text")
            if speech.get("type") == "text" and isinstance(text, str):
                if not text.strip():
                    self.issues.append({"code": "too_small", "minimum": 1, "origin": "string", "inclusive": True,
                                        "path": ["speech", "text"],
                                        "message": "Too small: expected string to have >=1 characters"})
                elif len(text) > 5000:  # mock bound
                    self.issues.append(too_big(["speech", "text"], 5000, "string",
                                               "Too big: expected string to have <=5000 characters"))

    def _persona(self, kind: str, ident: Any, path: list) -> None:
        """A custom voice or avatar must be the caller's, and READY."""
        status = self.known(kind, ident) if isinstance(ident, str) and self.known is not None else None
        if status is None:
            self.issues.append(custom(path, f"{kind.capitalize()} not found"))
        elif (issue := readiness_issue(kind, status, path)) is not None:
            self.issues.append(issue)

    def _range(self, name: str, low: float, high: float) -> None:
        value = self.body.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        if value < low:
            self.issues.append({"code": "too_small", "minimum": low, "origin": "number", "inclusive": True,
                                "path": [name], "message": f"Too small: expected number to be >={low}"})
        elif value > high:
            self.issues.append({"code": "too_big", "maximum": high, "origin": "number", "inclusive": True,
                                "path": [name], "message": f"Too big: expected number to be <={high}"})

    def _count(self, name: str, low: int, high: int) -> None:
        value = self.body.get(name)
        if value is None and low > 0 and name in FIELDS[self.endpoint][self.model]:
            return  # reported as missing if required; optional-but-needed is checked by its own rule
        if isinstance(value, list):
            if len(value) > high:
                self.issues.append({"code": "too_big", "maximum": high, "origin": "array", "inclusive": True,
                                    "path": [name], "message": f"Too big: expected array to have <={high} items"})
            elif len(value) < low:
                self.issues.append({"code": "too_small", "minimum": low, "origin": "array", "inclusive": True,
                                    "path": [name], "message": f"Too small: expected array to have >={low} items"})

    def _duration(self) -> None:
        value = self.body.get("duration")
        if value is None or isinstance(value, bool):
            return
        if value == "auto":
            if self.model not in AUTO:
                self.issues.append(invalid_type(["duration"], "int", value))
            return
        if not isinstance(value, int):
            return  # the type check reported it
        low, high, _ = DURATIONS.get(self.model, (1, 30, 5))
        choices = CHOICES.get(self.model)
        if choices and value not in choices:
            self.issues.append(invalid_value(["duration"], choices, value))
        elif not low <= value <= high:
            code, bound = ("too_big", "maximum") if value > high else ("too_small", "minimum")
            self.issues.append({"code": code, bound: high if value > high else low, "origin": "number",
                                "inclusive": True, "path": ["duration"],
                                "message": f"Duration must be between {low} and {high} seconds"})

    def _positions(self) -> None:
        images = self.body.get("promptImage")
        if not isinstance(images, list):
            return
        named = [item.get("position") for item in images
                 if isinstance(item, dict) and isinstance(item.get("position"), str)]
        if len(named) != len(set(named)):
            self.issues.append(custom(["promptImage"], "Duplicate position values are not allowed. Each position "
                                                       "(`first`, `last`) may only be used once."))
        elif named and "first" not in named and self.model.startswith(("veo", "gen4")):
            self.issues.append(custom(["promptImage"], "You must specify a frame in position `first`."))

    def _modes(self) -> None:
        body = self.body
        if self.endpoint == "video_to_video" and self.model == "seedance2_5":
            mode = body.get("mode", "reference")
            if mode in ("extend", "edit"):
                if not body.get("promptText"):
                    self.issues.append(invalid_type(["promptText"], "string", _MISSING))
                if body.get("ratio") is not None:
                    self.issues.append(custom(["ratio"], f"ratio is not accepted in {mode} mode"))
            if mode == "edit" and body.get("duration", "auto") != "auto":
                self.issues.append(custom(["duration"], 'edit mode requires duration "auto"'))
        if self.endpoint == "text_to_video" and self.model == "seedance2_5" and body.get("draftTaskId") is not None:
            others = sorted(k for k in body if k not in ("model", "draftTaskId") and body[k] is not None)
            if others:
                self.issues.append({"code": "unrecognized_keys", "keys": others, "path": [],
                                    "message": "No other fields are allowed with draftTaskId"})
        if self.model == "aleph2" and isinstance(body.get("keyframes"), list):
            ranged = [isinstance(k, dict) and k.get("range") is not None for k in body["keyframes"]]
            if any(ranged) and not all(ranged):
                self.issues.append(custom(["keyframes"], "Either every keyframe sets a range or none does"))


def _duration_of(body: dict, model: str) -> tuple[float, float]:
    """(output seconds, seconds billed up front) for a video generation."""
    _, high, default = DURATIONS.get(model, (1, 30, 5))
    value = body.get("duration")
    if value == "auto":
        return float(default), float(high)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value), float(value)
    return float(default), float(default)


def _input_seconds(sizes: list[int]) -> float:
    """How long an input video or audio is: from its upload's size at ~1 Mbit/s, else the mock's 5 s."""
    if sizes:
        return min(30.0, max(1.0, sizes[0] * 8 / 1_000_000))
    return INPUT_SECONDS


def _video_rate(model: str, body: dict, size: tuple[int, int]) -> float:
    rate = VIDEO_RATE.get(model, 10)
    short = min(size)
    if model in ("veo3.1", "veo3.1_fast") and body.get("audio") is False:
        rate = 20 if model == "veo3.1" else 10
    if model == "seedance2":
        rate = 150 if short >= 2160 else 40 if short >= 1080 else 36
    if model == "grok_imagine_1_5":
        rate = 11 if short <= 480 else 16.25 if short <= 720 else 22  # 1080p: mock
    if model == "happyhorse_1_0" and short >= 1080:
        rate = 30
    if model == "ruby":  # "All five profiles bill at the same rate: 20 credits per second ... 40 ... above 4 MP"
        rate = 40 if size[0] * size[1] > 2560 * 1440 else 20
    fmt = body.get("outputFormat")
    if model in ("gen4.5", "aleph2") and isinstance(fmt, str) and fmt != "mp4":
        if fmt in TENBIT:
            rate += 40 if size[0] * size[1] > 2560 * 1440 else 20
        else:
            rate += 5
    return rate


def plan(endpoint: str, model: str, body: dict, checker: Checker, fps: int) -> Generation:
    """The output and the cost of a validated request."""
    if endpoint in COMPOSITE:
        return _plan_composite(endpoint, model, body, checker, fps)
    kind = KIND[endpoint]
    inputs = []
    if isinstance(body.get("promptText"), str):
        inputs.append("text")
    for name, media in (("promptImage", IMAGE), ("references", IMAGE), ("referenceImages", IMAGE),
                        ("imageUri", IMAGE), ("character", IMAGE), ("videoUri", VIDEO), ("promptVideo", VIDEO),
                        ("reference", VIDEO), ("media", AUDIO), ("audioUri", AUDIO)):
        value = body.get(name)
        if isinstance(value, dict) and value.get("type") in (IMAGE, VIDEO, AUDIO):
            media = value["type"]  # character / reference / media name their own kind
        if value is not None and media not in inputs:
            inputs.append(media)
    if kind == VIDEO:
        audio = bool(body.get("audio", model.startswith(("veo", "seedance", "wan", "kling3", "klingO3"))))
        size = frame_size(body.get("ratio") or body.get("targetAspectRatio"), body.get("resolution"), 4096)
        if endpoint == "video_upscale":
            size = frame_size("16:9", body.get("resolution", "2k"), 4096) if model != "enhance_frame_rate" else (
                1280, 720)
        if endpoint in ("image_to_video", "text_to_video"):
            seconds, billed = _duration_of(body, model)
        elif endpoint == "video_to_video" and body.get("duration") not in (None, "auto"):
            seconds, billed = _duration_of(body, model)
            if body.get("mode") == "extend":
                seconds = billed = _input_seconds(checker.upload_sizes) + seconds
        else:
            seconds = billed = _input_seconds(checker.upload_sizes)
        seconds = min(max(seconds, 1.0), MAX_DURATION)
        rate = _video_rate(model, body, size)
        credits = rate * seconds
        estimate = rate * billed
        if model == "aleph2":
            credits, estimate = max(credits, 56), max(estimate, 56)
        if model == "magnific_video_upscaler_creative":
            credits = estimate = 150 if max(size) > 4096 or body.get("resolution") == "4k" else 25
        output = formats.delivered(endpoint, body, VideoSpec(size[0], size[1], round(seconds, 3), fps, audio))
        return Generation(endpoint, model, kind, output, 1, credits, estimate, inputs,
                          {"draft": True} if body.get("draft") else {})
    if kind == IMAGE:
        if endpoint == "image_upscale":
            factor = body.get("scaleFactor", 2)
            width, height = _fit(1024 * factor, 1024 * factor, 8192)
            fmt = "png"
            count = 1
            rate = 150 if 1024 * factor > 4096 else 25
        else:
            width, height = frame_size(body.get("ratio") or "auto", None, 8192, (1024, 1024))
            fmt = body.get("outputFormat") if body.get("outputFormat") in ("png", "jpeg", "webp") else "png"
            if model == "recraft_v4_1_vector":
                fmt = "svg"
            count = body.get("outputCount", 1) if isinstance(body.get("outputCount"), int) else 1
            rate = QUALITY_RATE.get(model, {}).get(body.get("quality"), IMAGE_RATE.get(model, DEFAULT_IMAGE_RATE))
            if model == "gen4_image" and min(width, height) >= 1080:
                rate = 8
            if model == "gemini_image3_pro" and max(width, height) >= 3840:
                rate = 40
            if model == "bria_fibo_1_5" and width * height > 2_000_000:
                rate = 10
            refs = body.get("referenceImages")
            if model.startswith(("gpt_image_2_5", "grok_imagine_image_2")) and isinstance(refs, list):
                rate += len(refs)
        # gpt-image's transparent background: an image with an alpha channel (PNG here, as it has no outputFormat)
        output = ImageSpec(width, height, fmt, alpha=body.get("background") == "transparent" and fmt in ALPHA_FORMATS)
        return Generation(endpoint, model, kind, output, count, rate * count, rate * count, inputs)
    # audio
    text = body.get("promptText") if isinstance(body.get("promptText"), str) else ""
    fmt = body.get("format") or body.get("outputFormat") or "mp3"
    fmt = fmt if fmt in ("mp3", "wav", "flac", "ogg_opus") else "mp3"
    count = body.get("numVariants", 1) if isinstance(body.get("numVariants"), int) else 1
    if endpoint in ("sound_effect", "video_to_audio"):
        duration = body.get("duration")
        seconds = float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else 5.0
        credits = 2 if model == "eleven_text_to_sound_v2" else math.ceil(seconds)
    elif endpoint == "text_to_speech":
        seconds = max(1.0, len(text) / 15)
        credits = math.ceil(len(text) / 50)
    else:
        seconds = _input_seconds(checker.upload_sizes) * 2
        per = {"speech_to_speech": 3, "voice_isolation": 6, "voice_dubbing": 2}[endpoint]
        credits = math.ceil(seconds / per)
    output = AudioSpec(round(min(max(seconds, 0.5), 600.0), 3), fmt)
    return Generation(endpoint, model, kind, output, count, credits * count, credits * count, inputs)


COMPOSITE = {"avatar_videos", *SELECTOR}
IMAGE_INPUTS = ("referenceImage", "image", "firstFrame", "productImages", "styleImages", "newProductImages",
                "originalProductImage", "characterImage", "productImage")


def _plan_composite(endpoint: str, model: str, body: dict, checker: Checker, fps: int) -> Generation:
    """Avatar videos and recipes: a video or images made from images, a video, speech or prompts."""
    kind = KIND[endpoint]
    if endpoint in SELECTOR:  # a recipe's tasks name the recipe as their model
        model = endpoint.partition("/")[2]
    speech = body.get("speech") if isinstance(body.get("speech"), dict) else {}
    inputs = []
    if any(isinstance(body.get(name), str) for name in ("prompt", "productInfo", "userConcept")) or (
            speech.get("type") == "text") or isinstance(body.get("shots"), list):
        inputs.append("text")
    if body.get("avatar") is not None or any(body.get(name) is not None for name in IMAGE_INPUTS):
        inputs.append(IMAGE)
    if body.get("referenceVideo") is not None:
        inputs.append(VIDEO)
    if speech.get("type") == "audio":
        inputs.append(AUDIO)
    if kind == IMAGE:
        count = body.get("outputCount", 1) if isinstance(body.get("outputCount"), int) else 1
        rate = RECIPE_RATE[IMAGE] * {"low": 0.5, "high": 2}.get(body.get("quality"), 1)
        return Generation(endpoint, model, kind, ImageSpec(1024, 1024, "png"), count, rate * count, rate * count,
                          inputs)
    if endpoint == "avatar_videos":
        text = speech.get("text")
        seconds = len(text) / SPEECH_CHARS_PER_SECOND if isinstance(text, str) else _input_seconds(
            checker.upload_sizes)
        seconds = min(max(seconds, 1.0), MAX_DURATION)
        upfront, per, every = AVATAR_CREDITS
        credits = upfront + per * math.ceil(seconds / every)
        output = VideoSpec(720, 1280, round(seconds, 3), fps, True)
        return Generation(endpoint, model, kind, output, 1, credits, credits, inputs)
    _, _, default = RECIPE_DURATIONS[endpoint]
    duration = body.get("duration")
    seconds = float(duration) if isinstance(duration, int) and not isinstance(duration, bool) else float(default)
    if endpoint == "recipes/product_swap" and duration is None:
        seconds = _input_seconds(checker.upload_sizes)
    shots = body.get("shots")
    if body.get("mode") == "custom" and isinstance(shots, list) and duration is None:
        seconds = float(sum(shot["duration"] for shot in shots
                            if isinstance(shot, dict) and isinstance(shot.get("duration"), int)) or default)
    seconds = min(max(seconds, 1.0), MAX_DURATION)
    size = frame_size(body.get("ratio"), body.get("resolution"), 4096)
    audio = body.get("audio") is not False
    credits = RECIPE_RATE[VIDEO] * seconds
    return Generation(endpoint, model, kind, VideoSpec(size[0], size[1], round(seconds, 3), fps, audio), 1, credits,
                      credits, inputs)


def upload_issues(body: dict, checker: Checker) -> list[dict[str, Any]]:
    """Issues for ``runway://`` URIs in a legacy-model body's ``promptImage`` that name no finished upload."""
    images = body.get("promptImage")
    found: list[tuple[list, str]] = []
    if isinstance(images, str):
        found.append((["promptImage"], images))
    elif isinstance(images, list):
        found += [(["promptImage", i, "uri"], item["uri"]) for i, item in enumerate(images)
                  if isinstance(item, dict) and isinstance(item.get("uri"), str)]
    issues: list[dict[str, Any]] = []
    for path, uri in found:
        if uri.startswith("runway://"):
            issues += checker.uri(uri, path, IMAGE)
    return issues


def validate(endpoint: str, body: Any, uploads: UploadLookup, fps: int,
             known: Known | None = None) -> Generation | list[dict[str, Any]]:
    """The generation a request asks for, or the Zod-style issues that reject it."""
    if not isinstance(body, dict):
        return [invalid_type([], "object", body)]
    models = FIELDS[endpoint]
    selector = SELECTOR.get(endpoint, "model")
    name = body.get(selector, _MISSING)
    if name is _MISSING or name is None:
        return [invalid_type([selector], "string", _MISSING)]
    if not isinstance(name, str) or name not in models:
        return [invalid_value([selector], tuple(models), name)]
    checker = Checker(endpoint, name, body, uploads, known)
    checker.run()
    if checker.issues:
        return checker.issues
    return plan(endpoint, name, body, checker, fps)


def usage_of(found: Generation) -> dict[str, Any]:
    """What the cost ledger prices a task by (seconds, images, audio, resolution)."""
    out = found.output
    if isinstance(out, DeliverySpec):
        out = out.video
    if isinstance(out, VideoSpec):
        return {"seconds": out.duration, "audio": out.audio, "resolution": f"{min(out.width, out.height)}p"}
    if isinstance(out, ImageSpec):
        return {"images": found.outputs, "resolution": f"{min(out.width, out.height)}p"}
    return {"seconds": out.duration * found.outputs}


def all_models() -> list[str]:
    """Every model any generation endpoint of runwayml 5.24.0 takes."""
    seen: dict[str, None] = {}
    for endpoint, models in FIELDS.items():
        if endpoint in SELECTOR:
            continue
        for name in models:
            seen.setdefault(name, None)
    return list(seen)
