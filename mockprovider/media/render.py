"""Render real, playable H.264 MP4 test patterns quickly.

Encoding is done once per picture geometry: a one-second GOP (keyframe first, no B-frames)
is encoded and cached, and any duration is built by remuxing copies of its packets with
shifted timestamps. Because there are no B-frames, a prefix of the GOP is itself decodable,
which gives the tail for fractional seconds. Audio uses the same idea with one steady-state
AAC block of a constant tone.
"""

from __future__ import annotations

import io
import math
import struct
from array import array
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import av

# Bump whenever the bytes produced for a given spec change (invalidates disk caches).
RENDERER_VERSION = "2"

MAX_SIDE = 4096
# Picture variants: the colour bars rotate and the sweeping box changes direction, so outputs differ in
# their frames too, while each geometry needs at most this many encoded GOPs.
PATTERN_VARIANTS = 14
MAX_BITRATE_KBPS = 100_000
MIN_DURATION = 0.5
MAX_DURATION = 60.0
SAMPLE_RATE = 48000
AAC_FRAME = 1024
# 375 Hz has a 128-sample period at 48 kHz, so every AAC frame sees identical input.
TONE_HZ = 375
TONE_AMPLITUDE = 0.05
_AUDIO_TEMPLATE_FRAMES = 16
# Skip the encoder's start-up frames; everything after is steady state.
_AUDIO_LOOP = slice(4, 12)

# 75% colour bars (BT.601 limited range): white, yellow, cyan, green, magenta, red, blue.
_BARS_YUV = (
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
)
_BLACK = (16, 128, 128)
_WHITE = (235, 128, 128)


@dataclass(frozen=True, slots=True)
class VideoSpec:
    width: int
    height: int
    duration: float
    fps: int = 24
    audio: bool = False
    variant: int = 0  # which picture pattern (0 .. PATTERN_VARIANTS-1)
    bitrate: int = 0  # target video kbit/s (constant bitrate, padded); 0 = as small as the encoder makes it

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an int, got {value!r}")
            if not 2 <= value <= MAX_SIDE:
                raise ValueError(f"{name} must be between 2 and {MAX_SIDE}, got {value}")
            if value % 2:
                raise ValueError(f"{name} must be even (yuv420p needs even sizes), got {value}")
        if isinstance(self.fps, bool) or not isinstance(self.fps, int) or not 1 <= self.fps <= 60:
            raise ValueError(f"fps must be an int between 1 and 60, got {self.fps!r}")
        if isinstance(self.duration, bool) or not isinstance(self.duration, (int, float)):
            raise ValueError(f"duration must be a number of seconds, got {self.duration!r}")
        if not MIN_DURATION <= self.duration <= MAX_DURATION:
            raise ValueError(
                f"duration must be between {MIN_DURATION} and {MAX_DURATION} s, got {self.duration}"
            )

        if isinstance(self.variant, bool) or not isinstance(self.variant, int) or not (
                0 <= self.variant < PATTERN_VARIANTS):
            raise ValueError(f"variant must be an int between 0 and {PATTERN_VARIANTS - 1}, got {self.variant!r}")
        if isinstance(self.bitrate, bool) or not isinstance(self.bitrate, int) or not (
                0 <= self.bitrate <= MAX_BITRATE_KBPS):
            raise ValueError(f"bitrate must be an int between 0 and {MAX_BITRATE_KBPS} kbit/s, got {self.bitrate!r}")

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration * self.fps))


def render_mp4(spec: VideoSpec) -> bytes:
    """Return a complete moov-first MP4 for ``spec``. Blocking and thread-safe."""
    return remux_looped(_encoded_gop(spec.width, spec.height, spec.fps, spec.variant, spec.bitrate), spec)


