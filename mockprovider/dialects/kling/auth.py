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

# Clock skew tolerated on nbf and exp. Kling's sample client sets nbf 5 s early for the same reason.
LEEWAY = 5.0


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
    alg: object
    claims: dict


@lru_cache(maxsize=4096)
def parse(token: str) -> Token | None:
    """The unverified header and claims of a JWT, or None if it is not one. Workers send the same token on
    every poll for up to 30 minutes, so each distinct token is decoded once (a bounded cache)."""
    try:
        head = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return Token(head.get("alg"), claims)


def issuer(header: str | None) -> str | None:
    """The unverified ``iss`` of the bearer JWT: the account key for profile selection and limit scopes."""
    token = bearer(header)
    if not token:
        return None
    parsed = parse(token)
    iss = parsed.claims.get("iss") if parsed is not None else None
    return iss if isinstance(iss, str) and iss else None


def verify(header: str | None, secret_for: Callable[[str], str | None], now: float | None = None
           ) -> str | AuthFailure:
    """The verified access key, or Kling's auth failure (codes 1000-1004)."""
    token = bearer(header)
    if token is None:
        return EMPTY
    if token == "":
        if header and header.strip().lower() == "bearer":
            return EMPTY
        return AuthFailure(1002, "Authorization is invalid: expected 'Bearer <token>'")
    parsed = parse(token)
    if parsed is None:
        return AuthFailure(1002, "Authorization is invalid: the token is not a well-formed JWT")
    claims = parsed.claims
    if parsed.alg != "HS256":
        return AuthFailure(1002, "Authorization is invalid: the token must be signed with HS256")
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        return AuthFailure(1002, "Authorization is invalid: the token has no iss (access key)")
    if "exp" not in claims:
        return AuthFailure(1002, "Authorization is invalid: the token has no exp")
    secret = secret_for(iss)
    if secret is None:
        return AuthFailure(1000, "Authentication failed: access key not found")
    if not _signed_by(token, secret):
        return AuthFailure(1002, "Authorization is invalid: signature verification failed")
    now = time.time() if now is None else now
    nbf, exp = claims.get("nbf"), claims["exp"]
    if not _is_number(exp) or (nbf is not None and not _is_number(nbf)):
        return AuthFailure(1002, "Authorization is invalid: exp and nbf must be numeric dates")
    if nbf is not None and nbf > now + LEEWAY:
        return AuthFailure(1003, "Authorization is not yet valid (nbf is in the future)")
    if exp < now - LEEWAY:
        return AuthFailure(1004, "Authorization is expired (exp is in the past)")
    return iss


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


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
