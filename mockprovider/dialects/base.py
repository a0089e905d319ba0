"""What a provider dialect is: its routes, its auth and its rendering of states and errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..context import Context
from ..engine.limits import OverLimit
from ..web.endpoint import Handler, endpoint

MAX_ORIGINS = 256


class Dialect:
    name: ClassVar[str]
    title: ClassVar[str]

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- what each dialect provides -------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def base_urls(self, origin: str) -> dict[str, str]:
        """What a user gives the provider's SDK as its base URL, by how it is reached."""
        raise NotImplementedError

    def credential(self, request: Request) -> str | None:
        """The caller's account key as sent (not verified): selects per-key profiles and limit scopes."""
        raise NotImplementedError

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        """An error of ``status`` in the provider's own shape."""
        raise NotImplementedError

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        raise NotImplementedError

    def unavailable(self, request: Request) -> Response:
        """The answer while the shared state (Redis) cannot be reached: the provider's own 503."""
        return self.error(request, 503, "Service temporarily unavailable, please retry")

    def owns(self, path: str) -> bool:
        """Whether an unrouted path looks like this provider's, so its 404/405 come in its shape."""
        return False

    def catch_all_routes(self, reserved: frozenset[str]) -> list[BaseRoute]:
        """Routes with an open first path segment (``/{owner}/...``), mounted after every other route; they must
        not match a path whose first segment is in ``reserved`` (the first segments of all other routes)."""
        return []

    def admin_routes(self) -> list[BaseRoute]:
        """Extra admin routes, mounted under ``/__mock/<name>/`` (e.g. managing API keys, callback logs)."""
        return []

    async def startup(self) -> None:
        """Called once the server's event loop runs (open client sessions here)."""

    async def shutdown(self) -> None:
        """Called when the server stops."""

    def reset(self) -> Any:
        """Clear the dialect's stored state (its tables, which every replica may share), once, on the replica
        that answers ``POST /__mock/reset`` (may be a coroutine: tables are async). Runs after :meth:`forget`."""

    def forget(self) -> None:
        """Drop what this process alone holds for the dialect (id streams drawn from the seed, caches of encoded
        bodies, held requests): on every replica, whichever of them was reset."""

    # -- helpers --------------------------------------------------------------------------------------------

    def route(self, path: str, handler: Handler, methods: Iterable[str], kind: str) -> Route:
        return Route(path, endpoint(self, kind, handler), methods=list(methods))

    def origin(self, request: Request) -> str:
        # a poll asks for the same origin each time: remembered per base URL (bounded, like the base URLs)
        base = str(request.base_url)
        origins = self.__dict__.get("_origins")
        if origins is None:
            origins = self._origins = {}
        found = origins.get(base)
        if found is None:
            if len(origins) >= MAX_ORIGINS:
                origins.clear()
            found = origins[base] = self.ctx.origin(base)
        return found