def remux_looped(template: bytes, spec: VideoSpec, container: str = "mp4") -> bytes:
    """``spec``'s duration (and its audio track) built from one encoded second of video in ``template``: its
    packets repeated with shifted timestamps, moov first. The template's FourCC and colour tags are kept."""
    out_buf = io.BytesIO()
    with av.open(io.BytesIO(template), "r") as v_template, av.open(out_buf, "w", format=container) as out:
        v_in = v_template.streams.video[0]
        v_out = out.add_stream_from_template(v_in)
        v_out.codec_tag = v_in.codec_tag  # e.g. a ProRes profile's FourCC (apch, ap4h), hvc1
        for name in ("color_primaries", "color_trc", "colorspace"):
            setattr(v_out.codec_context, name, getattr(v_in.codec_context, name))
        video = [p for p in v_template.demux(v_in) if p.size]
        if spec.audio:
            with av.open(io.BytesIO(_audio_template()), "r") as a_template:
                a_in = a_template.streams.audio[0]
                a_out = out.add_stream_from_template(a_in)
                block = [bytes(p) for p in a_template.demux(a_in) if p.size][_AUDIO_LOOP]
        _mux_video(out, v_out, video, v_in.time_base, spec.frame_count)
        if spec.audio:
            _mux_audio(out, a_out, block, round(spec.duration * SAMPLE_RATE))
    return _faststart(out_buf.getvalue())


def clear_template_cache() -> None:
    """Forget encoded GOP/audio templates, so the next render of each geometry is cold."""
    _encoded_gop.cache_clear()
    _audio_template.cache_clear()


