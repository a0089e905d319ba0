"""Who is calling: API keys (header or ``?key=``) and OAuth bearer tokens, checked the way Google answers.

By default any non-blank key or token is accepted. A profile may list the accepted ones:

    providers:
      veo:
        auth:
          keys: [AIza-good-key]      # API keys (Gemini API, Vertex express mode)
          tokens: [ya29.good-token]  # OAuth access tokens (Vertex with project and location)
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import Response

from . import responses as wire

UNREGISTERED = ("Method doesn't allow unregistered callers (callers without established identity). Please use "
                "API Key or other form of API consumer identity to call this API.")
KEY_INVALID = "API key not valid. Please pass a valid API key."
MISSING_CREDENTIALS = ("Request is missing required authentication credential. Expected OAuth 2 access token, "
                       "login cookie or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")
BAD_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                   "or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")


class Caller(NamedTuple):
    """Made on every request: a named tuple (immutable too) is made in half a frozen dataclass's time."""

    key: str | None  # an API key
    token: str | None  # an OAuth access token

    @property
    def account(self) -> str | None:
        return self.key or self.token


def caller(request: Request) -> Caller:
    # read once per request: the endpoint asks for the account, then the handler checks the same credentials
    found = request.__dict__.get("_veo_caller")
    if found is not None:
        return found
    key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
    token = None
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        token = header[7:].strip() or None
    found = request._veo_caller = Caller(key.strip() if key is not None else None, token)
    return found


_SPACE = re.compile(r"\s")


def _accepted(value: str, allowed: Any) -> bool:
    if isinstance(allowed, list) and allowed:
        return value in allowed
    return bool(value) and _SPACE.search(value) is None


def check(request: Request, settings: dict[str, Any], service: str) -> Caller | Response:
    """The caller if its credentials are good, else Google's error for ``service``."""
    who = caller(request)
    if who.key is not None:
        if not _accepted(who.key, settings.get("keys")):
            return wire.error(400, KEY_INVALID, [wire.error_info("API_KEY_INVALID", service)])
        return who
    if who.token is not None:
        if not _accepted(who.token, settings.get("tokens")):
            return wire.error(401, BAD_CREDENTIALS,
                              [wire.error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED", service,
                                               method=request.url.path.rsplit(":", 1)[-1])])
        return who
    if service == wire.GEMINI_SERVICE:
        return wire.error(403, UNREGISTERED, [wire.error_info("CONSUMER_INVALID", service)])
    return wire.error(401, MISSING_CREDENTIALS, [wire.error_info("CREDENTIALS_MISSING", service)])
