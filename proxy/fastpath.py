"""The no-toxic fast path: bytes go socket -> pipe -> socket with Linux ``splice``, never entering
Python memory. Elsewhere (no ``os.splice``) links use the stage pipeline with zero stages.

A pump can be stopped at any await; ``stop`` returns whatever sat in the pipe so that the link can
hand it to its new toxic chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
from collections.abc import Callable

_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_F_SETPIPE_SZ = 1031
PIPE_SIZE = 1 << 20
SPLICE_MAX = 1 << 20
_big_pipes = 0
BIG_PIPE_BUDGET = 24  # the kernel gives each user ~64 MiB of pipe pages; keep most for small pipes


def available() -> bool:
    return hasattr(os, "splice")


async def _wait(add: Callable, remove: Callable, fd: int) -> None:
    fut = asyncio.get_running_loop().create_future()
    add(fd, _wake, fut)
    try:
        await fut
    finally:
        remove(fd)


async def wait_readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    await _wait(loop.add_reader, loop.remove_reader, fd)


async def wait_writable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    await _wait(loop.add_writer, loop.remove_writer, fd)


async def recv(sock: socket.socket, size: int) -> bytes:
    """``sock.recv`` that is safe to cancel: no data is ever read and then dropped."""
    while True:
        try:
            return sock.recv(size)
        except (BlockingIOError, InterruptedError):
            await wait_readable(sock.fileno())


async def sendall(sock: socket.socket, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except (BlockingIOError, InterruptedError):
            await wait_writable(sock.fileno())
            continue
        view = view[sent:]


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Pump:
    def __init__(self, src: socket.socket, dst: socket.socket, count: Callable[[int], None]) -> None:
        global _big_pipes
        self.src, self.dst, self.count = src, dst, count
        self.rfd, self.wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.big = False
        if _big_pipes < BIG_PIPE_BUDGET:
            with contextlib.suppress(OSError):
                fcntl.fcntl(self.wfd, _F_SETPIPE_SZ, PIPE_SIZE)
                self.big = True
                _big_pipes += 1
        self.in_pipe = 0
        self.eof = False
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        src, dst = self.src.fileno(), self.dst.fileno()
        rfd, wfd = self.rfd, self.wfd
        splice = os.splice
        try:
            while True:
                try:
                    n = splice(src, wfd, SPLICE_MAX, flags=_FLAGS)
                except BlockingIOError:
                    await _wait(loop.add_reader, loop.remove_reader, src)
                    continue
                if n == 0:
                    break
                self.in_pipe += n
                self.count(n)
                while self.in_pipe:
                    try:
                        self.in_pipe -= splice(rfd, dst, self.in_pipe, flags=_FLAGS)
                    except BlockingIOError:
                        await _wait(loop.add_writer, loop.remove_writer, dst)
        except OSError:
            pass
        self.eof = True

    async def stop(self) -> bytes:
        """Stop pumping and return the bytes still in the pipe."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        data = b""
        while self.in_pipe > 0:
            try:
                part = os.read(self.rfd, self.in_pipe)
            except BlockingIOError:
                break
            if not part:
                break
            data += part
            self.in_pipe -= len(part)
        self.close()
        return data

    def close(self) -> None:
        global _big_pipes
        if self.rfd >= 0:
            os.close(self.rfd)
            os.close(self.wfd)
            self.rfd = self.wfd = -1
            if self.big:
                _big_pipes -= 1
                self.big = False
