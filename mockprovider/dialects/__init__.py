"""Provider dialects. Each module registers one ``Dialect`` subclass; the app mounts them all."""

from __future__ import annotations

from importlib import import_module

from .base import Dialect

# name -> "module:Class"; adding a provider means adding its module here.
AVAILABLE = {
    "runway": "mockprovider.dialects.runway.dialect:RunwayDialect",
    "kling": "mockprovider.dialects.kling.dialect:KlingDialect",
    "veo": "mockprovider.dialects.veo.dialect:VeoDialect",
    "luma": "mockprovider.dialects.luma.dialect:LumaDialect",
    "minimax": "mockprovider.dialects.minimax.dialect:MiniMaxDialect",
    "seedance": "mockprovider.dialects.seedance.dialect:SeedanceDialect",
    "wan": "mockprovider.dialects.wan.dialect:WanDialect",
    "replicate": "mockprovider.dialects.replicate.dialect:ReplicateDialect",
    "fal": "mockprovider.dialects.fal.dialect:FalDialect",  # last: its /{owner}/{alias} routes come after all
}


def load(name: str) -> type[Dialect]:
    module, _, attr = AVAILABLE[name].partition(":")
    return getattr(import_module(module), attr)
