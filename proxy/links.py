"""One direction of one proxied connection: reader -> stages -> writer.

A link starts on the no-toxic fast path (see :mod:`.fastpath`) when it can, and moves to the stage
pipeline the first time a toxic (or an HTTP rule) concerns it. A rewire (toxic added, updated or
removed) stops the reader and every stage, collects the data they hold in order, and restarts the
new chain with that data in place, so nothing in flight is lost or reordered.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import fastpath
from .channel import Channel
from .toxics import BUFFER, RUNNERS, Chunk, Runner, Toxic

if TYPE_CHECKING:
    from .server import Connection

READ_SIZE = 65536
STAGE_BUFFER = 4
WRITER_BUFFER = 16


@dataclass(eq=False)
class StageSpec:
    """What runs at one position of a chain: a toxic, or one of the HTTP stages."""

    key: object  # identity kept across updates (a toxic's uid)
    version: object
    runner: Runner
    capacity: int
    toxicity: float = 1.0
    toxic: Toxic | None = None


def toxic_spec(toxic: Toxic) -> StageSpec:
    return StageSpec(
        key=toxic.uid,
        version=toxic.version,
        runner=RUNNERS[toxic.type],
        capacity=BUFFER.get(toxic.type, STAGE_BUFFER),
        toxicity=toxic.toxicity,
        toxic=toxic,
    )


class Stage:
    """The running instance of a spec on one link; what a runner sees."""

    def __init__(self, link: Link, spec: StageSpec, inp: Channel, enabled: bool) -> None:
        self.link = link
        self.spec = spec
        self.toxic = spec.toxic
        self.attrs: dict[str, Any] = spec.toxic.attributes if spec.toxic else {}
        self.inp = inp
        self.out: Channel = inp  # set by the link
        self.enabled = enabled
        self.pending: list[Any] = []  # taken but not yet emitted, oldest first
        self.task: asyncio.Task[None] | None = None

    @property
    def rng(self) -> random.Random:
        return self.link.rng

    @property
    def state(self) -> dict[str, Any]:
        return self.link.states.setdefault(self.spec.key, {})

    async def take(self) -> Any:
        item = await self.inp.get()
        self.pending = [item]
        return item

    async def emit(self, item: Any, rest: list[Any] | None = None) -> None:
        await self.out.put(item)
        self.pending = rest or []

    def drop(self) -> None:
        self.pending = []

    async def run(self) -> None:
        runner = self.spec.runner if self.enabled else RUNNERS["noop"]
        await runner(self)


class Link:
    def __init__(
        self,
        conn: Connection,
        direction: str,
        src: socket.socket,
        dst: socket.socket,
        rng: random.Random,
        count: Callable[[int], None],
    ) -> None:
        self.conn = conn
        self.direction = direction
        self.src = src
        self.dst = dst
        self.rng = rng
        self.count = count
        self.states: dict[object, dict[str, Any]] = {}
        self.draws: dict[tuple[object, object], bool] = {}
        self.stages: list[Stage] = []
        self.writer_ch = Channel(WRITER_BUFFER)
        self.reader_pending: list[Any] = []
        self.reader_done = False
        self.reader: asyncio.Task[None] | None = None
        self.writer: asyncio.Task[None] | None = None
        self.fast: fastpath.Pump | None = None
        self.lock = asyncio.Lock()

    # ----------------------------------------------------------- lifecycle
    def start(self, specs: list[StageSpec], fast_ok: bool) -> None:
        if fast_ok and not specs and fastpath.available():
            self.fast = fastpath.Pump(self.src, self.dst, self.count)
            self.fast.task = asyncio.ensure_future(self._run_fast())
            return
        self._build(specs, {})
        self._launch()

    def tasks(self) -> list[asyncio.Task[None]]:
        out = [s.task for s in self.stages if s.task]
        out += [t for t in (self.reader, self.writer) if t]
        if self.fast and self.fast.task:
            out.append(self.fast.task)
        return out

    def close(self) -> None:
        if self.fast:
            self.fast.close()

    async def _run_fast(self) -> None:
        assert self.fast is not None
        await self.fast.run()
        await self.conn.shutdown()

    # ----------------------------------------------------------- pipeline
    def _build(self, specs: list[StageSpec], inputs: dict[object, list[Any]]) -> None:
        stages = []
        for spec in specs:
            key = (spec.key, spec.version)
            if key not in self.draws:
                self.draws[key] = spec.toxicity >= 1 or self.rng.random() < spec.toxicity
            stage = Stage(self, spec, Channel(spec.capacity), self.draws[key])
            stage.inp.extend(inputs.get(spec.key, []))
            stages.append(stage)
        for a, b in itertools.pairwise(stages):
            a.out = b.inp
        if stages:
            stages[-1].out = self.writer_ch
        self.stages = stages
        live = {(s.key, s.version) for s in specs}
        self.draws = {k: v for k, v in self.draws.items() if k in live}
        keys = {s.key for s in specs}
        self.states = {k: v for k, v in self.states.items() if k in keys}

    def _head(self) -> Channel:
        return self.stages[0].inp if self.stages else self.writer_ch

    def _launch(self) -> None:
        for stage in self.stages:
            stage.task = asyncio.ensure_future(stage.run())
        if not self.reader_done:
            self.reader = asyncio.ensure_future(self._read())
        if self.writer is None:
            self.writer = asyncio.ensure_future(self._write())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        head = self._head()
        while True:
            if not self.reader_pending:
                try:
                    data = await fastpath.recv(self.src, READ_SIZE)
                except OSError:
                    data = b""
                item = Chunk(data, loop.time()) if data else None
                if data:
                    self.count(len(data))
                self.reader_pending = [item]
            item = self.reader_pending[0]
            await head.put(item)
            self.reader_pending = []
            if item is None:
                self.reader_done = True
                return

    async def _write(self) -> None:
        while True:
            item = await self.writer_ch.get()
            if item is None:
                break
            try:
                await fastpath.sendall(self.dst, item.data)
            except OSError:
                break
        await self.conn.shutdown()

    async def rewire(self, specs: list[StageSpec]) -> None:
        """Move to the chain ``specs`` keeping all data in flight, in order."""
        async with self.lock:
            if self.conn.closed:
                return
            carry: list[Any] = []
            if self.fast is not None:
                pump, self.fast = self.fast, None
                leftover = await pump.stop()
                if pump.eof:
                    return  # the connection is closing anyway
                if leftover:
                    carry.append(Chunk(leftover, asyncio.get_running_loop().time()))
            old = self.stages
            tasks = [s.task for s in old if s.task]
            if self.reader:
                tasks.append(self.reader)
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
            self.reader = None
            if self.conn.closed:
                return
            inputs = place_in_flight(old, specs, self.reader_pending + carry)
            self.reader_pending = []
            self.writer_ch.extend(inputs.pop(None, []))
            self._build(specs, inputs)
            self._launch()


def place_in_flight(old: list[Stage], specs: list[StageSpec], head: list[Any]) -> dict[object, list[Any]]:
    """Where the data held by the old chain goes in the new one, oldest first per destination.

    A surviving stage keeps its own data; a removed stage's data goes to the first stage after its
    position that is new or was after it; ``head`` (read but not yet in the chain) goes to the front.
    The key ``None`` stands for the writer.
    """
    old_index = {s.spec.key: i for i, s in enumerate(old)}

    def after(p: int) -> object:
        for spec in specs:
            i = old_index.get(spec.key)
            if i is None or i > p:
                return spec.key
        return None

    inputs: dict[object, list[Any]] = {}
    for p in range(len(old) - 1, -1, -1):
        stage = old[p]
        data = stage.pending + stage.inp.drain()
        dest = stage.spec.key if any(s.key == stage.spec.key for s in specs) else after(p)
        inputs.setdefault(dest, []).extend(data)
    inputs.setdefault(after(-1), []).extend(head)
    return inputs
