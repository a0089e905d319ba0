"""Kling's models, their capabilities (the docs' "Capability Map") and request validation.

A rejected request gets one 1200-series code and a message that names the field, as Kling reports them.
Unit costs are approximate list prices per 5 s (they drive the profile's ``credits`` limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...web.values import brief, parse_int
from . import images

TEXT2VIDEO = "text2video"
IMAGE2VIDEO = "image2video"
KINDS = (TEXT2VIDEO, IMAGE2VIDEO)

MAX_PROMPT = 2500
MAX_SHOT_PROMPT = 512
MAX_EXTERNAL_ID = 512
MAX_CALLBACK_URL = 2048
RATIOS = ("16:9", "9:16", "1:1")
CAMERA_TYPES = ("simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
CLASSIC_DURATIONS = ("5", "10")
V3_DURATIONS = tuple(str(n) for n in range(3, 16))


@dataclass(frozen=True)
class Model:
    name: str
    kinds: tuple[str, ...]
    modes: tuple[str, ...]  # () = one fixed mode; a `mode` sent anyway is ignored
    height: dict[str, int]  # mode ("" when fixed) -> output height of a 16:9 video
    durations: tuple[str, ...] = CLASSIC_DURATIONS
    fps: int = 24
    cfg_scale: bool = False
    sound_modes: tuple[str, ...] = ()
    tail_modes: tuple[str, ...] = ()  # modes with a start/end frame (image_tail)
    camera: tuple[tuple[str, str, str], ...] = ()  # (kind, mode, duration) with camera control
    camera_simple_only: bool = False
    multi_shot: bool = False
    units: dict[str, float] | None = None  # mode -> units per 5 s
    sound_factor: float = 2.0  # units with sound on: v2-6 pro 2.5 -> 5 per 5 s; v3 0.6 -> 0.9 per second (x1.5)


SD = {"std": 720, "pro": 720}
HD = {"std": 720, "pro": 1080}

MODELS: dict[str, Model] = {m.name: m for m in (
    Model("kling-v1", KINDS, ("std", "pro"), SD, fps=30, cfg_scale=True, tail_modes=("std", "pro"),
          camera=((TEXT2VIDEO, "std", "5"),), units={"std": 1.0, "pro": 3.5}),
    Model("kling-v1-5", (IMAGE2VIDEO,), ("std", "pro"), HD, fps=30, cfg_scale=True, tail_modes=("pro",),
          camera=((IMAGE2VIDEO, "pro", "5"),), camera_simple_only=True, units={"std": 2.0, "pro": 3.5}),
    Model("kling-v1-6", KINDS, ("std", "pro"), HD, cfg_scale=True, tail_modes=("pro",),
          units={"std": 2.0, "pro": 3.5}),
    Model("kling-v2-master", KINDS, (), {"": 720}, units={"": 10.0}),
    Model("kling-v2-1", (IMAGE2VIDEO,), ("std", "pro"), HD, tail_modes=("pro",), units={"std": 2.0, "pro": 3.5}),
    Model("kling-v2-1-master", KINDS, (), {"": 1080}, units={"": 10.0}),
    Model("kling-v2-5-turbo", KINDS, ("std", "pro"), HD, tail_modes=("pro",), units={"std": 1.5, "pro": 2.5}),
    Model("kling-v2-6", KINDS, ("std", "pro"), HD, sound_modes=("pro",), tail_modes=("pro",),
          units={"std": 1.5, "pro": 2.5}),
    Model("kling-v3", KINDS, ("std", "pro"), HD, durations=V3_DURATIONS, sound_modes=("std", "pro"),
          tail_modes=("std", "pro"), multi_shot=True, units={"std": 3.0, "pro": 4.0}, sound_factor=1.5),
)}
DEFAULT_MODEL = "kling-v1"


@dataclass(frozen=True, slots=True)
class Invalid:
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class Params:
    model: Model
    kind: str
    mode: str
    duration: str
    aspect_ratio: str
    sound: bool
    watermark: bool
    callback_url: str | None
    external_task_id: str | None

    @property
    def size(self) -> tuple[int, int]:
        height = self.model.height[self.mode if self.model.modes else ""]
        long = height * 16 // 9
        return {"16:9": (long, height), "9:16": (height, long), "1:1": (height, height)}[self.aspect_ratio]

    @property
    def units(self) -> float:
        base = (self.model.units or {}).get(self.mode if self.model.modes else "", 1.0)
        return round(base * int(self.duration) / 5 * (self.model.sound_factor if self.sound else 1), 2)


class Reject(Exception):
    def __init__(self, message: str, code: int = 1201) -> None:
        super().__init__(message)
        self.invalid = Invalid(code, message)


def _string(body: dict, field: str, limit: int | None = None, required: bool = False) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise Reject(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise Reject(f"{field} must be a string")
    if limit is not None and len(value) > limit:
        raise Reject(f"{field} is too long: at most {limit} characters")
    return value


def _enum(body: dict, field: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(field)
    if value is None:
        return default
    if value not in allowed:
        raise Reject(f"{field} value {brief(value)} is invalid; expected one of {', '.join(allowed)}")
    return value


def _model(body: dict, kind: str) -> Model:
    name = body.get("model_name")
    if name is None:
        name = DEFAULT_MODEL  # the legacy `model` field also means the default model
    if not isinstance(name, str):
        raise Reject("model_name must be a string")
    model = MODELS.get(name)
    if model is None or kind not in model.kinds:
        names = ", ".join(n for n, m in MODELS.items() if kind in m.kinds)
        raise Reject(f"model_name value {brief(name)} is invalid for {kind}; expected one of {names}")
    return model


def _camera(body: dict, model: Model, kind: str, mode: str, duration: str) -> None:
    camera = body.get("camera_control")
    if camera is None:
        return
    if not isinstance(camera, dict):
        raise Reject("camera_control must be an object")
    kind_of = _enum(camera, "type", CAMERA_TYPES, "")
    if not kind_of:
        raise Reject("camera_control.type is required")
    config = camera.get("config")
    if kind_of == "simple":
        if not isinstance(config, dict):
            raise Reject("camera_control.config is required when camera_control.type is simple")
        moved = 0
        for axis, value in config.items():
            if axis not in CAMERA_AXES:
                raise Reject(f"camera_control.config.{axis} is not a camera axis")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not -10 <= value <= 10:
                raise Reject(f"camera_control.config.{axis} must be a number in [-10, 10]")
            moved += value != 0
        if moved != 1:
            raise Reject("camera_control.config must have exactly one non-zero value")
    elif config is not None:
        raise Reject(f"camera_control.config must be empty when camera_control.type is {kind_of}")
    if (kind, mode, duration) not in model.camera or (model.camera_simple_only and kind_of != "simple"):
        raise Reject(f"camera_control is not supported by {model.name} in {mode} mode at {duration}s")


def _multi_shot(body: dict, model: Model, duration: str) -> bool:
    """Whether the prompt may be left out (a customized multi-shot)."""
    multi = body.get("multi_shot")
    if multi is None or multi is False:
        return False
    if multi is not True:
        raise Reject("multi_shot must be a boolean")
    if not model.multi_shot:
        raise Reject(f"multi_shot is not supported by {model.name}")
    if body.get("shot_type") is None:
        raise Reject("shot_type is required when multi_shot is true")
    shot_type = _enum(body, "shot_type", ("customize", "intelligence"), "")
    if shot_type != "customize":
        return False
    shots = body.get("multi_prompt")
    if not isinstance(shots, list) or not 1 <= len(shots) <= 6:
        raise Reject("multi_prompt must be an array of 1 to 6 shots when shot_type is customize")
    total = 0
    for i, shot in enumerate(shots):
        if not isinstance(shot, dict):
            raise Reject(f"multi_prompt[{i}] must be an object")
        if isinstance(shot.get("index"), bool) or not isinstance(shot.get("index"), int):
            raise Reject(f"multi_prompt[{i}].index must be an integer")
        _string(shot, "prompt", MAX_SHOT_PROMPT, required=True)
        length = parse_int(shot.get("duration"), 1, int(model.durations[-1]))
        if length is None:
            raise Reject(f"multi_prompt[{i}].duration must be a string of whole seconds, at most "
                         f"{model.durations[-1]}")
        total += length
    if total != int(duration):
        raise Reject(f"multi_prompt durations add up to {total}s but duration is {duration}s")
    return True


def _masks(body: dict) -> bool:
    used = False
    if body.get("static_mask") is not None:
        problem = images.check(body["static_mask"], "static_mask")
        if isinstance(problem, str):
            raise Reject(problem)
        used = True
    masks = body.get("dynamic_masks")
    if masks is not None:
        if not isinstance(masks, list) or not 1 <= len(masks) <= 6:
            raise Reject("dynamic_masks must be an array of 1 to 6 items")
        for i, item in enumerate(masks):
            if not isinstance(item, dict) or item.get("mask") is None:
                raise Reject(f"dynamic_masks[{i}].mask is required")
            problem = images.check(item["mask"], f"dynamic_masks[{i}].mask")
            if isinstance(problem, str):
                raise Reject(problem)
            points = item.get("trajectories")
            if not isinstance(points, list) or not 2 <= len(points) <= 77:
                raise Reject(f"dynamic_masks[{i}].trajectories must have 2 to 77 points")
            for j, point in enumerate(points):
                if not isinstance(point, dict) or not all(
                        isinstance(point.get(a), (int, float)) and not isinstance(point.get(a), bool) for a in "xy"):
                    raise Reject(f"dynamic_masks[{i}].trajectories[{j}] must be {{x, y}} numbers")
        used = True
    return used


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _images(body: dict, model: Model, mode: str) -> tuple[int, int] | None:
    """Checks image/image_tail and what may go with them; the first image's size if it was sent inline."""
    image, tail = body.get("image"), body.get("image_tail")
    if image is None and tail is None:
        raise Reject("image is required (image or image_tail must be given)")
    size = None
    if image is not None:
        found = images.check(image, "image")
        if isinstance(found, str):
            raise Reject(found)
        size = found
    if tail is not None:
        found = images.check(tail, "image_tail")
        if isinstance(found, str):
            raise Reject(found)
        size = size or found
        if (mode if model.modes else "") not in model.tail_modes:
            raise Reject(f"image_tail is not supported by {model.name} in {mode or 'its'} mode")
    used = [name for name, on in (("image_tail", tail is not None), ("dynamic_masks/static_mask", _masks(body)),
                                  ("camera_control", body.get("camera_control") is not None)) if on]
    if len(used) > 1:
        raise Reject(f"only one of image_tail, dynamic_masks/static_mask and camera_control may be used; "
                     f"got {' and '.join(used)}")
    voices = body.get("voice_list")
    if voices is not None and (not isinstance(voices, list) or len(voices) > 2):
        raise Reject("voice_list must be an array of at most 2 voices")
    elements = body.get("element_list")
    if elements is not None and not isinstance(elements, list):
        raise Reject("element_list must be an array")
    return size


