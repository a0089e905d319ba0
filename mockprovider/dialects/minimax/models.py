"""MiniMax's Hailuo video models (v1 API), what each makes, and request validation.

A rejected request is answered, as MiniMax does, with HTTP 200 and ``base_resp.status_code`` 2013 (invalid
params) and a message naming the field. Costs are US dollars per video (list prices, approximate): they drive
the profile's ``credits`` limit, so ``credits: 10`` is a $10 balance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...web.values import http_url
from . import images

T2V, I2V, FL2V, S2V = "t2v", "i2v", "fl2v", "s2v"
MAX_PROMPT = 2000
MAX_CALLBACK_URL = 2048
SHORT_SIDE = {"512P": 512, "720P": 720, "768P": 768, "1080P": 1080}
FPS = 24

HAILUO_23 = {"768P": (6, 10), "1080P": (6,)}
HAILUO_02_I2V = {"512P": (6, 10), "768P": (6, 10), "1080P": (6,)}
V01 = {"720P": (6,)}


@dataclass(frozen=True)
class Model:
    name: str
    modes: dict[str, dict[str, tuple[int, ...]]]  # mode -> resolution -> durations
    default_resolution: str
    prices: dict[tuple[str, int], float]  # (resolution, seconds) -> USD
    fast_pretreatment: bool = False


def _hailuo_prices(scale: float) -> dict[tuple[str, int], float]:
    return {("512P", 6): round(0.10 * scale, 3), ("512P", 10): round(0.15 * scale, 3),
            ("768P", 6): round(0.28 * scale, 3), ("768P", 10): round(0.56 * scale, 3),
            ("1080P", 6): round(0.49 * scale, 3)}


MODELS: dict[str, Model] = {m.name: m for m in (
    Model("MiniMax-Hailuo-2.3", {T2V: HAILUO_23, I2V: HAILUO_23}, "768P", _hailuo_prices(1.0), True),
    Model("MiniMax-Hailuo-2.3-Fast", {I2V: HAILUO_23}, "768P", _hailuo_prices(0.5), True),
    Model("MiniMax-Hailuo-02", {T2V: HAILUO_23, I2V: HAILUO_02_I2V, FL2V: HAILUO_23}, "768P",
          _hailuo_prices(1.0), True),
    Model("T2V-01-Director", {T2V: V01}, "720P", {("720P", 6): 0.43}),
    Model("T2V-01", {T2V: V01}, "720P", {("720P", 6): 0.43}),
    Model("I2V-01-Director", {I2V: V01}, "720P", {("720P", 6): 0.43}),
    Model("I2V-01-live", {I2V: V01}, "720P", {("720P", 6): 0.43}),
    Model("I2V-01", {I2V: V01}, "720P", {("720P", 6): 0.43}),
    Model("S2V-01", {S2V: V01}, "720P", {("720P", 6): 0.65}),
)}

MODE_NAMES = {T2V: "text-to-video", I2V: "image-to-video", FL2V: "first-last-frame", S2V: "subject reference"}


@dataclass(frozen=True)
class Invalid:
    code: int
    message: str


@dataclass(frozen=True)
class Params:
    model: Model
    mode: str
    duration: int
    resolution: str
    callback_url: str | None
    image_size: tuple[int, int] | None  # the first frame's size when it was sent inline
    watermark: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """The output takes the first frame's aspect ratio; text-to-video is 16:9."""
        short = SHORT_SIDE[self.resolution]
        w, h = self.image_size or (16, 9)
        long_side = round(short * max(w, h) / min(w, h) / 2) * 2
        return (long_side, short) if w >= h else (short, long_side)

    @property
    def price(self) -> float:
        return self.model.prices.get((self.resolution, self.duration), 0.0)


class Reject(Exception):
    def __init__(self, message: str, code: int = 2013) -> None:
        super().__init__(message)
        self.invalid = Invalid(code, message)


def _bool(body: dict, field: str) -> bool | None:
    value = body.get(field)
    if value is not None and not isinstance(value, bool):
        raise Reject(f"invalid params, {field} must be a boolean")
    return value


def _image(body: dict, field: str) -> tuple[bool, tuple[int, int] | None]:
    value = body.get(field)
    if value is None:
        return False, None
    found = images.check(value, field)
    if isinstance(found, str):
        raise Reject(f"invalid params, {found}")
    return True, found


