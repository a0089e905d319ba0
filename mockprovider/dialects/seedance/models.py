"""Seedance models on BytePlus ModelArk and request validation, as byteplus-python-sdk-v2 (Ark runtime) sends them.

The SDK sends every optional field, as ``null`` when unset: ``null`` means absent. A rejected request raises
``Invalid`` with ModelArk's status, code and the parameter it names.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Any

from ...media.imagesize import image_size as read_size
from ...web.values import http_url, parse_int

T2V = "t2v"
FIRST = "first_frame"
FIRST_LAST = "first_last_frame"
REFERENCE = "reference"

RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
ADAPTIVE = "adaptive"
SERVICE_TIERS = ("default", "flex")
ROLES = ("first_frame", "last_frame", "reference_image")
FPS = 24
MAX_SEED = 2**32 - 1
EXPIRES_RANGE = (3600, 259200)
DEFAULT_EXPIRES = 172800
MAX_URL = 2048
MAX_IMAGE_BYTES = 30 * 2**20
MAX_CONTENT_ITEMS = 64  # Seedance 2.5: a text, 30 images, 10 videos and 10 audios
MAX_PROMPT = 10_000
MAX_CALLBACK_URL = 2048
MAX_SAFETY_ID = 256
DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg|webp|bmp|tiff|gif|heic|heif);base64,", re.I)
FLAG = re.compile(r"(?:^|\s)--(rs|resolution|rt|ratio|dur|duration|fps|framespersecond|wm|watermark|seed|cf|"
                  r"camerafixed|frames)\s+(\S+)")
FLAG_NAMES = {"rs": "resolution", "resolution": "resolution", "rt": "ratio", "ratio": "ratio", "dur": "duration",
              "duration": "duration", "fps": "fps", "framespersecond": "fps", "wm": "watermark",
              "watermark": "watermark", "seed": "seed", "cf": "camera_fixed", "camerafixed": "camera_fixed",
              "frames": "frames"}

# (resolution, ratio) -> (width, height). Seedance 1.0 sizes from BytePlus's table; 1.5 and 2.0 differ a little.
SIZES_V1 = {
    "480p": {"16:9": (864, 480), "4:3": (736, 544), "1:1": (640, 640), "3:4": (544, 736), "9:16": (480, 864),
             "21:9": (960, 416)},
    "720p": {"16:9": (1248, 704), "4:3": (1120, 832), "1:1": (960, 960), "3:4": (832, 1120), "9:16": (704, 1248),
             "21:9": (1504, 640)},
    "1080p": {"16:9": (1920, 1088), "4:3": (1664, 1248), "1:1": (1440, 1440), "3:4": (1248, 1664),
              "9:16": (1088, 1920), "21:9": (2176, 928)},
}
SIZES_V15 = {
    "480p": {"16:9": (864, 496), "4:3": (752, 560), "1:1": (640, 640), "3:4": (560, 752), "9:16": (496, 864),
             "21:9": (992, 432)},
    "720p": {"16:9": (1280, 720), "4:3": (1112, 834), "1:1": (960, 960), "3:4": (834, 1112), "9:16": (720, 1280),
             "21:9": (1470, 630)},
}
# Seedance 2.0 (not 2.0 fast) also renders 1080p [2nd: several resellers of the BytePlus/Volcano API]; its sizes
# are unpublished: 16:9 at 1920x1080 as 1.5's 720p is 1280x720, the other ratios as in the 1.0 table
SIZES_V20 = {**SIZES_V15, "1080p": {**SIZES_V1["1080p"], "16:9": (1920, 1080), "9:16": (1080, 1920)}}


@dataclass(frozen=True)
class Model:
    name: str
    modes: tuple[str, ...]
    resolutions: tuple[str, ...]
    default_resolution: str
    durations: tuple[int, int]
    usd_per_m_tokens: float
    sizes: dict
    audio: bool = False
    draft: bool = False
    frames: bool = False  # takes ``frames`` instead of ``duration``
    reference_images: tuple[int, int] = (0, 0)
    reference_videos: int = 0
    reference_audios: int = 0
    silent_usd_per_m_tokens: float | None = None
    audio_alone: bool = False  # reference audio without any image or video (2.5)


MODELS: dict[str, Model] = {m.name: m for m in (
    Model("seedance-1-0-lite-t2v-250428", (T2V,), ("480p", "720p", "1080p"), "720p", (2, 12), 1.8, SIZES_V1,
          frames=True),
    Model("seedance-1-0-lite-i2v-250428", (FIRST, FIRST_LAST, REFERENCE), ("480p", "720p", "1080p"), "720p",
          (2, 12), 1.8, SIZES_V1, frames=True, reference_images=(1, 4)),
    Model("seedance-1-0-pro-250528", (T2V, FIRST, FIRST_LAST), ("480p", "720p", "1080p"), "1080p", (2, 12), 2.5,
          SIZES_V1, frames=True),
    Model("seedance-1-0-pro-fast-251015", (T2V, FIRST), ("480p", "720p", "1080p"), "1080p", (2, 12), 1.0,
          SIZES_V1, frames=True),
    Model("seedance-1-5-pro-251215", (T2V, FIRST, FIRST_LAST), ("480p", "720p"), "720p", (4, 12), 2.4,
          SIZES_V15, audio=True, draft=True, silent_usd_per_m_tokens=1.2),
    Model("dreamina-seedance-2-0-260128", (T2V, FIRST, FIRST_LAST, REFERENCE), ("480p", "720p", "1080p"), "720p",
          (4, 15), 6.6, SIZES_V20, audio=True, reference_images=(0, 9), reference_videos=3, reference_audios=3),
    Model("dreamina-seedance-2-0-fast-260128", (T2V, FIRST, FIRST_LAST, REFERENCE), ("480p", "720p"), "720p",
          (4, 15), 5.3, SIZES_V15, audio=True, reference_images=(0, 9), reference_videos=3, reference_audios=3),
    # 2.0 mini and 2.5 (July 2026), from clients and rate cards of the BytePlus API [2nd]: 2.5 makes up to 30 s
    # and takes up to 30 images, 10 videos and 10 audios, audio alone too
    Model("dreamina-seedance-2-0-mini-260615", (T2V, FIRST, FIRST_LAST, REFERENCE), ("480p", "720p"), "720p",
          (4, 15), 3.5, SIZES_V15, audio=True, reference_images=(0, 9), reference_videos=3, reference_audios=3),
    Model("dreamina-seedance-2-5-260628", (T2V, FIRST, FIRST_LAST, REFERENCE), ("480p", "720p", "1080p"), "720p",
          (4, 30), 10.7, SIZES_V20, audio=True, reference_images=(0, 30), reference_videos=10, reference_audios=10,
          audio_alone=True),
)}


class Invalid(Exception):
    """A rejected request: ModelArk's HTTP status, error code and the parameter at fault."""

    def __init__(self, message: str, param: str = "", code: str = "InvalidParameter", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status


def bad(param: str, why: str) -> Invalid:
    return Invalid(f"The parameter `{param}` specified in the request is not valid: {why}.", param)


@dataclass(frozen=True, slots=True)
class Params:
    model: Model
    mode: str
    resolution: str
    ratio: str  # as requested ("adaptive" included)
    size: tuple[int, int]
    duration: int
    frames: int
    seed: int
    camera_fixed: bool
    watermark: bool
    generate_audio: bool
    draft: bool
    return_last_frame: bool
    service_tier: str
    expires_after: int
    priority: int
    callback_url: str | None
    safety_identifier: str | None
    reference_video: bool = False
    draft_task: str | None = None

    @property
    def tokens(self) -> int:
        """usage.completion_tokens: width x height x frames / 1024 (the docs' 5 s 720p sample: 108900)."""
        width, height = self.size
        return width * height * self.frames // 1024

    @property
    def usage(self) -> dict[str, Any]:
        """What the price book prices a task by (tokens, and the attributes its rates depend on)."""
        return {"tokens": self.tokens, "seconds": self.duration, "resolution": self.resolution,
                "audio": self.generate_audio, "video_input": self.mode == REFERENCE and self.reference_video,
                "service_tier": self.service_tier}

    @property
    def usd(self) -> float:
        model = self.model
        rate = model.usd_per_m_tokens
        if model.silent_usd_per_m_tokens is not None and not self.generate_audio:
            rate = model.silent_usd_per_m_tokens
        if self.service_tier == "flex":
            rate /= 2
        return round(self.tokens * rate / 1e6, 6)


def _bool(body: dict, field: str, default: bool) -> bool:
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad(field, "expected a boolean")
    return value


def _int(body: dict, field: str) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        raise bad(field, "expected an integer")
    return value


def _string(body: dict, field: str, limit: int) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(field, "expected a string")
    if len(value) > limit:
        raise bad(field, f"at most {limit} characters")
    return value


def image_size(url: str, param: str) -> tuple[int, int] | None:
    """(width, height) of a data-URI image, None for a URL (the size is not known without fetching it)."""
    if url.startswith(("http://", "https://")):
        if http_url(url, max_length=MAX_URL) is None:
            raise bad(param, "not a valid image URL")
        return None
    match = DATA_URI.match(url)
    if not match:
        raise bad(param, "expected an http(s) URL or a data:image/<format>;base64,... URI")
    encoded = url[match.end():]
    if len(encoded) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise bad(param, "the image is larger than 30 MB")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise bad(param, "the data URI is not valid base64") from None
    size = read_size(raw)
    if size is None or None in size:
        if match.group(1).lower() in ("png", "jpeg", "jpg", "webp"):
            raise bad(param, "the image cannot be decoded")
        return None
    width, height = size
    if min(width, height) <= 300 or max(width, height) >= 6000:
        raise bad(param, f"the image is {width}x{height}; sides must be over 300 px and under 6000 px")
    if not 0.4 <= width / height <= 2.5:
        raise bad(param, f"the image aspect ratio {width}:{height} is outside 0.4 to 2.5")
    return size


def nearest_ratio(size: tuple[int, int]) -> str:
    width, height = size
    aspect = width / height

    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(aspect - int(w) / int(h))

    return min(RATIOS, key=distance)


@dataclass
class Content:
    text: str
    images: list[tuple[str, tuple[int, int] | None]]  # (role, size)
    videos: int = 0
    audios: int = 0
    draft_task: str | None = None


def _content(value: Any) -> Content:
    if value is None:
        raise Invalid("The request failed because it is missing one or multiple required parameters: content.",
                      "content", "MissingParameter")
    if not isinstance(value, list) or not value:
        raise bad("content", "expected a non-empty array of content items")
    if len(value) > MAX_CONTENT_ITEMS:
        raise bad("content", f"at most {MAX_CONTENT_ITEMS} items")
    out = Content("", [])
    texts = 0
    for i, item in enumerate(value):
        where = f"content[{i}]"
        if not isinstance(item, dict):
            raise bad(where, "expected an object")
        kind = item.get("type")
        if kind == "text":
            text = item.get("text")
            if not isinstance(text, str):
                raise bad(f"{where}.text", "expected a string")
            if len(text) > MAX_PROMPT:
                raise bad(f"{where}.text", f"at most {MAX_PROMPT} characters")
            texts += 1
            if texts > 1:
                raise bad("content", "at most one text item")
            out.text = text
        elif kind == "image_url":
            image = item.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                raise bad(f"{where}.image_url.url", "expected a string")
            role = item.get("role")
            if role is not None and role not in ROLES:
                raise bad(f"{where}.role", "expected one of " + ", ".join(ROLES))
            out.images.append((role or "", image_size(image["url"], f"{where}.image_url.url")))
        elif kind in ("video_url", "audio_url"):
            media = item.get(kind)
            if not isinstance(media, dict) or not isinstance(media.get("url"), str):
                raise bad(f"{where}.{kind}.url", "expected a string")
            url = media["url"]
            if http_url(url, max_length=MAX_URL) is None and not (url.startswith("asset://") and len(url) < 256):
                raise bad(f"{where}.{kind}.url", "expected an http(s) URL")
            if kind == "video_url":
                out.videos += 1
            else:
                out.audios += 1
        elif kind == "draft_task":
            task = item.get("draft_task")
            if not isinstance(task, dict) or not isinstance(task.get("id"), str):
                raise bad(f"{where}.draft_task.id", "expected a string")
            out.draft_task = task["id"]
        else:
            raise bad(f"{where}.type", "expected one of text, image_url, video_url, audio_url, draft_task")
    return out


def _mode(content: Content, model: Model) -> str:
    roles = [role for role, _ in content.images]
    if content.videos or content.audios or "reference_image" in roles:
        if any(r in ("first_frame", "last_frame") for r in roles):
            raise bad("content", "reference images, videos or audio cannot be mixed with first or last frames")
        mode = REFERENCE
    elif not roles:
        mode = T2V
    elif len(roles) == 1:
        if roles[0] == "last_frame":
            raise bad("content", "a last frame needs a first frame")
        mode = FIRST
    elif len(roles) == 2 and sorted(r or "first_frame" for r in roles) in (["first_frame", "last_frame"],):
        mode = FIRST_LAST
    else:
        raise bad("content", "expected one first frame, a first and a last frame, or reference images")
    if mode not in model.modes:
        names = {T2V: "text-to-video", FIRST: "first-frame image-to-video", FIRST_LAST: "first-and-last-frame",
                 REFERENCE: "reference images"}
        raise bad("content", f"the model {model.name} does not support {names[mode]}")
    if mode == REFERENCE:
        low, high = model.reference_images
        count = roles.count("reference_image")
        if not low <= count <= high:
            raise bad("content", f"{model.name} takes {low} to {high} reference images")
        if content.videos > model.reference_videos or content.audios > model.reference_audios:
            raise bad("content", f"{model.name} takes at most {model.reference_videos} reference videos and "
                                 f"{model.reference_audios} reference audios")
        if content.audios and not count and not content.videos and not model.audio_alone:
            raise bad("content", "reference audio needs at least one image or video")
    if content.draft_task is not None and (mode != T2V or content.videos or content.audios):
        raise bad("content", "a draft_task item renders a draft as it is: it takes no images, videos or audio")
    if mode == T2V and not content.text.strip() and content.draft_task is None:
        raise Invalid("The request failed because it is missing one or multiple required parameters: "
                      "content (a text prompt).", "content", "MissingParameter")
    return mode


def _flags(text: str) -> dict[str, str]:
    """Legacy parameters appended to the prompt (``--rs 720p --dur 5``); explicit fields win over them."""
    return {FLAG_NAMES[name]: value for name, value in FLAG.findall(text)}


def _flag_value(field: str, raw: str) -> Any:
    if field in ("duration", "seed", "frames", "fps"):
        value = parse_int(raw, -(2**40), 2**40)
        if value is None:
            raise bad(field, f"--{field} expects an integer")
        return value
    if field in ("watermark", "camera_fixed"):
        if raw.lower() not in ("true", "false"):
            raise bad(field, f"--{field} expects true or false")
        return raw.lower() == "true"
    return raw


def resolve_model(body: dict, endpoints: dict[str, str]) -> Model:
    name = body.get("model")
    if name is None:
        raise Invalid("The request failed because it is missing one or multiple required parameters: model.",
                      "model", "MissingParameter")
    if not isinstance(name, str):
        raise bad("model", "expected a string")
    found = MODELS.get(endpoints.get(name, name))
    if found is None:
        raise Invalid(f"The model or endpoint {name[:200]} does not exist or you do not have access to it.",
                      "model", "InvalidEndpointOrModel.NotFound", 404)
    return found


def validate(body: Any, endpoints: dict[str, str] | None = None) -> Params:
    """The request's parameters, or ``Invalid``."""
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.", "", "InvalidParameter")
    model = resolve_model(body, endpoints or {})
    content = _content(body.get("content"))
    mode = _mode(content, model)
    flags = {k: _flag_value(k, v) for k, v in _flags(content.text).items()}
    merged = {**flags, **{k: v for k, v in body.items() if v is not None}}

    resolution = merged.get("resolution", model.default_resolution)
    if resolution not in model.resolutions:
        raise bad("resolution", f"{model.name} supports " + ", ".join(model.resolutions))
    default_ratio = ADAPTIVE if mode != T2V else "16:9"
    ratio = merged.get("ratio", default_ratio)
    if ratio not in (*RATIOS, ADAPTIVE):
        raise bad("ratio", "expected one of " + ", ".join((*RATIOS, ADAPTIVE)))
    effective = ratio
    if ratio == ADAPTIVE:
        first = next((size for role, size in content.images if role in ("", "first_frame", "reference_image")),
                     None)
        effective = nearest_ratio(first) if first else "16:9"

    draft = _bool(merged, "draft", False)
    if draft and not model.draft:
        raise bad("draft", f"{model.name} does not support draft mode")
    if draft:
        resolution = "480p"
    if content.draft_task is not None and not model.draft:
        raise bad("content", f"{model.name} does not render draft tasks")

    low, high = model.durations
    frames = _int(merged, "frames")
    duration = _int(merged, "duration")
    if frames is not None:
        if not model.frames:
            raise bad("frames", f"{model.name} takes duration, not frames")
        if not (29 <= frames <= 289 and (frames - 25) % 4 == 0):
            raise bad("frames", "expected 25 + 4n between 29 and 289")
        duration = max(low, min(high, round((frames - 1) / FPS)))
        frame_count = frames
    else:
        if duration is None:
            duration = 5
        if duration == -1 and model.audio:
            duration = high  # 1.5 and 2.0: -1 lets the model choose; the mock picks the longest
        if not low <= duration <= high:
            raise bad("duration", f"{model.name} supports {low} to {high} seconds")
        frame_count = duration * FPS + 1

    seed = _int(merged, "seed")
    if seed is None:
        seed = -1
    if not -1 <= seed <= MAX_SEED:
        raise bad("seed", f"expected -1 to {MAX_SEED}")
    generate_audio = _bool(merged, "generate_audio", model.audio)
    if generate_audio and not model.audio:
        raise bad("generate_audio", f"{model.name} does not generate audio")
    tier = merged.get("service_tier", "default")
    if tier not in SERVICE_TIERS:
        raise bad("service_tier", "expected default or flex")
    expires = _int(merged, "execution_expires_after")
    if expires is None:
        expires = DEFAULT_EXPIRES
    if not EXPIRES_RANGE[0] <= expires <= EXPIRES_RANGE[1]:
        raise bad("execution_expires_after", f"expected {EXPIRES_RANGE[0]} to {EXPIRES_RANGE[1]} seconds")
    priority = _int(merged, "priority") or 0
    if not 0 <= priority <= 10:
        raise bad("priority", "expected 0 to 10")
    callback = _string(merged, "callback_url", MAX_CALLBACK_URL)
    if callback is not None and http_url(callback, max_length=MAX_CALLBACK_URL) is None:
        raise bad("callback_url", "expected an http(s) URL")
    for field in ("output_format", "omni_reference_task_type"):
        _string(merged, field, 64)
    return Params(
        model=model, mode=mode, resolution=resolution, ratio=ratio, size=model.sizes[resolution][effective],
        duration=duration, frames=frame_count, seed=seed, camera_fixed=_bool(merged, "camera_fixed", False),
        watermark=_bool(merged, "watermark", False), generate_audio=generate_audio, draft=draft,
        return_last_frame=_bool(merged, "return_last_frame", False), service_tier=tier, expires_after=expires,
        priority=priority, callback_url=callback,
        safety_identifier=_string(merged, "safety_identifier", MAX_SAFETY_ID), reference_video=content.videos > 0,
        draft_task=content.draft_task,
    )
