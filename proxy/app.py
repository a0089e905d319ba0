"""``ChaosProxy``: the API server, the proxies and the profile controller, in one event loop."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .api import Api, decode
from .collection import Collection
from .errors import ApiError
from .httpd import ApiServer
from .profile import NetworkController, NetworkSection

log = logging.getLogger("mockprovider.proxy")


def load_config(path: str | Path) -> Any:
    """Read a ``-config`` file: Toxiproxy's populate body, a JSON array of proxies."""
    return decode(Path(path).read_bytes())


class ChaosProxy:
    """Run with ``await start(host, port)`` inside any running loop; ``await stop()`` ends it."""

    def __init__(self, seed: int = 0, config: str | Path | None = None) -> None:
        self.collection = Collection(seed=seed)
        self.controller = NetworkController(self.collection)
        self.api = Api(self.collection)
        self.config = config
        self._server: ApiServer | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 8474) -> int:
        """Load the config file (errors are logged, as Toxiproxy does), then serve the API.
        Returns the API's real port (``port=0`` picks one)."""
        if self.config:
            await self.load(self.config)
        self._server = ApiServer(self.api)
        self.port = await self._server.start(host, port)
        self.host = host
        log.info("chaos proxy API on %s", self.url)
        return self.port

    async def load(self, path: str | Path) -> None:
        try:
            _, err = await self.collection.populate(load_config(path))
        except (OSError, ApiError) as exc:
            err = exc if isinstance(exc, ApiError) else ApiError(500, str(exc))
        if err is not None:
            log.error("config %s: %s", path, err.message)

    async def apply(self, section: NetworkSection | None) -> None:
        await self.controller.apply(section)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None
        await self.collection.close()

    async def __aenter__(self) -> ChaosProxy:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
