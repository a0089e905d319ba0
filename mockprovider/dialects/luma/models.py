"""Luma Dream Machine v1: the video models, their durations and resolutions, and request validation.

Two layers of errors, as a FastAPI service answers them: a body that does not fit the request schema (wrong
types, a value outside an enum, a missing ``model``) is a 422 with FastAPI's list-valued ``detail``; a request
that fits the schema but not the model (the documented prompt/loop/keyframe messages, a duration or resolution
the model does not make) is a 400 with a string ``detail``.

Costs are in USD cents (what ``GET /credits`` reports): Luma bills per pixel, so a model's price per second at
720p is scaled by the output's pixel count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...web.values import http_url

RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")
RESOLUTIONS = ("540p", "720p", "1080p", "4k")
SHORT_SIDE = {"540p": 540, "720p": 720, "1080p": 1080}
LONG_SIDE_4K = 3840
MIN_PROMPT = 3
MAX_PROMPT = 5000
MAX_URL = 2048
MODIFY_MODES = tuple(f"{kind}_{n}" for kind in ("adhere", "flex", "reimagine") for n in (1, 2, 3))
PIXELS_720P = 1280 * 720
FPS = 24

# GET /generations/concepts/list (the camera concepts Luma lists)
CONCEPTS = (
    "aerial", "aerial_drone", "bolt_cam", "crane_down", "crane_up", "dolly_zoom", "elevator_doors", "eye_level",
    "ground_level", "handheld", "high_angle", "low_angle", "orbit_left", "orbit_right", "over_the_shoulder",
    "overhead", "pan_left", "pan_right", "pedestal_down", "pedestal_up", "pov", "pull_out", "push_in",
    "roll_left", "roll_right", "selfie", "static", "tilt_down", "tilt_up", "tiny_planet", "truck_left",
    "truck_right", "zoom_in", "zoom_out",
)
# GET /generations/camera_motion/list: the phrases the prompt may carry
CAMERA_MOTIONS = (
    "Static", "Move Left", "Move Right", "Move Up", "Move Down", "Push In", "Pull Out", "Zoom In", "Zoom Out",
    "Pan Left", "Pan Right", "Orbit Left", "Orbit Right", "Crane Up", "Crane Down",
)


@dataclass(frozen=True)
class Model:
    name: str
    durations: tuple[str, ...]
    resolutions: tuple[str, ...]
    cents_per_second: float  # at 720p
    concepts: bool = True


MODELS: dict[str, Model] = {m.name: m for m in (
    Model("ray-2", ("5s", "9s"), RESOLUTIONS, 8.0),
    Model("ray-flash-2", ("5s", "9s"), RESOLUTIONS, 3.7),
    Model("ray-1-6", ("5s",), ("720p",), 8.0, concepts=False),
)}
SCHEMA_MODELS = tuple(MODELS)


@dataclass(frozen=True)
class Invalid:
    status: int  # 400 or 422
    detail: Any  # a string (400) or FastAPI's list of problems (422)


@dataclass(frozen=True)
class Frame:
    type: str  # "image" | "generation"
    ref: str  # the URL or the generation id


@dataclass(frozen=True)
class Params:
    model: Model
    generation_type: str  # video | modify_video | reframe_video | upscale_video | add_audio
    request: dict[str, Any]  # the echo of the request, snake_case, as the Generation object carries it
    duration: str
    resolution: str
    aspect_ratio: str
    callback_url: str | None
    frame0: Frame | None = None
    frame1: Frame | None = None
    audio: bool = False

    @property
    def seconds(self) -> float:
        return float(self.duration.rstrip("s"))

    @property
    def size(self) -> tuple[int, int]:
        return size_of(self.resolution, self.aspect_ratio)

    @property
    def cents(self) -> float:
        width, height = self.size
        return round(self.model.cents_per_second * self.seconds * width * height / PIXELS_720P, 2)

    def references(self) -> list[str]:
        """Ids of the generations this request builds on (extend, interpolate)."""
        return [f.ref for f in (self.frame0, self.frame1) if f is not None and f.type == "generation"]


def size_of(resolution: str, ratio: str) -> tuple[int, int]:
    """The exact ratio, the short side at the resolution's number (4k: the long side at 3840); even sizes."""
    w, h = (int(n) for n in ratio.split(":"))
    if resolution == "4k":
        long_side = LONG_SIDE_4K
        short = round(long_side * min(w, h) / max(w, h) / 2) * 2
        return (long_side, short) if w >= h else (short, long_side)
    short = SHORT_SIDE[resolution]
    long_side = round(short * max(w, h) / min(w, h) / 2) * 2
    return (long_side, short) if w >= h else (short, long_side)


