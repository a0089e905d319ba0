"""Running the app on its listeners: plain HTTP always, and HTTPS beside it with ``--tls``. Both serve the same
app on one event loop; the plain server runs the lifespan and handles signals, the TLS one follows it.

With ``--workers N`` uvicorn's own supervisor (uvicorn.supervisors.Multiprocess) runs N such processes on
listeners bound once, in the parent: it spawns them, pings each over a pipe, replaces one that dies, and stops
them all on SIGINT/SIGTERM. Each builds its own app in :meth:`WorkerConfig.load`; they share state through
``--state redis://...``."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from .context import Settings
from .tls import TLSFiles
from .web.protocol import uvicorn_kwargs

log = logging.getLogger("mockprovider")
HEALTHCHECK_TIMEOUT = 30  # seconds (see WorkerConfig)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Thousands of requests held open by latency profiles keep hundreds of thousands of objects alive; a full sweep
# over them stalls the event loop for hundreds of ms. Sweep the oldest generation 100x less often
# (bench/bench_held.py: loop lag p99 90 ms -> 7 ms; bench/bench_soak.py: memory still flat).
GC_THRESHOLDS = (700, 10, 1000)


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


def follow_with(app: Any, companion: uvicorn.Server, sockets: list[socket.socket]) -> None:
    """Serve ``companion`` (the TLS listener) on ``sockets`` from the app's lifespan: it starts once the app has
    and stops before the app shuts down. A worker's uvicorn.Server runs one listener; this adds the other."""
    task: asyncio.Future | None = None

    async def start() -> None:
        nonlocal task
        task = asyncio.ensure_future(companion.serve(sockets=sockets))
        while not companion.started and not task.done():
            await asyncio.sleep(0.01)
        if not companion.started:
            raise RuntimeError("the TLS listener did not start")

    async def stop() -> None:
        companion.should_exit = True
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    app.startup_hooks.append(start)
    app.shutdown_hooks.insert(0, stop)


def follow_parent(parent: int) -> None:
    """On Linux, have the kernel send this worker SIGTERM when its supervisor dies, even by SIGKILL, rather than
    leave it serving on as an orphan that holds the port."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != parent:  # it died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def stopping() -> bool:
    """Whether this worker was told to stop (uvicorn's SIGTERM/SIGINT handler has set its server's should_exit)."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(server, "should_exit", False))


def wait_for_state(url: str) -> None:
    """A worker started while Redis is away (one replacing a dead worker during an outage) waits for it instead
    of failing: uvicorn's supervisor takes a worker that fails to start for a broken setup and stops them all."""
    from .cli import state_problem

    delay, told = 0.25, False
    while (problem := state_problem(url)) is not None:
        if not told:
            log.warning("worker %d waits for the state backend: %s", os.getpid(), problem)
            told = True
        if stopping():
            raise SystemExit(0)
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    if told:
        log.warning("worker %d: the state backend is back", os.getpid())


class WorkerConfig(uvicorn.Config):
    """uvicorn's Config for each of ``workers`` processes that uvicorn's Multiprocess supervisor spawns, pings
    and replaces when they die. It travels to each worker pickled; :meth:`load` (in the worker) builds the app
    from the settings, the guarded protocol, and the TLS listener beside it. The workers agree on one seed and
    number submissions together through Redis (state/shared.py), so their ids never collide."""

    def __init__(self, settings: Settings, workers: int, tls: TLSFiles | None, mock_log_level: str,
                 **options: Any) -> None:
        self.settings = settings
        self.tls = tls
        self.tls_socket: socket.socket | None = None  # bound by run_workers
        self.mock_log_level = mock_log_level
        self.supervisor = os.getpid()
        self.options = options
        guards = uvicorn_kwargs(settings)
        guards.pop("http")  # a class made per settings, not picklable: built again in the worker
        # The supervisor takes a worker that does not answer its ping within this for hung and kills it; a worker
        # answers from a thread once it has imported everything, which takes more than uvicorn's 5 s on a loaded
        # machine (workers were killed while starting). A hung event loop does not stop that thread anyway.
        options.setdefault("timeout_worker_healthcheck", HEALTHCHECK_TIMEOUT)
        super().__init__("mockprovider.app:create_app", host=settings.host, port=settings.port, lifespan="on",
                         workers=workers, **guards, **options)

    def load(self) -> None:
        from .app import create_app
        from .cli import setup_logging

        follow_parent(self.supervisor)
        setup_logging(self.mock_log_level)
        wait_for_state(self.settings.state)
        if self.settings.access_log:
            logging.getLogger("uvicorn.access").setLevel("INFO")
        settings = self.settings
        app = create_app(settings)
        self.app = app
        self.http = uvicorn_kwargs(settings)["http"]
        if self.tls is not None and self.tls_socket is not None:
            _, companions = servers(app, settings, self.tls, **self.options)
            follow_with(app, companions[0], [self.tls_socket])
        gc.set_threshold(*GC_THRESHOLDS)
        super().load()


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that worker processes inherit (each listens on it and accepts from it)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


def run_workers(config: WorkerConfig) -> int:
    """Bind the listeners once, then let uvicorn's supervisor run ``config.workers`` processes on them until
    SIGINT or SIGTERM (each worker stops gracefully); 3 when a worker could not start (uvicorn's
    STARTUP_FAILURE: the supervisor stopped them all), else 0."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    settings = config.settings
    sockets = [listening_socket(settings.host, settings.port)]
    if settings.tls:
        config.tls_socket = listening_socket(settings.host, settings.tls_port)
    supervisor = Multiprocess(config, sockets=sockets)
    try:
        supervisor.run()
    finally:
        for sock in [*sockets, config.tls_socket]:
            if sock is not None:
                sock.close()
    return STARTUP_FAILURE if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