def _subject(body: dict) -> bool:
    value = body.get("subject_reference")
    if value is None:
        return False
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise Reject("invalid params, subject_reference must be an array of exactly one subject")
    subject = value[0]
    if subject.get("type") != "character":
        raise Reject("invalid params, subject_reference[0].type must be 'character'")
    pictures = subject.get("image")
    if not isinstance(pictures, list) or len(pictures) != 1:
        raise Reject("invalid params, subject_reference[0].image must be an array of one image")
    found = images.check(pictures[0], "subject_reference[0].image[0]")
    if isinstance(found, str):
        raise Reject(f"invalid params, {found}")
    return True


def checked(body: Any, fields: Callable[[dict], Any]) -> Any:
    """``fields(body)`` for a JSON object, or the ``Invalid`` answer a ``Reject`` on the way (or another body) gives."""
    if not isinstance(body, dict):
        return Invalid(2013, "invalid params, the request body must be a JSON object")
    try:
        return fields(body)
    except Reject as exc:
        return exc.invalid


def validate(body: Any) -> Params | Invalid:
    return checked(body, _validate)


def _validate(body: dict) -> Params:
    name = body.get("model")
    if name is None:
        raise Reject("invalid params, model is required")
    if name in ("MiniMax-H3", "MiniMax-H3-Max"):
        raise Reject(f"invalid params, {name} is served by POST /v2/video_generation (the content list)")
    if not isinstance(name, str) or name not in MODELS:
        shown = name[:64] if isinstance(name, str) else name if isinstance(name, (int, float, bool)) else "?"
        raise Reject(f"invalid params, unknown model: {shown}; supported models: {', '.join(MODELS)}")
    model = MODELS[name]
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise Reject("invalid params, prompt must be a string")
    if prompt is not None and len(prompt) > MAX_PROMPT:
        raise Reject(f"invalid params, prompt exceeds {MAX_PROMPT} characters")
    for flag in ("prompt_optimizer", "fast_pretreatment", "aigc_watermark"):
        _bool(body, flag)
    has_first, image_size = _image(body, "first_frame_image")
    has_last, last_size = _image(body, "last_frame_image")
    has_subject = _subject(body)
    if has_last and not has_first:
        raise Reject("invalid params, last_frame_image needs first_frame_image")
    mode = S2V if has_subject else FL2V if has_last else I2V if has_first else T2V
    if has_subject and has_first:
        raise Reject("invalid params, subject_reference cannot be combined with first_frame_image")
    if mode not in model.modes:
        if mode == T2V:
            needed = "subject_reference" if S2V in model.modes else "first_frame_image"
            raise Reject(f"invalid params, {needed} is required for {model.name}")
        raise Reject(f"invalid params, {model.name} does not support {MODE_NAMES[mode]} generation")
    if mode == T2V and not (prompt or "").strip():
        raise Reject("invalid params, prompt is required for text-to-video")
    table = model.modes[mode]
    resolution = body.get("resolution")
    if resolution is None:
        resolution = model.default_resolution if model.default_resolution in table else next(iter(table))
    if not isinstance(resolution, str) or resolution not in table:
        shown = resolution[:16] if isinstance(resolution, str) else "?"
        raise Reject(f"invalid params, resolution {shown} is not supported by {model.name} for "
                     f"{MODE_NAMES[mode]}; supported: {', '.join(table)}")
    duration = body.get("duration", 6)
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise Reject("invalid params, duration must be an integer number of seconds (6 or 10)")
    if duration not in table[resolution]:
        allowed = ", ".join(str(d) for d in table[resolution])
        raise Reject(f"invalid params, duration {duration if abs(duration) < 10**6 else '?'} is not supported "
                     f"by {model.name} at {resolution}; supported: {allowed}")
    callback = body.get("callback_url")
    if callback is not None and (not isinstance(callback, str) or len(callback) > MAX_CALLBACK_URL
                                 or not _is_url(callback)):
        raise Reject("invalid params, callback_url must be an http(s) URL")
    return Params(model=model, mode=mode, duration=duration, resolution=resolution, callback_url=callback or None,
                  image_size=image_size or last_size, watermark=bool(body.get("aigc_watermark")))


def _is_url(value: str) -> bool:
    return http_url(value, max_length=MAX_CALLBACK_URL) is not None
