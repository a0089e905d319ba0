"""fal's webhook signature: ED25519 over ``request_id \\n user_id \\n timestamp \\n sha256(body).hex()``, in the
four ``X-Fal-Webhook-*`` headers, verified with the public keys at ``{REST}/.well-known/jwks.json``."""

from __future__ import annotations

import hashlib

from ...webhooks import Ed25519Key, Message


class FalWebhookSigner:
    def __init__(self, key: Ed25519Key, user_id: str) -> None:
        self.key = key
        self.user_id = user_id

    def headers(self, message: Message, body: bytes, timestamp: int) -> dict[str, str]:
        request_id = message.job
        signed = "\n".join([request_id, self.user_id, str(timestamp), hashlib.sha256(body).hexdigest()])
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": self.user_id,
            "X-Fal-Webhook-Timestamp": str(timestamp),
            "X-Fal-Webhook-Signature": self.key.sign(signed.encode()).hex(),
        }


def user_id_for(key: str) -> str:
    """A stable, non-empty user id for an API key (its key id part, as fal keys are ``key_id:secret``)."""
    key_id = key.split(":", 1)[0]
    return "mock-" + hashlib.sha256(key_id.encode()).hexdigest()[:12]
