"""An organization's custom objects (voices, avatars, documents, routers) seen by every replica: with a shared
state backend, each request that reads them loads the account's books from a state table first, and each one that
changes them writes them back after. In memory nothing happens here (the books are the state).

The books of one account are one value (they are bounded at 100 of each kind), so two replicas changing the same
organization at the same instant keep the later write: the mock's accepted limit, not Runway's."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict
from typing import Any

from .personas import KINDS, MAX_ACCOUNTS, Avatar, Document, Lifecycle, PersonaBook, Voice
from .router import MAX_REQUESTS, Router, RouterBook


def _persona(kind: str, raw: dict[str, Any]) -> Any:
    if kind == "document":
        return Document(**raw)
    life = Lifecycle(**raw.pop("life"))
    return Voice(**raw, life=life) if kind == "voice" else Avatar(**raw, life=life)


def _router(raw: dict[str, Any]) -> Router:
    requests = deque(raw.pop("requests"), maxlen=MAX_REQUESTS)
    return Router(**raw, requests=requests)


def _router_wire(router: Router) -> dict[str, Any]:
    found = asdict(router)
    found["requests"] = list(router.requests)
    return found


class AccountBooks:
    def __init__(self, state: Any, personas: PersonaBook, routers: RouterBook) -> None:
        self.shared = state.shared
        self.personas = personas
        self.routers = routers
        self.table = state.table("runway:books", MAX_ACCOUNTS) if self.shared else None

    async def load(self, key: str) -> None:
        if self.table is None:
            return
        found = await self.table.get(key) or {}
        for kind in KINDS:
            book = self.personas.of(kind, key)
            book.clear()
            book.update((raw["id"], _persona(kind, raw)) for raw in found.get(kind, ()))
        routers = self.routers.of(key)
        routers.clear()
        routers.update((raw["id"], _router(raw)) for raw in found.get("routers", ()))

    async def save(self, key: str) -> None:
        if self.table is None:
            return
        books: dict[str, Any] = {kind: [asdict(item) for item in self.personas.of(kind, key).values()]
                                 for kind in KINDS}
        books["routers"] = [_router_wire(r) for r in self.routers.of(key).values()]
        await self.table.set(key, books)

    async def clear(self) -> None:
        if self.table is not None:
            await self.table.clear()

