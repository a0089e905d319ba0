"""The video models Replicate serves, their inputs, and input validation as Replicate reports it.

Each model's inputs are declared once; the same declaration validates a request, fills in defaults and renders
the version's OpenAPI schema (what ``replicate.run("owner/name:version")`` reads). Replicate validates inputs
with a JSON-schema validator (gojsonschema): problems come back as 422 with one ``invalid_fields`` entry and one
``- field: description`` line of ``detail`` per problem, in that validator's words. Unknown input properties are
ignored, as Cog's schemas allow them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()
MAX_PROMPT = 20_000
MAX_URI = 10 * 2**20  # data: URIs included; the body bound (settings.max_body) is the real limit
MAX_PROBLEMS = 50
ECHOED = 4096  # a prediction echoes its input; longer strings (data: URIs) are cut so each job stays small
SEED_MAX = 2**32 - 1

HEIGHTS = {"480p": 480, "512p": 512, "540p": 540, "720p": 720, "768p": 768, "1080p": 1080}


@dataclass(frozen=True)
class Input:
    """One input property of a model's Cog schema."""

    name: str
    kind: str  # "string" | "integer" | "number" | "boolean" | "uri" | "array"
    default: Any = _MISSING
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    description: str = ""
    items: str = "string"  # element kind of an "array"
    max_items: int | None = None

    def schema(self, order: int) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.name.replace("_", " ").title(), "x-order": order}
        if self.description:
            out["description"] = self.description
        if self.choices:
            out["enum"] = list(self.choices)
            out["type"] = "integer" if all(isinstance(c, int) for c in self.choices) else "string"
        elif self.kind == "uri":
            out.update(type="string", format="uri")
        elif self.kind == "array":
            out.update(type="array", items={"type": "string", "format": "uri"} if self.items == "uri"
                       else {"type": self.items})
            if self.max_items is not None:
                out["maxItems"] = self.max_items
        else:
            out["type"] = self.kind
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.default is not _MISSING and self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class Problem:
    """One entry of ``invalid_fields``."""

    type: str
    field: str
    description: str

    def wire(self) -> dict[str, str]:
        return {"type": self.type, "field": self.field, "description": self.description}


@dataclass(frozen=True)
class Params:
    """A validated prediction's inputs, defaults filled in, and what the output video looks like."""

    model: VideoModel
    input: dict[str, Any]
    width: int
    height: int
    duration: float
    fps: int
    audio: bool

    @property
    def usage(self) -> dict[str, Any]:
        """What the prediction uses, in the price book's neutral terms (insight/prices.yaml)."""
        return {"seconds": self.duration, "videos": 1, "resolution": resolution_name(self.width, self.height),
                "audio": self.audio, "mode": self.input.get("mode")}

    @property
    def price(self) -> float:
        """US dollars, as Replicate bills these models (per second of output video)."""
        return round(self.model.price(self.input, self.duration), 6)


Geometry = Callable[[dict[str, Any]], tuple[int, int, float, int, bool]]
Rule = Callable[[dict[str, Any]], "Problem | None"]


@dataclass(frozen=True)
class VideoModel:
    owner: str
    name: str
    description: str
    inputs: tuple[Input, ...]
    geometry: Geometry  # inputs -> (width, height, seconds, fps, audio)
    price: Callable[[dict[str, Any], float], float]
    rules: tuple[Rule, ...] = ()
    steps: int = 30  # denoising steps shown in the logs' progress bar
    cog_version: str = "0.16.8"
    created_at: str = "2025-07-01T12:00:00.000000Z"
    inputs_by_name: dict[str, Input] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs_by_name", {i.name: i for i in self.inputs})

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def version(self) -> str:
        """The 64-hex id of the model's one (latest) version, stable across runs."""
        return hashlib.sha256(f"mockprovider/{self.ref}/v1".encode()).hexdigest()

    def openapi_schema(self) -> dict[str, Any]:
        required = [i.name for i in self.inputs if i.required]
        inputs = {i.name: i.schema(n) for n, i in enumerate(self.inputs)}
        return {
            "openapi": "3.0.2",
            "info": {"title": "Cog", "version": "0.1.0"},
            "paths": {},
            "components": {"schemas": {
                "Input": {"type": "object", "title": "Input", "required": required, "properties": inputs},
                "Output": {"type": "string", "title": "Output", "format": "uri"},
                "Status": {"type": "string", "title": "Status", "enum": ["starting", "processing", "succeeded",
                                                                          "canceled", "failed"]},
                "WebhookEvent": {"type": "string", "title": "WebhookEvent", "enum": ["start", "output", "logs",
                                                                                      "completed"]},
            }},
        }