def _ratio_of(size: tuple[int, int]) -> str:
    width, height = size
    ratio = width / height
    return min(RATIOS, key=lambda r: abs(ratio - int(r.split(":")[0]) / int(r.split(":")[1])))


def validate(body: Any, kind: str) -> Params | Invalid:
    if not isinstance(body, dict):
        return Invalid(1200, "invalid request parameters: the body must be a JSON object")
    try:
        return _validate(body, kind)
    except Reject as exc:
        return exc.invalid


def _validate(body: dict, kind: str) -> Params:
    model = _model(body, kind)
    mode = _enum(body, "mode", ("std", "pro"), "std")
    raw_duration = body.get("duration")
    if raw_duration is not None and not isinstance(raw_duration, str):
        raise Reject('duration must be a string, e.g. "5"')
    duration = _enum(body, "duration", model.durations, "5")
    effective_mode = mode if model.modes else ""
    customized = _multi_shot(body, model, duration) if kind == TEXT2VIDEO else False
    prompt = _string(body, "prompt", MAX_PROMPT, required=kind == TEXT2VIDEO and not customized)
    if kind == TEXT2VIDEO and prompt is not None and not prompt.strip() and not customized:
        raise Reject("prompt must not be empty")
    _string(body, "negative_prompt", MAX_PROMPT)
    if body.get("cfg_scale") is not None:
        value = body["cfg_scale"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Reject("cfg_scale must be a number")
        if not model.cfg_scale:
            raise Reject(f"cfg_scale is not supported by {model.name}")
        if not 0 <= value <= 1:
            raise Reject("cfg_scale must be between 0 and 1")
    sound = _enum(body, "sound", ("on", "off"), "off") == "on"
    if sound and effective_mode not in model.sound_modes:
        where = f" in {mode} mode" if model.sound_modes else ""
        raise Reject(f"sound is not supported by {model.name}{where}")
    _camera(body, model, kind, mode, duration)
    ratio = "16:9"
    if kind == TEXT2VIDEO:
        ratio = _enum(body, "aspect_ratio", RATIOS, "16:9")
    else:
        size = _images(body, model, mode)
        if size is not None:
            ratio = _ratio_of(size)
    watermark = body.get("watermark_info")
    enabled = False
    if watermark is not None:
        if not isinstance(watermark, dict) or not isinstance(watermark.get("enabled", False), bool):
            raise Reject("watermark_info must be {\"enabled\": boolean}")
        enabled = bool(watermark.get("enabled"))
    callback = _string(body, "callback_url", MAX_CALLBACK_URL)
    if callback is not None and not _is_url(callback):
        raise Reject("callback_url must be an http(s) URL")
    external = _string(body, "external_task_id", MAX_EXTERNAL_ID)
    return Params(model=model, kind=kind, mode=mode, duration=duration, aspect_ratio=ratio, sound=sound,
                  watermark=enabled, callback_url=callback or None, external_task_id=external or None)
