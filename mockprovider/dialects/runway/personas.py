"""Custom voices and avatars (runwayml 5.24.0 ``voices`` and ``avatars``): validated bodies, a bounded book per
account, and their wire shapes. A voice or avatar is READY at once (the mock does no cloning); ``avatar_videos``
accepts the ids the caller's book holds."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .models import custom, too_big
from .schema import UriCheck, check_fields

MAX_PER_ACCOUNT = 100  # mock bound on voices, and on avatars, per organization
MAX_ACCOUNTS = 10_000  # mock bound on organizations holding any
MAX_NAME, MAX_TEXT = 100, 5000  # mock bounds
MIN_VOICE_PROMPT = 20  # the SDK's docstring
LIVE_PRESETS = ("victoria", "vincent", "clara", "drew", "skye", "max", "morgan", "felix", "mia", "marcus", "summer",
                "ruby", "aurora", "jasper", "leo", "adrian", "nina", "emma", "blake", "david", "maya", "nathan", "sam",
                "georgia", "petra", "adam", "zach", "violet", "roman", "luna")

VOICE_FIELDS = {
    "name": (True, "str"), "description": (False, "str"),
    "from": (True, {"union": [{"obj": {"audio": [True, "str"], "type": [True, {"enum": ["audio"]}]}},
                              {"obj": {"model": [True, {"enum": ["eleven_ttv_v3", "eleven_multilingual_ttv_v2"]}],
                                       "prompt": [True, "str"], "type": [True, {"enum": ["text"]}]}}]}),
}
VOICE_UPDATE = {"name": (False, "str"), "description": (False, "str")}
AVATAR_VOICE = {"union": [{"obj": {"presetId": [True, {"enum": list(LIVE_PRESETS)}],
                                   "type": [True, {"enum": ["runway-live-preset"]}]}},
                          {"obj": {"id": [True, "str"], "type": [True, {"enum": ["custom"]}]}}]}
AVATAR_FIELDS = {
    "name": (True, "str"), "personality": (True, "str"), "referenceImage": (True, "str"), "voice": (True, AVATAR_VOICE),
    "documentIds": (False, {"list": "str"}), "imageProcessing": (False, {"enum": ["optimize", "none"]}),
    "startScript": (False, "str"),
}
AVATAR_UPDATE = {name: (False, kind) for name, (_, kind) in AVATAR_FIELDS.items()}


@dataclass
class Voice:
    id: str
    name: str
    description: str | None
    created: str

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description, "createdAt": self.created,
                "status": "READY", "previewUrl": None}


@dataclass
class Avatar:
    id: str
    created: str
    updated: str
    fields: dict[str, Any] = field(default_factory=dict)

    def wire(self, voices: dict[str, Voice]) -> dict[str, Any]:
        f = self.fields
        voice = f["voice"]
        if voice["type"] == "custom":
            known = voices.get(voice["id"])
            shown = {"type": "custom", "id": voice["id"], "deleted": known is None,
                     "name": known.name if known else None, "description": known.description if known else None}
        else:
            shown = {"type": "runway-live-preset", "presetId": voice["presetId"],
                     "name": voice["presetId"].capitalize(), "description": "A Runway live preset voice"}
        return {"id": self.id, "createdAt": self.created, "updatedAt": self.updated, "status": "READY",
                "name": f["name"], "personality": f["personality"], "referenceImageUri": f["referenceImage"],
                "processedImageUri": f["referenceImage"], "startScript": f.get("startScript"),
                "documentIds": list(f.get("documentIds") or []), "voice": shown}


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


def voice_issues(body: Any, creating: bool, check_uri: UriCheck) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [custom([], "Expected an object")]
    issues = check_fields(body, VOICE_FIELDS if creating else VOICE_UPDATE, [], check_uri)
    source = body.get("from")
    if isinstance(source, dict) and source.get("type") == "text" and isinstance(source.get("prompt"), str) and len(
            source["prompt"].strip()) < MIN_VOICE_PROMPT:
        issues.append({"code": "too_small", "minimum": MIN_VOICE_PROMPT, "origin": "string", "inclusive": True,
                       "path": ["from", "prompt"],
                       "message": f"Too small: expected string to have >={MIN_VOICE_PROMPT} characters"})
    return issues + _text_bounds(body, {"name": MAX_NAME, "description": MAX_TEXT})


def avatar_issues(body: Any, creating: bool, check_uri: UriCheck, voices: dict[str, Voice]) -> list[dict[str, Any]]:
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
    documents = body.get("documentIds")
    if isinstance(documents, list) and documents:
        issues.append(custom(["documentIds"], "Document not found"))  # the mock keeps no documents
    return issues + _text_bounds(body, {"name": MAX_NAME, "personality": MAX_TEXT, "startScript": MAX_TEXT})


class PersonaBook:
    """Each account's voices and avatars, newest last; bounded per account and in accounts."""

    def __init__(self) -> None:
        self._voices: OrderedDict[str, dict[str, Voice]] = OrderedDict()
        self._avatars: OrderedDict[str, dict[str, Avatar]] = OrderedDict()

    def reset(self) -> None:
        self._voices.clear()
        self._avatars.clear()

    @staticmethod
    def _of(table: OrderedDict, key: str) -> dict:
        found = table.get(key)
        if found is None:
            found = table[key] = {}
            while len(table) > MAX_ACCOUNTS:
                table.popitem(last=False)
        table.move_to_end(key)
        return found

    def voices(self, key: str) -> dict[str, Voice]:
        return self._of(self._voices, key)

    def avatars(self, key: str) -> dict[str, Avatar]:
        return self._of(self._avatars, key)

    def has(self, key: str, kind: str, ident: str) -> bool:
        table = self._voices if kind == "voice" else self._avatars
        return ident in table.get(key, {})