# -- validation, in gojsonschema's words --------------------------------------------------------------------


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if math.isfinite(value) and value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _choice_text(choices: tuple) -> str:
    return ", ".join(f'"{c}"' if isinstance(c, str) else str(c) for c in choices)


def _number_text(value: float) -> str:
    return f"{value:g}"


def _integral(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and math.isfinite(value) and value.is_integer())


def _check_uri(where: str, value: str) -> Problem | None:
    if len(value) > MAX_URI:
        return Problem("string_lte", where, f"String length must be less than or equal to {MAX_URI}")
    if value.startswith("data:"):
        return None if "," in value else Problem("format", where, "Does not match format 'uri'")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest[0] in "/?#" or any(
            c in value for c in " \t\r\n"):
        return Problem("format", where, "Does not match format 'uri'")
    return None


def _check_value(spec: Input, where: str, value: Any) -> Problem | None:
    expected = {"uri": "string", "array": "array"}.get(spec.kind, spec.kind)
    if spec.choices and all(isinstance(c, int) for c in spec.choices):
        expected = "integer"
    given = type_name(value)
    if expected == "number" and given in ("integer", "number"):
        pass
    elif given != expected:
        return Problem("invalid_type", where, f"Invalid type. Expected: {expected}, given: {given}")
    if spec.choices:
        if value not in spec.choices:
            return Problem("enum", where, f"{spec.name} must be one of the following: {_choice_text(spec.choices)}")
        return None
    if spec.kind in ("integer", "number"):
        if not math.isfinite(value):
            return Problem("invalid_type", where, f"Invalid type. Expected: {expected}, given: {given}")
        if spec.minimum is not None and value < spec.minimum:
            return Problem("number_gte", where, f"Must be greater than or equal to {_number_text(spec.minimum)}")
        if spec.maximum is not None and value > spec.maximum:
            return Problem("number_lte", where, f"Must be less than or equal to {_number_text(spec.maximum)}")
    if spec.kind == "string" and len(value) > MAX_PROMPT:
        return Problem("string_lte", where, f"String length must be less than or equal to {MAX_PROMPT}")
    if spec.kind == "uri":
        return _check_uri(where, value)
    if spec.kind == "array":
        if spec.max_items is not None and len(value) > spec.max_items:
            return Problem("array_max_items", where, f"Array must have at most {spec.max_items} items")
        for n, item in enumerate(value):
            if not isinstance(item, str):
                return Problem("invalid_type", f"{where}.{n}", f"Invalid type. Expected: string, given: "
                                                              f"{type_name(item)}")
            if spec.items == "uri" and (problem := _check_uri(f"{where}.{n}", item)) is not None:
                return problem
    return None


def validate(model: VideoModel, raw: Any) -> Params | list[Problem]:
    """The prediction's inputs with defaults, or every problem with them."""
    if not isinstance(raw, dict):
        return [Problem("invalid_type", "input", f"Invalid type. Expected: object, given: {type_name(raw)}")]
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for spec in model.inputs:
        value = raw.get(spec.name, _MISSING)
        if value is _MISSING or (value is None and not spec.required):
            if spec.required:
                problems.append(Problem("required", "input", f"{spec.name} is required"))
            elif spec.default is not _MISSING:
                values[spec.name] = spec.default
            continue
        problem = _check_value(spec, f"input.{spec.name}", value)
        if problem is not None:
            problems.append(problem)
            continue
        if spec.kind == "integer" or (spec.choices and isinstance(spec.choices[0], int)):
            value = int(value)
        values[spec.name] = value
    if problems:
        return problems[:MAX_PROBLEMS]
    for rule in model.rules:
        problem = rule(values)
        if problem is not None:
            problems.append(problem)
    if problems:
        return problems
    width, height, seconds, fps, audio = model.geometry(values)
    return Params(model=model, input=values, width=width, height=height, duration=seconds, fps=fps, audio=audio)


