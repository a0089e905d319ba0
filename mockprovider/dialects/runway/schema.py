"""Checking a request body against the field types in ``catalog.py``, reporting Zod-style issues as Runway does.

Every issue is reported at once (Runway's validator does the same). ``null`` counts as absent. Strings that carry
media (``uri``, ``videoUri``, ``promptImage`` ...) are checked by the caller-supplied ``check_uri``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .models import _MISSING, custom, invalid_type, invalid_value

UriCheck = Callable[[Any, list, str], list[dict[str, Any]]]

# wire field name -> the kind of media it carries (for uploads and data URIs)
MEDIA_FIELDS = {
    "promptImage": "image", "imageUri": "image", "maskUri": "image",
    "videoUri": "video", "promptVideo": "video",
    "audioUri": "audio", "referenceAudios": "audio", "audio": "audio",
}
# container field -> media kind of the ``uri`` inside its items
URI_PARENTS = {
    "promptImage": "image", "references": "image", "referenceImages": "image", "keyframes": "image",
    "referenceVideos": "video", "referenceAudio": "audio", "reference": "video",
    "referenceVideo": "video",
}

_EXPECTED = {"str": "string", "int": "int", "float": "number", "bool": "boolean"}


def _type_issues(value: Any, kind: Any, path: list, check_uri: UriCheck, media: str | None) -> list[dict[str, Any]]:
    if kind == "object":
        return []
    if kind == "dict":
        return [] if isinstance(value, dict) else [invalid_type(path, "object", value)]
    if isinstance(kind, str):
        if kind == "str":
            if not isinstance(value, str):
                return [invalid_type(path, "string", value)]
            if media is not None:
                return check_uri(value, path, media)
            return []
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                    return []
                return [invalid_type(path, "int", value)]
            return []
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                return [invalid_type(path, "number", value)]
            return []
        if kind == "bool":
            return [] if isinstance(value, bool) else [invalid_type(path, "boolean", value)]
        return []
    if "enum" in kind:
        options = tuple(kind["enum"])
        if isinstance(value, bool) or value not in options:
            return [invalid_value(path, options, value)]
        return []
    if "union" in kind:
        branches = kind["union"]
        first: list[dict[str, Any]] | None = None
        for branch in branches:
            issues = _type_issues(value, branch, path, check_uri, media)
            if not issues:
                return []
            if first is None or (_shape_matches(value, branch) and not _shape_matches(value, branches[0])):
                first = issues
        if all(isinstance(b, dict) and "obj" in b for b in branches) and isinstance(value, dict):
            return first or []
        return first or [custom(path, "Invalid input")]
    if "list" in kind:
        if not isinstance(value, list):
            return [invalid_type(path, "array", value)]
        issues: list[dict[str, Any]] = []
        item_media = media if media is not None else URI_PARENTS.get(str(path[-1])) if path else None
        for i, item in enumerate(value[:100]):
            issues += _type_issues(item, kind["list"], [*path, i], check_uri, item_media)
        if len(value) > 100:
            issues.append({"code": "too_big", "maximum": 100, "origin": "array", "inclusive": True, "path": path,
                           "message": "Too big: expected array to have <=100 items"})
        return issues
    if "obj" in kind:
        if not isinstance(value, dict):
            return [invalid_type(path, "object", value)]
        parent_media = media if media is not None else URI_PARENTS.get(_container(path))
        if isinstance(value.get("type"), str) and value.get("type") in ("image", "video", "audio"):
            parent_media = value["type"]
        return check_fields(value, kind["obj"], path, check_uri, parent_media)
    return []


def _container(path: list) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return ""


def _shape_matches(value: Any, kind: Any) -> bool:
    if isinstance(kind, dict) and "list" in kind:
        return isinstance(value, list)
    if isinstance(kind, dict) and "obj" in kind:
        return isinstance(value, dict)
    return kind == "str" and isinstance(value, str)


def check_fields(body: dict, fields: dict[str, tuple[bool, Any]], path: list, check_uri: UriCheck,
                 media: str | None = None) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    for name, (required, kind) in fields.items():
        value = body.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                expected = _EXPECTED.get(kind, "object") if isinstance(kind, str) else (
                    "string" if "enum" in kind else "object")
                issues.append(invalid_type([*path, name], expected, _MISSING))
            continue
        field_media = MEDIA_FIELDS.get(name) if not path else (media if name == "uri" else MEDIA_FIELDS.get(name))
        if name == "uri" and field_media is None:
            field_media = media or URI_PARENTS.get(_container(path)) or "image"
        issues += _type_issues(value, kind, [*path, name], check_uri, field_media)
    return issues
