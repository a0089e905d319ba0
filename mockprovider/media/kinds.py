"""The kinds of output a job can have (video, a video delivery such as ProRes or a PNG sequence, image, audio):
how each renders, its MIME type and extension."""

from __future__ import annotations

from .deliveries import DeliverySpec, render_delivery
from .render import VideoSpec, render_mp4
from .sound import AudioSpec, render_audio
from .stills import ImageSpec, render_image

MediaSpec = VideoSpec | DeliverySpec | ImageSpec | AudioSpec


def render(spec: MediaSpec) -> bytes:
    if isinstance(spec, VideoSpec):
        return render_mp4(spec)
    if isinstance(spec, ImageSpec):
        return render_image(spec)
    if isinstance(spec, AudioSpec):
        return render_audio(spec)
    if isinstance(spec, DeliverySpec):
        return render_delivery(spec)
    raise TypeError(f"not a media spec: {spec!r}")


def content_type(spec: MediaSpec) -> str:
    return "video/mp4" if isinstance(spec, VideoSpec) else spec.content_type


def extension(spec: MediaSpec) -> str:
    return "mp4" if isinstance(spec, VideoSpec) else spec.extension
