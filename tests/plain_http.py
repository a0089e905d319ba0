"""Thousands of small requests on one keep-alive connection with the standard library's http.client, for the
tests that send that many: httpx spends about 1 ms of CPU on each request in the test's own process (with an
in-process MockServer, the same core the server runs on), http.client a fraction of it. The requests are the
ones httpx sends: its default headers, a Content-Length only where httpx writes one, the path as it is."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import httpx

DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive",
                   "User-Agent": f"python-httpx/{httpx.__version__}"}


class PlainClient:
    def __init__(self, base_url: str, timeout: float = 10) -> None:
        parts = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> tuple[int, bytes]:
        """(status, body) of one request; sent again once on a fresh connection if the server had closed the
        kept one in between (never when the connection was fresh: a server dropping a request is a failure)."""
        sent = {**DEFAULT_HEADERS, **(headers or {})}
        for attempt in (1, 2):
            fresh = self._connection.sock is None
            try:
                # None, not b"": http.client then writes Content-Length: 0 only for POST, PUT and PATCH, as httpx
                self._connection.request(method, path, body=body or None, headers=sent)
                reply = self._connection.getresponse()
                return reply.status, reply.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._connection.close()
                if fresh or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> PlainClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
