"""Wan models on DashScope (Alibaba Cloud Model Studio) and request validation, as ``dashscope``'s
``VideoSynthesis`` sends them: the legacy ``input`` / ``parameters`` body (wan2.6 and earlier) and the ``media``
protocol of wan2.7. A rejected request raises ``Invalid`` with DashScope's status and code."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...media.imagesize import image_size
from ...web.values import http_url

T2V = "t2v"
I2V = "i2v"
KF2V = "kf2v"
R2V = "r2v"
EDIT = "videoedit"
VIDEO_GENERATION = "video-generation"
IMAGE2VIDEO = "image2video"

SIZES = {
    "480P": ("832*480", "480*832", "624*624"),
    "720P": ("1280*720", "720*1280", "960*960", "1088*832", "832*1088"),
    "1080P": ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"),
}
# wan2.7's ratio -> size per tier; its 4:3 sizes differ a little from wan2.6's [2nd: model-hub copies of the docs]
RATIO_SIZES = {
    "720P": {"16:9": "1280*720", "9:16": "720*1280", "1:1": "960*960", "4:3": "1104*832", "3:4": "832*1104"},
    "1080P": {"16:9": "1920*1080", "9:16": "1080*1920", "1:1": "1440*1440", "4:3": "1648*1248", "3:4": "1248*1648"},
}
RATIOS = tuple(RATIO_SIZES["720P"])
TIER_OF = {size: tier for tier, sizes in SIZES.items() for size in sizes}
MAX_SEED = 2_147_483_647
MAX_URL = 2048
MAX_IMAGE_BYTES = 10 * 2**20
MAX_NEGATIVE = 500
MAX_SHOWN_PROMPT = 256  # the prompt kept per task for orig_prompt (memory is bounded per task)
EDIT_INPUT_SECONDS = 5  # videoedit's input video, whose length the mock cannot know (duration 0 keeps it)
DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg|bmp|webp);base64,", re.I)
ImageOf = Callable[[str], tuple[int, int] | None]  # an oss:// URL -> the uploaded image's size, if known
MEDIA_TYPES = ("first_frame", "last_frame", "reference_image", "reference_video", "reference_voice",
               "reference_audio", "video", "first_clip", "driving_audio", "file", "link")


@dataclass(frozen=True)
class Model:
    name: str
    kind: str
    tiers: tuple[str, ...]  # resolution tiers ("480P", "720P", "1080P")
    default_tier: str
    durations: tuple[int, ...]
    usd_per_second: dict[str, float]  # tier -> list price
    fps: int = 30
    audio: bool = False
    media: bool = False  # the wan2.7 ``input.media`` protocol
    max_prompt: int = 1500
    silent_discount: float = 1.0  # price factor without audio
    reference_videos: int = 0
    shot_type: bool = False
    default_size: str | None = None
    path: str = field(default=VIDEO_GENERATION)


def _range(low: int, high: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1))


WAN26 = {"720P": 0.10, "1080P": 0.15}
WAN26_FLASH = {"720P": 0.05, "1080P": 0.075}

_MODELS = [
    Model("wan2.7-t2v", T2V, ("720P", "1080P"), "1080P", _range(2, 15), WAN26, audio=True, media=True,
          max_prompt=5000),
    Model("wan2.7-i2v", I2V, ("720P", "1080P"), "1080P", _range(2, 15), WAN26, audio=True, media=True,
          max_prompt=5000),
    Model("wan2.7-r2v", R2V, ("720P", "1080P"), "1080P", _range(2, 15), WAN26, audio=True, media=True,
          max_prompt=5000, reference_videos=5),
    Model("wan2.7-videoedit", EDIT, ("720P", "1080P"), "1080P", (0, *_range(2, 10)), WAN26, audio=True,
          media=True, max_prompt=5000),
    Model("wan2.6-t2v", T2V, ("720P", "1080P"), "1080P", _range(2, 15), WAN26, audio=True, shot_type=True),
    Model("wan2.6-i2v", I2V, ("720P", "1080P"), "1080P", _range(2, 15), WAN26, audio=True, shot_type=True),
    Model("wan2.6-i2v-flash", I2V, ("720P", "1080P"), "1080P", _range(2, 15), WAN26_FLASH, audio=True,
          silent_discount=0.5, shot_type=True),
    Model("wan2.6-r2v", R2V, ("720P", "1080P"), "1080P", _range(2, 10), WAN26, audio=True, reference_videos=3,
          shot_type=True),
    Model("wan2.6-r2v-flash", R2V, ("720P", "1080P"), "1080P", _range(2, 10), WAN26_FLASH, audio=True,
          silent_discount=0.5, reference_videos=3, shot_type=True),
    Model("wan2.5-t2v-preview", T2V, ("480P", "720P", "1080P"), "1080P", (5, 10),
          {"480P": 0.05, "720P": 0.10, "1080P": 0.15}, fps=24, audio=True, max_prompt=2000),
    Model("wan2.5-i2v-preview", I2V, ("480P", "720P", "1080P"), "1080P", (5, 10),
          {"480P": 0.05, "720P": 0.10, "1080P": 0.15}, fps=24, audio=True, max_prompt=2000),
    Model("wan2.2-t2v-plus", T2V, ("480P", "1080P"), "1080P", (5,), {"480P": 0.02, "1080P": 0.10}, fps=30),
    Model("wan2.2-i2v-plus", I2V, ("480P", "1080P"), "1080P", (5,), {"480P": 0.02, "1080P": 0.10}, fps=30),
    Model("wan2.2-i2v-flash", I2V, ("480P", "720P", "1080P"), "720P", (5,),
          {"480P": 0.01, "720P": 0.02, "1080P": 0.05}, fps=30),
    Model("wan2.2-kf2v-flash", KF2V, ("480P", "720P", "1080P"), "720P", (5,),
          {"480P": 0.01, "720P": 0.02, "1080P": 0.05}, fps=30, path=IMAGE2VIDEO),
    Model("wanx2.1-t2v-turbo", T2V, ("480P", "720P"), "720P", (5,), {"480P": 0.036, "720P": 0.036}, fps=16,
          max_prompt=800, default_size="1280*720"),
    Model("wanx2.1-t2v-plus", T2V, ("720P",), "720P", (5,), {"720P": 0.10}, fps=16, max_prompt=800,
          default_size="1280*720"),
    Model("wanx2.1-i2v-turbo", I2V, ("480P", "720P"), "720P", (3, 4, 5), {"480P": 0.036, "720P": 0.036}, fps=16,
          max_prompt=800),
    Model("wanx2.1-i2v-plus", I2V, ("720P",), "720P", (5,), {"720P": 0.10}, fps=16, max_prompt=800),
    Model("wanx2.1-kf2v-plus", KF2V, ("720P",), "720P", (5,), {"720P": 0.10}, fps=16, max_prompt=800,
          path=IMAGE2VIDEO),
    Model("wanx-kf2v", KF2V, ("720P",), "720P", (5,), {"720P": 0.10}, fps=16, max_prompt=800, path=IMAGE2VIDEO),
]
MODELS: dict[str, Model] = {m.name: m for m in _MODELS}
# regional and international spellings of the same models
for _m in _MODELS:
    if _m.name.startswith("wan2.6-") and "r2v" not in _m.name:
        MODELS[_m.name + "-us"] = Model(**{**_m.__dict__, "name": _m.name + "-us"})
    if _m.name.startswith("wanx2.1-"):
        MODELS["wan2.1-" + _m.name[len("wanx2.1-"):]] = Model(**{**_m.__dict__, "name": "wan2.1-" +
                                                                 _m.name[len("wanx2.1-"):]})


class Invalid(Exception):
    def __init__(self, message: str, code: str = "InvalidParameter", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Params:
    model: Model
    prompt: str
    size: tuple[int, int]
    tier: str
    duration: int
    seed: int | None
    prompt_extend: bool
    watermark: bool
    audio: bool
    input_video_seconds: int = 0

    @property
    def usd(self) -> float:
        rate = self.model.usd_per_second.get(self.tier, max(self.model.usd_per_second.values()))
        if not self.audio:
            rate *= self.model.silent_discount
        return round(rate * self.duration, 6)


def _size(text: str) -> tuple[int, int]:
    width, height = text.split("*")
    return int(width), int(height)


def _url(value: Any, field: str, image: bool = True, image_of: ImageOf | None = None) -> tuple[int, int] | None:
    """Checks an input URL: http(s), oss:// or (images) a base64 data URI; the image's size when it is known."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"{field} must be a non-empty string.")
    if value.startswith("oss://"):  # an uploaded file's key (spaces and all): the dialect checks it is known
        if len(value) > MAX_URL or not value[6:] or any(ord(c) < 32 for c in value):
            raise Invalid("Invalid URL provided in your request.", "InvalidURL")
        size = image_of(value) if image and image_of is not None else None
        if size is not None:
            _check_pixels(size, field)
        return size
    if value.startswith(("http://", "https://")):
        if http_url(value, ("http", "https"), MAX_URL) is None:
            raise Invalid("Invalid URL provided in your request.", "InvalidURL")
        return None
    if image:
        match = DATA_URI.match(value)
        if match:
            encoded = value[match.end():]
            if len(encoded) > MAX_IMAGE_BYTES * 4 // 3 + 4:
                raise Invalid(f"{field} is larger than 10MB.")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise Invalid("The media format is not supported or incorrect for the data inspection.",
                              "InvalidParameter.DataInspection") from None
            size = image_size(raw)
            if size is None or None in size:
                raise Invalid("The media format is not supported or incorrect for the data inspection.",
                              "InvalidParameter.DataInspection")
            _check_pixels(size, field)
            return size
    raise Invalid("Invalid URL provided in your request.", "InvalidURL")


