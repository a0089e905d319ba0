"""Request counters, kept as plain dicts on the hot path and exported in Prometheus' text format."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}

    def counter(self, provider: str, kind: str) -> Callable[[Response], Response]:
        requests = self.requests

        def count(response: Response) -> Response:
            key = (provider, kind, response.status_code)
            requests[key] = requests.get(key, 0) + 1
            return response

        return count

    def clear(self) -> None:
        self.requests.clear()

    def render(self, gauges: dict[str, float]) -> str:
        lines = [
            "# HELP mockprovider_requests_total Provider API requests by provider, endpoint kind and status.",
            "# TYPE mockprovider_requests_total counter",
        ]
        for (provider, kind, status), n in sorted(self.requests.items()):
            lines.append(
                f'mockprovider_requests_total{{provider="{provider}",endpoint="{kind}",status="{status}"}} {n}'
            )
        for name, value in gauges.items():
            lines.append(f"# TYPE mockprovider_{name} gauge")
            lines.append(f"mockprovider_{name} {value:g}")
        return "\n".join(lines) + "\n"
