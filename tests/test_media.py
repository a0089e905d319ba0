import asyncio
import io
import logging
import threading

import av
import pytest

from mockprovider.media import cache as cache_mod
from mockprovider.media.cache import MediaCache
from mockprovider.media.render import SAMPLE_RATE, VideoSpec, render_mp4

AAC_FRAME_S = 1024 / SAMPLE_RATE


def probe(data: bytes) -> dict:
    """Decode every frame and report what a real consumer would see."""
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        info = {
            "width": video.width,
            "height": video.height,
            "fps": video.average_rate,
            "codec": video.codec_context.name,
            "video_duration": float(video.duration * video.time_base),
            "container_duration": container.duration / av.time_base,
            "has_audio": audio is not None,
            "audio_duration": float(audio.duration * audio.time_base) if audio else None,
            "frames": 0,
            "samples": 0,
            "lumas": [],
        }
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                info["frames"] += 1
                if len(info["lumas"]) < 13:
                    info["lumas"].append(bytes(frame.planes[0]))
            else:
                info["samples"] += frame.samples
    return info


VARIANTS = [
    VideoSpec(1920, 1080, 8, audio=True),
    VideoSpec(720, 1280, 5),
    VideoSpec(960, 960, 10, fps=30),
    VideoSpec(1584, 672, 5.1, audio=True),
    VideoSpec(320, 240, 0.5, fps=25),
]


def spec_id(s: VideoSpec) -> str:
    return f"{s.width}x{s.height}@{s.fps}-{s.duration}s{'-audio' if s.audio else ''}"


@pytest.mark.parametrize("spec", VARIANTS, ids=spec_id)
def test_render_decodes_with_requested_geometry(spec: VideoSpec) -> None:
    data = render_mp4(spec)
    info = probe(data)
    frame = 1 / spec.fps
    assert (info["width"], info["height"], info["codec"]) == (spec.width, spec.height, "h264")
    assert info["fps"] == spec.fps
    assert info["frames"] == round(spec.duration * spec.fps)
    assert abs(info["video_duration"] - spec.duration) <= frame
    assert abs(info["container_duration"] - spec.duration) <= frame
    assert info["has_audio"] is spec.audio
    if spec.audio:
        assert abs(info["audio_duration"] - spec.duration) <= frame
        assert abs(info["samples"] / SAMPLE_RATE - spec.duration) <= AAC_FRAME_S
    # moov before mdat: the file streams without a full download.
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_picture_is_a_moving_pattern() -> None:
    spec = VideoSpec(320, 240, 1)
    lumas = probe(render_mp4(spec))["lumas"]
    assert len(set(lumas[0])) > 3  # not a flat frame
    assert lumas[0] != lumas[12]  # something moves


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 641, "height": 360, "duration": 5},
        {"width": 640, "height": 361, "duration": 5},
        {"width": 0, "height": 360, "duration": 5},
        {"width": 8192, "height": 360, "duration": 5},
        {"width": 640, "height": 360, "duration": 0.1},
        {"width": 640, "height": 360, "duration": 61},
        {"width": 640, "height": 360, "duration": 5, "fps": 0},
        {"width": 640, "height": 360, "duration": 5, "fps": 120},
        {"width": 640.0, "height": 360, "duration": 5},
    ],
)
def test_invalid_specs_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        VideoSpec(**kwargs)


