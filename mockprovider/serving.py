"""Running the app on its listeners: plain HTTP always, and HTTPS beside it with ``--tls``. Both serve the same
app on one event loop; the plain server runs the lifespan and handles signals, the TLS one follows it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn

from .context import Settings
from .tls import TLSFiles
from .web.protocol import uvicorn_kwargs


class Companion(uvicorn.Server):
    """A second listener: no lifespan (``lifespan="off"``) and no signal handlers of its own."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def servers(app: Any, settings: Settings, tls: TLSFiles | None, **options: Any) -> tuple[uvicorn.Server,
                                                                                         list[uvicorn.Server]]:
    options = {**uvicorn_kwargs(settings), **options}
    main = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="on", **options))
    companions: list[uvicorn.Server] = []
    if tls is not None:
        companions.append(Companion(uvicorn.Config(app, host=settings.host, port=settings.tls_port, lifespan="off",
                                                   ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key),
                                                   **options)))
    return main, companions


async def serve_all(main: uvicorn.Server, companions: list[uvicorn.Server]) -> None:
    """Serve until the main server stops (a signal, or ``should_exit``); companions start once it has."""
    main_task = asyncio.ensure_future(main.serve())
    while not main.started and not main_task.done():
        await asyncio.sleep(0.01)
    tasks = [asyncio.ensure_future(c.serve()) for c in companions] if main.started else []
    try:
        await main_task
    finally:
        for companion in companions:
            companion.should_exit = True
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def started(main: uvicorn.Server, companions: list[uvicorn.Server]) -> bool:
    return main.started and all(c.started for c in companions)
