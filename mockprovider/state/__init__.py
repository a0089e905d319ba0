"""Where the state replicas share lives: in this process (the default) or in Redis (``serve --state
redis://...``). The engine and the dialects talk to a :class:`Backend`; they do not know which one runs."""

from .backend import Backend, StateUnavailable, check_url, open_backend

__all__ = ["Backend", "StateUnavailable", "check_url", "open_backend"]