def test_concurrent_gets_render_once(monkeypatch) -> None:
    cache = MediaCache()
    spec = VideoSpec(320, 240, 2, audio=True)
    all_asked = threading.Event()

    def held_render(spec: VideoSpec) -> bytes:  # the render ends only once all 20 have asked (a loaded
        all_asked.wait(10)                       # machine could otherwise finish it before the last ones ask)
        return render_mp4(spec)

    monkeypatch.setattr(cache_mod, "render_mp4", held_render)

    async def main() -> list[bytes]:
        gets = [asyncio.ensure_future(cache.get(spec)) for _ in range(20)]
        for _ in range(1000):
            if cache.stats()["misses"] + cache.stats()["hits"] >= 20:
                break
            await asyncio.sleep(0)
        all_asked.set()
        return await asyncio.gather(*gets)

    results = asyncio.run(main())
    assert len({id(r) for r in results}) == 1
    stats = cache.stats()
    assert stats["renders"] == 1
    assert stats["entries"] == 1
    assert stats["misses"] == 20 and stats["hits"] == 0
    assert asyncio.run(cache.get(spec)) is results[0]
    assert cache.stats()["hits"] == 1
    assert cache.cached(spec) is results[0]


def test_cancelled_awaiter_does_not_cancel_shared_render() -> None:
    cache = MediaCache()
    spec = VideoSpec(320, 240, 3)

    async def main() -> bytes:
        doomed = asyncio.create_task(cache.get(spec))
        survivor = asyncio.create_task(cache.get(spec))
        await asyncio.sleep(0)
        doomed.cancel()
        return await survivor

    assert probe(asyncio.run(main()))["frames"] == 72
    assert cache.stats()["renders"] == 1


def test_lru_eviction_respects_byte_bound() -> None:
    specs = [VideoSpec(320, 240, d) for d in (1, 2, 3, 4)]
    sizes = [len(render_mp4(s)) for s in specs]
    bound = sizes[2] + sizes[3] + sizes[0]
    cache = MediaCache(max_bytes=bound)

    async def main() -> None:
        for spec in specs[:3]:
            await cache.get(spec)
        await cache.get(specs[0])  # touch: specs[1] becomes least recently used
        await cache.get(specs[3])

    asyncio.run(main())
    stats = cache.stats()
    assert stats["bytes"] <= bound
    assert cache.cached(specs[1]) is None
    assert all(cache.cached(s) is not None for s in (specs[0], specs[2], specs[3]))
    assert stats["bytes"] == sum(sizes) - sizes[1]


def test_oversized_entry_is_served_but_not_kept() -> None:
    cache = MediaCache(max_bytes=100)
    data = asyncio.run(cache.get(VideoSpec(320, 240, 1)))
    assert len(data) > 100
    assert cache.stats()["entries"] == 0 and cache.stats()["bytes"] == 0


def test_disk_cache_round_trip(tmp_path) -> None:
    spec = VideoSpec(640, 360, 2, audio=True)
    first = MediaCache(disk_dir=tmp_path)
    data = asyncio.run(first.get(spec))
    assert first.stats()["renders"] == 1
    assert [p.suffix for p in tmp_path.iterdir()] == [".mp4"]

    second = MediaCache(disk_dir=tmp_path)
    assert asyncio.run(second.get(spec)) == data
    assert second.stats()["renders"] == 0
    assert second.stats()["disk_hits"] == 1


def test_prewarm_renders_in_background() -> None:
    cache = MediaCache()
    spec = VideoSpec(320, 240, 1.5)

    async def main() -> bytes:
        cache.prewarm(spec)
        cache.prewarm(spec)  # already in flight: no second render
        return await cache.get(spec)

    assert asyncio.run(main())
    assert cache.stats()["renders"] == 1


def test_prewarm_failure_is_logged_and_get_retries(monkeypatch, caplog) -> None:
    calls = []

    def broken(spec: VideoSpec) -> bytes:
        calls.append(spec)
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(cache_mod, "render_mp4", broken)
    cache = MediaCache()
    spec = VideoSpec(320, 240, 1)

    async def main() -> None:
        with caplog.at_level(logging.ERROR, logger=cache_mod.__name__):
            cache.prewarm(spec)
            await asyncio.sleep(0.2)
        with pytest.raises(RuntimeError):
            await cache.get(spec)

    asyncio.run(main())
    assert len(calls) == 2
    assert "prewarm render failed" in caplog.text
    assert cache.stats()["entries"] == 0 and cache.stats()["inflight"] == 0
