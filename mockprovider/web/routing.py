"""A router that finds a request's routes by the first path segments instead of trying every route in turn:
with four providers, an admin API and a media route there are dozens, and the status poll is the hot path."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

DEPTH = 3
MAX_MATCHES = 4096  # remembered (method, path) -> route matches: the jobs a load test is polling at once


def _static_prefix(path: str) -> tuple[str, ...]:
    parts = path.split("/")[1 : DEPTH + 1]
    static = []
    for part in parts:
        if "{" in part or ":" in part:
            break
        static.append(part)
    return tuple(static)


class SegmentRouter(Router):
    """Routes are grouped by their literal leading path segments (two or three) and their number of segments; a
    request looks up the group of its own first three segments and length, then of its first two. Routes with a
    ``:path`` parameter, and every miss, go through the ordinary full list, so 404/405 behave exactly as in
    Starlette's Router."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs) -> None:
        super().__init__(routes=list(routes), **kwargs)
        groups: dict[tuple, list[BaseRoute]] = defaultdict(list)
        open_groups: dict[int, list[BaseRoute]] = defaultdict(list)
        for route in routes:
            if not isinstance(route, Route) or ":path}" in route.path:
                continue
            if isinstance(route, OpenRoute):  # never overlaps a static group: it refuses their first segments
                open_groups[route.path.count("/")].append(route)
                continue
            key = _static_prefix(route.path)
            if len(key) >= 2:
                groups[(*key, route.path.count("/"))].append(route)
        self._groups = {key: tuple(group) for key, group in groups.items()}
        self._open = {depth: tuple(group) for depth, group in open_groups.items()}
        self._matched: dict[tuple[str, str, str], tuple[Route, object, dict]] = {}

    def fast_match(self, scope: Scope) -> Route | None:
        """The route that fully matches an HTTP request (path and method), with its path parameters put in the
        scope, or None (no group, a miss, a wrong method: the full router decides those). A status poll asks
        for the same path again and again: its match is remembered (bounded; routes never change)."""
        key = (scope["method"], scope["path"], scope.get("root_path", ""))
        found = self._matched.get(key)
        if found is not None:
            route, endpoint, params = found
            scope["endpoint"] = endpoint
            scope["path_params"] = params.copy()
            return route
        route = self._match(scope)
        if route is not None and "path_params" in scope:
            matched = self._matched
            if len(matched) >= MAX_MATCHES:
                del matched[next(iter(matched))]
            matched[key] = (route, scope["endpoint"], scope["path_params"].copy())
        return route

    def _match(self, scope: Scope) -> Route | None:
        path = scope["path"]
        parts = path.split("/", DEPTH + 1)
        if len(parts) < 3:
            return None
        groups = self._groups
        depth = path.count("/")
        second = parts[2].split(":", 1)[0]
        group = groups.get((parts[1], second, parts[3].split(":", 1)[0], depth)) if len(parts) > 3 else None
        for candidate in (group, groups.get((parts[1], second, depth)), self._open.get(depth)):
            if candidate is None:
                continue
            for route in candidate:
                match, child = route.matches(scope)
                if match.value == 2:  # Match.FULL
                    scope.update(child)
                    return route
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (self._groups or self._open):
            route = self.fast_match(scope)
            if route is not None:
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)


class OpenRoute(Route):
    """A route whose first path segment is a parameter (``/{owner}/{alias}/...``) that never takes a path whose
    first segment belongs to another route (``reserved``), so it cannot shadow them, whatever the order."""

    def __init__(self, path: str, endpoint, *, methods: list[str], reserved: frozenset[str]) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.reserved = reserved

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].split("/", 2)[1] in self.reserved:
            return Match.NONE, {}
        return super().matches(scope)
