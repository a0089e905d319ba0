"""Custom voices, avatars and knowledge documents (runwayml 5.24.0 ``voices``, ``avatars``, ``documents``):
validated bodies, a bounded book per account, their lifecycles and their wire shapes.

A voice or avatar is PROCESSING from its creation until ``ready_at`` on the engine's clock, then READY, or FAILED
with a reason; the time and the failure odds come from the profile's ``voice_processing`` / ``avatar_processing``
model behaviour (queue + run, ``failure_rate``). Generations refuse a custom voice or avatar that is not READY (the
mock's choice: the SDK and the reference do not say how Runway answers). Documents have no lifecycle."""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .models import custom, too_big
from .schema import UriCheck, check_fields

MAX_PER_ACCOUNT = 100  # mock bound on voices, avatars and documents per organization (each)
MAX_ACCOUNTS = 10_000  # mock bound on organizations holding any
MAX_NAME, MAX_TEXT = 100, 5000  # mock bounds
MAX_DOCUMENT = 200_000  # mock bound on a document's content, in characters
MIN_VOICE_PROMPT = 20  # the SDK's docstring
PROCESSING, READY, FAILED = "PROCESSING", "READY", "FAILED"
# the profile models whose behaviour times voice and avatar processing
VOICE_PROCESSING, AVATAR_PROCESSING = "voice_processing", "avatar_processing"
VOICE_MODELS = ("eleven_ttv_v3", "eleven_multilingual_ttv_v2")
FAILURE_REASONS = {  # neutral failure reason -> what a failed voice / avatar reports (mock wording)
    VOICE_PROCESSING: {"content_policy": "The voice sample was flagged by our content moderation system.",
                       "internal": "An internal error occurred while processing the voice.",
                       "timeout": "Processing the voice took too long and was stopped."},
    AVATAR_PROCESSING: {"content_policy": "The reference image was flagged by our content moderation system.",
                        "internal": "An internal error occurred while processing the avatar.",
                        "timeout": "Processing the avatar took too long and was stopped."},
}
LIVE_PRESETS = ("victoria", "vincent", "clara", "drew", "skye", "max", "morgan", "felix", "mia", "marcus", "summer",
                "ruby", "aurora", "jasper", "leo", "adrian", "nina", "emma", "blake", "david", "maya", "nathan", "sam",
                "georgia", "petra", "adam", "zach", "violet", "roman", "luna")

VOICE_FIELDS = {
    "name": (True, "str"), "description": (False, "str"),
    "from": (True, {"union": [{"obj": {"audio": [True, "str"], "type": [True, {"enum": ["audio"]}]}},
                              {"obj": {"model": [True, {"enum": list(VOICE_MODELS)}],
                                       "prompt": [True, "str"], "type": [True, {"enum": ["text"]}]}}]}),
}
VOICE_UPDATE = {"name": (False, "str"), "description": (False, "str")}
PREVIEW_FIELDS = {"model": (True, {"enum": list(VOICE_MODELS)}), "prompt": (True, "str")}
AVATAR_VOICE = {"union": [{"obj": {"presetId": [True, {"enum": list(LIVE_PRESETS)}],
                                   "type": [True, {"enum": ["runway-live-preset"]}]}},
                          {"obj": {"id": [True, "str"], "type": [True, {"enum": ["custom"]}]}}]}
AVATAR_FIELDS = {
    "name": (True, "str"), "personality": (True, "str"), "referenceImage": (True, "str"), "voice": (True, AVATAR_VOICE),
    "documentIds": (False, {"list": "str"}), "imageProcessing": (False, {"enum": ["optimize", "none"]}),
    "startScript": (False, "str"),
}
AVATAR_UPDATE = {name: (False, kind) for name, (_, kind) in AVATAR_FIELDS.items()}
DOCUMENT_FIELDS = {"name": (True, "str"), "content": (True, "str")}
DOCUMENT_UPDATE = {"name": (False, "str"), "content": (False, "str")}


@dataclass
class Lifecycle:
    """PROCESSING until ``ready_at`` (engine seconds), then READY, or FAILED with ``failure``."""

    ready_at: float = 0.0
    failure: str | None = None

    def status(self, now: float) -> str:
        if now < self.ready_at:
            return PROCESSING
        return FAILED if self.failure else READY