def echoed(value: Any) -> Any:
    """``value`` as the prediction's ``input`` shows it: strings over ECHOED characters are cut."""
    if isinstance(value, str) and len(value) > ECHOED:
        return value[:ECHOED] + f"...({len(value)} characters)"
    if isinstance(value, list):
        return [echoed(v) for v in value]
    return value


def describe(problems: list[Problem]) -> str:
    return "".join(f"- {p.field}: {p.description}\n" for p in problems)


# -- geometry helpers ---------------------------------------------------------------------------------------


def resolution_name(width: int, height: int) -> str:
    return f"{min(width, height)}p"


def size_for(resolution: str, aspect: str) -> tuple[int, int]:
    """Pixels for a resolution name ("720p") and an aspect ratio ("16:9"): the short side is the resolution."""
    short = HEIGHTS[resolution]
    a, b = (int(x) for x in aspect.split(":"))
    if a >= b:
        width, height = short * a / b, short
    else:
        width, height = short, short * b / a
    return round(width / 2) * 2, round(height / 2) * 2


def _prompt(description: str = "Text prompt for video generation") -> Input:
    return Input("prompt", "string", required=True, description=description)


def _seed() -> Input:
    return Input("seed", "integer", None, minimum=0, maximum=SEED_MAX, description="Random seed. Omit for random")


def _image(name: str, description: str, required: bool = False) -> Input:
    return Input(name, "uri", None if not required else _MISSING, required=required, description=description)


def _per_second(rate: float, with_audio: float | None = None) -> Callable[[dict[str, Any], float], float]:
    def price(values: dict[str, Any], seconds: float) -> float:
        if with_audio is not None and values.get("generate_audio"):
            return with_audio * seconds
        return rate * seconds

    return price


def _flat(amount: float) -> Callable[[dict[str, Any], float], float]:
    return lambda values, seconds: amount


def _veo_geometry(values: dict[str, Any]) -> tuple[int, int, float, int, bool]:
    width, height = size_for(values["resolution"], values["aspect_ratio"])
    return width, height, float(values["duration"]), 24, bool(values["generate_audio"])


def _veo_inputs(extra: tuple[Input, ...] = ()) -> tuple[Input, ...]:
    return (
        _prompt(),
        Input("aspect_ratio", "string", "16:9", ("16:9", "9:16"), description="Video aspect ratio"),
        Input("duration", "integer", 8, (4, 6, 8), description="Video duration in seconds"),
        _image("image", "Input image to start generating from. Ideal images are 16:9 or 9:16 and 1280x720 or "
                        "720x1280, depending on the aspect ratio you choose."),
        *extra,
        Input("negative_prompt", "string", None, description="Description of what to exclude from the generated "
                                                             "video"),
        Input("resolution", "string", "1080p", ("720p", "1080p"), description="Resolution of the generated video"),
        Input("generate_audio", "boolean", True, description="Generate audio with the video"),
        _seed(),
    )


def _reference_images_rule(values: dict[str, Any]) -> Problem | None:
    refs = values.get("reference_images") or []
    if refs and (values["aspect_ratio"] != "16:9" or values["duration"] != 8):
        return Problem("reference_images", "input.reference_images",
                       "reference_images only work with a 16:9 aspect ratio and an 8 second duration")
    return None


def _kling_geometry(resolution: str) -> Geometry:
    def geometry(values: dict[str, Any]) -> tuple[int, int, float, int, bool]:
        res = "1080p" if values.get("mode") == "pro" else resolution
        width, height = size_for(res, values.get("aspect_ratio", "16:9"))
        return width, height, float(values["duration"]), 24, False

    return geometry


def _end_image_needs_pro(values: dict[str, Any]) -> Problem | None:
    if values.get("end_image") and values.get("mode") != "pro":
        return Problem("end_image", "input.end_image", "end_image is only supported in pro mode")
    return None


def _hailuo_geometry(values: dict[str, Any]) -> tuple[int, int, float, int, bool]:
    width, height = size_for(values["resolution"], "16:9")
    return width, height, float(values["duration"]), 24, False


def _ten_seconds_at_768p(values: dict[str, Any]) -> Problem | None:
    if values["duration"] == 10 and values["resolution"] != "768p":
        return Problem("duration", "input.duration", "10 second videos are only available at 768p resolution")
    return None


def _seedance_geometry(values: dict[str, Any]) -> tuple[int, int, float, int, bool]:
    width, height = size_for(values["resolution"], values["aspect_ratio"])
    return width, height, float(values["duration"]), values["fps"], False


