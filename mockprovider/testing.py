"""Running mockprovider in-process, for pytest and scripts: a real uvicorn server on a free loopback port,
in a thread of its own.

    with MockServer(profile="happy", time_scale=0.01) as server:
        client = RunwayML(api_key="key_test", base_url=server.url)

With ``tls=True`` it also listens with TLS on another free port (``server.tls_url``), with a certificate signed by
a CA generated for it (``server.ca_file``: give it to ``SSL_CERT_FILE`` or an ``ssl.SSLContext``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import uvicorn

from .app import MockProviderApp, create_app
from .context import Settings
from .serving import serve_all, servers, started
from .tls import TLSFiles, tls_files


class AdminReply:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self.content = body

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None


def admin_call(base_url: str, method: str, path: str, body: Any = None, token: str | None = None) -> AdminReply:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base_url}/__mock{path}", data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("x-mockprovider-admin-token", token)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return AdminReply(reply.status, reply.read())
    except urllib.error.HTTPError as exc:
        return AdminReply(exc.code, exc.read())


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class MockServer:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        settings = settings or Settings()
        for key, value in overrides.items():
            setattr(settings, key, value)
        if not overrides.get("port"):
            settings.port = free_port(settings.host)
        self.tls: TLSFiles | None = None
        if settings.tls:
            if not overrides.get("tls_port"):
                settings.tls_port = free_port(settings.host)
            if settings.tls_dir is None and settings.tls_cert is None:
                settings.tls_dir = Path(tempfile.mkdtemp(prefix="mockprovider-tls-"))
            self.tls = tls_files(settings.tls_cert, settings.tls_key, settings.tls_dir, settings.tls_names)
        self.settings = settings
        self.app: MockProviderApp = create_app(settings)
        self._server: uvicorn.Server | None = None
        self._companions: list[uvicorn.Server] = []
        self._thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def tls_url(self) -> str:
        assert self.settings.tls, "start the server with tls=True"
        return f"https://{self.settings.host}:{self.settings.tls_port}"

    @property
    def ca_file(self) -> Path | None:
        return self.tls.ca if self.tls is not None else None

    def start(self) -> MockServer:
        main, companions = servers(self.app, self.settings, self.tls, log_level="error", access_log=False)
        self._server, self._companions = main, companions

        def run() -> None:
            factory = main.config.get_loop_factory()
            loop = factory() if factory is not None else asyncio.new_event_loop()
            self.loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve_all(main, companions))
            loop.close()

        self._thread = threading.Thread(target=run, name="mockprovider", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not started(main, companions):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("mockprovider did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def admin(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> AdminReply:
        """Call the admin API: ``server.admin("PUT", "/profile", {"name": "outage", "ttl": "30s"})``."""
        return admin_call(self.url, method, path, json_body if json_body is not None else kwargs.get("json"),
                          token=self.settings.admin_token)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's event loop and return its result, awaited if it is a coroutine
        (for inspecting state: ``s.call(engine.spent, "runway", key)``)."""
        assert self.loop is not None

        async def wrapped() -> Any:
            result = fn(*args)
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(10)


def done(step: Any) -> Any:
    """The result of an engine coroutine that never waits, without an event loop: with the in-memory state
    ``done(engine.submit(...))`` in a synchronous test. AssertionError if it had to wait (shared state)."""
    try:
        step.send(None)
    except StopIteration as stop:
        return stop.value
    step.close()
    raise AssertionError("the coroutine waited: only the in-memory state can be driven this way")
