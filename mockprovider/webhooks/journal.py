"""A bounded journal of every delivery attempt and its outcome, with counters that survive its eviction."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

# Outcomes of one journal entry.
DELIVERED = "delivered"  # a 2xx answer
RETRYING = "retrying"  # failed; another attempt follows
GAVE_UP = "gave_up"  # failed on its last attempt
DROPPED = "dropped"  # never sent: a profile fault, or the pending bound was reached
REFUSED = "refused"  # the target rules refuse the URL (never retried)
OUTCOMES = (DELIVERED, RETRYING, GAVE_UP, DROPPED, REFUSED)


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)
        self.counts: Counter[tuple[str, str]] = Counter()  # (provider, outcome) -> n

    @property
    def size(self) -> int:
        return self.entries.maxlen or 0

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self.counts[(entry["provider"], entry["outcome"])] += 1

    def clear(self) -> None:
        self.entries.clear()
        self.counts.clear()

    def query(self, *, provider: str | None = None, job: str | None = None, outcome: str | None = None,
              limit: int = 1000) -> list[dict[str, Any]]:
        found = [e for e in self.entries if (provider is None or e["provider"] == provider)
                 and (job is None or e["job"] == job) and (outcome is None or e["outcome"] == outcome)]
        return found[len(found) - limit:] if limit > 0 else []

    def totals(self, provider: str | None = None) -> dict[str, int]:
        out = dict.fromkeys(OUTCOMES, 0)
        for (who, outcome), n in self.counts.items():
            if provider is None or who == provider:
                out[outcome] += n
        return out
