"""The HTTP side of custom voices, avatars and knowledge documents (``personas.py`` holds their data and rules),
and ``voices.preview`` with its playable MP3: a mixin of the Runway dialect, which supplies ``_check_headers``,
``_keyed_body``, ``_page``, ``_uri_check`` and ``new_id``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ...engine.engine import RequestDecision
from ...media.outputs import output_of
from ...media.routes import mp4_response
from ...media.sound import AudioSpec
from ...web.responses import json_response, no_content
from . import personas
from . import responses as wire
from .models import custom, invalid_value

PREVIEW_PATH = "/__runway/voice_previews"
PREVIEW_SECONDS = 6.0  # mock: how long a voice preview (and a READY voice's sample) plays
PREVIEW_TTL = 86400.0  # "The URL expires after 24 hours" (VoicePreviewResponse)
NOT_FOUND = {"voice": "Voice not found.", "avatar": "Avatar not found.", "document": "Document not found."}
PATH_PARAM = {"voice": "voice_id", "avatar": "avatar_id", "document": "document_id"}
DOCUMENT_SORTS, DOCUMENT_ORDERS = ("createdAt", "updatedAt"), ("asc", "desc")

Handler = Callable[[Request, RequestDecision], Awaitable[Response]]


class PersonaApi:
    """Routes and handlers of ``/v1/voices``, ``/v1/avatars`` and ``/v1/documents``."""

    personas: personas.PersonaBook

    def persona_routes(self) -> list[BaseRoute]:
        routes = [self.route("/v1/voices/preview", self.preview_voice, ["POST"], "account")]
        creators = {"voice": self.create_voice, "avatar": self.create_avatar, "document": self.create_document}
        updaters = {"voice": self.update_voice, "avatar": self.update_avatar, "document": self.update_document}
        for kind in personas.KINDS:
            base = f"/v1/{kind}s"
            item = f"{base}/{{{PATH_PARAM[kind]}}}"
            routes += [self.route(base, creators[kind], ["POST"], "account"),
                       self.route(base, self._lister(kind), ["GET"], "account"),
                       self.route(item, self._getter(kind), ["GET"], "account"),
                       self.route(item, updaters[kind], ["PATCH"], "account"),
                       self.route(item, self._deleter(kind), ["DELETE"], "account")]
        return [*routes, Route(PREVIEW_PATH + "/{preview_id}.mp3", self.serve_preview, methods=["GET", "HEAD"])]

    # -- shared ----------------------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.ctx.engine.clock.now()

    def _stamp(self) -> str:
        return wire.iso(self.ctx.engine.clock.epoch())

    def _wire(self, request: Request, kind: str, key: str, item) -> dict:
        now = self._now()
        if kind == "voice":
            return item.wire(now, self._preview_url(request, item.id))
        if kind == "avatar":
            return item.wire(self.personas.voices(key), now)
        return item.wire(self.personas.avatars(key), now)

    def _lookup(self, request: Request, decision: RequestDecision, kind: str):
        """(key, the caller's voice / avatar / document named in the path), or Runway's error."""
        key = self._check_headers(request, decision)
        if isinstance(key, Response):
            return key
        found = self.personas.of(kind, key).get(request.path_params[PATH_PARAM[kind]])
        return (key, found) if found is not None else wire.error(404, NOT_FOUND[kind])

    def _getter(self, kind: str) -> Handler:
        async def handler(request: Request, decision: RequestDecision) -> Response:
            found = self._lookup(request, decision, kind)
            return found if isinstance(found, Response) else json_response(self._wire(request, kind, *found))

        handler.__name__ = f"get_{kind}"
        return handler

    def _deleter(self, kind: str) -> Handler:
        async def handler(request: Request, decision: RequestDecision) -> Response:
            found = self._lookup(request, decision, kind)
            if isinstance(found, Response):
                return found
            key, item = found
            if kind == "document":
                self.personas.forget_document(key, item.id)
            else:
                self.personas.of(kind, key).pop(item.id, None)
            return no_content()

        handler.__name__ = f"delete_{kind}"
        return handler

    def _lister(self, kind: str) -> Handler:
        async def handler(request: Request, decision: RequestDecision) -> Response:
            key = self._check_headers(request, decision)
            if isinstance(key, Response):
                return key
            items = list(self.personas.of(kind, key).values())
            if kind != "document":  # newest first
                return self._page(request, [self._wire(request, kind, key, item) for item in reversed(items)])
            sort, order = request.query_params.get("sort"), request.query_params.get("order")
            issues = [invalid_value([name], allowed, value) for name, allowed, value in (
                ("sort", DOCUMENT_SORTS, sort), ("order", DOCUMENT_ORDERS, order)) if value not in allowed]
            if issues:
                return wire.error(400, "Validation of query failed", issues=issues)
            if order == "desc":
                items.reverse()  # ties stay newest first (the sort is stable)
            items.sort(key=lambda d: d.created if sort == "createdAt" else d.updated, reverse=order == "desc")
            avatars, now = self.personas.avatars(key), self._now()
            return self._page(request, [d.wire(avatars, now, content=False) for d in items])

        handler.__name__ = f"list_{kind}s"
        return handler

    async def _checked(self, request: Request, decision: RequestDecision, kind: str, creating: bool = False):
        """(key, body, the item named in the path or None when creating) once auth, the body, the item and the
        bound check out; else Runway's error."""
        found = await self._keyed_body(request, decision)
        if isinstance(found, Response):
            return found
        key, body = found
        item = None
        if not creating:
            looked = self._lookup(request, decision, kind)
            if isinstance(looked, Response):
                return looked
            item = looked[1]
        if kind == "document":
            issues = personas.document_issues(body, creating)
        elif kind == "voice":
            issues = personas.voice_issues(body, creating, await self._uri_check(key, body))
        else:
            issues = personas.avatar_issues(body, creating, await self._uri_check(key, body),
                                            self.personas.voices(key), self.personas.documents(key))
        if not issues and creating and len(self.personas.of(kind, key)) >= personas.MAX_PER_ACCOUNT:
            issues = [custom([], f"At most {personas.MAX_PER_ACCOUNT} {kind}s per organization")]
        if issues:
            return wire.error(400, "Validation of body failed", issues=issues)
        return key, body, item

    def _lifecycle(self, decision: RequestDecision, kind: str) -> personas.Lifecycle:
        behaviour = decision.assignment.profile.resolve(self.name, kind)
        return personas.lifecycle(behaviour, self._persona_rng, self._now(), kind)

    # -- voices ----------------------------------------------------------------------------------------------

    async def create_voice(self, request: Request, decision: RequestDecision) -> Response:
        checked = await self._checked(request, decision, "voice", creating=True)
        if isinstance(checked, Response):
            return checked
        key, body, _ = checked
        voice = personas.Voice(self.new_id(), body["name"], body.get("description"), self._stamp(),
                               self._lifecycle(decision, personas.VOICE_PROCESSING))
        self.personas.voices(key)[voice.id] = voice
        return json_response({"id": voice.id})

    async def update_voice(self, request: Request, decision: RequestDecision) -> Response:
        checked = await self._checked(request, decision, "voice")
        if isinstance(checked, Response):
            return checked
        key, body, voice = checked
        voice.name = body.get("name") or voice.name
        if "description" in body:
            voice.description = body["description"]
        return json_response(self._wire(request, "voice", key, voice))

    async def preview_voice(self, request: Request, decision: RequestDecision) -> Response:
        found = await self._keyed_body(request, decision)
        if isinstance(found, Response):
            return found
        issues = personas.preview_issues(found[1])
        if issues:
            return wire.error(400, "Validation of body failed", issues=issues)
        return json_response({"url": self._preview_url(request, self.new_id()),
                              "durationSecs": PREVIEW_SECONDS})

    def _preview_url(self, request: Request, ident: str) -> str:
        """A signed link to the MP3 of a preview, or of a voice's sample (shown once the voice is READY)."""
        query = self.ctx.links.url("", _signed_name(ident), 0, PREVIEW_TTL, "mp3").partition("?")[2]
        return f"{self.origin(request)}{PREVIEW_PATH}/{ident}.mp3?{query}"

    async def serve_preview(self, request: Request) -> Response:
        ident = request.path_params["preview_id"]
        problem = self.ctx.links.check(_signed_name(ident), 0, request.query_params.get("exp"),
                                       request.query_params.get("sig"))
        if problem == "expired":
            return PlainTextResponse("This preview link has expired.", 403)
        if problem is not None:
            return PlainTextResponse("This preview link is not valid: its signature does not match.", 403)
        return await mp4_response(self.ctx, request, output_of(AudioSpec(PREVIEW_SECONDS, "mp3"), ident, 0))

    # -- avatars ---------------------------------------------------------------------------------------------

    async def create_avatar(self, request: Request, decision: RequestDecision) -> Response:
        checked = await self._checked(request, decision, "avatar", creating=True)
        if isinstance(checked, Response):
            return checked
        key, body, _ = checked
        stamp = self._stamp()
        avatar = personas.Avatar(self.new_id(), stamp, stamp,
                                 {name: body[name] for name in personas.AVATAR_FIELDS if body.get(name) is not None},
                                 self._lifecycle(decision, personas.AVATAR_PROCESSING))
        self.personas.avatars(key)[avatar.id] = avatar
        return json_response(self._wire(request, "avatar", key, avatar))

    async def update_avatar(self, request: Request, decision: RequestDecision) -> Response:
        checked = await self._checked(request, decision, "avatar")
        if isinstance(checked, Response):
            return checked
        key, body, avatar = checked
        image = avatar.fields["referenceImage"]
        avatar.fields.update({name: body[name] for name in personas.AVATAR_FIELDS if body.get(name) is not None})
        if "startScript" in body and body["startScript"] is None:
            avatar.fields.pop("startScript", None)
        if avatar.fields["referenceImage"] != image:  # a new reference image is processed again
            avatar.life = self._lifecycle(decision, personas.AVATAR_PROCESSING)
        avatar.updated = self._stamp()
        return json_response(self._wire(request, "avatar", key, avatar))

    # -- knowledge documents ---------------------------------------------------------------------------------

    async def create_document(self, request: Request, decision: RequestDecision) -> Response:
        checked = await self._checked(request, decision, "document", creating=True)
        if isinstance(checked, Response):
            return checked
        key, body, _ = checked
        stamp = self._stamp()
        document = personas.Document(self.new_id(), body["name"], body["content"], stamp, stamp)
        self.personas.documents(key)[document.id] = document
        return json_response(self._wire(request, "document", key, document))

    async def update_document(self, request: Request, decision: RequestDecision) -> Response:
        checked = await self._checked(request, decision, "document")
        if isinstance(checked, Response):
            return checked
        _, body, document = checked
        document.name = body.get("name") or document.name
        document.content = body.get("content") or document.content
        document.updated = self._stamp()
        return no_content()


def _signed_name(ident: str) -> str:
    """What a preview link signs: never a job id, so it opens no job's output."""
    return f"voice-preview:{ident}"
