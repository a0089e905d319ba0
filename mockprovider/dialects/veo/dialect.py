"""Google Veo, reached two ways from one server: the Gemini API (``generativelanguage``, v1beta) and Vertex AI
(v1 and v1beta1, project/location and express mode), plus the Cloud Storage JSON API paths that
google-cloud-storage uses under ``STORAGE_EMULATOR_HOST`` to fetch Vertex outputs written under
``storageUri``. Both APIs are one provider, "veo": one profile section, per-key limits per credential."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...engine.engine import JobRequest, RejectedAtSubmit, RequestDecision
from ...engine.jobs import Job
from ...engine.limits import OverLimit
from ...media.render import VideoSpec
from ...media.routes import prewarm_output
from ...web.body import BodyError, read_json
from ..base import Dialect
from . import gcs, gemini, vertex
from . import responses as wire
from .auth import caller
from .models import Params

BLOCKED_PROMPT = ("The prompt could not be submitted. This prompt contains sensitive words that violate Google's "
                  "Responsible AI practices. Try rephrasing the prompt. If you think this was an error, send "
                  "feedback. Support codes: 15236754")
QUOTA_IDS = {"rate": "RequestsPerMinutePerProjectPerModel", "daily": "RequestsPerDayPerProjectPerModel",
             "concurrency": "ConcurrentRequestsPerProjectPerModel", "credits": "BillingBudget"}


@lru_cache(maxsize=256)
def video_spec(width: int, height: int, duration: float, fps: int, audio: bool) -> VideoSpec:
    return VideoSpec(width=width, height=height, duration=duration, fps=fps, audio=audio)


class VeoDialect(Dialect):
    name = "veo"
    title = "Google Veo (Gemini API and Vertex AI)"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.gemini = gemini.GeminiApi(self)
        self.vertex = vertex.VertexApi(self)
        self.storage = gcs.CloudStorage(self)

    def routes(self) -> list[BaseRoute]:
        return [*self.gemini.routes(), *self.vertex.routes(), *self.storage.routes()]

    def base_urls(self, origin: str) -> dict[str, str]:
        """The same origin for every way in: google-genai replaces the global, ``{loc}-aiplatform`` and
        ``aiplatform.{us|eu}.rep`` hosts alike with ``HttpOptions(base_url=...)``; paths do not change."""
        return {
            "Gemini API (genai<3)": origin,
            "GOOGLE_GEMINI_BASE_URL": origin,
            "Vertex AI": origin,
            "GOOGLE_VERTEX_BASE_URL": origin,
            "STORAGE_EMULATOR_HOST": origin,
        }

    def owns(self, path: str) -> bool:
        return self.gemini.owns(path) or self.vertex.owns(path) or self.storage.owns(path)

    def credential(self, request: Request) -> str | None:
        return caller(request).account

    def error(self, request: Request, status: int, message: str, *, injected: bool = False) -> Response:
        path = request.url.path
        if self.storage.owns(path):
            return gcs.error(status, message)
        if status == 413:
            return wire.error(400, message)
        if status == 405:  # Google answers an unsupported method on a known path as an unknown one
            return wire.error(404, message)
        return wire.error(status, message)

    def over_limit(self, request: Request, over: OverLimit) -> Response:
        retry = wire.retry_info(self.ctx.engine.wait_hint(over))
        model = request.path_params.get("model", "")
        quota_id = QUOTA_IDS.get(over.limit, "RequestsPerMinutePerProjectPerModel")
        if self.vertex.owns(request.url.path):
            metric = f"{wire.VERTEX_SERVICE}/online_prediction_requests_per_base_model"
            message = (f"Quota exceeded for {metric} with base model: {model}. Please submit a quota increase "
                       "request. https://cloud.google.com/vertex-ai/docs/generative-ai/quotas-genai.")
            return wire.error(429, message, [wire.quota_failure(metric, quota_id, over.allowed), *retry])
        if over.limit == "credits":
            message = ("Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects "
                       "to manage your project and billing.")
            return wire.error(429, message)
        metric = f"{wire.GEMINI_SERVICE}/predict_long_running_requests"
        message = ("You exceeded your current quota, please check your plan and billing details. For more "
                   "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.")
        return wire.error(429, message, [wire.quota_failure(metric, quota_id, over.allowed), *retry])

    # -- shared by both APIs --------------------------------------------------------------------------------

    def auth_settings(self, decision: RequestDecision) -> dict[str, Any]:
        return decision.assignment.profile.auth(self.name)

    async def body(self, request: Request) -> Any | Response:
        try:
            return await read_json(request, self.ctx.settings.max_body)
        except BodyError as exc:
            if exc.status == 413:
                return wire.error(400, f"Request payload size exceeds the limit: {self.ctx.settings.max_body} "
                                       "bytes.")
            return wire.error(400, f"Invalid JSON payload received. {exc.message}")

    async def submit(self, decision: RequestDecision, account: str, params: Params, kind: str, make_id: Any,
               data: dict[str, Any], request: Request) -> Job | Response:
        behaviour = decision.assignment.profile.resolve(self.name, params.model.name)
        spec = video_spec(params.width, params.height, params.duration, params.fps or behaviour.fps, params.audio)
        usage = {"seconds": params.duration * params.samples, "videos": params.samples, "audio": params.audio,
                 "resolution": f"{min(params.width, params.height)}p"}
        # credits limits count dollars at the price book's rate (resolution and audio), as the ledger does
        quote = self.ctx.engine.quote(self.name, params.model.name, usage, decision.assignment.profile)
        result = await self.ctx.engine.submit(
            JobRequest(provider=self.name, model=params.model.name, account=account, kind=kind, make_id=make_id,
                       cost=params.cost if quote is None else quote.usd, output=spec, data=data, usage=usage),
            decision.assignment, queue_when_busy=False)
        if isinstance(result, OverLimit):
            return self.over_limit(request, result)
        if isinstance(result, RejectedAtSubmit):
            return wire.error(400, BLOCKED_PROMPT)
        prewarm_output(self.ctx, result)
        return result

    async def input_duration(self, job_id: str | None) -> float | None:
        """How long one of our own outputs is, when a request extends it."""
        if not job_id:
            return None
        job = await self.ctx.engine.get(self.name, job_id)
        return job.output.duration if job is not None and isinstance(job.output, VideoSpec) else None
