"""Kling's classic auth: ``Authorization: Bearer <JWT>``, HS256, ``iss`` = access key, signed with the secret.

JWT times are checked against the real wall clock, not engine time: clients sign with their own clock, and a
fast engine clock (time scale) would otherwise expire every token within seconds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import jwt

from ...web.values import finite_number

# Clock skew tolerated on nbf and exp. Kling's sample client sets nbf 5 s early for the same reason.
LEEWAY = 5.0
# A Kling token is about 200 characters; a header far longer is refused before it is decoded or cached, so the
# decode cache holds at most 4096 x MAX_HEADER bytes whatever a client sends.
MAX_HEADER = 4096
# exp and nbf are Unix seconds: anything outside these bounds (or NaN, Infinity, a 400-digit integer) is not a date.
MAX_DATE = 2.0**40


@dataclass(frozen=True, slots=True)
class AuthFailure:
    code: int
    message: str


EMPTY = AuthFailure(1001, "Authorization is empty")


def bearer(header: str | None) -> str | None:
    """The token after ``Bearer ``, or None if there is no usable header."""
    if not header or not header.strip():
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


@dataclass(frozen=True, slots=True)
class Token:
    """What a bearer token says before its signature is checked: the access key and its dates, or why it is
    not a token Kling would take."""

    token: str
    iss: str = ""
    exp: float = 0.0
    nbf: float | None = None
    problem: AuthFailure | None = None  # refused before the key is looked up
    dates_problem: AuthFailure | None = None  # refused once the signature is known to be good


def _invalid(reason: str) -> AuthFailure:
    return AuthFailure(1002, f"Authorization is invalid: {reason}")


TOO_LONG = AuthFailure(1002, f"Authorization is invalid: the header is longer than {MAX_HEADER} characters")


def read(header: str) -> Token | AuthFailure:
    """The bearer token in an ``Authorization`` header, decoded but not verified. Workers send the same header on
    every poll for up to 30 minutes, so each distinct one is decoded once (a bounded cache of bounded keys)."""
    if len(header) > MAX_HEADER:
        return TOO_LONG
    return _read(header)


@lru_cache(maxsize=4096)
def _read(header: str) -> Token | AuthFailure:
    token = bearer(header)
    if token is None:
        return EMPTY
    if token == "":
        return EMPTY if header.strip().lower() == "bearer" else _invalid("expected 'Bearer <token>'")
    try:
        head = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, RecursionError):
        # ValueError: JSON numbers past Python's digit limit; the claims are untrusted input in every way
        return Token(token, problem=_invalid("the token is not a well-formed JWT"))
    if not isinstance(claims, dict) or not isinstance(head, dict):
        return Token(token, problem=_invalid("the token is not a well-formed JWT"))
    iss, exp, nbf = claims.get("iss"), claims.get("exp"), claims.get("nbf")
    if head.get("alg") != "HS256":
        return Token(token, problem=_invalid("the token must be signed with HS256"))
    if not isinstance(iss, str) or not iss:
        return Token(token, problem=_invalid("the token has no iss (access key)"))
    if exp is None:
        return Token(token, iss, problem=_invalid("the token has no exp"))
    exp_at = finite_number(exp, -MAX_DATE, MAX_DATE)
    nbf_at = None if nbf is None else finite_number(nbf, -MAX_DATE, MAX_DATE)
    if exp_at is None or (nbf is not None and nbf_at is None):
        return Token(token, iss, dates_problem=_invalid("exp and nbf must be numeric dates"))
    return Token(token, iss, exp_at, nbf_at)


def issuer(header: str | None) -> str | None:
    """The unverified ``iss`` of the bearer JWT: the account key for profile selection and limit scopes."""
    if not header:
        return None
    found = read(header)
    return found.iss or None if isinstance(found, Token) else None


def verify(header: str | None, secret_for: Callable[[str], str | None], now: float | None = None
           ) -> str | AuthFailure:
    """The verified access key, or Kling's auth failure (codes 1000-1004)."""
    if not header:
        return EMPTY
    found = read(header)
    if isinstance(found, AuthFailure):
        return found
    if found.problem is not None:
        return found.problem
    return checked(found, secret_for(found.iss), now)


NOT_FOUND = AuthFailure(1000, "Authentication failed: access key not found")
BAD_SIGNATURE = _invalid("signature verification failed")
NOT_YET_VALID = AuthFailure(1003, "Authorization is not yet valid (nbf is in the future)")
EXPIRED = AuthFailure(1004, "Authorization is expired (exp is in the past)")


def checked(found: Token, secret: str | None, now: float | None = None) -> str | AuthFailure:
    """``verify`` for a token already read (``found.problem`` is None): its access key's ``secret`` (None if the
    key is unknown or revoked), its signature (checked once per token and secret) and its dates, against the
    clock on every call."""
    if secret is None:
        return NOT_FOUND
    if not _signed_by(found.token, secret):
        return BAD_SIGNATURE
    if found.dates_problem is not None:
        return found.dates_problem
    now = time.time() if now is None else now
    if found.nbf is not None and found.nbf > now + LEEWAY:
        return NOT_YET_VALID
    if found.exp < now - LEEWAY:
        return EXPIRED
    return found.iss


@lru_cache(maxsize=4096)
def _signed_by(token: str, secret: str) -> bool:
    # HMAC by hand: PyJWT warns on every short secret, and test secrets such as "sk_test" are short.
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    try:
        sent = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(expected, sent)

