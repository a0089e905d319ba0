"""fal's video model endpoints: each one's input schema (validated the way fal's apps do it, with pydantic, so
errors come back as FastAPI's 422 ``detail`` list), the size, length and sound of what it renders, and its
public price in US dollars (the profile's ``credits`` limit for fal is a dollar budget).

Sources: the fal-js endpoint type map and the model pages (``shared/reference/fal.md`` section 13); prices marked
there as UNCONFIRMED are estimates in the same range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, ValidationError, create_model

MAX_URL = 8 * 2**20  # data URIs are allowed
MAX_ERROR_INPUT = 200  # characters of an offending input echoed back in an error


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://", "data:")) or len(value) < 8:
        raise ValueError("Input should be a valid URL or data URI")
    return value


Url = Annotated[str, Field(max_length=MAX_URL), AfterValidator(_url)]
Seed = Annotated[int, Field(ge=-1, le=2**63 - 1)]


@dataclass(frozen=True)
class Render:
    width: int
    height: int
    duration: float
    fps: int
    audio: bool


@dataclass(frozen=True)
class Endpoint:
    id: str
    schema: type[BaseModel]
    render: Callable[[Any], Render]
    price: Callable[[Any, Render], float]  # US dollars
    output: Callable[[Any, Render], dict[str, Any]] = lambda params, render: {}  # fields besides "video"
    video_details: bool = False  # the File carries width, height, fps, duration, num_frames (Wan 2.5+)

    @property
    def app(self) -> str:
        """``owner/alias``: what status, result and cancel URLs carry."""
        return "/".join(self.id.split("/")[:2])


class Input(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def schema(name: str, base: type[BaseModel] = Input, **fields: Any) -> type[BaseModel]:
    return create_model(name, __base__=base, **fields)


def even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def size(short: int, aspect: str) -> tuple[int, int]:
    """Width and height of a ``short``-p video (the shorter side) at ``aspect`` ("auto" = 16:9)."""
    if aspect == "auto":
        aspect = "16:9"
    w, h = (int(n) for n in aspect.split(":"))
    if w >= h:
        return even(short * w / h), short
    return short, even(short * h / w)


def p(resolution: str) -> int:
    return int(resolution.lower().rstrip("p")) if resolution.lower() != "4k" else 2160


def req(annotation: Any, **kw: Any) -> Any:
    return (annotation, Field(..., **kw))


def opt(annotation: Any, default: Any = None, **kw: Any) -> Any:
    return (annotation, Field(default, **kw))


def prompt(max_length: int) -> Any:
    return req(str, min_length=1, max_length=max_length)


def lit(*values: str) -> Any:
    return Literal[values]  # type: ignore[valid-type]


# -- Kling ------------------------------------------------------------------------------------------------

KLING_NEGATIVE = "blur, distort, and low quality"
KLING_ASPECTS = lit("16:9", "9:16", "1:1")
KLING_COMMON = {
    "prompt": prompt(2500),
    "duration": opt(lit("5", "10"), "5"),
    "negative_prompt": opt(str, KLING_NEGATIVE, max_length=2500),
    "cfg_scale": opt(float, 0.5, ge=0.0, le=1.0),
}
KlingT2V = schema("KlingT2V", **KLING_COMMON, aspect_ratio=opt(KLING_ASPECTS, "16:9"))
KlingI2V = schema("KlingI2V", **KLING_COMMON, image_url=req(Url))
KlingI2VTail = schema("KlingI2VTail", KlingI2V, tail_image_url=opt(Url | None))
Kling26T2V = schema("Kling26T2V", KlingT2V, generate_audio=opt(bool, True))
Kling26I2V = schema("Kling26I2V", **{k: v for k, v in KLING_COMMON.items() if k != "cfg_scale"},
                    start_image_url=req(Url), end_image_url=opt(Url | None), generate_audio=opt(bool, True),
                    voice_ids=opt(list[Annotated[str, Field(max_length=200)]] | None, None, max_length=2))


class Shot(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    prompt: str = Field(..., min_length=1, max_length=2500)
    duration: lit(*(str(n) for n in range(1, 16))) = "5"  # type: ignore[valid-type]


def _one_prompt(model: Any) -> Any:
    if (model.prompt is None) == (model.multi_prompt is None):
        raise ValueError("Provide either prompt or multi_prompt, not both")
    return model


class _V3Base(Input):
    def model_post_init(self, __context: Any) -> None:
        _one_prompt(self)


V3_COMMON = {
    "prompt": opt(str | None, None, min_length=1, max_length=2500),
    "multi_prompt": opt(list[Shot] | None, None, min_length=1, max_length=6),
    "duration": opt(lit(*(str(n) for n in range(3, 16))), "5"),
    "generate_audio": opt(bool, True),
    "shot_type": opt(lit("customize", "intelligent"), "customize"),
    "negative_prompt": opt(str, KLING_NEGATIVE, max_length=2500),
    "cfg_scale": opt(float, 0.5, ge=0.0, le=1.0),
}
KlingV3T2V = schema("KlingV3T2V", _V3Base, **V3_COMMON, aspect_ratio=opt(KLING_ASPECTS, "16:9"))
KlingV3I2V = schema("KlingV3I2V", _V3Base, **V3_COMMON, start_image_url=req(Url), end_image_url=opt(Url | None),
                    elements=opt(list[dict[str, Any]] | None, None, max_length=4))


def kling_duration(params: Any) -> float:
    shots = getattr(params, "multi_prompt", None)
    if shots:
        return float(min(sum(int(s.duration) for s in shots), 15))
    return float(params.duration)


def kling_render(short: int, audio_default: bool = False) -> Callable[[Any], Render]:
    def render(params: Any) -> Render:
        w, h = size(short, getattr(params, "aspect_ratio", "16:9"))
        return Render(w, h, kling_duration(params), 24, bool(getattr(params, "generate_audio", audio_default)))

    return render


def per_5s(first: float, extra_per_s: float) -> Callable[[Any, Render], float]:
    return lambda params, r: round(first + max(r.duration - 5, 0) * extra_per_s, 4)


def per_s(off: float, on: float | None = None) -> Callable[[Any, Render], float]:
    return lambda params, r: round(r.duration * (on if (on is not None and r.audio) else off), 4)


def kling() -> list[Endpoint]:
    k = "fal-ai/kling-video"
    return [
        Endpoint(f"{k}/v2.1/master/text-to-video", KlingT2V, kling_render(1080), per_5s(1.40, 0.28)),
        Endpoint(f"{k}/v2.1/master/image-to-video", KlingI2V, kling_render(1080), per_5s(1.40, 0.28)),
        Endpoint(f"{k}/v2.1/pro/image-to-video", KlingI2VTail, kling_render(1080), per_5s(0.49, 0.098)),
        Endpoint(f"{k}/v2.1/standard/image-to-video", KlingI2V, kling_render(720), per_5s(0.28, 0.056)),
        Endpoint(f"{k}/v2.5-turbo/pro/text-to-video", KlingT2V, kling_render(1080), per_5s(0.35, 0.07)),
        Endpoint(f"{k}/v2.5-turbo/pro/image-to-video", KlingI2VTail, kling_render(1080), per_5s(0.35, 0.07)),
        Endpoint(f"{k}/v2.5-turbo/standard/image-to-video", KlingI2V, kling_render(720), per_5s(0.21, 0.042)),
        Endpoint(f"{k}/v2.6/pro/text-to-video", Kling26T2V, kling_render(1080, True), per_s(0.07, 0.14)),
        Endpoint(f"{k}/v2.6/pro/image-to-video", Kling26I2V, kling_render(1080, True), per_s(0.07, 0.14)),
        Endpoint(f"{k}/v3/pro/text-to-video", KlingV3T2V, kling_render(1080, True), per_s(0.224, 0.28)),
        Endpoint(f"{k}/v3/standard/text-to-video", KlingV3T2V, kling_render(720, True), per_s(0.168, 0.21)),
        Endpoint(f"{k}/v3/4k/text-to-video", KlingV3T2V, kling_render(2160, True), per_s(0.42, 0.49)),
        Endpoint(f"{k}/v3/pro/image-to-video", KlingV3I2V, kling_render(1080, True), per_s(0.224, 0.28)),
    ]


# -- Veo --------------------------------------------------------------------------------------------------

VEO_COMMON = {
    "prompt": prompt(20000),
    "duration": opt(lit("4s", "6s", "8s"), "8s"),
    "generate_audio": opt(bool, True),
    "negative_prompt": opt(str | None, None, max_length=20000),
    "seed": opt(Seed | None),
    "auto_fix": opt(bool, True),
    "safety_tolerance": opt(lit("1", "2", "3", "4", "5", "6"), "4"),
}
Veo3 = schema("Veo3", **VEO_COMMON, aspect_ratio=opt(lit("16:9", "9:16"), "16:9"),
              resolution=opt(lit("720p", "1080p"), "720p"))
Veo3I2V = schema("Veo3I2V", **VEO_COMMON, image_url=req(Url), aspect_ratio=opt(lit("auto", "16:9", "9:16"), "auto"),
                 resolution=opt(lit("720p", "1080p"), "720p"))
Veo31 = schema("Veo31", **VEO_COMMON, aspect_ratio=opt(lit("16:9", "9:16"), "16:9"),
               resolution=opt(lit("720p", "1080p", "4k"), "720p"))
Veo31I2V = schema("Veo31I2V", **VEO_COMMON, image_url=req(Url),
                  aspect_ratio=opt(lit("auto", "16:9", "9:16"), "auto"),
                  resolution=opt(lit("720p", "1080p", "4k"), "720p"))


def veo_render(params: Any) -> Render:
    w, h = size(p(params.resolution), params.aspect_ratio)
    return Render(w, h, float(params.duration.rstrip("s")), 24, params.generate_audio)


def veo_price(hd: tuple[float, float], uhd: tuple[float, float]) -> Callable[[Any, Render], float]:
    def price(params: Any, r: Render) -> float:
        off, on = uhd if params.resolution == "4k" else hd
        return round(r.duration * (on if r.audio else off), 4)

    return price


def veo() -> list[Endpoint]:
    full, fast = veo_price((0.20, 0.40), (0.40, 0.60)), veo_price((0.10, 0.15), (0.30, 0.35))
    lite = veo_price((0.05, 0.08), (0.05, 0.08))
    return [
        Endpoint("fal-ai/veo3", Veo3, veo_render, full),
        Endpoint("fal-ai/veo3/fast", Veo3, veo_render, fast),
        Endpoint("fal-ai/veo3/image-to-video", Veo3I2V, veo_render, full),
        Endpoint("fal-ai/veo3/fast/image-to-video", Veo3I2V, veo_render, fast),
        Endpoint("fal-ai/veo3.1", Veo31, veo_render, full),
        Endpoint("fal-ai/veo3.1/fast", Veo31, veo_render, fast),
        Endpoint("fal-ai/veo3.1/image-to-video", Veo31I2V, veo_render, full),
        Endpoint("fal-ai/veo3.1/fast/image-to-video", Veo31I2V, veo_render, fast),
        Endpoint("fal-ai/veo3.1/lite", Veo3, veo_render, lite),
    ]


# -- MiniMax Hailuo ---------------------------------------------------------------------------------------

HailuoStdT2V = schema("HailuoStdT2V", prompt=prompt(2000), duration=opt(lit("6", "10"), "6"),
                      prompt_optimizer=opt(bool, True))
HailuoStdI2V = schema("HailuoStdI2V", HailuoStdT2V, image_url=req(Url), end_image_url=opt(Url | None),
                      resolution=opt(lit("512P", "768P"), "768P"))
HailuoProT2V = schema("HailuoProT2V", prompt=prompt(2000), prompt_optimizer=opt(bool, True))
HailuoProI2V = schema("HailuoProI2V", HailuoProT2V, image_url=req(Url), end_image_url=opt(Url | None))


def hailuo_render(params: Any) -> Render:
    short = p(getattr(params, "resolution", "768P"))
    return Render(*size(short, "16:9"), float(getattr(params, "duration", "6")), 24, False)


def hailuo_pro_render(params: Any) -> Render:
    return Render(1920, 1080, 6.0, 24, False)


def hailuo() -> list[Endpoint]:
    h = "fal-ai/minimax/hailuo-02"
    std = lambda params, r: round(r.duration * (0.017 if r.height == 512 else 0.045), 4)  # noqa: E731
    return [
        Endpoint(f"{h}/standard/text-to-video", HailuoStdT2V, hailuo_render, std),
        Endpoint(f"{h}/standard/image-to-video", HailuoStdI2V, hailuo_render, std),
        Endpoint(f"{h}/pro/text-to-video", HailuoProT2V, hailuo_pro_render, per_s(0.08)),
        Endpoint(f"{h}/pro/image-to-video", HailuoProI2V, hailuo_pro_render, per_s(0.08)),
    ]


# -- Seedance ---------------------------------------------------------------------------------------------

SEEDANCE_COMMON = {
    "prompt": prompt(2000),
    "resolution": opt(lit("480p", "720p", "1080p"), "1080p"),
    "duration": opt(lit(*(str(n) for n in range(2, 13))), "5"),
    "camera_fixed": opt(bool, False),
    "seed": opt(Seed | None),
    "num_frames": opt(StrictInt | None, None, ge=29, le=289),
    "enable_safety_checker": opt(bool, True),
}
SEEDANCE_ASPECTS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
SeedanceT2V = schema("SeedanceT2V", **SEEDANCE_COMMON, aspect_ratio=opt(lit(*SEEDANCE_ASPECTS), "16:9"))
SeedanceI2V = schema("SeedanceI2V", **{**SEEDANCE_COMMON, "resolution": opt(lit("480p", "720p", "1080p"), "720p")},
                     image_url=req(Url), end_image_url=opt(Url | None),
                     aspect_ratio=opt(lit("auto", *SEEDANCE_ASPECTS), "auto"))


def seedance_render(params: Any) -> Render:
    duration = params.num_frames / 24 if params.num_frames else float(params.duration)
    return Render(*size(p(params.resolution), params.aspect_ratio), round(duration, 3), 24, False)


def tokens_price(per_million: float) -> Callable[[Any, Render], float]:
    return lambda params, r: round(r.width * r.height * r.fps * r.duration / 1024 * per_million / 1e6, 4)


def seed_of(params: Any, render: Render) -> dict[str, Any]:
    seed = getattr(params, "seed", None)
    return {"seed": seed if seed is not None and seed >= 0 else 42}


def seedance() -> list[Endpoint]:
    s = "fal-ai/bytedance/seedance/v1/pro"
    return [
        Endpoint(f"{s}/text-to-video", SeedanceT2V, seedance_render, tokens_price(2.5), seed_of),
        Endpoint(f"{s}/image-to-video", SeedanceI2V, seedance_render, tokens_price(2.5), seed_of),
        Endpoint(f"{s}/fast/text-to-video", SeedanceT2V, seedance_render, tokens_price(1.0), seed_of),
    ]


# -- Wan --------------------------------------------------------------------------------------------------

Wan22T2V = schema(
    "Wan22T2V", prompt=prompt(5000), negative_prompt=opt(str, "", max_length=5000),
    num_frames=opt(StrictInt, 81, ge=17, le=161), frames_per_second=opt(StrictInt, 16, ge=4, le=60),
    resolution=opt(lit("480p", "580p", "720p"), "720p"), aspect_ratio=opt(lit("16:9", "9:16", "1:1"), "16:9"),
    num_inference_steps=opt(StrictInt, 27, ge=2, le=40), guidance_scale=opt(float, 3.5, ge=1.0, le=10.0),
    guidance_scale_2=opt(float, 4.0, ge=1.0, le=10.0), shift=opt(float, 5.0, ge=1.0, le=10.0),
    interpolator_model=opt(lit("none", "film", "rife"), "film"),
    num_interpolated_frames=opt(StrictInt, 1, ge=0, le=4), adjust_fps_for_interpolation=opt(bool, True),
    acceleration=opt(lit("none", "regular"), "regular"),
    video_quality=opt(lit("low", "medium", "high", "maximum"), "high"),
    video_write_mode=opt(lit("fast", "balanced", "small"), "balanced"),
    enable_safety_checker=opt(bool, False), enable_output_safety_checker=opt(bool, False),
    enable_prompt_expansion=opt(bool, False), seed=opt(Seed | None))
Wan22I2V = schema("Wan22I2V", Wan22T2V, image_url=req(Url))
Wan25T2V = schema("Wan25T2V", prompt=prompt(1500), duration=opt(lit("5", "10"), "5"),
                  resolution=opt(lit("480p", "720p", "1080p"), "1080p"),
                  aspect_ratio=opt(lit("16:9", "9:16", "1:1"), "16:9"), audio_url=opt(Url | None),
                  negative_prompt=opt(str | None, None, max_length=500), enable_prompt_expansion=opt(bool, True),
                  enable_safety_checker=opt(bool, True), seed=opt(Seed | None))
Wan27T2V = schema("Wan27T2V", prompt=prompt(5000), duration=opt(StrictInt, 5, ge=2, le=15),
                  resolution=opt(lit("720p", "1080p"), "1080p"),
                  aspect_ratio=opt(lit("16:9", "9:16", "1:1", "4:3", "3:4"), "16:9"), audio_url=opt(Url | None),
                  negative_prompt=opt(str | None, None, max_length=5000), enable_prompt_expansion=opt(bool, True),
                  enable_safety_checker=opt(bool, True), seed=opt(Seed | None))


def wan22_render(params: Any) -> Render:
    fps = params.frames_per_second
    if params.interpolator_model != "none" and params.adjust_fps_for_interpolation:
        fps *= params.num_interpolated_frames + 1
    duration = params.num_frames / params.frames_per_second
    return Render(*size(p(params.resolution), params.aspect_ratio), round(duration, 3), min(fps, 60), False)


def wan22_price(params: Any, r: Render) -> float:
    rate = {"720p": 0.08, "580p": 0.06, "480p": 0.04}[params.resolution]
    return round(params.num_frames / 16 * rate, 4)


def wan_render(params: Any) -> Render:
    return Render(*size(p(params.resolution), params.aspect_ratio), float(params.duration), 24, False)


def wan_extra(params: Any, render: Render) -> dict[str, Any]:
    return {**seed_of(params, render), "actual_prompt": params.prompt}


def wan() -> list[Endpoint]:
    wan22_extra = lambda params, r: {**seed_of(params, r), "prompt": params.prompt}  # noqa: E731
    wan25_price = lambda params, r: round(r.duration * {"480p": 0.05, "720p": 0.10, "1080p": 0.15}[  # noqa: E731
        params.resolution], 4)
    return [
        Endpoint("fal-ai/wan/v2.2-a14b/text-to-video", Wan22T2V, wan22_render, wan22_price, wan22_extra),
        Endpoint("fal-ai/wan/v2.2-a14b/image-to-video", Wan22I2V, wan22_render, wan22_price, wan22_extra),
        Endpoint("fal-ai/wan-25-preview/text-to-video", Wan25T2V, wan_render, wan25_price, wan_extra, True),
        Endpoint("fal-ai/wan/v2.7/text-to-video", Wan27T2V, wan_render, per_s(0.10), wan_extra, True),
    ]


# -- Luma Ray ---------------------------------------------------------------------------------------------

LumaRay2 = schema("LumaRay2", prompt=prompt(5000),
                  aspect_ratio=opt(lit("16:9", "9:16", "4:3", "3:4", "21:9", "9:21"), "16:9"),
                  duration=opt(lit("5s", "9s"), "5s"), resolution=opt(lit("540p", "720p", "1080p"), "540p"),
                  loop=opt(bool, False))
LumaRay2I2V = schema("LumaRay2I2V", LumaRay2, image_url=opt(Url | None), end_image_url=opt(Url | None))


def luma_render(params: Any) -> Render:
    return Render(*size(p(params.resolution), params.aspect_ratio), float(params.duration.rstrip("s")), 24, False)


def luma_price(per_5s_540p: float) -> Callable[[Any, Render], float]:
    def price(params: Any, r: Render) -> float:
        scale = {"540p": 1, "720p": 2, "1080p": 4}[params.resolution] * (2 if params.duration == "9s" else 1)
        return round(per_5s_540p * scale, 4)

    return price


def luma() -> list[Endpoint]:
    base = "fal-ai/luma-dream-machine"
    return [
        Endpoint(f"{base}/ray-2", LumaRay2, luma_render, luma_price(0.50)),
        Endpoint(f"{base}/ray-2-flash", LumaRay2, luma_render, luma_price(0.20)),
        Endpoint(f"{base}/ray-2/image-to-video", LumaRay2I2V, luma_render, luma_price(0.50)),
    ]


# -- PixVerse ---------------------------------------------------------------------------------------------

PIX_ASPECTS = ("16:9", "4:3", "1:1", "3:4", "9:16")
PIX_COMMON = {
    "prompt": prompt(2048),
    "resolution": opt(lit("360p", "540p", "720p", "1080p"), "720p"),
    "duration": opt(lit("5", "8"), "5"),
    "negative_prompt": opt(str, "", max_length=2048),
    "style": opt(lit("anime", "3d_animation", "clay", "comic", "cyberpunk") | None),
    "seed": opt(Seed | None),
}


class _PixBase(Input):
    def model_post_init(self, __context: Any) -> None:
        if self.resolution == "1080p" and str(self.duration) not in ("5",) and int(self.duration) > 5:
            raise ValueError("1080p videos are limited to 5 seconds")


PixV5T2V = schema("PixV5T2V", _PixBase, **PIX_COMMON, aspect_ratio=opt(lit(*PIX_ASPECTS), "16:9"))
PixV5I2V = schema("PixV5I2V", _PixBase, **PIX_COMMON, image_url=req(Url))
PIX55 = {**PIX_COMMON, "duration": opt(lit("5", "8", "10"), "5"), "generate_audio_switch": opt(bool, False),
         "generate_multi_clip_switch": opt(bool, False),
         "thinking_type": opt(lit("enabled", "disabled", "auto") | None)}
PixV55T2V = schema("PixV55T2V", _PixBase, **PIX55, aspect_ratio=opt(lit(*PIX_ASPECTS), "16:9"))
PixV6T2V = schema("PixV6T2V", _PixBase, **{**PIX55, "duration": opt(StrictInt, 5, ge=1, le=15)},
                  aspect_ratio=opt(lit(*PIX_ASPECTS, "2:3", "3:2", "21:9"), "16:9"))


def pix_render(params: Any) -> Render:
    audio = bool(getattr(params, "generate_audio_switch", False))
    return Render(*size(p(params.resolution), getattr(params, "aspect_ratio", "16:9")), float(params.duration),
                  24, audio)


def pix_price(params: Any, r: Render) -> float:
    five = {"360p": 0.30, "540p": 0.30, "720p": 0.40, "1080p": 0.80}[params.resolution]
    return round(five * r.duration / 5, 4)


def pixverse() -> list[Endpoint]:
    return [
        Endpoint("fal-ai/pixverse/v5/text-to-video", PixV5T2V, pix_render, pix_price),
        Endpoint("fal-ai/pixverse/v5/image-to-video", PixV5I2V, pix_render, pix_price),
        Endpoint("fal-ai/pixverse/v5.5/text-to-video", PixV55T2V, pix_render, pix_price),
        Endpoint("fal-ai/pixverse/v6/text-to-video", PixV6T2V, pix_render, pix_price),
    ]


ENDPOINTS: dict[str, Endpoint] = {e.id: e for e in (*kling(), *veo(), *hailuo(), *seedance(), *wan(), *luma(),
                                                     *pixverse())}
APPS = frozenset(e.app for e in ENDPOINTS.values())


@dataclass(frozen=True)
class Invalid:
    """A 422 as fal's FastAPI apps answer it."""

    detail: list[dict[str, Any]]


@dataclass(frozen=True)
class Valid:
    params: Any
    render: Render
    cost: float


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_ERROR_INPUT:
        return value[:MAX_ERROR_INPUT] + "..."
    if isinstance(value, (dict, list)):
        return "..." if len(repr(value)) > MAX_ERROR_INPUT else value
    return value


def validate(endpoint: Endpoint, body: Any) -> Valid | Invalid:
    if not isinstance(body, dict):
        return Invalid([{"loc": ["body"], "msg": "Input should be a valid dictionary or object to extract fields "
                         "from", "type": "model_attributes_type", "input": _short(body)}])
    try:
        params = endpoint.schema.model_validate(body)
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False)[:20]:
            entry = {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"],
                     "url": f"https://docs.fal.ai/errors/#{error['type']}"}
            if "ctx" in error:
                entry["ctx"] = {k: str(v) for k, v in error["ctx"].items()}
            if "input" in error and error["type"] != "missing":
                entry["input"] = _short(error["input"])
            errors.append(entry)
        return Invalid(errors)
    render = endpoint.render(params)
    return Valid(params, render, endpoint.price(params, render))