def _mux_video(
    out: av.container.OutputContainer,
    stream: av.VideoStream,
    packets: list[av.Packet],
    time_base: Fraction,
    frames: int,
) -> None:
    gop_ticks = sum(p.duration for p in packets)
    for index in range(frames):
        src = packets[index % len(packets)]
        offset = (index // len(packets)) * gop_ticks
        pkt = av.Packet(bytes(src))
        pkt.pts = src.pts + offset
        pkt.dts = src.dts + offset
        pkt.duration = src.duration
        pkt.time_base = time_base
        pkt.is_keyframe = src.is_keyframe
        pkt.stream = stream
        out.mux(pkt)


def _mux_audio(
    out: av.container.OutputContainer, stream: av.AudioStream, block: list[bytes], samples: int
) -> None:
    time_base = Fraction(1, SAMPLE_RATE)
    for index in range(math.ceil(samples / AAC_FRAME)):
        start = index * AAC_FRAME
        pkt = av.Packet(block[index % len(block)])
        pkt.pts = pkt.dts = start
        pkt.duration = min(AAC_FRAME, samples - start)
        pkt.time_base = time_base
        pkt.is_keyframe = True
        pkt.stream = stream
        out.mux(pkt)


@lru_cache(maxsize=32)
def _encoded_gop(width: int, height: int, fps: int, variant: int = 0, bitrate: int = 0) -> bytes:
    """One second of test pattern as a standalone MP4: a single keyframe, then P-frames. With a bitrate,
    x264 runs in CBR mode and pads each second with filler NAL units up to it (cheap, and a real stream)."""
    params = f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0"
    if bitrate:
        params += f":bitrate={bitrate}:vbv-maxrate={bitrate}:vbv-bufsize={max(1, bitrate // 8)}:nal-hrd=cbr:filler=1"
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream(
            "libx264",
            rate=fps,
            options={"preset": "ultrafast", "tune": "zerolatency", "x264-params": params},
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for index in range(fps):
            frame = _pattern_frame(width, height, index, fps, variant)
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def _pattern_frame(width: int, height: int, index: int, fps: int, variant: int = 0) -> av.VideoFrame:
    """Colour bars over the top two thirds; a white box sweeps across the black bottom third. The variant
    rotates the bars and, past the first seven, reverses the sweep."""
    frame = av.VideoFrame(width, height, "yuv420p")
    box = max(2, width // 8) & ~1
    travel = width - box
    step = index if variant < len(_BARS_YUV) else max(1, fps - 1) - index
    box_x = (travel * step // max(1, fps - 1)) & ~1
    rotation = variant % len(_BARS_YUV)
    colours = _BARS_YUV[rotation:] + _BARS_YUV[:rotation]
    split = (height * 2 // 3) & ~1
    for component, plane in enumerate(frame.planes):
        scale = 1 if component == 0 else 2
        plane_w, pad = width // scale, plane.line_size - width // scale
        bars = bytearray()
        for bar, yuv in enumerate(colours):
            x0, x1 = bar * plane_w // len(colours), (bar + 1) * plane_w // len(colours)
            bars += bytes([yuv[component]]) * (x1 - x0)
        sweep = bytearray([_BLACK[component]]) * plane_w
        sweep[box_x // scale : (box_x + box) // scale] = bytes([_WHITE[component]]) * (box // scale)
        top_rows = split // scale
        rows = plane.height
        data = (bytes(bars) + b"\0" * pad) * top_rows + (bytes(sweep) + b"\0" * pad) * (rows - top_rows)
        plane.update(data)
    return frame


@lru_cache(maxsize=1)
def _audio_template() -> bytes:
    """A short MP4 of a constant quiet tone; its steady-state AAC packets get looped."""
    tone = array(
        "f",
        (TONE_AMPLITUDE * math.sin(2 * math.pi * TONE_HZ * i / SAMPLE_RATE) for i in range(AAC_FRAME)),
    ).tobytes()
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream(
            "aac",
            rate=SAMPLE_RATE,
            layout="mono",
            options={"aac_coder": "fast", "aac_pns": "0", "aac_tns": "0", "aac_is": "0", "aac_ms": "0"},
        )
        stream.bit_rate = 64000
        for index in range(_AUDIO_TEMPLATE_FRAMES):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=AAC_FRAME)
            frame.sample_rate = SAMPLE_RATE
            frame.planes[0].update(tone)
            frame.pts = index * AAC_FRAME
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def _faststart(data: bytes) -> bytes:
    """Move the trailing moov box in front of mdat and fix chunk offsets (like +faststart)."""
    boxes = _top_level_boxes(data)
    names = [name for name, _, _ in boxes]
    if "moov" not in names or "mdat" not in names or names.index("moov") < names.index("mdat"):
        return data
    _, m_start, m_end = boxes[names.index("moov")]
    moov = bytearray(data[m_start:m_end])
    _shift_chunk_offsets(moov, 8, len(moov), len(moov))
    mdat_start = boxes[names.index("mdat")][1]
    rest = b"".join(data[s:e] for n, s, e in boxes[names.index("mdat") :] if n != "moov")
    return data[:mdat_start] + bytes(moov) + rest


def _top_level_boxes(data: bytes | bytearray, start: int = 0, end: int | None = None) -> list:
    boxes, pos, end = [], start, len(data) if end is None else end
    while pos + 8 <= end:
        size, name = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise ValueError("corrupt MP4 box")
        boxes.append((name.decode("latin-1"), pos, pos + size))
        pos += size
    return boxes


_CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "edts", "dinf"}


def _shift_chunk_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    for name, box_start, box_end in _top_level_boxes(moov, start, end):
        if name in _CONTAINERS:
            _shift_chunk_offsets(moov, box_start + 8, box_end, delta)
        elif name in ("stco", "co64"):
            fmt = ">I" if name == "stco" else ">Q"
            step = struct.calcsize(fmt)
            (count,) = struct.unpack_from(">I", moov, box_start + 12)
            for i in range(count):
                pos = box_start + 16 + i * step
                (offset,) = struct.unpack_from(fmt, moov, pos)
                if name == "stco" and offset + delta > 0xFFFFFFFF:
                    raise ValueError("MP4 too large for 32-bit chunk offsets")
                struct.pack_into(fmt, moov, pos, offset + delta)
