"""Runway's ``outputFormat`` values as real files (runwayml 5.24.0's docstrings of ``output_format`` and
``prores_profile`` on gen4.5, aleph2, seedance2_5 and ruby): which codec, container, bit depth, colour and
sidecars each delivers, and the rules the docstrings state beyond the enums."""

from __future__ import annotations

from typing import Any

from ...media.deliveries import DeliverySpec
from ...media.render import VideoSpec
from .models import custom

PRORES = {"422 Proxy": "proxy", "422 LT": "lt", "422": "standard", "422 HQ": "hq", "4444": "4444",
          "4444 XQ": "4444xq"}
HDR_PRORES = ("422", "422 HQ", "4444")  # "422 Proxy and 422 LT quantize too heavily to hold the HDR gradients"
DEFAULT_FORMAT = {"video_to_hdr": "hdr10"}  # ruby: "hdr10 (default)"; every other endpoint defaults to mp4
# format -> DeliverySpec fields (besides the picture). Frame names of PNG and plain EXR sequences are not
# documented (mock: frame_00001); the ACEScg ones are ("VFX sequence frame naming (frame.0001.exr)").
FORMATS: dict[str, dict[str, Any]] = {
    "prores": {"codec": "prores", "container": "mov"},
    "hdr_prores": {"codec": "prores", "container": "mov", "transfer": "pq"},
    "png_sequence": {"codec": "png", "container": "zip"},
    "hdr_png_sequence": {"codec": "png", "container": "zip", "depth": 16, "transfer": "pq",
                         "sidecars": ("colorimetry",)},
    "hdr10": {"codec": "hevc", "container": "mp4", "depth": 10, "transfer": "pq"},
    "hlg": {"codec": "hevc", "container": "mp4", "depth": 10, "transfer": "hlg"},
    "sdr_rec709_10bit": {"codec": "hevc", "container": "mp4", "depth": 10},
    "hdr_pq_12bit_master": {"codec": "hevc", "container": "mov", "depth": 12, "chroma": "444", "transfer": "pq"},
    "hdr_exr_sequence": {"codec": "exr", "container": "zip", "transfer": "linear", "sidecars": ("colorimetry",)},
    "hdr_exr_acescg_sequence_1_3": {"codec": "exr", "container": "zip", "transfer": "acescg",
                                    "frame_name": "frame.{:04d}", "sidecars": ("colorimetry",)},
    "hdr_exr_acescg_sequence_2_0": {"codec": "exr", "container": "zip", "transfer": "acescg",
                                    "frame_name": "frame.{:04d}", "sidecars": ("colorimetry",)},
    # seedance2_5: "mov keeps high colour precision for grading and compositing" (the codec is not stated: mock
    # ProRes 422 HQ)
    "mov": {"codec": "prores", "container": "mov", "profile": "hq"},
}


def format_issues(endpoint: str, model: str, body: dict) -> list[dict[str, Any]]:
    """What the docstrings forbid beyond the enums: a ProRes profile without a ProRes format, an HDR ProRes tier
    that cannot hold HDR, a draft that is not an MP4."""
    fmt = body.get("outputFormat", DEFAULT_FORMAT.get(endpoint, "mp4"))
    profile = body.get("proresProfile")
    issues = []
    if profile is not None and fmt not in ("prores", "hdr_prores"):
        issues.append(custom(["proresProfile"], "proresProfile is only valid when outputFormat is prores or "
                                                "hdr_prores"))
    elif fmt == "hdr_prores" and isinstance(profile, str) and profile not in HDR_PRORES:
        issues.append(custom(["proresProfile"], "hdr_prores is only available in the 422, 422 HQ and 4444 tiers"))
    if body.get("draft") is True and fmt != "mp4":
        issues.append(custom(["outputFormat"], "Draft mode only supports mp4"))
    return issues


def delivered(endpoint: str, body: dict, video: VideoSpec) -> VideoSpec | DeliverySpec:
    """The file a task of this request delivers: ``video`` as an H.264 MP4, or the ``outputFormat`` asked for."""
    fmt = body.get("outputFormat", DEFAULT_FORMAT.get(endpoint, "mp4"))
    fields = FORMATS.get(fmt) if isinstance(fmt, str) else None
    if fields is None:
        return video
    fields = dict(fields)
    if fields["codec"] == "prores" and "profile" not in fields:
        default = "422 HQ" if fmt == "hdr_prores" else "4444"  # the docstrings' defaults
        fields["profile"] = PRORES.get(body.get("proresProfile") or default, PRORES[default])
    if endpoint == "video_to_hdr" and fields["codec"] == "exr":  # ruby: "a provenance.json declaring the upconvert"
        fields["sidecars"] = (*fields["sidecars"], "provenance")
    return DeliverySpec(video, **fields)
