"""Real still images for image jobs: PNG, JPEG or WebP (encoded with PyAV), or an SVG for vector models.

The picture is a vertical colour gradient chosen by the seed, with a 64-cell black-and-white code strip that
spells the seed, so two outputs with different seeds never share bytes. With ``alpha`` (a transparent
background, PNG or WebP) the image carries an alpha channel: the middle half of it (the "subject") and the code
strip are opaque, the margin around them fully transparent.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av

MAX_SIDE = 8192
ALPHA_FORMATS = {"png": "rgba", "webp": "yuva420p"}  # the formats that carry transparency, and their pixel format
IMAGE_FORMATS = {"png": ("png", "rgb24", "image/png"), "jpeg": ("mjpeg", "yuvj420p", "image/jpeg"),
                 "webp": ("libwebp", "yuv420p", "image/webp"), "svg": ("", "", "image/svg+xml")}
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "svg": "svg"}
CODE_CELLS = 64


@dataclass(frozen=True, slots=True)
class ImageSpec:
    width: int
    height: int
    format: str = "png"
    seed: int = 0
    alpha: bool = False

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= MAX_SIDE:
                raise ValueError(f"{name} must be an int between 16 and {MAX_SIDE}, got {value!r}")
        if self.format not in IMAGE_FORMATS:
            raise ValueError(f"format must be one of {sorted(IMAGE_FORMATS)}, got {self.format!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be an int in [0, 2**64), got {self.seed!r}")
        if self.alpha is not False and (self.alpha is not True or self.format not in ALPHA_FORMATS):
            raise ValueError(f"alpha needs one of {sorted(ALPHA_FORMATS)}, got {self.format!r}")

    @property
    def content_type(self) -> str:
        return IMAGE_FORMATS[self.format][2]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def _colours(seed: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    top = ((seed >> 8) & 0xFF, (seed >> 16) & 0xFF, (seed >> 24) & 0xFF)
    bottom = (255 - top[1], top[2], 255 - top[0])
    return top, bottom


def _pixels(spec: ImageSpec) -> bytes:
    """Rows of RGB24 (RGBA with ``alpha``): a gradient between two seed colours, and the seed's bits as a strip
    along the bottom; with ``alpha``, transparent outside the middle half and the strip."""
    width, height = spec.width, spec.height
    top, bottom = _colours(spec.seed)
    strip = max(2, height // 16)
    cell = max(1, width // CODE_CELLS)
    opaque, clear = (b"\xff", b"\x00") if spec.alpha else (b"", b"")
    code = bytearray()
    for x in range(width):
        bit = (spec.seed >> min(x // cell, CODE_CELLS - 1)) & 1 if x // cell < CODE_CELLS else 0
        code += (b"\xff\xff\xff" if bit else b"\x00\x00\x00") + opaque
    left, right = width // 4, width - width // 4
    above, below = (height - strip) // 4, (height - strip) - (height - strip) // 4
    rows = []
    for y in range(height - strip):
        t = y / max(1, height - strip - 1)
        colour = bytes(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        if not spec.alpha:
            rows.append(colour * width)
        elif above <= y < below:
            margin, subject = colour + clear, colour + opaque
            rows.append(margin * left + subject * (right - left) + margin * (width - right))
        else:
            rows.append((colour + clear) * width)
    rows.extend([bytes(code)] * strip)
    return b"".join(rows)


def render_image(spec: ImageSpec) -> bytes:
    """The encoded image for ``spec``. Blocking and thread-safe."""
    if spec.format == "svg":
        top, bottom = _colours(spec.seed)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{spec.width}" height="{spec.height}" '
                f'viewBox="0 0 {spec.width} {spec.height}"><defs><linearGradient id="g" x2="0" y2="1">'
                f'<stop offset="0" stop-color="#{bytes(top).hex()}"/><stop offset="1" '
                f'stop-color="#{bytes(bottom).hex()}"/></linearGradient></defs>'
                f'<rect width="100%" height="100%" fill="url(#g)"/><!-- seed {spec.seed:016x} --></svg>').encode()
    codec, pix_fmt, _ = IMAGE_FORMATS[spec.format]
    source = "rgba" if spec.alpha else "rgb24"
    if spec.alpha:
        pix_fmt = ALPHA_FORMATS[spec.format]
    frame = av.VideoFrame(spec.width, spec.height, source)
    plane = frame.planes[0]
    data = _pixels(spec)
    row = spec.width * (4 if spec.alpha else 3)
    if plane.line_size != row:
        pad = b"\0" * (plane.line_size - row)
        data = b"".join(data[i:i + row] + pad for i in range(0, len(data), row))
    plane.update(data)
    buf = io.BytesIO()
    muxer = "webp" if spec.format == "webp" else "image2pipe"
    with av.open(buf, "w", format=muxer) as out:
        stream = out.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, pix_fmt
        if spec.format == "jpeg":
            stream.codec_context.qmin = stream.codec_context.qmax = 4
        for packet in stream.encode(frame.reformat(format=pix_fmt)):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
