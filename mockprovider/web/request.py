"""The Request provider endpoints get: Starlette's, with the lookups a status poll makes several times made cheap.

- ``headers.get(name)`` looks in a dict built once per request (the first value of a repeated header, as
  Starlette's linear scan finds it) and answers a missing header without raising and catching a KeyError;
- ``base_url`` (every dialect's ``origin``) is the same URL for every request with the same scheme, server,
  ``Host`` header and root path: built once for each and kept in a small bounded table;
- ``query_params`` (immutable) is parsed once per query string (a poll repeats its own), in a bounded table.

Everything else is Starlette's own, so dialects see no difference.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import URL, Headers, QueryParams
from starlette.requests import Request

MAX_BASE_URLS = 256
MAX_QUERIES = 4096
MAX_QUERY_BYTES = 1024  # longer query strings are parsed every time, never kept
_names: dict[str, bytes] = {}  # header names as asked for -> lower-case bytes, bounded by the names the code asks


def _raw_name(key: str) -> bytes:
    raw = _names.get(key)
    if raw is None:
        raw = key.lower().encode("latin-1")
        if len(_names) < 1024:
            _names[key] = raw
    return raw


class FastHeaders(Headers):
    def __init__(self, scope: Any) -> None:
        raw = scope["headers"]
        if raw.__class__ is not list:
            raw = scope["headers"] = list(raw)
        self._list = raw
        self._first: dict[bytes, bytes] | None = None

    def _index(self) -> dict[bytes, bytes]:
        first = self._first
        if first is None:
            first = self._first = dict(reversed(self._list))
        return first

    def get(self, key: str, default: Any = None) -> Any:
        value = self._index().get(_raw_name(key))
        return default if value is None else value.decode("latin-1")

    def __getitem__(self, key: str) -> str:
        value = self._index().get(_raw_name(key))
        if value is None:
            raise KeyError(key)
        return value.decode("latin-1")

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and _raw_name(key) in self._index()


_base_urls: dict[tuple, URL] = {}
_queries: dict[bytes, QueryParams] = {}


class ProviderRequest(Request):
    @property
    def headers(self) -> Headers:
        headers = self.__dict__.get("_headers")
        if headers is None:
            headers = self._headers = FastHeaders(self.scope)
        return headers

    @property
    def base_url(self) -> URL:
        scope = self.scope
        key = (scope.get("scheme", "http"), scope.get("server"), self.headers.get("host"),
               scope.get("app_root_path", scope.get("root_path", "")))
        found = _base_urls.get(key)
        if found is None:
            found = Request.base_url.fget(self)  # type: ignore[attr-defined]
            if len(_base_urls) >= MAX_BASE_URLS:
                _base_urls.clear()
            _base_urls[key] = found
        return found

    @property
    def query_params(self) -> QueryParams:
        found = self.__dict__.get("_query_params")
        if found is None:
            raw = self.scope["query_string"]
            found = _queries.get(raw)
            if found is None:
                found = QueryParams(raw)
                if len(raw) <= MAX_QUERY_BYTES:
                    if len(_queries) >= MAX_QUERIES:
                        del _queries[next(iter(_queries))]
                    _queries[raw] = found
            self._query_params = found
        return found
