"""A bounded FIFO between two pipeline stages.

Unlike ``asyncio.Queue`` it lets a rewire take everything out (``drain``) and put data back beyond its
bound (``extend``), and it inserts only when ``put`` returns, so a cancelled ``put`` never half-happens.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Channel:
    __slots__ = ("_getters", "_items", "_putters", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._items: deque[Any] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def _wake(waiters: deque[asyncio.Future[None]]) -> None:
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    async def put(self, item: Any) -> None:
        while len(self._items) >= self.capacity:
            fut = asyncio.get_running_loop().create_future()
            self._putters.append(fut)
            try:
                await fut
            except BaseException:
                fut.cancel()
                if len(self._items) < self.capacity:
                    self._wake(self._putters)
                raise
        self._items.append(item)
        self._wake(self._getters)

    async def get(self) -> Any:
        while not self._items:
            fut = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            except BaseException:
                fut.cancel()
                if self._items:
                    self._wake(self._getters)
                raise
        item = self._items.popleft()
        self._wake(self._putters)
        return item

    def drain(self) -> list[Any]:
        items = list(self._items)
        self._items.clear()
        self._wake(self._putters)
        return items

    def extend(self, items: list[Any]) -> None:
        """Append past the bound (used only when a rewire moves data that was already in flight)."""
        if items:
            self._items.extend(items)
            self._wake(self._getters)