def _wan_geometry(values: dict[str, Any]) -> tuple[int, int, float, int, bool]:
    width, height = {"480p": (832, 480), "720p": (1280, 720)}[values["resolution"]]
    if values.get("aspect_ratio") == "9:16":
        width, height = height, width
    fps = values["frames_per_second"]
    return width, height, values["num_frames"] / fps, fps, False


def _luma_geometry(resolution: str, fixed: float | None = None) -> Geometry:
    def geometry(values: dict[str, Any]) -> tuple[int, int, float, int, bool]:
        width, height = size_for(resolution, values["aspect_ratio"])
        return width, height, fixed if fixed is not None else float(values["duration"]), 24, False

    return geometry


ASPECTS_SEEDANCE = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21")
ASPECTS_LUMA = ("1:1", "3:4", "4:3", "9:16", "16:9", "9:21", "21:9")
CONCEPTS = ("truck_left", "pan_right", "pedestal_down", "low_angle", "pedestal_up", "selfie", "pan_left",
            "roll_right", "zoom_in", "over_the_shoulder", "orbit_right", "orbit_left", "static", "tiny_planet",
            "high_angle", "bolt_cam", "dolly_zoom", "overhead", "zoom_out", "handheld", "roll_left", "pov",
            "aerial_drone", "push_in", "crane_down", "truck_right", "tilt_down", "elevator_doors", "tilt_up",
            "ground_level", "pull_out", "aerial", "crane_up", "eye_level")


def _kling_master_inputs() -> tuple[Input, ...]:
    return (
        _prompt(),
        Input("negative_prompt", "string", "", description="Things you do not want to see in the video"),
        _image("start_image", "First frame of the video (optional)"),
        Input("aspect_ratio", "string", "16:9", ("16:9", "9:16", "1:1"),
              description="Aspect ratio of the video. Ignored if start_image is provided."),
        Input("duration", "integer", 5, (5, 10), description="Duration of the video in seconds"),
    )


def _luma_ray2(name: str, resolution: str, price: float, flash: bool = False) -> VideoModel:
    images = ((_image("start_image", "An optional first frame of the video"),
               _image("end_image", "An optional last frame of the video"))
              if flash else
              (_image("start_image_url", "URL of an image to use as the starting frame"),
               _image("end_image_url", "URL of an image to use as the ending frame")))
    return VideoModel(
        "luma", name, f"Luma Ray {'Flash ' if flash else ''}2 at {resolution}",
        (
            _prompt(),
            *images,
            Input("duration", "integer", 5, (5, 9), description="Duration of the video in seconds"),
            Input("aspect_ratio", "string", "16:9", ASPECTS_LUMA, description="Aspect ratio of the video"),
            Input("loop", "boolean", False, description="Whether the video should loop"),
            Input("concepts", "array", None, description="List of camera concepts to apply to the video"),
        ),
        _luma_geometry(resolution), _per_second(price),
        rules=(_concepts_rule,), steps=20)


def _concepts_rule(values: dict[str, Any]) -> Problem | None:
    for n, concept in enumerate(values.get("concepts") or []):
        if concept not in CONCEPTS:
            return Problem("enum", f"input.concepts.{n}",
                           f"concepts.{n} must be one of the following: {_choice_text(CONCEPTS)}")
    return None


