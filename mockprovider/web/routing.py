"""A router that finds a request's routes by the first path segments instead of trying every route in turn:
with four providers, an admin API and a media route there are dozens, and the status poll is the hot path."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send


def _static_prefix(path: str) -> tuple[str, ...]:
    parts = path.split("/")[1:3]
    static = []
    for part in parts:
        if "{" in part or ":" in part:
            break
        static.append(part)
    return tuple(static)


class SegmentRouter(Router):
    """Routes whose first one or two path segments are literal are grouped by them; anything else (and every
    miss) goes through the ordinary full list, so 404/405 behave exactly as in Starlette's Router."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs) -> None:
        super().__init__(routes=list(routes), **kwargs)
        groups: dict[tuple[str, ...], list[BaseRoute]] = defaultdict(list)
        for route in routes:
            key = _static_prefix(route.path) if isinstance(route, Route) else ()
            if len(key) == 2:
                groups[key].append(route)
        self._groups = {key: Router(routes=group) for key, group in groups.items()}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._groups:
            parts = scope["path"].split("/", 3)
            if len(parts) >= 3:
                group = self._groups.get((parts[1], parts[2].split(":", 1)[0]))
                if group is not None:
                    for route in group.routes:
                        match, child = route.matches(scope)
                        if match.value == 2:  # Match.FULL
                            scope.update(child)
                            await route.handle(scope, receive, send)
                            return
        await super().app(scope, receive, send)