def lifecycle(behaviour, rng: random.Random, now: float, kind: str) -> Lifecycle:
    """When a new voice or avatar finishes processing, and whether it fails, under ``behaviour``."""
    seconds = behaviour.queue.sample(rng) + behaviour.run.sample(rng)
    draw, failure = rng.random(), None
    for reason, rate in sorted(behaviour.failure_rate.items()):
        if draw < rate:
            failure = FAILURE_REASONS[kind].get(reason, FAILURE_REASONS[kind]["internal"])
            break
        draw -= rate
    return Lifecycle(now + seconds, failure)


def _with_status(body: dict[str, Any], life: Lifecycle, now: float, ready: dict[str, Any]) -> dict[str, Any]:
    status = life.status(now)
    body["status"] = status
    if status == READY:
        body.update(ready)
    elif status == FAILED:
        body["failureReason"] = life.failure
    return body


@dataclass
class Voice:
    id: str
    name: str
    description: str | None
    created: str
    life: Lifecycle = field(default_factory=Lifecycle)

    def wire(self, now: float, preview_url: str | None = None) -> dict[str, Any]:
        return _with_status({"id": self.id, "name": self.name, "description": self.description,
                             "createdAt": self.created}, self.life, now, {"previewUrl": preview_url})


@dataclass
class Document:
    id: str
    name: str
    content: str
    created: str
    updated: str

    def wire(self, avatars: dict[str, Avatar], now: float, content: bool = True) -> dict[str, Any]:
        used = [{"id": a.id, "name": a.fields["name"],
                 "imageUrl": a.fields["referenceImage"] if a.life.status(now) == READY else None}
                for a in avatars.values() if self.id in (a.fields.get("documentIds") or ())]
        body = {"id": self.id, "name": self.name, "type": "text", "createdAt": self.created,
                "updatedAt": self.updated, "usedBy": used}
        if content:
            body["content"] = self.content
        return body


@dataclass
class Avatar:
    id: str
    created: str
    updated: str
    fields: dict[str, Any] = field(default_factory=dict)
    life: Lifecycle = field(default_factory=Lifecycle)

    def wire(self, voices: dict[str, Voice], now: float) -> dict[str, Any]:
        f = self.fields
        voice = f["voice"]
        if voice["type"] == "custom":
            known = voices.get(voice["id"])
            shown = {"type": "custom", "id": voice["id"], "deleted": known is None,
                     "name": known.name if known else None, "description": known.description if known else None}
        else:
            shown = {"type": "runway-live-preset", "presetId": voice["presetId"],
                     "name": voice["presetId"].capitalize(), "description": "A Runway live preset voice"}
        status = self.life.status(now)
        return _with_status({
            "id": self.id, "createdAt": self.created, "updatedAt": self.updated, "name": f["name"],
            "personality": f["personality"], "referenceImageUri": f["referenceImage"],
            "processedImageUri": f["referenceImage"] if status == READY else None,
            "startScript": f.get("startScript"), "documentIds": list(f.get("documentIds") or []), "voice": shown,
        }, self.life, now, {})


def _text_bounds(body: dict, limits: dict[str, int]) -> list[dict[str, Any]]:
    issues = []
    for name, limit in limits.items():
        value = body.get(name)
        if isinstance(value, str) and not value.strip():
            issues.append({"code": "too_small", "minimum": 1, "origin": "string", "inclusive": True, "path": [name],
                           "message": "Too small: expected string to have >=1 characters"})
        elif isinstance(value, str) and len(value) > limit:
            issues.append(too_big([name], limit, "string", f"Too big: expected string to have <={limit} characters"))
    return issues


def _prompt_issues(prompt: Any, path: list) -> list[dict[str, Any]]:
    if isinstance(prompt, str) and len(prompt.strip()) < MIN_VOICE_PROMPT:
        return [{"code": "too_small", "minimum": MIN_VOICE_PROMPT, "origin": "string", "inclusive": True,
                 "path": path, "message": f"Too small: expected string to have >={MIN_VOICE_PROMPT} characters"}]
    if isinstance(prompt, str) and len(prompt) > MAX_TEXT:
        return [too_big(path, MAX_TEXT, "string", f"Too big: expected string to have <={MAX_TEXT} characters")]
    return []


