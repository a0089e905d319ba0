"""What one output link serves: a job's render made distinct per output, cheaply.

Real providers never hand two generations the same bytes, and storage deduplication or CDN caching in a
pipeline under test must see that. Encoding a fresh video per job would defeat the render cache, so each
output is (1) one of a few picture variants of its geometry, picked from the job id and sample index,
and (2) that cached render followed by a small top-level ``uuid`` box naming the job and sample. Players
and demuxers skip unknown top-level boxes, so the file stays a valid MP4 of the same size and duration,
and the per-output cost is one short append.

File sizes are small by default (a test pattern compresses to ~100-300 kbit/s). With the ``realistic``
bitrate policy the video is encoded at a constant bitrate typical of the provider outputs of that size,
so download bandwidth in a load test is plausible.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
import uuid
import zlib

from .deliveries import DeliverySpec
from .render import PATTERN_VARIANTS, VideoSpec
from .sound import AudioSpec

# Our own extended box type (a fixed UUID), so the box is recognisable and never mistaken for another's.
BOX_TYPE = uuid.UUID("6d6f636b-7072-6f76-6964-65726f757470").bytes  # "mockprovideroutp"

SMALL = "small"
REALISTIC = "realistic"
BITRATE_POLICIES = (SMALL, REALISTIC)

# Shorter side (px) up to which a bitrate applies -> video kbit/s, roughly what AI video providers deliver
# (H.264 High at these sizes: 480p ~2.5, 720p ~6, 1080p ~12, 1440p ~20, 4K ~40 Mbit/s).
REALISTIC_KBPS = ((480, 2_500), (720, 6_000), (1080, 12_000), (1440, 20_000), (4096, 40_000))


def realistic_kbps(width: int, height: int) -> int:
    short = min(width, height)
    for side, kbps in REALISTIC_KBPS:
        if short <= side:
            return kbps
    return REALISTIC_KBPS[-1][1]


def variant_of(job_id: str, index: int) -> int:
    digest = hashlib.blake2b(f"{job_id}/{index}".encode(), digest_size=2).digest()
    return int.from_bytes(digest, "big") % PATTERN_VARIANTS


def output_spec(spec: VideoSpec, job_id: str, index: int, policy: str = SMALL) -> VideoSpec:
    """The render behind output ``index`` of ``job_id``: its picture variant and, if asked, its bitrate."""
    bitrate = realistic_kbps(spec.width, spec.height) if policy == REALISTIC else spec.bitrate
    return dataclasses.replace(spec, variant=variant_of(job_id, index), bitrate=bitrate)


def output_tag(job_id: str, index: int) -> bytes:
    """A top-level ``uuid`` box naming the output; appended after the render's last box."""
    payload = json.dumps({"job": job_id, "sample": index}, separators=(",", ":")).encode()
    return struct.pack(">I4s", 8 + 16 + len(payload), b"uuid") + BOX_TYPE + payload


def read_tag(data: bytes) -> dict | None:
    """The job and sample named by an output's tag box, or None (for tests and for tools)."""
    marker = b"uuid" + BOX_TYPE
    at = data.rfind(marker)
    if at < 4:
        return None
    (size,) = struct.unpack_from(">I", data, at - 4)
    if at - 4 + size != len(data):
        return None
    return json.loads(data[at + 20:])


@dataclasses.dataclass(frozen=True, slots=True)
class Output:
    spec: object  # a VideoSpec, ImageSpec or AudioSpec
    tag: bytes  # what makes this output's bytes its own
    splice: str = "end"  # where the tag goes: appended (MP4 box), or inside the format's own metadata

    def finish(self, data: bytes) -> bytes:
        return SPLICES[self.splice](data, self.tag)


def _append(data: bytes, tag: bytes) -> bytes:
    return data + tag


def _png(data: bytes, tag: bytes) -> bytes:
    """A tEXt chunk just before IEND (the last 12 bytes)."""
    body = b"Comment\0" + tag
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return data[:-12] + chunk + data[-12:]


def _jpeg(data: bytes, tag: bytes) -> bytes:
    """A COM segment right after SOI."""
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(tag) + 2) + tag + data[2:]


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def _unsyncsafe(raw: bytes) -> int:
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]


def _id3(data: bytes, tag: bytes) -> bytes:
    """A TXXX frame inside the MP3's leading ID3v2.4 tag (added if the render has none)."""
    frame_body = b"\x03mockprovider\x00" + tag
    frame = b"TXXX" + _syncsafe(len(frame_body)) + b"\x00\x00" + frame_body
    if data[:3] == b"ID3" and data[3] == 4:
        size = _unsyncsafe(data[6:10])
        return data[:6] + _syncsafe(size + len(frame)) + data[10:10 + size] + frame + data[10 + size:]
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame + data


def _wav(data: bytes, tag: bytes) -> bytes:
    """A LIST/INFO chunk with an ICMT comment at the end of the RIFF file (its size fixed up)."""
    text = tag + b"\0"
    if len(text) % 2:
        text += b"\0"
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(text)) + text
    chunk = b"LIST" + struct.pack("<I", len(info)) + info
    out = bytearray(data + chunk)
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


def _zip(data: bytes, tag: bytes) -> bytes:
    """The archive's comment (the end-of-central-directory record is the last 22 bytes when it has none)."""
    return data[:-2] + struct.pack("<H", len(tag)) + tag


SPLICES = {"end": _append, "png": _png, "jpeg": _jpeg, "mp3": _id3, "wav": _wav, "zip": _zip}


def output_seed(job_id: str, index: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{job_id}/{index}".encode(), digest_size=8).digest(), "big")


def output_of(spec, job_id: str, index: int, policy: str = SMALL) -> Output:
    """Output ``index`` of a job. Videos share cached renders and get a tag box. PNG, JPEG, MP3 and WAV outputs
    share one cached render per picture or pitch variant and carry the output's name in their own metadata (a PNG
    tEXt chunk, a JPEG comment, an ID3 TXXX frame, a RIFF INFO comment); WebP, SVG, FLAC and Ogg outputs are
    rendered from the output's own seed (and audio names itself in its container metadata)."""
    if isinstance(spec, VideoSpec):
        return Output(output_spec(spec, job_id, index, policy), output_tag(job_id, index))
    if isinstance(spec, DeliverySpec):  # the picture variant as for MP4s; a delivery's bitrate is its codec's own
        delivered = dataclasses.replace(spec, video=output_spec(spec.video, job_id, index))
        if spec.container == "zip":
            return Output(delivered, f"{job_id}/{index}".encode(), "zip")
        return Output(delivered, output_tag(job_id, index))
    seed = output_seed(job_id, index)
    name = f"{job_id}/{index}".encode()
    if spec.format in ("png", "jpeg", "mp3", "wav"):
        return Output(dataclasses.replace(spec, seed=seed % PATTERN_VARIANTS), name, spec.format)
    if isinstance(spec, AudioSpec):
        return Output(dataclasses.replace(spec, seed=seed, label=f"mockprovider {job_id}/{index}"), b"")
    return Output(dataclasses.replace(spec, seed=seed), b"")
