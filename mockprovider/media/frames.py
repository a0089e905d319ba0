"""Still images of an output: its last frame as a PNG, for providers that return one beside the video
(ModelArk's ``return_last_frame``). Drawn from the same test pattern the video is encoded from, so it matches
the video's final frame, and encoded losslessly."""

from __future__ import annotations

from functools import lru_cache

import av

from .render import VideoSpec, _pattern_frame


@lru_cache(maxsize=64)
def last_frame_png(spec: VideoSpec) -> bytes:
    index = (spec.frame_count - 1) % spec.fps
    frame = _pattern_frame(spec.width, spec.height, index, spec.fps, spec.variant).reformat(format="rgb24")
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = spec.width, spec.height, "rgb24"
    return b"".join(bytes(packet) for packet in [*codec.encode(frame), *codec.encode(None)])