def voice_issues(body: Any, creating: bool, check_uri: UriCheck) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [custom([], "Expected an object")]
    issues = check_fields(body, VOICE_FIELDS if creating else VOICE_UPDATE, [], check_uri)
    source = body.get("from")
    if isinstance(source, dict) and source.get("type") == "text":
        issues += _prompt_issues(source.get("prompt"), ["from", "prompt"])
    return issues + _text_bounds(body, {"name": MAX_NAME, "description": MAX_TEXT})


def preview_issues(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [custom([], "Expected an object")]
    return check_fields(body, PREVIEW_FIELDS, [], lambda *_: []) + _prompt_issues(body.get("prompt"), ["prompt"])


def avatar_issues(body: Any, creating: bool, check_uri: UriCheck, voices: dict[str, Voice],
                  documents: dict[str, Document]) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [custom([], "Expected an object")]
    issues = check_fields(body, AVATAR_FIELDS if creating else AVATAR_UPDATE, [], check_uri)
    image = body.get("referenceImage")
    if isinstance(image, str):
        issues += check_uri(image, ["referenceImage"], "image")
    voice = body.get("voice")
    if isinstance(voice, dict) and voice.get("type") == "custom" and isinstance(voice.get("id"), str) and (
            voice["id"] not in voices):
        issues.append(custom(["voice", "id"], "Voice not found"))
    ids = body.get("documentIds")
    if isinstance(ids, list):
        issues += [custom(["documentIds", i], "Document not found")
                   for i, ident in enumerate(ids) if isinstance(ident, str) and ident not in documents]
        if len(ids) > MAX_PER_ACCOUNT:
            issues.append(too_big(["documentIds"], MAX_PER_ACCOUNT, "array",
                                  f"Too big: expected array to have <={MAX_PER_ACCOUNT} items"))
    return issues + _text_bounds(body, {"name": MAX_NAME, "personality": MAX_TEXT, "startScript": MAX_TEXT})


def document_issues(body: Any, creating: bool) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [custom([], "Expected an object")]
    issues = check_fields(body, DOCUMENT_FIELDS if creating else DOCUMENT_UPDATE, [], lambda *_: [])
    if not creating and body.get("name") is None and body.get("content") is None:
        issues.append(custom([], "At least one of name or content must be provided"))
    return issues + _text_bounds(body, {"name": MAX_NAME, "content": MAX_DOCUMENT})


def readiness_issue(kind: str, status: str, path: list) -> dict[str, Any] | None:
    """Why a generation cannot use a custom voice or avatar in ``status`` (None once it is READY)."""
    if status == PROCESSING:
        return custom(path, f"The {kind} is still processing; retry once its status is READY")
    if status == FAILED:
        return custom(path, f"The {kind} failed processing and cannot be used")
    return None


KINDS = ("voice", "avatar", "document")


class PersonaBook:
    """Each account's voices, avatars and documents, newest last; bounded per account and in accounts."""

    def __init__(self) -> None:
        self._tables: dict[str, OrderedDict[str, dict]] = {kind: OrderedDict() for kind in KINDS}

    def reset(self) -> None:
        for table in self._tables.values():
            table.clear()

    def of(self, kind: str, key: str) -> dict:
        table = self._tables[kind]
        found = table.get(key)
        if found is None:
            found = table[key] = {}
            while len(table) > MAX_ACCOUNTS:
                table.popitem(last=False)
        table.move_to_end(key)
        return found

    def voices(self, key: str) -> dict[str, Voice]:
        return self.of("voice", key)

    def avatars(self, key: str) -> dict[str, Avatar]:
        return self.of("avatar", key)

    def documents(self, key: str) -> dict[str, Document]:
        return self.of("document", key)

    def status(self, key: str, kind: str, ident: str, now: float) -> str | None:
        """A custom voice's or avatar's status, or None if the account holds no such one."""
        found = self._tables[kind].get(key, {}).get(ident)
        return found.life.status(now) if found is not None else None

    def forget_document(self, key: str, ident: str) -> None:
        """Delete a document, detaching it from every avatar of the account (as the SDK's docstring says)."""
        self.documents(key).pop(ident, None)
        for avatar in self.avatars(key).values():
            ids = avatar.fields.get("documentIds")
            if ids and ident in ids:
                avatar.fields["documentIds"] = [i for i in ids if i != ident]
