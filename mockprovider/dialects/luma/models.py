"""Luma Dream Machine v1: the video models, their durations and resolutions, and request validation.

Two layers of errors, as a FastAPI service answers them: a body that does not fit the request schema (wrong
types, a value outside an enum, a missing ``model``) is a 422 with FastAPI's list-valued ``detail``; a request
that fits the schema but not the model (the documented prompt/loop/keyframe messages, a duration or resolution
the model does not make) is a 400 with a string ``detail``.

Costs are in USD cents (what ``GET /credits`` reports): Luma bills per pixel, so a model's price per second at
720p is scaled by the output's pixel count; Photon images are priced per megapixel.

Photon image generations (``POST /generations/image``, ``.../image/reframe``) share the Generation object; their
output is a still at the ratio with a 1080-pixel short side (Photon's "1080p" images), in ``assets.image``.
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
class ImageModel:
    name: str
    cents_per_megapixel: float


# photon-1's price from the reference's price table; photon-flash-1 about a third of it, as resellers price them
IMAGE_MODELS: dict[str, ImageModel] = {m.name: m for m in (
    ImageModel("photon-1", 32.0),
    ImageModel("photon-flash-1", 10.7),
)}
IMAGE_FORMATS = ("jpg", "png")
IMAGE_SHORT_SIDE = "1080p"
MAX_IMAGE_REFS = 4  # Photon takes up to four reference images
DEFAULT_WEIGHT = 0.85
DEFAULT_SYNC_TIMEOUT = 30.0
MAX_SYNC_TIMEOUT = 60.0  # the SDK's read timeout: a longer hold could never be answered


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
            request.update(_crop_fields(body))
        return Params(model=model, generation_type=kind, request=request, duration="5s", resolution="720p",
                      aspect_ratio=ratio, callback_url=callback_url)
    except Reject as exc:
        return exc.invalid


CROP_FIELDS = ("grid_position_x", "grid_position_y", "resized_height", "resized_width", "x_end", "x_start", "y_end",
               "y_start")


def _crop_fields(body: dict) -> dict[str, int | None]:
    """A reframe's placement of its source in the new frame (pixels)."""
    out: dict[str, int | None] = {}
    for field in CROP_FIELDS:
        value = body.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise schema_error([field], "int_type", "Input should be a valid integer")
        if value is not None and not 0 <= value <= 100_000:
            raise bad(f"{field} is out of range")
        out[field] = value
    return out


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


@dataclass(frozen=True)
class ImageParams:
    model: ImageModel
    generation_type: str  # image | reframe_image
    request: dict[str, Any]
    aspect_ratio: str
    format: str  # jpg | png
    callback_url: str | None
    sync: bool = False
    sync_timeout: float = DEFAULT_SYNC_TIMEOUT

    @property
    def size(self) -> tuple[int, int]:
        return size_of(IMAGE_SHORT_SIDE, self.aspect_ratio)

    @property
    def megapixels(self) -> float:
        width, height = self.size
        return width * height / 1e6

    @property
    def cents(self) -> float:
        return round(self.model.cents_per_megapixel * self.megapixels, 2)


def _number(body: dict, field: str, loc: list[Any], low: float, high: float) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise schema_error(loc, "float_type", "Input should be a valid number")
    if not low <= value <= high:
        raise schema_error(loc, "less_than_equal" if value > high else "greater_than_equal",
                           f"Input should be {'less' if value > high else 'greater'} than or equal to "
                           f"{high if value > high else low}")
    return float(value)


def _weighted(value: Any, loc: list[Any]) -> dict[str, Any]:
    ref = _object(value, loc)
    url = _url(ref, "url", [*loc, "url"], required=True)
    weight = _number(ref, "weight", [*loc, "weight"], 0.0, 1.0)
    return {"url": url, "weight": DEFAULT_WEIGHT if weight is None else weight}


def _refs(body: dict, field: str) -> list[dict[str, Any]] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, list):
        raise schema_error([field], "list_type", "Input should be a valid list")
    if len(value) > MAX_IMAGE_REFS:
        raise bad(f"Too many {field} images, maximum is {MAX_IMAGE_REFS}")
    return [_weighted(item, [field, i]) for i, item in enumerate(value)]


