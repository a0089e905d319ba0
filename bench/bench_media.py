"""Render time and size per common variant: cold, GOP-warm (remux only), and cache hit; then what distinct
outputs cost (picture variants, the per-output tag) and the sizes of the realistic-bitrate option.

Run: python bench/bench_media.py
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from mockprovider.media.cache import MediaCache
from mockprovider.media.outputs import REALISTIC, output_of, output_spec
from mockprovider.media.render import PATTERN_VARIANTS, VideoSpec, clear_template_cache, render_mp4
from mockprovider.media.sound import AudioSpec, render_audio
from mockprovider.media.stills import ImageSpec, render_image

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
    distinct(cache)
    realistic()
    stills_and_sound()


async def output_gets(cache: MediaCache, spec: VideoSpec, jobs: int) -> float:
    """Mean time to serve one distinct output of ``spec`` once every picture variant is cached."""
    outputs = [output_of(spec, f"job-{n}", 0) for n in range(jobs)]
    for out in outputs:
        await cache.output(out)
    start = time.perf_counter()
    for out in outputs:
        await cache.output(out)
    return (time.perf_counter() - start) / jobs


def distinct(cache: MediaCache) -> None:
    """Distinct outputs: every picture variant's first render, then per-output serving cost."""
    print(f"\ndistinct outputs ({PATTERN_VARIANTS} picture variants per geometry + a per-output tag box)")
    print(f"{'variant':<28}{'1st ms':>9}{'all var ms':>11}{'output us':>10}{'same-spec us':>13}{'tag B':>7}")
    for spec in VARIANTS[:3] + VARIANTS[6:]:
        clear_template_cache()
        first, _ = timed(render_mp4, spec)
        start = time.perf_counter()
        for variant in range(1, PATTERN_VARIANTS):
            render_mp4(dataclasses.replace(spec, variant=variant))
        every = first + time.perf_counter() - start
        per_output = asyncio.run(output_gets(cache, spec, 500))
        same = asyncio.run(cached_get(cache, spec))
        name = f"{spec.width}x{spec.height}@{spec.fps} {spec.duration}s{' +aac' if spec.audio else ''}"
        tag = len(output_of(spec, "0b8f6a52-3c2d-4c7e-9f1a-2d3e4f5a6b7c", 0).tag)
        print(f"{name:<28}{ms(first)}{every * 1000:11.1f}{per_output * 1e6:10.1f}{same * 1e6:13.1f}{tag:7d}")
    print("stats:", cache.stats())


def realistic() -> None:
    """The realistic-bitrate option: render time and size against the default."""
    print("\nrealistic bitrate (--media-bitrate realistic) against the default")
    print(f"{'variant':<28}{'cold ms':>9}{'remux ms':>9}{'size KiB':>10}{'kbit/s':>8}{'target':>8}{'small KiB':>10}")
    for spec in (VideoSpec(854, 480, 5), VideoSpec(1280, 720, 8, audio=True), VideoSpec(1920, 1080, 8, audio=True),
                 VideoSpec(3840, 2160, 8)):
        big = output_spec(spec, "job", 0, REALISTIC)
        clear_template_cache()
        cold, data = timed(render_mp4, big)
        remux = min(timed(render_mp4, big)[0] for _ in range(3))
        small = len(render_mp4(output_spec(spec, "job", 0)))
        name = f"{spec.width}x{spec.height}@{spec.fps} {spec.duration}s{' +aac' if spec.audio else ''}"
        kbps = len(data) * 8 / spec.duration / 1000
        print(f"{name:<28}{ms(cold)}{ms(remux)}{len(data) / 1024:10.0f}{kbps:8.0f}{big.bitrate:8d}"
              f"{small / 1024:10.0f}")


if __name__ == "__main__":
    main()


def stills_and_sound() -> None:
    """Image and audio outputs: a cold render (once per variant for PNG/JPEG/MP3/WAV, per output for the rest),
    then what serving one more distinct output of a cached render costs (splicing its name into the file)."""
    print("\nimage and audio outputs: cold render, then each further distinct output of a cached render")
    print(f"{'output':<28}{'cold ms':>9}{'size KiB':>10}{'output us':>10}")
    cases = [(f"png {w}x{h}", render_image, ImageSpec(w, h, "png", 7)) for w, h in ((1024, 1024), (1920, 1080))]
    cases += [("jpeg 1920x1080", render_image, ImageSpec(1920, 1080, "jpeg", 7)),
              ("webp 1600x1600", render_image, ImageSpec(1600, 1600, "webp", 7)),
              ("png 4096x4096", render_image, ImageSpec(4096, 4096, "png", 7))]
    cases += [(f"{fmt} {seconds:g}s", render_audio, AudioSpec(seconds, fmt, 7, "job/0"))
              for fmt, seconds in (("mp3", 5.0), ("mp3", 30.0), ("wav", 5.0), ("flac", 5.0), ("ogg_opus", 5.0))]
    for name, fn, spec in cases:
        best, data = min(timed(fn, spec) for _ in range(3))
        out = output_of(spec, "job-0", 0)
        if out.tag:
            start = time.perf_counter()
            for n in range(1000):
                output_of(spec, f"job-{n}", 0).finish(data)
            per = f"{(time.perf_counter() - start) * 1000:10.1f}"
        else:
            per = f"{'render':>10}"
        print(f"{name:<28}{ms(best)}{len(data) / 1024:10.0f}{per}")
