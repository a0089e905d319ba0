"""Signing schemes: each turns (message, body, timestamp) into the headers a receiver verifies.

A scheme is any object with ``headers(message, body, timestamp) -> dict[str, str]``; dialects whose provider uses a
scheme of its own build it in their folder from the pieces here (e.g. ``Ed25519Key``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class Message:
    """What a signature covers besides the body: the message id (the same on every retry and duplicate), the
    provider, the job and the event."""

    id: str
    provider: str
    job: str
    event: str


class Signer(Protocol):
    def headers(self, message: Message, body: bytes, timestamp: int) -> dict[str, str]: ...


class Unsigned:
    """No signature (Kling, Luma)."""

    def headers(self, message: Message, body: bytes, timestamp: int) -> dict[str, str]:
        return {}


UNSIGNED = Unsigned()


class StandardWebhooks:
    """https://www.standardwebhooks.com: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
    (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``) with a ``whsec_<base64>`` secret."""

    def __init__(self, secret: str) -> None:
        prefix, sep, encoded = secret.partition("_")
        if not sep or prefix != "whsec":
            raise ValueError("a Standard Webhooks secret looks like whsec_<base64>")
        self.secret = secret
        self._key = base64.b64decode(encoded)

    @classmethod
    def generate(cls, rng: random.Random) -> StandardWebhooks:
        return cls("whsec_" + base64.b64encode(rng.randbytes(32)).decode())

    def signature(self, message_id: str, timestamp: int, body: bytes) -> str:
        signed = f"{message_id}.{timestamp}.".encode() + body
        return "v1," + base64.b64encode(hmac.new(self._key, signed, hashlib.sha256).digest()).decode()

    def headers(self, message: Message, body: bytes, timestamp: int) -> dict[str, str]:
        return {"webhook-id": message.id, "webhook-timestamp": str(timestamp),
                "webhook-signature": self.signature(message.id, timestamp, body)}


class Ed25519Key:
    """An ED25519 signing key with its public half as a JWK (``{"kty": "OKP", "crv": "Ed25519", "x": ...}``)."""

    def __init__(self, private: Ed25519PrivateKey, key_id: str) -> None:
        self._private = private
        self.key_id = key_id
        self.public_bytes = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                              serialization.PublicFormat.Raw)

    @classmethod
    def generate(cls, rng: random.Random, key_id: str | None = None) -> Ed25519Key:
        seed = rng.randbytes(32)  # from the run's seed, so a replayed run signs with the same key
        return cls(Ed25519PrivateKey.from_private_bytes(seed), key_id or hashlib.sha256(seed).hexdigest()[:16])

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def jwk(self) -> dict[str, str]:
        x = base64.urlsafe_b64encode(self.public_bytes).decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.key_id, "use": "sig", "alg": "EdDSA"}