def _check_pixels(size: tuple[int, int], field: str) -> None:
    width, height = size
    if not (360 <= width <= 2000 and 360 <= height <= 2000):
        raise Invalid(f"{field}: the image is {width}x{height}; width and height must be 360 to 2000 pixels.")


def _follow(tier: str, size: tuple[int, int] | None) -> tuple[int, int]:
    """The tier's output size whose aspect ratio is nearest the input image's (16:9 when it is not known)."""
    choices = [_size(s) for s in SIZES[tier]]
    if size is None:
        return choices[0]
    aspect = size[0] / size[1]
    return min(choices, key=lambda c: abs(c[0] / c[1] - aspect))


def _int(params: dict, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"parameters.{name} must be an integer.")
    return value


def _bool(params: dict, name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Invalid(f"parameters.{name} must be a boolean.")
    return value


def find_model(body: Any, path: str) -> Model:
    if not isinstance(body, dict):
        raise Invalid("Request body must be a JSON object.")
    name = body.get("model")
    if name is None or name == "":
        raise Invalid('Required parameter "model" missing from request.', "BadRequest.EmptyModel")
    if not isinstance(name, str):
        raise Invalid("model must be a string.")
    model = MODELS.get(name)
    if model is None or model.path != path:
        raise Invalid("Model not exist.")
    return model


def validate(body: Any, path: str, image_of: ImageOf | None = None) -> Params:
    """``image_of`` gives the size of an uploaded (``oss://``) image, which the output then follows."""
    model = find_model(body, path)
    inputs = body.get("input")
    if inputs is None:
        raise Invalid('Required input parameter missing from request: "input".', "BadRequest.EmptyInput")
    if not isinstance(inputs, dict):
        raise Invalid("input must be an object.")
    params = body.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise Invalid("parameters must be an object.")

    prompt = inputs.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise Invalid("input.prompt must be a string.")
    prompt = (prompt or "")[: model.max_prompt]  # over-long prompts are cut, not refused
    negative = inputs.get("negative_prompt")
    if negative is not None and (not isinstance(negative, str)):
        raise Invalid("input.negative_prompt must be a string.")

    image = _inputs_for(model, inputs, prompt, image_of)
    tier, size = _geometry(model, params, image)

    duration = _int(params, "duration")
    if duration is None:
        duration = 0 if model.kind == EDIT else 5 if 5 in model.durations else model.durations[0]
    if duration not in model.durations:
        listed = (f"{model.durations[0]} to {model.durations[-1]}" if len(model.durations) > 2
                  else " or ".join(map(str, model.durations)))
        raise Invalid(f"The duration {duration} is not supported by {model.name}: use {listed} seconds.")
    seed = _int(params, "seed")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise Invalid(f"parameters.seed must be between 0 and {MAX_SEED}.")
    prompt_extend = _bool(params, "prompt_extend", True)
    shot_type = params.get("shot_type")
    if shot_type is not None:
        if not model.shot_type:
            raise Invalid(f"parameters.shot_type is not supported by {model.name}.")
        if shot_type not in ("single", "multi"):
            raise Invalid("parameters.shot_type must be 'single' or 'multi'.")
        if shot_type == "multi" and not prompt_extend:
            raise Invalid("parameters.shot_type 'multi' needs prompt_extend set to true.")
    if model.kind == EDIT:
        setting = params.get("audio_setting")
        if setting is not None and setting not in ("auto", "origin"):
            raise Invalid("parameters.audio_setting must be 'auto' or 'origin'.")
        input_seconds = EDIT_INPUT_SECONDS
        if duration == 0:  # keep the input video's length (unknown here: the mock takes it as 5 s)
            duration = EDIT_INPUT_SECONDS
    else:
        input_seconds = 0
    audio = _bool(params, "audio", model.audio)
    if inputs.get("audio_url") is not None:
        if not model.audio:
            raise Invalid(f"input.audio_url is not supported by {model.name}.")
        _url(inputs["audio_url"], "input.audio_url", image=False)
        audio = True
    if audio and not model.audio:
        raise Invalid(f"{model.name} generates silent videos only: parameters.audio is not supported.")
    return Params(model=model, prompt=prompt, size=size, tier=tier, duration=duration, seed=seed,
                  prompt_extend=prompt_extend, watermark=_bool(params, "watermark", False), audio=audio,
                  input_video_seconds=input_seconds)


def _inputs_for(model: Model, inputs: dict, prompt: str, image_of: ImageOf | None
                ) -> tuple[int, int] | bool | None:
    """Checks the inputs the model's kind needs; the first frame's size (None if not known, False if none)."""
    if model.media:
        return _media(model, inputs, prompt, image_of)
    if model.kind == T2V:
        if not prompt.strip():
            raise Invalid("Field required: input.prompt")
        return False
    if model.kind == I2V:
        if inputs.get("img_url") is None:
            raise Invalid("Field required: input.img_url")
        return _url(inputs["img_url"], "input.img_url", image_of=image_of)
    if model.kind == KF2V:
        first = inputs.get("first_frame_url", inputs.get("head_frame"))
        last = inputs.get("last_frame_url", inputs.get("tail_frame"))
        if first is None:
            raise Invalid("Field required: input.first_frame_url")
        size = _url(first, "input.first_frame_url", image_of=image_of)
        if last is not None:
            _url(last, "input.last_frame_url", image_of=image_of)
        return size
    refs = inputs.get("reference_video_urls", inputs.get("reference_urls"))
    if not isinstance(refs, list) or not refs:
        raise Invalid("Field required: input.reference_video_urls")
    if len(refs) > model.reference_videos:
        raise Invalid(f"input.reference_video_urls takes at most {model.reference_videos} videos.")
    for i, url in enumerate(refs):
        _url(url, f"input.reference_video_urls[{i}]", image=False)
    if not prompt.strip():
        raise Invalid("Field required: input.prompt")
    return False


def _media(model: Model, inputs: dict, prompt: str, image_of: ImageOf | None) -> tuple[int, int] | bool | None:
    media = inputs.get("media")
    if model.kind == T2V:
        if media is not None:
            raise Invalid(f"input.media is not supported by {model.name}.")
        if not prompt.strip():
            raise Invalid("Field required: input.prompt")
        return False
    if not isinstance(media, list) or not media:
        raise Invalid("Field required: input.media")
    if len(media) > 10:
        raise Invalid("input.media takes at most 10 items.")
    kinds: list[str] = []
    first: tuple[int, int] | bool | None = False
    for i, item in enumerate(media):
        if not isinstance(item, dict) or item.get("type") not in MEDIA_TYPES:
            raise Invalid(f"input.media[{i}].type must be one of " + ", ".join(MEDIA_TYPES) + ".")
        kind = item["type"]
        image = kind in ("first_frame", "last_frame", "reference_image")
        size = _url(item.get("url"), f"input.media[{i}].url", image=image, image_of=image_of)
        if kind == "first_frame" or (kind == "reference_image" and first is False):
            first = size
        kinds.append(kind)
    if model.kind == EDIT:
        if kinds.count("video") != 1 or kinds.count("reference_image") > 4 or set(kinds) - {"video",
                                                                                             "reference_image"}:
            raise Invalid("input.media must hold one video and at most 4 reference_image items.")
        return False
    if model.kind == I2V:
        allowed = [{"first_frame"}, {"first_frame", "driving_audio"}, {"first_frame", "last_frame"},
                   {"first_clip"}, {"first_clip", "last_frame"}]
        if set(kinds) not in allowed or len(kinds) != len(set(kinds)):
            raise Invalid("input.media must be a first_frame (with a last_frame or a driving_audio), or a "
                          "first_clip (with a last_frame).")
    else:
        refs = [k for k in kinds if k in ("reference_image", "reference_video")]
        if not refs or len(refs) > model.reference_videos or set(kinds) - {"reference_image", "reference_video",
                                                                            "first_frame", "reference_voice"}:
            raise Invalid(f"input.media must hold 1 to {model.reference_videos} reference images or videos, and "
                          "optionally a first_frame.")
        if not prompt.strip():
            raise Invalid("Field required: input.prompt")
    return first


def _geometry(model: Model, params: dict, image: tuple[int, int] | bool | None) -> tuple[str, tuple[int, int]]:
    size = params.get("size")
    resolution = params.get("resolution")
    ratio = params.get("ratio")
    takes_size = model.kind in (T2V, R2V)
    if size is not None:
        if not takes_size:
            raise Invalid(f"parameters.size is not supported by {model.name}: use parameters.resolution.")
        if not isinstance(size, str) or size not in TIER_OF or TIER_OF[size] not in model.tiers:
            allowed = ", ".join(s for t in model.tiers for s in SIZES[t])
            raise Invalid(f"size is invalid: {model.name} supports {allowed}.")
        return TIER_OF[size], _size(size)
    if resolution is not None and (not isinstance(resolution, str) or resolution not in model.tiers):
        raise Invalid(f"resolution is invalid: {model.name} supports " + ", ".join(model.tiers) + ".")
    if ratio is not None:
        if not model.media or not isinstance(ratio, str) or ratio not in RATIOS:
            raise Invalid("ratio is invalid: use one of " + ", ".join(RATIOS) + ".")
        tier = resolution or model.default_tier
        return tier, _size(RATIO_SIZES[tier][ratio])
    if takes_size and resolution is None:
        default = model.default_size or SIZES[model.default_tier][0]
        return TIER_OF[default], _size(default)
    tier = resolution or model.default_tier
    return tier, _follow(tier, image if isinstance(image, tuple) else None)
