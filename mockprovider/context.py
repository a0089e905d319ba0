"""What every dialect and the admin API share: the engine, the media cache and links, settings, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .engine.engine import Engine
from .engine.profile import Profile, ProfileLibrary
from .media.cache import MediaCache
from .media.links import MediaLinks
from .state import Backend
from .web.looplag import LoopLag
from .web.metrics import Metrics
from .webhooks import WebhookHub


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    profile: str = "default"
    seed: int | None = None  # None: a random seed per run (and per /__mock/reset), shown in /__mock/health
    time_scale: float = 1.0
    profiles_dir: Path | None = None
    admin_token: str | None = None
    max_body: int = 8 * 2**20
    scale_latency: bool = False  # request latency and hangs follow the time scale too (default: real time)
    access_log: bool = False
    max_head: int = 64 * 1024  # request line + headers; larger is answered 431 (web/protocol.py)
    head_timeout: float = 30.0  # real seconds a connection has to send a complete request head
    max_jobs: int = 200_000
    retention: float = 48 * 3600.0
    public_url: str | None = None
    media_cache_bytes: int = 512 * 2**20
    media_dir: Path | None = None
    media_bitrate: str = "small"  # or "realistic": constant bitrates typical of real outputs per size
    providers: list[str] | None = None
    webhook_allow: list[str] | None = None  # hosts, .suffixes, IPs and CIDRs webhooks may go to (default: any)
    tls: bool = False  # also listen with TLS on tls_port
    tls_port: int = 8443
    tls_cert: Path | None = None  # with tls_key: the user's certificate; else one signed by a generated CA
    tls_key: Path | None = None
    tls_names: list[str] = field(default_factory=list)  # more names for the generated certificate
    tls_dir: Path | None = None  # where the generated CA and certificate go (default ~/.cache/mockprovider/tls)
    journal_size: int = 10_000  # requests kept in the journal (0: none); insight/journal.py
    metrics_token: str | None = None  # lets a scraper read /__mock/metrics when an admin token guards the rest
    state: str = "memory"  # or redis://HOST:PORT/DB: the state replicas and workers share (mockprovider/state/)
    extra: dict = field(default_factory=dict)


@dataclass
class Context:
    settings: Settings
    engine: Engine
    library: ProfileLibrary
    media: MediaCache
    links: MediaLinks
    metrics: Metrics
    webhooks: WebhookHub
    state: Backend = field(default_factory=Backend)

    def profile_named(self, name: str) -> Profile:
        """The named profile: the active one if that is its name, else loaded fresh from its file."""
        active = self.engine.selector.active.profile
        if active.name == name:
            return active
        cached = self._loaded.get(name)
        if cached is not None:
            return cached
        profile = self.library.load(name)
        self._loaded[name] = profile
        return profile

    def forget_loaded(self) -> None:
        self._loaded.clear()

    def __post_init__(self) -> None:
        self._loaded: dict[str, Profile] = {}
        self.loop_lag = LoopLag()

    def origin(self, request_base: str) -> str:
        """Where clients reach us, for absolute URLs we hand out."""
        return (self.settings.public_url or request_base).rstrip("/")
