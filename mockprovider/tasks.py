"""Background tasks' one shared chore."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_task(task: asyncio.Task | None) -> None:
    """Cancel ``task`` (if there is one) and wait until it has stopped. What it raises on its way out is
    dropped: a loop being stopped has nothing left to report to its caller."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