MODELS: dict[str, VideoModel] = {m.ref: m for m in (
    VideoModel("google", "veo-3", "Sound on: Google's flagship Veo 3 text to video model, with audio",
               _veo_inputs(), _veo_geometry, _per_second(0.20, with_audio=0.40), steps=50),
    VideoModel("google", "veo-3-fast", "A faster and cheaper version of Google's Veo 3 video model, with audio",
               _veo_inputs(), _veo_geometry, _per_second(0.10, with_audio=0.15), steps=25),
    VideoModel("google", "veo-3.1", "New and improved version of Veo 3, with higher-fidelity video, "
                                     "context-aware audio, reference image and last frame support",
               _veo_inputs((
                   _image("last_frame", "Ending image for interpolation. When provided with an input image, "
                                        "creates a transition between the two images."),
                   Input("reference_images", "array", None, items="uri", max_items=3,
                         description="1 to 3 reference images for subject-consistent generation (reference-to-"
                                     "video, R2V). Only 16:9 and 8 second videos; last_frame is ignored."),
               )), _veo_geometry, _per_second(0.20, with_audio=0.40), rules=(_reference_images_rule,), steps=50),
    VideoModel("google", "veo-3.1-fast", "New and improved version of Veo 3 Fast, with higher-fidelity video, "
                                          "context-aware audio and last frame support",
               _veo_inputs((
                   _image("last_frame", "Ending image for interpolation. When provided with an input image, "
                                        "creates a transition between the two images."),
               )), _veo_geometry, _per_second(0.10, with_audio=0.15), steps=25),
    VideoModel("kwaivgi", "kling-v2.1", "Use Kling v2.1 to generate 5s and 10s videos in 720p and 1080p "
                                        "resolution from a starting image (image-to-video)",
               (
                   _prompt(),
                   Input("negative_prompt", "string", "", description="Things you do not want to see"),
                   _image("start_image", "First frame of the video. You must use a start image with kling-v2.1.",
                          required=True),
                   _image("end_image", "Last frame of the video (pro mode only)"),
                   Input("mode", "string", "standard", ("standard", "pro"),
                         description="Standard has a resolution of 720p, pro is 1080p. Both are 24fps."),
                   Input("duration", "integer", 5, (5, 10), description="Duration of the video in seconds"),
               ), _kling_geometry("720p"),
               lambda v, s: (0.09 if v.get("mode") == "pro" else 0.05) * s, rules=(_end_image_needs_pro,)),
    VideoModel("kwaivgi", "kling-v2.1-master", "A premium version of Kling v2.1 with superb dynamics and "
                                               "prompt adherence. Generate 1080p 5s and 10s videos",
               _kling_master_inputs(), _kling_geometry("1080p"), _per_second(0.28)),
    VideoModel("kwaivgi", "kling-v2.5-turbo-pro", "Kling 2.5 Turbo Pro: Unlock pro-level text-to-video and "
                                                  "image-to-video creation",
               (*_kling_master_inputs(), _image("end_image", "Last frame of the video"),
                _image("image", "Deprecated: use start_image instead.")),
               _kling_geometry("1080p"), _per_second(0.07)),
    VideoModel("minimax", "hailuo-02", "Hailuo 2 is a text-to-video and image-to-video model that can make 6s or "
                                       "10s videos at 768p (standard) or 1080p (pro)",
               (
                   _prompt(),
                   _image("first_frame_image", "First frame image for video generation. The output video will "
                                               "have the same aspect ratio as this image."),
                   _image("last_frame_image", "Last frame image for video generation"),
                   Input("duration", "integer", 6, (6, 10), description="Duration of the video in seconds. 10 "
                                                                         "seconds is only available for 768p."),
                   Input("resolution", "string", "1080p", ("512p", "768p", "1080p"),
                         description="Pick between standard 512p, 768p, or pro 1080p resolution."),
                   Input("prompt_optimizer", "boolean", True, description="Use prompt optimizer"),
               ), _hailuo_geometry,
               lambda v, s: {"512p": 0.025, "768p": 0.045, "1080p": 0.08}[v["resolution"]] * s,
               rules=(_ten_seconds_at_768p,), steps=40),
    VideoModel("minimax", "hailuo-2.3", "A high-fidelity video generation model optimized for realistic human "
                                        "motion, cinematic VFX, expressive characters",
               (
                   _prompt(),
                   Input("duration", "integer", 6, (6, 10), description="Duration of the video in seconds"),
                   Input("resolution", "string", "768p", ("768p", "1080p"),
                         description="1080p supports only 6-second duration"),
                   Input("prompt_optimizer", "boolean", True, description="Use prompt optimizer"),
                   _image("first_frame_image", "First frame image for video generation"),
               ), _hailuo_geometry,
               lambda v, s: {"768p": 0.045, "1080p": 0.08}[v["resolution"]] * s,
               rules=(_ten_seconds_at_768p,), steps=40),
    VideoModel("bytedance", "seedance-1-pro", "A pro version of Seedance that offers text-to-video and "
                                              "image-to-video support for 5s or 10s videos, at 480p and 1080p",
               (
                   _prompt(),
                   _image("image", "Input image for image-to-video generation"),
                   _image("last_frame_image", "Input image for last frame generation. This only works if an "
                                              "image start frame is given too."),
                   Input("duration", "integer", 5, minimum=2, maximum=12, description="Video duration in seconds"),
                   Input("resolution", "string", "1080p", ("480p", "720p", "1080p"),
                         description="Video resolution"),
                   Input("aspect_ratio", "string", "16:9", ASPECTS_SEEDANCE,
                         description="Video aspect ratio. Ignored if an image is used."),
                   Input("fps", "integer", 24, (24,), description="Frame rate (frames per second)"),
                   Input("camera_fixed", "boolean", False, description="Whether to fix camera position"),
                   _seed(),
               ), _seedance_geometry,
               lambda v, s: {"480p": 0.03, "720p": 0.06, "1080p": 0.15}[v["resolution"]] * s, steps=30),
    VideoModel("wan-video", "wan-2.2-t2v-fast", "A very fast and cheap PrunaAI optimized version of Wan 2.2 "
                                                "A14B text-to-video",
               (
                   _prompt(),
                   Input("aspect_ratio", "string", "16:9", ("16:9", "9:16"), description="Aspect ratio of video"),
                   Input("num_frames", "integer", 81, minimum=81, maximum=121,
                         description="Number of video frames. 81 frames give the best results"),
                   Input("resolution", "string", "480p", ("480p", "720p"), description="Resolution of video"),
                   Input("frames_per_second", "integer", 16, minimum=5, maximum=30,
                         description="Frames per second. Note that the pricing of this model is based on the "
                                     "video duration at 16 fps"),
                   Input("go_fast", "boolean", True, description="Go fast"),
                   Input("sample_shift", "number", 12, minimum=1, maximum=20, description="Sample shift factor"),
                   _seed(),
                   Input("disable_safety_checker", "boolean", False, description="Disable safety checker"),
               ), _wan_geometry, lambda v, s: {"480p": 0.05, "720p": 0.10}[v["resolution"]], steps=8),
    VideoModel("wan-video", "wan-2.2-i2v-fast", "A very fast and cheap PrunaAI optimized version of Wan 2.2 "
                                                "A14B image-to-video",
               (
                   _image("image", "Input image to generate video from", required=True),
                   _prompt(),
                   Input("num_frames", "integer", 81, minimum=81, maximum=121,
                         description="Number of video frames. 81 frames give the best results"),
                   Input("resolution", "string", "480p", ("480p", "720p"), description="Resolution of video"),
                   Input("frames_per_second", "integer", 16, minimum=5, maximum=30, description="Frames per second"),
                   Input("go_fast", "boolean", True, description="Go fast"),
                   Input("sample_shift", "number", 12, minimum=1, maximum=20, description="Sample shift factor"),
                   _seed(),
                   Input("disable_safety_checker", "boolean", False, description="Disable safety checker"),
               ), _wan_geometry, lambda v, s: {"480p": 0.05, "720p": 0.10}[v["resolution"]], steps=8),
    VideoModel("luma", "ray", "Fast, high quality text-to-video and image-to-video (Also known as Dream Machine)",
               (
                   _prompt(),
                   Input("aspect_ratio", "string", "16:9", ASPECTS_LUMA, description="Aspect ratio of the video"),
                   Input("loop", "boolean", False, description="Whether the video should loop"),
                   _image("start_image_url", "URL of an image to use as the starting frame"),
                   _image("end_image_url", "URL of an image to use as the ending frame"),
                   Input("start_video_id", "string", None, description="Prediction ID of a video to extend"),
                   Input("end_video_id", "string", None, description="Prediction ID of a video to reverse-extend"),
               ), _luma_geometry("720p", fixed=5.0), _flat(0.45), steps=20),
    _luma_ray2("ray-2-720p", "720p", 0.18),
    _luma_ray2("ray-2-540p", "540p", 0.08),
    _luma_ray2("ray-flash-2-720p", "720p", 0.06, flash=True),
    _luma_ray2("ray-flash-2-540p", "540p", 0.033, flash=True),
)}

BY_VERSION: dict[str, VideoModel] = {m.version: m for m in MODELS.values()}


def find(ref: str) -> VideoModel | None:
    """A model by ``owner/name``, ``owner/name:version`` or bare version id (what POST /v1/predictions takes)."""
    if ":" in ref:
        name, _, version = ref.partition(":")
        model = MODELS.get(name)
        return model if model is not None and model.version == version else None
    return MODELS.get(ref) or BY_VERSION.get(ref)
