"""Video deliveries other than H.264 MP4, rendered for real: ProRes or HEVC (10/12-bit, HDR colour tags) in a MOV
or MP4, and image sequences (8/16-bit PNG, half-float OpenEXR) in a ZIP with optional JSON sidecars.

As in ``render.py``, one second of test pattern is encoded per picture geometry and variant and longer outputs
reuse it: ProRes is intra-only and the HEVC second is a closed GOP without B-frames, so their packets loop with
shifted timestamps; a sequence repeats the second's encoded frames under each frame's own name. Dialects map their
providers' format names onto these neutral fields.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import av

from .render import VideoSpec, _pattern_frame, remux_looped

CODECS = {"prores": ("mov",), "hevc": ("mp4", "mov"), "png": ("zip",), "exr": ("zip",)}
PRORES_PROFILES = ("proxy", "lt", "standard", "hq", "4444", "4444xq")  # prores_aw's profile numbers, in order
TRANSFERS = {  # name -> (primaries, transfer, matrix) as FFmpeg / x265 name them
    "bt709": ("bt709", "bt709", "bt709"),
    "pq": ("bt2020", "smpte2084", "bt2020nc"),
    "hlg": ("bt2020", "arib-std-b67", "bt2020nc"),
    "linear": ("bt2020", "linear", "bt2020nc"),
    "acescg": ("bt2020", "linear", "bt2020nc"),  # ACEScg's AP1 primaries have no FFmpeg tag; the sidecar names them
}
# FFmpeg's AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace numbers of those names
AV_COLOUR = {"bt709": 1, "bt2020": 9, "smpte2084": 16, "arib-std-b67": 18, "linear": 8, "bt2020nc": 9}
CONTENT_TYPES = {"mov": "video/quicktime", "mp4": "video/mp4", "zip": "application/zip"}
SIDECARS = ("colorimetry", "provenance")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so a spec always gives the same bytes


@dataclass(frozen=True, slots=True)
class DeliverySpec:
    video: VideoSpec  # the picture: size, duration, fps, audio, variant
    codec: str  # prores | hevc | png | exr
    container: str  # mov | mp4 | zip
    profile: str = "hq"  # ProRes profile (PRORES_PROFILES)
    depth: int = 8  # bits per sample: HEVC 10 or 12, PNG 8 or 16 (ProRes and EXR fix their own)
    chroma: str = "420"  # HEVC chroma subsampling: 420 | 444
    transfer: str = "bt709"  # colour tags (TRANSFERS)
    frame_name: str = "frame_{:05d}"  # a sequence's frame file names (1-based), before the extension
    sidecars: tuple[str, ...] = ()  # JSON files a sequence carries (SIDECARS)

    def __post_init__(self) -> None:
        if not isinstance(self.video, VideoSpec):
            raise ValueError(f"video must be a VideoSpec, got {self.video!r}")
        if self.container not in CODECS.get(self.codec, ()):
            raise ValueError(f"{self.codec!r} cannot be delivered in {self.container!r}")
        if self.codec == "prores" and self.profile not in PRORES_PROFILES:
            raise ValueError(f"profile must be one of {PRORES_PROFILES}, got {self.profile!r}")
        allowed = {"hevc": (10, 12), "png": (8, 16)}.get(self.codec, (self.depth,))
        if self.depth not in allowed or self.chroma not in ("420", "444") or self.transfer not in TRANSFERS:
            raise ValueError(f"unsupported depth/chroma/transfer {self.depth}/{self.chroma}/{self.transfer}")
        if not set(self.sidecars) <= set(SIDECARS):
            raise ValueError(f"sidecars must be among {SIDECARS}, got {self.sidecars!r}")
        self.frame_name.format(1)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.container]

    @property
    def extension(self) -> str:
        return self.container

    @property
    def duration(self) -> float:
        return self.video.duration


def render_delivery(spec: DeliverySpec) -> bytes:
    """The complete file for ``spec``. Blocking and thread-safe."""
    if spec.container == "zip":
        return _render_sequence(spec)
    v = spec.video
    template = _encoded_second(v.width, v.height, v.fps, v.variant, spec.codec, spec.container, spec.profile,
                               spec.depth, spec.chroma, spec.transfer)
    return remux_looped(template, v, spec.container)


def _pixel_format(codec: str, profile: str, depth: int, chroma: str) -> str:
    if codec == "prores":
        return "yuva444p10le" if profile.startswith("4444") else "yuv422p10le"  # 4444: an opaque alpha plane
    return f"yuv{chroma}p{depth}le"


@lru_cache(maxsize=16)
def _encoded_second(width: int, height: int, fps: int, variant: int, codec: str, container: str, profile: str,
                    depth: int, chroma: str, transfer: str) -> bytes:
    """One second of test pattern as a standalone MOV/MP4 of ``codec``, each frame or GOP decodable on its own."""
    primaries, trc, matrix = TRANSFERS[transfer]
    pix_fmt = _pixel_format(codec, profile, depth, chroma)
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        if codec == "prores":
            stream = out.add_stream("prores_aw", rate=fps, options={"profile": str(PRORES_PROFILES.index(profile))})
        else:
            params = (f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0:open-gop=0:log-level=error"
                      f":colorprim={primaries}:transfer={trc}:colormatrix={matrix}")
            stream = out.add_stream("libx265", rate=fps, options={"preset": "ultrafast", "x265-params": params})
            stream.codec_tag = "hvc1"
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        context = stream.codec_context
        context.time_base = Fraction(1, fps)
        context.color_primaries, context.color_trc, context.colorspace = (AV_COLOUR[name] for name in (
            primaries, trc, matrix))
        for index in range(fps):
            frame = _pattern_frame(width, height, index, fps, variant).reformat(format=pix_fmt)
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


@lru_cache(maxsize=8)
def _encoded_frames(width: int, height: int, fps: int, variant: int, codec: str, depth: int) -> tuple[bytes, ...]:
    """One second of the pattern as still images: PNG (8 or 16 bits per channel) or half-float OpenEXR."""
    pix_fmt = "gbrpf32le" if codec == "exr" else ("rgb48be" if depth == 16 else "rgb24")
    frames = []
    for index in range(fps):
        context = av.codec.CodecContext.create(codec, "w")
        context.width, context.height, context.pix_fmt = width, height, pix_fmt
        if codec == "exr":
            context.options = {"compression": "zip16", "format": "half"}
        picture = _pattern_frame(width, height, index, fps, variant).reformat(format=pix_fmt)
        frames.append(b"".join(bytes(p) for p in [*context.encode(picture), *context.encode(None)]))
    return tuple(frames)


def _sidecar(spec: DeliverySpec, name: str) -> bytes:
    primaries, trc, matrix = TRANSFERS[spec.transfer]
    if name == "colorimetry":
        body = {"primaries": "ACES AP1" if spec.transfer == "acescg" else primaries, "transfer": trc,
                "matrix": matrix, "bitDepth": 16 if spec.codec == "exr" else spec.depth,
                "encoding": "half-float" if spec.codec == "exr" else "integer",
                "width": spec.video.width, "height": spec.video.height, "fps": spec.video.fps,
                "frames": spec.video.frame_count}
    else:
        body = {"generator": "mockprovider", "operation": "sdr-to-hdr upconvert", "transfer": spec.transfer}
    return json.dumps(body, indent=2, sort_keys=True).encode()


def _render_sequence(spec: DeliverySpec) -> bytes:
    v = spec.video
    frames = _encoded_frames(v.width, v.height, v.fps, v.variant, spec.codec, spec.depth)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:  # the frames are compressed already
        for index in range(v.frame_count):
            name = spec.frame_name.format(index + 1) + "." + spec.codec
            archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), frames[index % len(frames)])
        for name in spec.sidecars:
            archive.writestr(zipfile.ZipInfo(f"{name}.json", _ZIP_TIME), _sidecar(spec, name))
    return buf.getvalue()
