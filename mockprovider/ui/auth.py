"""The live page behind the admin token.

The page holds the token (typed once, kept in the browser's storage) and sends it as a header on its own
requests. A browser's EventSource cannot send headers, and a token in a URL ends up in logs and history, so the
page trades the token for a short-lived ticket in an HttpOnly, SameSite=Strict cookie scoped to the page's own
paths: an HMAC of its expiry under the token, checked without any server-side table. A ticket only opens the
page's read-only routes; everything that changes state still needs the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from starlette.requests import Request

COOKIE = "mockprovider_ui"
TICKET_SECONDS = 600


def issue(token: str, now: float | None = None, lifetime: float = TICKET_SECONDS) -> str:
    expires = int((time.time() if now is None else now) + lifetime)
    return f"{expires}.{_sign(token, expires)}"


def valid(token: str, ticket: str, now: float | None = None) -> bool:
    expires_text, _, signature = ticket.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature.encode(), _sign(token, expires).encode())


def _sign(token: str, expires: int) -> str:
    return hmac.new(token.encode(), f"mockprovider-ui:{expires}".encode(), hashlib.sha256).hexdigest()


def has_ticket(request: Request, token: str) -> bool:
    ticket = request.cookies.get(COOKIE)
    return bool(ticket) and valid(token, ticket)
