"""Walking the routes of a served app for the routing tests: every provider endpoint as (provider, method, a
concrete path), and which provider Starlette picks for a request, the way the app's own routing does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.routing import Match, Route

from mockprovider.web.endpoint import Endpoint


def concrete(path: str) -> str:
    """A route path with each ``{param}`` (any convertor) filled by an id-like value."""
    return re.sub(r"\{[^}]+\}", "123456789012345678", path)


def scope_for(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def provider_routes(app: Any, fill: Callable[[str], str] = concrete) -> list[tuple[str, str, str]]:
    """(provider, method, concrete path) of every provider endpoint of ``app`` (HEAD left out)."""
    out = []
    for route in app.routes:
        if isinstance(route, Route) and isinstance(route.app, Endpoint):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                out.append((route.app.dialect.name, method, fill(route.path)))
    return out


def owner_of(app: Any, method: str, path: str) -> str | None:
    """The provider whose route Starlette picks for ``method path`` (the first full match, in app order);
    "other" for a non-provider route, None for none."""
    scope = scope_for(method, path)
    for route in app.routes:
        if route.matches(scope)[0] == Match.FULL:
            return route.app.dialect.name if isinstance(getattr(route, "app", None), Endpoint) else "other"
    return None


def fast_owner(app: Any, method: str, path: str) -> str | None:
    """The provider the app's fast router picks, None when it leaves the request to the full one."""
    route = app.router.fast_match(scope_for(method, path))
    return None if route is None else route.app.dialect.name
