"""Byte-bounded LRU cache of rendered MP4s, with an optional on-disk layer.

Renders run on a small private thread pool, so the event loop never blocks and a 2-core
box is not swamped. In-flight renders are tracked as ``concurrent.futures.Future`` objects,
which lets any number of awaiters (from any event loop) and fire-and-forget prewarms share
one render.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import pathlib
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

from mockprovider.media.kinds import extension, render
from mockprovider.media.outputs import Output
from mockprovider.media.render import RENDERER_VERSION, VideoSpec, render_mp4

log = logging.getLogger(__name__)


class MediaCache:
    def __init__(
        self,
        max_bytes: int = 512 * 2**20,
        disk_dir: pathlib.Path | None = None,
        max_workers: int = 1,
    ) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = max_bytes
        self.max_prewarm = 4  # renders in flight beyond which a prewarm is skipped (a later get renders)
        self.disk_dir = pathlib.Path(disk_dir) if disk_dir is not None else None
        if self.disk_dir is not None:
            self.disk_dir.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="media-render")
        self._lock = threading.Lock()
        self._entries: OrderedDict[VideoSpec, bytes] = OrderedDict()
        self._inflight: dict[VideoSpec, Future[bytes]] = {}
        self._bytes = 0
        self._renders = 0
        self._disk_hits = 0
        self._hits = 0
        self._misses = 0

    async def get(self, spec: VideoSpec) -> bytes:
        """Return the MP4 for ``spec``, rendering it off-loop (once) if it is not cached."""
        with self._lock:
            data = self._lookup(spec)
            if data is not None:
                self._hits += 1
                return data
            self._misses += 1
            future = self._submit_locked(spec)
        # shield: one cancelled awaiter must not cancel a render others are waiting for.
        return await asyncio.shield(asyncio.wrap_future(future))

    async def output(self, out: Output) -> bytes:
        """One output's bytes: its cached render followed by its own tag box (one copy, no render)."""
        return out.finish(await self.get(out.spec))

    def prewarm(self, spec: VideoSpec) -> None:
        """Start rendering ``spec`` in the background unless cached or already in flight."""
        try:
            with self._lock:
                if spec in self._entries or spec in self._inflight or len(self._inflight) >= self.max_prewarm:
                    return
                future = self._submit_locked(spec)
            future.add_done_callback(_log_failure)
        except Exception:
            log.exception("media prewarm failed for %s", spec)

    def cached(self, spec: VideoSpec) -> bytes | None:
        """Cached bytes for ``spec`` (memory only, counts as neither hit nor miss), else None."""
        with self._lock:
            return self._lookup(spec)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "entries": len(self._entries),
                "bytes": self._bytes,
                "max_bytes": self.max_bytes,
                "renders": self._renders,
                "disk_hits": self._disk_hits,
                "hits": self._hits,
                "misses": self._misses,
                "inflight": len(self._inflight),
            }

    def close(self) -> None:
        """Stop the render pool; queued renders are abandoned, running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _lookup(self, spec: VideoSpec) -> bytes | None:
        data = self._entries.get(spec)
        if data is not None:
            self._entries.move_to_end(spec)
        return data

    def _submit_locked(self, spec: VideoSpec) -> Future[bytes]:
        future = self._inflight.get(spec)
        if future is None:
            future = self._executor.submit(self._produce, spec)
            self._inflight[spec] = future
        return future

    def _produce(self, spec: VideoSpec) -> bytes:
        """Worker thread: disk lookup, else render (and persist); then publish to memory."""
        try:
            data = self._read_disk(spec)
            if data is None:
                data = render_mp4(spec) if isinstance(spec, VideoSpec) else render(spec)
                with self._lock:
                    self._renders += 1
                self._write_disk(spec, data)
            else:
                with self._lock:
                    self._disk_hits += 1
            with self._lock:
                self._store_locked(spec, data)
            return data
        finally:
            with self._lock:
                self._inflight.pop(spec, None)

    def _store_locked(self, spec: VideoSpec, data: bytes) -> None:
        if len(data) > self.max_bytes or spec in self._entries:
            return
        self._entries[spec] = data
        self._bytes += len(data)
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted)

    def _disk_path(self, spec: VideoSpec) -> pathlib.Path | None:
        if self.disk_dir is None:
            return None
        return self.disk_dir / f"{spec_digest(spec)}.{extension(spec)}"

    def _read_disk(self, spec: VideoSpec) -> bytes | None:
        path = self._disk_path(spec)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            log.warning("media disk cache unreadable: %s", path, exc_info=True)
            return None

    def _write_disk(self, spec: VideoSpec, data: bytes) -> None:
        path = self._disk_path(spec)
        if path is None:
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".mp4")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            log.warning("media disk cache write failed: %s", path, exc_info=True)


def spec_digest(spec: VideoSpec) -> str:
    """Stable file-name key for ``spec`` under the current renderer version."""
    if not isinstance(spec, VideoSpec):
        return hashlib.sha256(f"{RENDERER_VERSION}|{spec!r}".encode()).hexdigest()[:32]
    size = f"{spec.width}x{spec.height}"
    key = (f"{RENDERER_VERSION}|{size}|{float(spec.duration)!r}|{spec.fps}|{int(spec.audio)}|{spec.variant}"
           f"|{spec.bitrate}")
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _log_failure(future: Future[bytes]) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        log.error("media prewarm render failed", exc_info=exc)
