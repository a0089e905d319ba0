"""Real, playable MP4 test patterns for fake video jobs, plus an async render cache."""

from mockprovider.media.cache import MediaCache
from mockprovider.media.render import RENDERER_VERSION, VideoSpec, render_mp4

__all__ = ["RENDERER_VERSION", "MediaCache", "VideoSpec", "render_mp4"]
