"""Veo models and request validation, for the Gemini API and Vertex AI.

Rules follow the Gemini API "Veo API parameters" table, the Vertex AI Veo reference and google-genai's
docstrings. Google reports one problem at a time, as a 400 INVALID_ARGUMENT with a message; the exact wording
of these messages is not documented, so they are written in Google's style rather than copied.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import Any

from ...media.render import MAX_DURATION
from ...web.values import brief

GEMINI = "gemini"
VERTEX = "vertex"

SIZES = {
    ("720p", "16:9"): (1280, 720), ("720p", "9:16"): (720, 1280),
    ("1080p", "16:9"): (1920, 1080), ("1080p", "9:16"): (1080, 1920),
    ("4k", "16:9"): (3840, 2160), ("4k", "9:16"): (2160, 3840),
}
ASPECT_RATIOS = ("16:9", "9:16")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
VIDEO_TYPES = ("video/mp4",)
PERSON_ALL = ("allow_all", "allow_adult", "dont_allow")
MASK_MODES = ("INSERT", "REMOVE", "REMOVE_STATIC", "OUTPAINT")
COMPRESSION = ("OPTIMIZED", "LOSSLESS")
RESIZE_MODES = ("CROP", "PAD")
MAX_SEED = 4_294_967_295
MAX_URI = 1024  # Cloud Storage object names are at most 1024 bytes
EXTENSION_SECONDS = 7
GCS_URI = re.compile(r"^gs://([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:/(.*))?$")
PUBSUB_TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")

# Parameters only Vertex AI takes; the Gemini API refuses them (google-genai raises before sending).
VERTEX_ONLY = ("storageUri", "fps", "pubsubTopic", "generateAudio", "compressionQuality", "resizeMode")
COMMON_PARAMETERS = ("sampleCount", "durationSeconds", "aspectRatio", "resolution", "personGeneration",
                     "negativePrompt", "enhancePrompt", "seed")
TOP_LEVEL = {GEMINI: ("instances", "parameters", "webhookConfig"), VERTEX: ("instances", "parameters", "labels")}


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    durations: dict[str, tuple[int, ...]]  # api -> allowed durationSeconds
    resolutions: tuple[str, ...]
    audio: bool  # generates audio (by default on Vertex, always on the Gemini API)
    max_samples: dict[str, int]
    reference_images: bool
    extension: bool
    last_frame: dict[str, bool]
    hd_needs_8s: bool  # 1080p/4k only at 8 s
    hd_landscape_only: bool  # 1080p only at 16:9 (Gemini API, Veo 3)
    editing: bool = False  # mask editing of an input video and STYLE reference images (veo-2.0-generate-exp)


VEO_31 = Family("veo-3.1", {GEMINI: (4, 6, 8), VERTEX: (4, 6, 8)}, ("720p", "1080p", "4k"), True,
                {GEMINI: 1, VERTEX: 4}, True, True, {GEMINI: True, VERTEX: True}, True, False)
VEO_30 = Family("veo-3.0", {GEMINI: (4, 6, 8), VERTEX: (4, 6, 8)}, ("720p", "1080p"), True,
                {GEMINI: 1, VERTEX: 4}, False, False, {GEMINI: False, VERTEX: True}, False, True)
VEO_20 = Family("veo-2.0", {GEMINI: (5, 6, 8), VERTEX: (5, 6, 7, 8)}, ("720p",), False,
                {GEMINI: 2, VERTEX: 4}, False, False, {GEMINI: True, VERTEX: True}, False, False)
# The experimental Veo 2 the SDK's own tests use for mask editing; earlier Vertex docs give it ASSET and STYLE
# reference images. Vertex only (the SDK refuses mask and STYLE in Gemini API mode).
VEO_20_EXP = Family("veo-2.0-exp", {VERTEX: (5, 6, 7, 8)}, ("720p",), False, {VERTEX: 4}, True, False,
                    {VERTEX: True}, False, False, editing=True)


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    family: Family
    apis: tuple[str, ...]
    usd_per_second: float
    resolutions: tuple[str, ...] | None = None  # narrower than the family's

    def allowed_resolutions(self, api: str) -> tuple[str, ...]:
        found = self.resolutions or self.family.resolutions
        return tuple(r for r in found if r != "4k" or api == VERTEX)


# usd_per_second: the 720p-with-audio list price (Vertex pricing transcribed 2026-09-08, prices.md 2.1), for a
# model the price book (insight/prices.yaml, which knows resolution and audio) leaves unpriced.
MODELS: dict[str, Model] = {m.name: m for m in (
    Model("veo-3.1-generate-preview", VEO_31, (GEMINI, VERTEX), 0.40),
    Model("veo-3.1-fast-generate-preview", VEO_31, (GEMINI, VERTEX), 0.10),
    Model("veo-3.1-generate-001", VEO_31, (VERTEX,), 0.40),
    Model("veo-3.1-fast-generate-001", VEO_31, (VERTEX,), 0.10),
    Model("veo-3.1-lite-generate-001", VEO_31, (VERTEX,), 0.05, ("720p", "1080p")),
    Model("veo-3.0-generate-001", VEO_30, (GEMINI, VERTEX), 0.40),
    Model("veo-3.0-fast-generate-001", VEO_30, (GEMINI, VERTEX), 0.10),
    Model("veo-2.0-generate-001", VEO_20, (GEMINI, VERTEX), 0.35),
    Model("veo-2.0-generate-exp", VEO_20_EXP, (VERTEX,), 0.35),  # price UNCONFIRMED: Veo 2's
)}


def model_for(name: str, api: str) -> Model | None:
    model = MODELS.get(name)
    return model if model is not None and api in model.apis else None


class Invalid(Exception):
    """A request Google would refuse: 400 INVALID_ARGUMENT with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Params:
    model: Model
    width: int
    height: int
    duration: float
    audio: bool
    samples: int
    fps: int | None
    storage_uri: str | None  # Vertex: gs://bucket[/prefix] the outputs go under

    @property
    def cost(self) -> float:
        return round(self.model.usd_per_second * self.duration * self.samples, 4)


