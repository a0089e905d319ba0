"""Render time and size per common variant: cold, GOP-warm (remux only), and cache hit.

Run: python bench/bench_media.py
"""

from __future__ import annotations

import asyncio
import time

from mockprovider.media.cache import MediaCache
from mockprovider.media.render import VideoSpec, clear_template_cache, render_mp4

VARIANTS = [
    VideoSpec(1280, 720, 5, audio=True),
    VideoSpec(1920, 1080, 8, audio=True),
    VideoSpec(1080, 1920, 10, audio=True),
    VideoSpec(1584, 672, 10),
    VideoSpec(960, 960, 10, fps=30),
    VideoSpec(1920, 1080, 5.1, fps=30),
    VideoSpec(1920, 1080, 15, audio=True),
    VideoSpec(3840, 2160, 8, fps=24),
]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


async def cached_get(cache: MediaCache, spec: VideoSpec, rounds: int = 1000) -> float:
    await cache.get(spec)
    start = time.perf_counter()
    for _ in range(rounds):
        await cache.get(spec)
    return (time.perf_counter() - start) / rounds


def main() -> None:
    render_mp4(VideoSpec(64, 64, 1, audio=True))  # load codecs once; not part of any figure
    cache = MediaCache()
    print(f"{'variant':<28}{'cold ms':>9}{'remux ms':>9}{'hit us':>8}{'size KiB':>10}{'kbit/s':>8}")
    for spec in VARIANTS:
        clear_template_cache()
        cold, data = timed(render_mp4, spec)
        remux = min(timed(render_mp4, spec)[0] for _ in range(5))
        hit = asyncio.run(cached_get(cache, spec))
        size = len(data)
        name = f"{spec.width}x{spec.height}@{spec.fps} {spec.duration}s{' +aac' if spec.audio else ''}"
        kbps = size * 8 / spec.duration / 1000
        print(f"{name:<28}{ms(cold)}{ms(remux)} {hit * 1e6:7.1f}{size / 1024:10.0f}{kbps:8.0f}")
    print("stats:", cache.stats())


if __name__ == "__main__":
    main()
