"""Byte counters per proxy and direction, in Toxiproxy's Prometheus names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        # (proxy, listen, upstream, direction) -> bytes; live, unlike Toxiproxy which adds at link end
        self.received: dict[tuple[str, str, str, str], int] = {}

    def counter(self, proxy: Any, direction: str) -> Callable[[int], None]:
        key = (proxy.name, proxy.listen, proxy.upstream, direction)
        self.received.setdefault(key, 0)
        received = self.received

        def add(n: int) -> None:
            received[key] += n

        return add

    def render(self) -> str:
        lines = []
        for metric, help_text in (
            ("toxiproxy_proxy_received_bytes_total", "The total bytes received from the proxy's source"),
            ("toxiproxy_proxy_sent_bytes_total", "The total bytes sent to the proxy's destination"),
        ):
            lines.append(f"# HELP {metric} {help_text}")
            lines.append(f"# TYPE {metric} counter")
            for (proxy, listen, upstream, direction), value in sorted(self.received.items()):
                lines.append(
                    f'{metric}{{direction="{direction}",listener="{_label(listen)}",'
                    f'proxy="{_label(proxy)}",upstream="{_label(upstream)}"}} {value}'
                )
        return "\n".join(lines) + "\n"