def _name(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 80 else f'"{value[:77]}..."'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    return brief(value)


def _given(parameters: dict[str, Any], key: str, default: Any) -> Any:
    """A parameter's value; an explicit null counts as not given, as in protobuf JSON."""
    value = parameters.get(key)
    return default if value is None else value


def _integer(value: Any, field: str) -> int:
    """Protobuf JSON takes integers as numbers or decimal strings ("8")."""
    if isinstance(value, bool):
        raise Invalid(f"Invalid value for `{field}`: expected an integer, got {_name(value)}.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,12}\s*", value):
        return int(value)
    raise Invalid(f"Invalid value for `{field}`: expected an integer, got {_name(value)}.")


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"Invalid value for `{field}`: expected a string, got {_name(value)}.")
    return value


def _boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"Invalid value for `{field}`: expected a boolean, got {_name(value)}.")
    return value


def _choice(value: Any, field: str, options: tuple[str, ...], what: str = "") -> str:
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(options)
        raise Invalid(f"Unsupported value {_name(value)} for `{field}`{what}. Supported values: {listed}.")
    return value


def _bounded(value: int, field: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise Invalid(f"The number value for `{field}` is out of bound. Please provide a value between "
                      f"{low} and {high}, inclusive.")
    return value


def _base64(value: Any, field: str) -> None:
    text = _string(value, field)
    if not text:
        raise Invalid(f"`{field}` is empty.")
    try:
        binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Invalid(f"Invalid value for `{field}`: base64 decoding failed.") from None


def _media(value: Any, field: str, api: str, types: tuple[str, ...]) -> None:
    """An image or (Vertex) video input: inline bytes or, on Vertex, a gs:// URI; with a mime type."""
    if not isinstance(value, dict):
        raise Invalid(f"Invalid value for `{field}`: expected an object, got {_name(value)}.")
    has_bytes = value.get("bytesBase64Encoded") is not None
    has_uri = value.get("gcsUri") is not None
    if has_uri and api == GEMINI:
        raise Invalid(f"`{field}.gcsUri` isn't supported by the Gemini API. Send the bytes in "
                      f"`{field}.bytesBase64Encoded`.")
    if has_bytes == has_uri:
        need = "`bytesBase64Encoded`" if api == GEMINI else "exactly one of `bytesBase64Encoded` or `gcsUri`"
        raise Invalid(f"`{field}` must have {need}.")
    if has_uri:
        uri = _string(value["gcsUri"], f"{field}.gcsUri")
        if not GCS_URI.match(uri):
            raise Invalid(f"Invalid value for `{field}.gcsUri`: {_name(uri)} is not a Cloud Storage URI "
                          "(gs://bucket/object).")
    else:
        _base64(value["bytesBase64Encoded"], f"{field}.bytesBase64Encoded")
    if "mimeType" in value or has_bytes:
        if value.get("mimeType") is None:
            raise Invalid(f"`{field}.mimeType` is required.")
        _choice(value["mimeType"], f"{field}.mimeType", types)


def _gemini_video(value: Any) -> None:
    """A video to extend on the Gemini API: a file URI from an earlier generation, or encoded bytes."""
    if not isinstance(value, dict):
        raise Invalid(f"Invalid value for `video`: expected an object, got {_name(value)}.")
    if value.get("uri") is not None:
        _string(value["uri"], "video.uri")
        return
    if value.get("encodedVideo") is None:
        raise Invalid("`video` must have `uri` or `encodedVideo`.")
    _base64(value["encodedVideo"], "video.encodedVideo")
    if value.get("encoding") is not None:
        _choice(value["encoding"], "video.encoding", VIDEO_TYPES)


def _reference_images(value: Any, model: Model, api: str) -> None:
    if not model.family.reference_images:
        raise Invalid(f"`referenceImages` isn't supported by {model.name}.")
    if not isinstance(value, list) or not value:
        raise Invalid("Invalid value for `referenceImages`: expected a non-empty list.")
    kinds = ("ASSET", "STYLE") if api == VERTEX and model.family.editing else ("ASSET",)
    found: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise Invalid(f"Invalid value for `referenceImages[{i}]`: expected an object, got {_name(item)}.")
        kind = item.get("referenceType")
        if isinstance(kind, str):
            kind = kind.upper()  # the SDK's enums are case-insensitive; what it sends is upper case
        found.append(_choice(kind, f"referenceImages[{i}].referenceType", kinds,
                             f" with {model.name}" if kind == "STYLE" else ""))
        _media(item.get("image"), f"referenceImages[{i}].image", api, IMAGE_TYPES)
    if "STYLE" in found and len(found) > 1:
        raise Invalid("`referenceImages` takes up to 3 ASSET images or 1 STYLE image.")
    if len(found) > 3:
        raise Invalid(f"`referenceImages` takes at most 3 images; got {len(found)}.")


def _parameters_of(body: dict[str, Any], api: str) -> dict[str, Any]:
    for key in body:
        if key not in TOP_LEVEL[api]:
            raise Invalid(f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    parameters = body.get("parameters")
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise Invalid(f"Invalid value for `parameters`: expected an object, got {_name(parameters)}.")
    if api == GEMINI:
        for key in parameters:
            if key in VERTEX_ONLY or key not in COMMON_PARAMETERS:
                raise Invalid(f"`{key}` isn't supported by the Gemini API.")
    return parameters


def _instance_of(body: dict[str, Any]) -> dict[str, Any]:
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1:
        raise Invalid("`instances` must contain exactly one instance.")
    instance = instances[0]
    if not isinstance(instance, dict):
        raise Invalid(f"Invalid value for `instances[0]`: expected an object, got {_name(instance)}.")
    return instance


def _check_extras(body: dict[str, Any], parameters: dict[str, Any], api: str) -> None:
    if api == GEMINI and body.get("webhookConfig") is not None:
        hook = body["webhookConfig"]
        uris = hook.get("uris") if isinstance(hook, dict) else None
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
            raise Invalid("Invalid value for `webhookConfig.uris`: expected a non-empty list of URLs.")
    if api == VERTEX and body.get("labels") is not None:
        labels = body["labels"]
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise Invalid("Invalid value for `labels`: expected a map of strings to strings.")
    if parameters.get("negativePrompt") is not None:
        _string(parameters["negativePrompt"], "negativePrompt")
    if parameters.get("enhancePrompt") is not None:
        _boolean(parameters["enhancePrompt"], "enhancePrompt")
    if parameters.get("seed") is not None:
        _bounded(_integer(parameters["seed"], "seed"), "seed", 0, MAX_SEED)
    if parameters.get("compressionQuality") is not None:
        value = parameters["compressionQuality"]
        _choice(value.upper() if isinstance(value, str) else value, "compressionQuality", COMPRESSION)
    if parameters.get("resizeMode") is not None:
        value = parameters["resizeMode"]
        _choice(value.upper() if isinstance(value, str) else value, "resizeMode", RESIZE_MODES)
    if parameters.get("pubsubTopic") is not None:
        topic = _string(parameters["pubsubTopic"], "pubsubTopic")
        if not PUBSUB_TOPIC.match(topic):
            raise Invalid(f"Invalid value for `pubsubTopic`: {_name(topic)} is not of the form "
                          "projects/PROJECT/topics/TOPIC.")


def validate(body: Any, model: Model, api: str, extended_duration: float | None = None) -> Params:
    """The request's parameters, or ``Invalid``. ``extended_duration`` is the length of the input video when
    it is one of our own outputs (extension returns the input plus 7 s)."""
    if not isinstance(body, dict):
        raise Invalid(f"Invalid JSON payload received. Expected an object, got {_name(body)}.")
    parameters = _parameters_of(body, api)
    instance = _instance_of(body)
    family = model.family

    prompt = instance.get("prompt")
    if prompt is not None:
        _string(prompt, "prompt")
    image, last_frame = instance.get("image"), instance.get("lastFrame")
    video, references = instance.get("video"), instance.get("referenceImages")
    if image is not None:
        _media(image, "image", api, IMAGE_TYPES)
    if last_frame is not None:
        if not family.last_frame[api]:
            raise Invalid(f"`lastFrame` isn't supported by {model.name}.")
        if image is None:
            raise Invalid("`lastFrame` needs a first frame in `image`.")
        _media(last_frame, "lastFrame", api, IMAGE_TYPES)
    if video is not None:
        if not family.extension and api == GEMINI:
            raise Invalid(f"Video extension isn't supported by {model.name}.")
        if image is not None:
            raise Invalid("`video` and `image` can't be used together.")
        if api == GEMINI:
            _gemini_video(video)
        else:
            _media(video, "video", api, VIDEO_TYPES)
    if references is not None:
        if image is not None or video is not None or last_frame is not None:
            raise Invalid("`referenceImages` can't be combined with `image`, `lastFrame` or `video`.")
        if not prompt:
            raise Invalid("`referenceImages` needs a text `prompt`.")
        _reference_images(references, model, api)
    if instance.get("mask") is not None:
        if api == GEMINI:
            raise Invalid("`mask` isn't supported by the Gemini API.")
        if not family.editing:
            raise Invalid(f"Mask editing isn't supported by {model.name}. Use veo-2.0-generate-exp.")
        if video is None:
            raise Invalid("`mask` needs an input `video` to edit.")
        _media(instance["mask"], "mask", api, IMAGE_TYPES)
        mode = instance["mask"].get("maskMode")
        _choice(mode.upper() if isinstance(mode, str) else mode, "mask.maskMode", MASK_MODES)
    if not (prompt or image is not None or video is not None):
        raise Invalid("A text `prompt` is required (or an `image` or `video` to start from).")

    aspect = _given(parameters, "aspectRatio", "16:9")
    _choice(aspect, "aspectRatio", ASPECT_RATIOS)
    resolutions = model.allowed_resolutions(api)
    resolution = _given(parameters, "resolution", "720p")
    _choice(resolution, "resolution", resolutions, f" with {model.name}")
    durations = family.durations[api]
    duration = _integer(_given(parameters, "durationSeconds", 8), "durationSeconds")
    if duration not in durations:
        if durations == tuple(range(durations[0], durations[-1] + 1)):
            _bounded(duration, "durationSeconds", durations[0], durations[-1])
        raise Invalid(f"Unsupported value {duration} for `durationSeconds` with {model.name}. Supported values: "
                      + ", ".join(str(d) for d in durations) + ".")
    hd = resolution != "720p"
    if hd and family.hd_needs_8s and duration != 8:
        raise Invalid(f"Resolution {resolution} is only supported for 8 second videos.")
    if hd and family.hd_landscape_only and api == GEMINI and aspect != "16:9":
        raise Invalid(f"Resolution {resolution} is only supported with aspect ratio 16:9 for {model.name}.")
    if family.hd_needs_8s and duration != 8 and (video is not None or references is not None
                                                 or last_frame is not None):
        raise Invalid("`durationSeconds` must be 8 for video extension, interpolation (`lastFrame`) and "
                      "`referenceImages`.")
    if video is not None and hd:
        raise Invalid("Video extension only supports resolution 720p.")

    samples = _bounded(_integer(_given(parameters, "sampleCount", 1), "sampleCount"), "sampleCount", 1,
                       family.max_samples[api])
    if parameters.get("personGeneration") is not None:
        person = parameters["personGeneration"]
        # types.PersonGeneration (ALLOW_ADULT ...) goes out as its upper-case value; the API's own are lower case
        _choice(person.lower() if isinstance(person, str) else person, "personGeneration",
                _person_options(family, api, image is not None or references is not None),
                f" with {model.name} and these inputs")

    audio = family.audio
    if parameters.get("generateAudio") is not None:
        wanted = _boolean(parameters["generateAudio"], "generateAudio")
        if wanted and not family.audio:
            raise Invalid(f"`generateAudio` isn't supported by {model.name}.")
        audio = wanted
    fps = None
    if parameters.get("fps") is not None:
        fps = _bounded(_integer(parameters["fps"], "fps"), "fps", 1, 60)
    storage = None
    if parameters.get("storageUri") is not None:
        storage = _string(parameters["storageUri"], "storageUri")
        if len(storage) > MAX_URI or not GCS_URI.match(storage.rstrip("/")):
            raise Invalid(f"Invalid value for `storageUri`: {_name(storage)} is not a Cloud Storage URI "
                          "(gs://bucket/prefix).")
        storage = storage.rstrip("/")
    _check_extras(body, parameters, api)

    length: float = duration
    if video is not None and instance.get("mask") is not None:
        length = min(extended_duration or float(duration), MAX_DURATION)  # an edit keeps the input's length
    elif video is not None:
        length = min((extended_duration or 8.0) + EXTENSION_SECONDS, MAX_DURATION)
    width, height = SIZES[(resolution, aspect)]
    return Params(model=model, width=width, height=height, duration=float(length), audio=audio,
                  samples=samples, fps=fps, storage_uri=storage)


def _person_options(family: Family, api: str, from_image: bool) -> tuple[str, ...]:
    if api == VERTEX:
        return PERSON_ALL
    if family is VEO_20:
        return ("allow_adult", "dont_allow") if from_image else PERSON_ALL
    return ("allow_adult",) if from_image else ("allow_all",)
