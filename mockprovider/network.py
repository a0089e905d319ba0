"""Profiles drive the network: each profile's ``network:`` section is applied when the profile becomes active
(by the admin API, a TTL revert or at start), to the chaos proxy embedded in this process or to a real
Toxiproxy at a URL. Applications run one at a time on the server's loop; the newest section wins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .app import MockProviderApp
from .engine.profile import Profile

log = logging.getLogger("mockprovider.network")

Applier = Callable[[Any], Awaitable[None]]
RETRIES = 10
RETRY_BASE = 0.25  # seconds, doubling: about 2 minutes in all
RETRY_MAX = 30.0


class NetworkBinding:
    def __init__(self, app: MockProviderApp, apply: Applier) -> None:
        self.app = app
        self.apply = apply
        self._pending: Any = None
        self._wanted = False
        self._task: asyncio.Task | None = None
        self.applied = 0
        self.errors: list[str] = []
        app.engine.profile_listeners.append(self._changed)

    def _changed(self, old: Profile, new: Profile) -> None:
        if old.network == new.network:
            return
        self.request(new.network)

    def request(self, section: Any) -> None:
        self._pending, self._wanted = section, True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        attempt = 0
        while self._wanted:
            section, self._wanted = self._pending, False
            try:
                await self.apply(section)
                self.applied += 1
                log.info("network section applied (%s)", "none: proxies back to plain" if section is None
                         else "from the active profile")
                attempt = 0
            except Exception as exc:  # a proxy that is not up yet must not take the server down
                log.warning("applying the profile's network section failed (attempt %d): %s", attempt + 1, exc)
                self.errors = [*self.errors[-9:], str(exc)]
                if attempt < RETRIES and not self._wanted:
                    # e.g. a Toxiproxy container that starts after us: try the same section again, backing off
                    await asyncio.sleep(min(RETRY_BASE * 2**attempt, RETRY_MAX))
                    attempt += 1
                    if not self._wanted:
                        self._pending, self._wanted = section, True

    async def settle(self) -> None:
        """Wait until every requested section has been applied."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)


def embed_proxy(app: MockProviderApp, host: str, port: int, seed: int) -> None:
    """Run the chaos proxy's API and proxies in this process, driven by the active profile."""
    from .proxy.app import ChaosProxy

    proxy = ChaosProxy(seed=seed)
    binding = NetworkBinding(app, proxy.apply)
    app.network = binding
    app.chaos_proxy = proxy

    async def start() -> None:
        await proxy.start(host, port)
        binding.request(app.engine.selector.active.profile.network)
        await binding.settle()

    async def stop() -> None:
        await binding.settle()
        await proxy.stop()

    app.startup_hooks.append(start)
    app.shutdown_hooks.append(stop)


def drive_toxiproxy(app: MockProviderApp, url: str) -> None:
    """Apply each active profile's network section to a real Toxiproxy at ``url`` (toxiproxy-python)."""
    from .proxy.profile import ToxiproxyDriver

    driver = ToxiproxyDriver(url)

    async def apply(section: Any) -> None:
        await asyncio.to_thread(driver.apply, section)  # it logs what a real Toxiproxy will not do

    binding = NetworkBinding(app, apply)
    app.network = binding

    async def start() -> None:
        binding.request(app.engine.selector.active.profile.network)

    app.startup_hooks.append(start)
    app.shutdown_hooks.append(binding.settle)
