"""Building the server: one engine, the admin API, the media route and every provider dialect."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Router
from starlette.types import Receive, Scope, Send

from . import dialects
from . import ui as live_page
from .admin.routes import PREFIX as ADMIN_PREFIX
from .admin.routes import TokenGuard, admin_routes
from .context import Context, Settings
from .dialects.base import Dialect
from .engine.clock import Clock
from .engine.engine import Engine
from .engine.profile import Profile, ProfileLibrary
from .engine.store import JobStore
from .media.cache import MediaCache
from .media.links import MediaLinks
from .media.routes import media_routes
from .state import insight_redis, open_backend
from .web.endpoint import Endpoint
from .web.metrics import Metrics
from .web.responses import json_response
from .web.routing import SegmentRouter
from .web.transport import keep_raw_send
from .webhooks import TargetRules, WebhookHub
from .webhooks.routes import webhook_routes

log = logging.getLogger("mockprovider")


def library_for(settings: Settings) -> ProfileLibrary:
    folders = []
    local = Path("profiles")
    if local.is_dir():
        folders.append(local.resolve())
    if settings.profiles_dir is not None:
        folders.append(Path(settings.profiles_dir))
    return ProfileLibrary(folders)


def initial_profile(library: ProfileLibrary, name_or_path: str) -> Profile:
    path = Path(name_or_path)
    if name_or_path.endswith((".yaml", ".yml")) and path.is_file():
        return library.load_file(path)
    return library.load(name_or_path)


def webhook_rules(settings: Settings) -> TargetRules:
    """Deliveries never reach this server's listeners or the chaos proxy's API (see webhooks/targets.py)."""
    own = [(settings.host, settings.port)]
    if settings.tls:
        own.append((settings.host, settings.tls_port))
    urls = [settings.public_url, settings.extra.get("toxiproxy_url")]
    if settings.extra.get("proxy"):
        own.append((str(settings.extra.get("proxy_host", "127.0.0.1")), int(settings.extra.get("proxy_port", 8474))))
    for url in urls:
        if url:
            with contextlib.suppress(ValueError):
                parts = urlsplit(url)
                if parts.hostname:
                    own.append((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)))
    return TargetRules(own, settings.webhook_allow or ())


def first_segment(route: BaseRoute) -> str:
    """The literal first path segment of a route ("" if it starts with a parameter)."""
    path = getattr(route, "path", "") or ""
    first = path.lstrip("/").split("/", 1)[0]
    return "" if "{" in first else first.split(":", 1)[0]


class MockProviderApp(Starlette):
    """The ASGI app, with its context and dialects at hand."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(exception_handlers={404: self._not_found, 405: self._not_allowed})
        self.settings = settings
        library = library_for(settings)
        profile = initial_profile(library, settings.profile)
        clock = Clock(settings.time_scale)
        engine = Engine(library=library, profile=profile, seed=settings.seed, clock=clock,
                        store=JobStore(settings.max_jobs, settings.retention), journal_size=settings.journal_size)
        state = open_backend(settings.state)
        self.ctx = Context(
            settings=settings, engine=engine, library=library,
            media=MediaCache(max_bytes=settings.media_cache_bytes, disk_dir=settings.media_dir),
            links=MediaLinks(clock), metrics=Metrics(),
            webhooks=WebhookHub(engine, webhook_rules(settings), state=state),
            state=state,
        )
        names = settings.providers or list(dialects.AVAILABLE)
        self.dialects: list[Dialect] = [dialects.load(name)(self.ctx) for name in names]
        self.startup_hooks: list = []
        self.shutdown_hooks: list = []
        shared_insight = insight_redis.install(self)  # the journal and report across replicas (with Redis)
        self.network = None  # a network.NetworkBinding when profiles drive a proxy
        self.chaos_proxy = None
        engine.forget_listeners.extend(d.forget for d in self.dialects)
        routes = admin_routes(self.ctx, {"dialects": self.dialects,
                                         "before_reset": [shared_insight.reset] if shared_insight else [],
                                         "on_reset": [self.ctx.webhooks.reset, *(d.reset for d in self.dialects)]})
        routes += webhook_routes(self.ctx.webhooks, settings.admin_token)
        self.live_page, page_routes = live_page.install(self)
        routes += page_routes
        for dialect in self.dialects:
            extra = dialect.admin_routes()
            if extra:
                guarded = TokenGuard(Router(routes=extra), settings.admin_token)
                routes.append(Mount(f"{ADMIN_PREFIX}/{dialect.name}", app=guarded))
        routes += media_routes(self.ctx)
        for dialect in self.dialects:
            routes += dialect.routes()
        reserved = frozenset(first_segment(route) for route in routes) - {""}
        for dialect in self.dialects:
            routes += dialect.catch_all_routes(reserved)
        self.router = SegmentRouter(routes, lifespan=self._lifespan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        if scope["type"] == "http":
            # Provider endpoints answer every error themselves, in the provider's shape, so a request that
            # matches one goes straight to it, past Starlette's error-handling layers.
            route = self.router.fast_match(scope)
            if route is not None and isinstance(route.app, Endpoint):
                await route.app(scope, receive, send)
                return
        # Keep the server's own send for faults below HTTP (see web/transport.py), which the middleware wraps;
        # done here rather than in a middleware, which would cost every request another layer.
        keep_raw_send(scope, send)
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        await self.middleware_stack(scope, receive, send)

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    def base_urls(self, origin: str) -> dict[str, dict[str, str]]:
        return {d.name: d.base_urls(origin) for d in self.dialects}

    def _owner(self, request: Request) -> Dialect | None:
        path = request.url.path
        for dialect in self.dialects:
            if dialect.owns(path):
                return dialect
        return None

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        owner = self._owner(request)
        if owner is not None:
            return owner.error(request, 404, "Not found")
        return json_response({"error": f"no route for {request.method} {request.url.path}"}, 404)

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        owner = self._owner(request)
        if owner is not None:
            return owner.error(request, 405, f"Method {request.method} is not allowed here")
        return json_response({"error": f"method {request.method} not allowed"}, 405)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.ctx.state.start()
        if self.ctx.state.shared:  # a link signed by one replica downloads from any other
            self.ctx.links.secret = await self.ctx.state.secret("media-links")
        await self.ctx.state.attach(self.ctx.engine)
        await self.ctx.webhooks.start()
        for dialect in self.dialects:
            await dialect.startup()
        self.ctx.loop_lag.start()
        self.ctx.engine.announce_windows()
        for hook in self.startup_hooks:
            await hook()
        # Everything built so far (routes, profiles, imported modules) lives as long as the server: keep it out
        # of the garbage collector's sweeps, which otherwise cost every request a share of scanning it.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for hook in self.shutdown_hooks:
                await hook()
            for dialect in self.dialects:
                await dialect.shutdown()
            await self.ctx.webhooks.close()
            await self.ctx.engine.timeline.stop()
            await self.ctx.loop_lag.stop()
            await self.ctx.state.close()
            self.ctx.media.close()


def create_app(settings: Settings | None = None) -> MockProviderApp:
    """The server for ``settings``; with ``extra["proxy"]`` it also runs the chaos proxy, and with
    ``extra["toxiproxy_url"]`` it drives a real Toxiproxy from the profiles' network sections."""
    settings = settings or Settings()
    app = MockProviderApp(settings)
    if settings.extra.get("proxy"):
        from .network import embed_proxy

        embed_proxy(app, settings.extra.get("proxy_host", "127.0.0.1"), int(settings.extra.get("proxy_port", 8474)),
                    app.engine.seed)
    elif settings.extra.get("toxiproxy_url"):
        from .network import drive_toxiproxy

        drive_toxiproxy(app, settings.extra["toxiproxy_url"])
    return app
