"""The live page at ``/__mock/ui``: what the fake providers are living through, pushed over Server-Sent Events
from one sampler, and controls to switch profiles and reset. The page is plain HTML, CSS and JavaScript shipped
in this package: no CDN, no build step."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from . import insight_view
from .routes import UI, ui_routes
from .sampler import Sampler

__all__ = ["UI", "Sampler", "install"]


def install(app: Any) -> tuple[Sampler, list[Route]]:
    """The sampler for ``app`` (started and stopped with the server) and the page's routes."""
    extra = app.settings.extra
    sampler = Sampler(app, interval=float(extra.get("ui_interval", 1.0)),
                      max_viewers=int(extra.get("ui_max_viewers", 32)),
                      stream_seconds=float(extra.get("ui_stream_seconds", 20.0)))

    async def start() -> None:
        sampler.start()

    app.startup_hooks.append(start)
    app.shutdown_hooks.append(sampler.stop)
    app.engine.profile_listeners.append(lambda old, new: sampler.poke())
    engine = app.engine
    if insight_view.available(engine):
        sampler.census.weigh = insight_view.planned_charge
        sampler.sources["report"] = lambda: {"headline": insight_view.headline(engine, sampler.census.weight)}
        sampler.job_sources["requests"] = lambda job_id: insight_view.job_requests(engine, job_id)
    return sampler, ui_routes(app, sampler)
