"""Real, playable audio for audio jobs (sound effects, speech): MP3, WAV, FLAC or Ogg Opus, encoded with PyAV.

A quiet two-tone chime whose pitches follow the seed, with the output's name in the container's metadata, so two
outputs never share bytes and every file decodes to the requested duration.
"""

from __future__ import annotations

import io
import math
from array import array
from dataclasses import dataclass

import av

MIN_DURATION = 0.1
MAX_DURATION = 600.0
AUDIO_FORMATS = {
    "mp3": ("mp3", "libmp3lame", "s16p", 44100, "audio/mpeg"),
    "wav": ("wav", "pcm_s16le", "s16", 44100, "audio/wav"),
    "flac": ("flac", "flac", "s16", 44100, "audio/flac"),
    "ogg_opus": ("ogg", "libopus", "s16", 48000, "audio/ogg"),
}
EXTENSIONS = {"mp3": "mp3", "wav": "wav", "flac": "flac", "ogg_opus": "ogg"}


@dataclass(frozen=True, slots=True)
class AudioSpec:
    duration: float
    format: str = "mp3"
    seed: int = 0
    label: str = ""  # written into the container's metadata (the job and sample)

    def __post_init__(self) -> None:
        if isinstance(self.duration, bool) or not isinstance(self.duration, (int, float)) or not (
                MIN_DURATION <= self.duration <= MAX_DURATION):
            raise ValueError(f"duration must be {MIN_DURATION}-{MAX_DURATION} s, got {self.duration!r}")
        if self.format not in AUDIO_FORMATS:
            raise ValueError(f"format must be one of {sorted(AUDIO_FORMATS)}, got {self.format!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be an int in [0, 2**64), got {self.seed!r}")

    @property
    def content_type(self) -> str:
        return AUDIO_FORMATS[self.format][4]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def render_audio(spec: AudioSpec) -> bytes:
    """The encoded audio for ``spec``. Blocking and thread-safe."""
    muxer, codec, sample_fmt, rate, _ = AUDIO_FORMATS[spec.format]
    total = max(1, round(spec.duration * rate))
    low = 220 + 2 * (spec.seed & 0x7F)  # even, so both tones repeat exactly every second
    high = low * 3 // 2
    second = array("h", (int(2000 * (math.sin(2 * math.pi * low * t / rate) + math.sin(2 * math.pi * high * t / rate))
                                / 2) for t in range(rate)))
    buf = io.BytesIO()
    with av.open(buf, "w", format=muxer) as out:
        if spec.label:
            out.metadata["comment"] = spec.label
        stream = out.add_stream(codec, rate=rate, layout="mono")
        if codec in ("libmp3lame", "libopus"):
            stream.bit_rate = 64000
        chunk = stream.codec_context.frame_size or 1024
        done = 0
        while done < total:
            n = min(chunk, total - done)
            start = done % rate
            samples = second[start:start + n]
            if len(samples) < n:
                samples.extend(second[: n - len(samples)])
            if stream.codec_context.frame_size and n < chunk and codec != "flac":
                samples.extend([0] * (chunk - n))
                n = chunk
            frame = av.AudioFrame(format=sample_fmt, layout="mono", samples=n)
            frame.sample_rate = rate
            frame.planes[0].update(samples.tobytes())
            frame.pts = done
            for packet in stream.encode(frame):
                out.mux(packet)
            done += n
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
