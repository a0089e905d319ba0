"""MiniMax's v2 video API (MiniMax-H3, MiniMax-H3-Max): the ``content`` list of a create request, checked per model.

Sources (the official pages are not stored here; every choice below is [2nd], the wire shape UNCONFIRMED):
- a TypeScript validator transcribed from the OpenAPI document of platform.minimax.io's
  ``video-generation-v2-create`` page (2026-08-13): ``content`` items ``{"type": "image_url", "image_url": {"url"}}``,
  exactly one non-empty ``text`` item (at most 7000 characters), roles, caps (1 first frame, 1 last frame,
  9 reference images, 3 videos, 3 audios), frames and references mutually exclusive, ``ratio`` required and
  concrete for text-to-video, ``resolution`` 768P | 2K and ``duration`` 4-15 both required, $0.08/s (768P),
  $0.13/s (2K), the first 5 images free then $0.04 each;
- Comfy Router's schema of the same API (``ratio`` adaptive | 21:9 | 16:9 | 4:3 | 1:1 | 3:4 | 9:16, ignored for
  first/last frames; ``seed`` -1 .. 2^32-1; ``aigc_watermark``; ``callback_url``; ``mm_file://{file_id}``);
- third-party clients of ``/v2`` for H3-Max: 480P | 768P, 5-15 s, no references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...web.values import http_url
from . import images, models
from .models import Invalid

T2V, FIRST, LAST, FL2V, R2V = "t2v", "i2v", "last_frame", "fl2v", "r2v"
MODE_NAMES = {T2V: "text-to-video", FIRST: "first-frame", LAST: "last-frame", FL2V: "first-last-frame",
              R2V: "reference-to-video"}
TYPES = {"text": None, "image_url": ("first_frame", "last_frame", "reference_image"),
         "video_url": ("reference_video",), "audio_url": ("reference_audio",)}
CAPS = {"first_frame": 1, "last_frame": 1, "reference_image": 9, "reference_video": 3, "reference_audio": 3}
REFERENCES = ("reference_image", "reference_video", "reference_audio")
RATIOS = ("adaptive", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
SHORT_SIDE = {"480P": 480, "768P": 768, "2K": 1440}  # 2K = 2560x1440 at 16:9 [2nd]
MAX_TEXT = 7000
MAX_ITEMS = 32  # mock: the caps above allow 17 items; a longer list is refused before it is read
MAX_URL = 4096
MAX_CALLBACK_URL = 2048
MAX_SEED = 2**32 - 1
FREE_IMAGES, EXTRA_IMAGE_USD = 5, 0.04
MEDIA_PREFIX = {"video_url": "data:video/", "audio_url": "data:audio/"}


@dataclass(frozen=True)
class V2Model:
    name: str
    resolutions: tuple[str, ...]
    durations: range
    references: bool
    usd_per_second: dict[str, float]


V2_MODELS: dict[str, V2Model] = {m.name: m for m in (
    V2Model("MiniMax-H3", ("768P", "2K"), range(4, 16), True, {"768P": 0.08, "2K": 0.13}),
    # mock: no published H3-Max rate; charged as H3 at 768P so that credit limits apply to it
    V2Model("MiniMax-H3-Max", ("480P", "768P"), range(5, 16), False, {"480P": 0.08, "768P": 0.08}),
)}


@dataclass(frozen=True)
class V2Params:
    model: V2Model
    mode: str
    resolution: str
    duration: int
    ratio: str  # as asked ("adaptive" when absent)
    callback_url: str | None
    images: int  # image items, for the surcharge and the usage
    image_size: tuple[int, int] | None  # the first inline image's size (the output follows it)

    @property
    def size(self) -> tuple[int, int]:
        """Frames take the image's aspect ratio (16:9 when it was only linked); text-to-video and references
        the ratio asked for (references with ``adaptive``: the image's, else 16:9; mock)."""
        short = SHORT_SIDE[self.resolution]
        if self.mode in (FIRST, LAST, FL2V) or self.ratio == "adaptive":
            w, h = self.image_size or (16, 9)
        else:
            w, h = (int(part) for part in self.ratio.split(":"))
        long_side = round(short * max(w, h) / min(w, h) / 2) * 2
        return (long_side, short) if w >= h else (short, long_side)

    @property
    def price(self) -> float:
        extra = max(self.images - FREE_IMAGES, 0) * EXTRA_IMAGE_USD
        return round(self.model.usd_per_second[self.resolution] * self.duration + extra, 4)


class Reject(models.Reject):
    def __init__(self, message: str) -> None:
        super().__init__(f"invalid params, {message}")


def validate_v2(body: Any) -> V2Params | Invalid:
    return models.checked(body, _validate)


def _shown(value: Any, limit: int = 64) -> str:
    if isinstance(value, str):
        return value[:limit]
    return str(value)[:limit] if isinstance(value, (int, float, bool)) else "?"


def _media_url(item: dict, kind: str, where: str) -> tuple[int, int] | None:
    """The item's URL checked; the size of an inline image (None otherwise)."""
    source = item.get(kind)
    # the OpenAPI form is an object with ``url``; a bare string (the form one MCP client sends) is taken too (mock)
    url = source.get("url") if isinstance(source, dict) else source
    field = f"{where}.{kind}.url" if isinstance(source, dict) else f"{where}.{kind}"
    if not isinstance(url, str) or not url.strip():
        raise Reject(f"{field} is required: a public URL, mm_file://{{file_id}} or a data URI")
    if url.startswith("mm_file://"):
        if not url[len("mm_file://"):].isdigit() or len(url) > 64:
            raise Reject(f"{field} must be mm_file://<file_id>")
        return None
    if kind == "image_url":
        found = images.check(url, field)
        if isinstance(found, str):
            raise Reject(found)
        return found
    if url.startswith(("http://", "https://")):
        if http_url(url, max_length=MAX_URL) is None:
            raise Reject(f"{field} is not a valid URL")
        return None
    if not url.startswith(MEDIA_PREFIX[kind]) or ";base64," not in url[:128]:
        raise Reject(f"{field} must be a public URL, mm_file://{{file_id}} or a {MEDIA_PREFIX[kind]}...;base64, URI")
    return None


def _content(content: Any) -> tuple[dict[str, int], int, tuple[int, int] | None]:
    """Counts per role, the image count and the first inline image's size."""
    if not isinstance(content, list) or not content:
        raise Reject("content is required: a list with one text item and the media items")
    if len(content) > MAX_ITEMS:
        raise Reject(f"content holds at most {MAX_ITEMS} items")
    counts = dict.fromkeys(CAPS, 0)
    texts = 0
    image_items = [i for i in content if isinstance(i, dict) and i.get("type") == "image_url"]
    size: tuple[int, int] | None = None
    for index, item in enumerate(content):
        where = f"content[{index}]"
        if not isinstance(item, dict):
            raise Reject(f"{where} must be an object")
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in TYPES:
            raise Reject(f"{where}.type must be one of {', '.join(TYPES)}; got {_shown(kind)}")
        if kind == "text":
            text = item.get("text")
            if not isinstance(text, str) or not text.strip():
                raise Reject(f"{where}.text must be a non-empty string")
            if len(text) > MAX_TEXT:
                raise Reject(f"{where}.text exceeds {MAX_TEXT} characters")
            texts += 1
            continue
        roles = TYPES[kind]
        role = item.get("role")
        if role is None:
            # "a single image with no role defaults to first_frame" [2nd]; a video or audio has one role only
            if kind == "image_url" and len(image_items) > 1:
                raise Reject(f"{where}.role is required when the request holds more than one image")
            role = roles[0]
        if not isinstance(role, str) or role not in roles:
            raise Reject(f"{where}.role must be one of {', '.join(roles)} for {kind}; got {_shown(role)}")
        found = _media_url(item, kind, where)
        if size is None and found is not None:
            size = found
        counts[role] += 1
        if counts[role] > CAPS[role]:
            raise Reject(f"at most {CAPS[role]} {role} item{'s' if CAPS[role] > 1 else ''} per request")
    if texts != 1:
        raise Reject("content must hold exactly one non-empty text item (the prompt)")
    return counts, len(image_items), size


def _validate(body: dict) -> V2Params:
    name = body.get("model")
    if name is None:
        raise Reject("model is required")
    if not isinstance(name, str) or name not in V2_MODELS:
        raise Reject(f"unknown model for /v2/video_generation: {_shown(name)}; supported models: "
                     f"{', '.join(V2_MODELS)} (the Hailuo models are served by /v1/video_generation)")
    model = V2_MODELS[name]
    counts, image_count, size = _content(body.get("content"))
    frames = counts["first_frame"] + counts["last_frame"]
    references = sum(counts[r] for r in REFERENCES)
    if frames and references:
        raise Reject("first_frame/last_frame and reference_* items cannot be combined in one request")
    if references:
        mode = R2V
    elif counts["first_frame"] and counts["last_frame"]:
        mode = FL2V
    else:
        mode = FIRST if counts["first_frame"] else LAST if counts["last_frame"] else T2V
    if mode == R2V and not model.references:
        raise Reject(f"{model.name} does not support reference-to-video (reference_* items)")
    resolution = body.get("resolution")
    if resolution is None:
        raise Reject(f"resolution is required: {', '.join(model.resolutions)}")
    if not isinstance(resolution, str) or resolution not in model.resolutions:
        raise Reject(f"resolution {_shown(resolution, 16)} is not supported by {model.name}; "
                     f"supported: {', '.join(model.resolutions)}")
    duration = body.get("duration")
    low, high = model.durations[0], model.durations[-1]
    if duration is None:
        raise Reject(f"duration is required: an integer number of seconds, {low}-{high}")
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise Reject(f"duration must be an integer number of seconds, {low}-{high}")
    if duration not in model.durations:
        raise Reject(f"duration {duration if abs(duration) < 10**6 else '?'} is not supported by {model.name}; "
                     f"supported: {low}-{high} seconds")
    ratio = body.get("ratio", "adaptive")
    if not isinstance(ratio, str) or ratio not in RATIOS:
        raise Reject(f"ratio must be one of {', '.join(RATIOS)}; got {_shown(ratio, 16)}")
    if mode == T2V and ratio == "adaptive":
        raise Reject("ratio is required for text-to-video and cannot be adaptive: "
                     + ", ".join(RATIOS[1:]))
    for flag in ("aigc_watermark", "prompt_optimizer"):
        if body.get(flag) is not None and not isinstance(body[flag], bool):
            raise Reject(f"{flag} must be a boolean")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not -1 <= seed <= MAX_SEED):
        raise Reject(f"seed must be an integer between -1 and {MAX_SEED}")
    callback = body.get("callback_url")
    if callback is not None and (not isinstance(callback, str)
                                 or http_url(callback, max_length=MAX_CALLBACK_URL) is None):
        raise Reject("callback_url must be an http(s) URL")
    return V2Params(model=model, mode=mode, resolution=resolution, duration=duration, ratio=ratio,
                    callback_url=callback or None, images=image_count, image_size=size)