class Reject(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.invalid = Invalid(status, detail)


def schema_error(loc: list[Any], kind: str, msg: str, **ctx: Any) -> Reject:
    problem: dict[str, Any] = {"type": kind, "loc": ["body", *loc], "msg": msg}
    if ctx:
        problem["ctx"] = ctx
    return Reject(422, [problem])


def bad(detail: str) -> Reject:
    return Reject(400, detail)


def _literal_msg(allowed: tuple[str, ...]) -> str:
    quoted = [f"'{a}'" for a in allowed]
    return "Input should be " + (", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0])


def _string(body: dict, field: str, loc: list[Any] | None = None, required: bool = False) -> str | None:
    loc = loc or [field]
    value = body.get(field)
    if value is None:
        if required:
            raise schema_error(loc, "missing", "Field required")
        return None
    if not isinstance(value, str):
        raise schema_error(loc, "string_type", "Input should be a valid string")
    return value


def _literal(body: dict, field: str, allowed: tuple[str, ...], loc: list[Any] | None = None,
             required: bool = False) -> str | None:
    value = _string(body, field, loc, required)
    if value is not None and value not in allowed:
        raise schema_error(loc or [field], "literal_error", _literal_msg(allowed),
                           expected=_literal_msg(allowed)[len("Input should be "):])
    return value


def _bool(body: dict, field: str) -> bool:
    value = body.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise schema_error([field], "bool_type", "Input should be a valid boolean")
    return value


def _url(body: dict, field: str, loc: list[Any] | None = None, required: bool = False) -> str | None:
    value = _string(body, field, loc, required)
    if value is None:
        return None
    if len(value) > MAX_URL:
        raise schema_error(loc or [field], "url_too_long", f"URL should have at most {MAX_URL} characters",
                           max_length=MAX_URL)
    if http_url(value, max_length=MAX_URL) is None:
        raise schema_error(loc or [field], "url_parsing", "Input should be a valid URL, relative URL without a base")
    return value


def _object(value: Any, loc: list[Any]) -> dict:
    if not isinstance(value, dict):
        raise schema_error(loc, "model_attributes_type",
                           "Input should be a valid dictionary or object to extract fields from")
    return value


def _frame(value: Any, name: str) -> Frame:
    loc = ["keyframes", name]
    frame = _object(value, loc)
    kind = _literal(frame, "type", ("generation", "image"), [*loc, "type"], required=True)
    if kind == "image":
        return Frame("image", _url(frame, "url", [*loc, "image", "url"], required=True) or "")
    ref = _string(frame, "id", [*loc, "generation", "id"], required=True) or ""
    return Frame("generation", ref)


def _prompt(body: dict, required: bool) -> str | None:
    prompt = _string(body, "prompt")
    if prompt is None or not prompt.strip():
        if required:
            raise bad("Prompt is required")
        return prompt
    if len(prompt) < MIN_PROMPT:
        raise bad(f"Prompt is too short, minimum length is {MIN_PROMPT} characters")
    if len(prompt) > MAX_PROMPT:
        raise bad(f"Prompt is too long, maximum length is {MAX_PROMPT} characters")
    return prompt


def _model(body: dict) -> Model:
    name = _literal(body, "model", SCHEMA_MODELS, required=True)
    assert name is not None
    return MODELS[name]


def _loop_rules(loop: bool, frame0: Frame | None, frame1: Frame | None) -> None:
    if not loop:
        return
    if frame0 is not None and frame1 is not None:
        if frame0.type != frame1.type:
            raise bad("Loop is not supported for interpolate video to image" if frame0.type == "generation"
                      else "Loop is not supported for interpolate image to video")
        if frame0.type == "generation":
            raise bad("Loop is not supported for interpolate between two videos")
        raise bad("Loop is not supported for keyframes")
    if frame1 is not None:
        raise bad("Loop is not supported for extend reverse" if frame1.type == "generation"
                  else "Loop is not supported for end frame")


def _concepts(body: dict, model: Model) -> list[dict[str, str]] | None:
    value = body.get("concepts")
    if value is None:
        return None
    if not isinstance(value, list):
        raise schema_error(["concepts"], "list_type", "Input should be a valid list")
    out = []
    for i, item in enumerate(value):
        key = _string(_object(item, ["concepts", i]), "key", ["concepts", i, "key"], required=True)
        out.append({"key": key})
    if out and not model.concepts:
        raise bad("400: concepts are not supported for this model")
    for item in out:
        if item["key"] not in CONCEPTS:
            raise bad(f"Unknown concept: {item['key'][:100]}")
    return out


def validate(body: Any) -> Params | Invalid:
    """A create request (``POST /generations/video`` or the legacy ``POST /generations``)."""
    try:
        return _validate_video(_object(body, []))
    except Reject as exc:
        return exc.invalid


def _validate_video(body: dict) -> Params:
    model = _model(body)
    _literal(body, "generation_type", ("video",))
    aspect_ratio = _literal(body, "aspect_ratio", RATIOS) or "16:9"
    loop = _bool(body, "loop")
    resolution = _string(body, "resolution") or "720p"
    duration = _string(body, "duration") or "5s"
    callback_url = _url(body, "callback_url")
    frames = body.get("keyframes")
    frame0 = frame1 = None
    if frames is not None:
        frames = _object(frames, ["keyframes"])
        if frames.get("frame0") is not None:
            frame0 = _frame(frames["frame0"], "frame0")
        if frames.get("frame1") is not None:
            frame1 = _frame(frames["frame1"], "frame1")
        if frame0 is None and frame1 is None:
            raise bad("No keyframes provided")
    concepts = _concepts(body, model)
    prompt = _prompt(body, required=frame0 is None and frame1 is None)
    _loop_rules(loop, frame0, frame1)
    if duration not in model.durations:
        raise bad(f"Invalid duration {duration[:40]!r} for model {model.name}; "
                  f"supported durations: {', '.join(model.durations)}")
    if resolution not in model.resolutions:
        raise bad(f"Invalid resolution {resolution[:40]!r} for model {model.name}; "
                  f"supported resolutions: {', '.join(model.resolutions)}")
    keyframes: dict[str, Any] | None = None
    if frame0 is not None or frame1 is not None:
        keyframes = {}
        for name, frame in (("frame0", frame0), ("frame1", frame1)):
            if frame is not None:
                keyframes[name] = ({"type": "image", "url": frame.ref} if frame.type == "image"
                                   else {"type": "generation", "id": frame.ref})
    request = {"generation_type": "video", "prompt": prompt, "aspect_ratio": aspect_ratio, "loop": loop,
               "keyframes": keyframes, "callback_url": callback_url, "model": model.name,
               "resolution": resolution, "duration": duration, "concepts": concepts}
    return Params(model=model, generation_type="video", request=request, duration=duration,
                  resolution=resolution, aspect_ratio=aspect_ratio, callback_url=callback_url,
                  frame0=frame0, frame1=frame1)


def validate_edit(body: Any, kind: str) -> Params | Invalid:
    """``POST /generations/video/modify`` (kind ``modify_video``) or ``.../reframe`` (``reframe_video``)."""
    try:
        body = _object(body, [])
        _literal(body, "generation_type", (kind,), required=True)
        model = _model(body)
        media = _object(body.get("media"), ["media"]) if body.get("media") is not None else None
        if media is None:
            raise schema_error(["media"], "missing", "Field required")
        media_url = _url(media, "url", ["media", "url"], required=True)
        first = body.get("first_frame")
        first_url = _url(_object(first, ["first_frame"]), "url", ["first_frame", "url"], required=True) \
            if first is not None else None
        callback_url = _url(body, "callback_url")
        prompt = _prompt(body, required=False)
        request: dict[str, Any] = {"generation_type": kind, "media": {"url": media_url}, "model": model.name,
                                   "callback_url": callback_url, "prompt": prompt,
                                   "first_frame": {"url": first_url} if first_url else None}
        if kind == "modify_video":
            request["mode"] = _literal(body, "mode", MODIFY_MODES, required=True)
            ratio = "16:9"
        else:
            ratio = _literal(body, "aspect_ratio", RATIOS, required=True) or "16:9"
            request["aspect_ratio"] = ratio
            for field in ("grid_position_x", "grid_position_y", "resized_height", "resized_width", "x_end",
                          "x_start", "y_end", "y_start"):
                value = body.get(field)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise schema_error([field], "int_type", "Input should be a valid integer")
                if value is not None and not 0 <= value <= 100_000:
                    raise bad(f"{field} is out of range")
                request[field] = value
        return Params(model=model, generation_type=kind, request=request, duration="5s", resolution="720p",
                      aspect_ratio=ratio, callback_url=callback_url)
    except Reject as exc:
        return exc.invalid


def validate_follow_up(body: Any, kind: str, source: Params) -> Params | Invalid:
    """``POST /generations/{id}/upscale`` (``upscale_video``) or ``.../audio`` (``add_audio``) of a finished
    generation whose parameters were ``source``."""
    try:
        body = _object(body if body is not None else {}, [])
        _literal(body, "generation_type", (kind,))
        callback_url = _url(body, "callback_url")
        request: dict[str, Any] = {"generation_type": kind, "callback_url": callback_url}
        resolution = source.resolution
        audio = source.audio
        if kind == "upscale_video":
            resolution = _string(body, "resolution") or "1080p"
            if resolution not in RESOLUTIONS:
                raise bad(f"Invalid resolution {resolution[:40]!r}; supported resolutions: "
                          f"{', '.join(RESOLUTIONS)}")
            if RESOLUTIONS.index(resolution) <= RESOLUTIONS.index(source.resolution):
                raise bad(f"Upscale resolution must be higher than the generation's {source.resolution}")
            request["resolution"] = resolution
        else:
            request["prompt"] = _string(body, "prompt")
            request["negative_prompt"] = _string(body, "negative_prompt")
            for field in ("prompt", "negative_prompt"):
                if request[field] is not None and len(request[field]) > MAX_PROMPT:
                    raise bad(f"Prompt is too long, maximum length is {MAX_PROMPT} characters")
            audio = True
        return Params(model=source.model, generation_type=kind, request=request, duration=source.duration,
                      resolution=resolution, aspect_ratio=source.aspect_ratio, callback_url=callback_url,
                      audio=audio)
    except Reject as exc:
        return exc.invalid


def parse_body_error(message: str) -> Invalid:
    """What FastAPI says about a body that is not JSON at all."""
    return Invalid(422, [{"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error",
                          "ctx": {"error": message[:200]}}])
