"""Background tasks' one shared chore."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_task(task: asyncio.Task | None) -> None:
    """Cancel ``task`` (if there is one) and wait until it has stopped. What it raises on its way out is
    dropped: a loop being stopped has nothing left to report to its caller. A cancel can be swallowed by a
    library's own timeout handling (redis-py's pubsub read, when its timeout fires at the same moment), so it is
    sent again until the task ends."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