def _character_ref(body: dict) -> dict[str, Any] | None:
    value = body.get("character_ref")
    if value is None:
        return None
    identity = _object(_object(value, ["character_ref"]).get("identity0"), ["character_ref", "identity0"])
    images = identity.get("images")
    loc = ["character_ref", "identity0", "images"]
    if not isinstance(images, list):
        raise schema_error(loc, "list_type", "Input should be a valid list")
    if not images:
        raise bad("character_ref.identity0 needs at least one image")
    if len(images) > MAX_IMAGE_REFS:
        raise bad(f"Too many character_ref images, maximum is {MAX_IMAGE_REFS}")
    urls = [_url({"u": url}, "u", [*loc, i], required=True) for i, url in enumerate(images)]
    return {"identity0": {"images": urls}}


def _image_model(body: dict) -> ImageModel:
    name = _literal(body, "model", tuple(IMAGE_MODELS)) or "photon-1"
    return IMAGE_MODELS[name]


def _sync(body: dict) -> tuple[bool, float]:
    sync = _bool(body, "sync")
    timeout = _number(body, "sync_timeout", ["sync_timeout"], 0.0, 10**9)
    return sync, min(DEFAULT_SYNC_TIMEOUT if timeout is None else timeout, MAX_SYNC_TIMEOUT)


def validate_image(body: Any) -> ImageParams | Invalid:
    """``POST /generations/image`` (``generations.image.create``)."""
    try:
        body = _object(body, [])
        model = _image_model(body)
        _literal(body, "generation_type", ("image",))
        aspect_ratio = _literal(body, "aspect_ratio", RATIOS) or "16:9"
        fmt = _literal(body, "format", IMAGE_FORMATS) or "jpg"
        callback_url = _url(body, "callback_url")
        image_ref = _refs(body, "image_ref")
        style_ref = _refs(body, "style_ref")
        character_ref = _character_ref(body)
        modify = body.get("modify_image_ref")
        modify_ref = _weighted(modify, ["modify_image_ref"]) if modify is not None else None
        sync, sync_timeout = _sync(body)
        prompt = _prompt(body, required=True)
        request = {"generation_type": "image", "model": model.name, "prompt": prompt, "aspect_ratio": aspect_ratio,
                   "callback_url": callback_url, "format": fmt, "image_ref": image_ref, "style_ref": style_ref,
                   "character_ref": character_ref, "modify_image_ref": modify_ref}
        return ImageParams(model=model, generation_type="image", request=request, aspect_ratio=aspect_ratio,
                           format=fmt, callback_url=callback_url, sync=sync, sync_timeout=sync_timeout)
    except Reject as exc:
        return exc.invalid


def validate_image_reframe(body: Any) -> ImageParams | Invalid:
    """``POST /generations/image/reframe`` (``generations.image.reframe``): an image at another ratio."""
    try:
        body = _object(body, [])
        _literal(body, "generation_type", ("reframe_image",), required=True)
        name = _literal(body, "model", tuple(IMAGE_MODELS), required=True)
        model = IMAGE_MODELS[name or "photon-1"]
        aspect_ratio = _literal(body, "aspect_ratio", RATIOS, required=True) or "16:9"
        media = body.get("media")
        if media is None:
            raise schema_error(["media"], "missing", "Field required")
        media_url = _url(_object(media, ["media"]), "url", ["media", "url"], required=True)
        fmt = _literal(body, "format", IMAGE_FORMATS) or "jpg"
        callback_url = _url(body, "callback_url")
        prompt = _prompt(body, required=False)
        request: dict[str, Any] = {"generation_type": "reframe_image", "model": model.name,
                                   "aspect_ratio": aspect_ratio, "media": {"url": media_url}, "format": fmt,
                                   "callback_url": callback_url, "prompt": prompt}
        request.update(_crop_fields(body))
        return ImageParams(model=model, generation_type="reframe_image", request=request,
                           aspect_ratio=aspect_ratio, format=fmt, callback_url=callback_url)
    except Reject as exc:
        return exc.invalid


def parse_body_error(message: str) -> Invalid:
    """What FastAPI says about a body that is not JSON at all."""
    return Invalid(422, [{"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error",
                          "ctx": {"error": message[:200]}}])
