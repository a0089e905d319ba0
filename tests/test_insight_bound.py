"""The journal and the per-key tables stay at their bounds: 100,000 provider requests through the app (in
process, over ASGI, no socket: the bound is what is measured here, not the network) with flat memory."""

from __future__ import annotations

import asyncio
import gc
import sys

from mockprovider.app import create_app
from mockprovider.context import Settings
from mockprovider.insight.observer import Observer

KEY = b"Bearer key_" + b"ab" * 64


def call(app, path: str, headers: list[tuple[bytes, bytes]]):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "path": path,
             "raw_path": path.encode(), "query_string": b"", "headers": headers, "scheme": "http",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1234), "root_path": ""}
    status: list[int] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    async def run():
        await app(scope, receive, send)
        return status[0]

    return run()


def test_journal_stays_at_its_bound_with_flat_memory():
    app = create_app(Settings(profile="happy", journal_size=2_000))
    journal = app.engine.insight.journal
    headers = [(b"authorization", KEY), (b"x-runway-version", b"2024-11-06")]

    async def batch(n: int) -> None:
        for i in range(n):
            path = "/v1/organization" if i % 2 else f"/v1/tasks/{i:08d}-0000-4000-8000-000000000000"
            assert await call(app, path, headers) in (200, 404)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(batch(20_000))
        gc.collect()
        blocks_before = sys.getallocatedblocks()
        loop.run_until_complete(batch(80_000))
        gc.collect()
        blocks_after = sys.getallocatedblocks()
    finally:
        loop.close()
    assert len(journal) == 2_000
    assert journal.seen == 100_000 and journal.dropped == 98_000
    # 80,000 more requests, each journalled: memory is where it was (a leak of even one small object per
    # request would be 80,000 blocks)
    assert blocks_after - blocks_before < 2_000, (blocks_before, blocks_after)
    assert len(app.engine.insight.observer.groups) == 1


def test_per_key_tables_are_bounded():
    """A flood of distinct keys (each failing, so each awaits a retry) cannot grow the observer's tables: the
    oldest keys fold into the provider's "(other keys)" group and their totals stay whole."""
    from mockprovider.insight.journal import Record

    observer = Observer(max_groups=50, max_pending=100)
    for i in range(5_000):
        record = Record("runway", "create", "POST", "/v1/image_to_video", float(i))
        record.key = f"key_{i}"
        record.status = 429
        observer.observe(record, float(i), 1.0)
    assert len(observer.groups) <= 50 + 1  # plus one "(other keys)" group per provider
    assert len(observer._pending) <= 100
    assert sum(g.requests for g in observer.groups.values()) == 5_000
    assert observer.evicted_keys > 4_900
