"""Serving job outputs at their signed URLs, with single-range support for players."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..context import Context
from ..engine.jobs import SUCCEEDED, Job
from ..web.values import parse_int
from .frames import last_frame_png
from .kinds import content_type, extension
from .links import PREFIX
from .outputs import Output, output_of
from .render import VideoSpec

MAX_INDEX = 1000  # outputs per job: far more than any provider returns


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].partition("-")
    try:
        if first == "":
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), (int(last) if last else size - 1)
    except ValueError:
        return None
    if start > end or start >= size:
        return None
    return start, min(end, size - 1)


def media_routes(ctx: Context) -> list[Route]:
    async def serve(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        index = parse_int(request.path_params["index"], 0, MAX_INDEX)
        if index is None:
            return PlainTextResponse("No such media.", 404)
        problem = ctx.links.check(job_id, index, request.query_params.get("exp"), request.query_params.get("sig"))
        if problem == "forged":
            return PlainTextResponse("This media link is not valid: its signature does not match.", 403)
        if problem == "expired":
            return PlainTextResponse("This media link has expired.", 403)
        job = await ctx.engine.find(job_id)
        if job is None or job.output is None:
            return PlainTextResponse("No such media: the job was deleted or expired.", 404)
        state, _ = job.state(ctx.engine.clock.now())
        if state != SUCCEEDED:
            return PlainTextResponse("This job has no output yet.", 404)
        ext = request.path_params["ext"]
        if ext == "png" and isinstance(job.output, VideoSpec):  # a video's last frame (ModelArk's last_frame_url)
            return await last_frame_response(request, job_output(ctx, job, index).spec)
        if ext != extension(job.output):
            return PlainTextResponse("No such media: the job was deleted or expired.", 404)
        response = await mp4_response(ctx, request, job_output(ctx, job, index))
        if request.method == "GET" and response.status_code < 300:
            ctx.engine.insight.downloaded(job, len(response.body))
        return response

    return [Route(PREFIX + "/{job_id}/{index}.{ext}", serve, methods=["GET", "HEAD"])]


async def last_frame_response(request: Request, spec: VideoSpec) -> Response:
    data = await asyncio.to_thread(last_frame_png, spec)
    return Response(b"" if request.method == "HEAD" else data, media_type="image/png",
                    headers={"cache-control": "private, max-age=3600", "content-length": str(len(data))})


def job_output(ctx: Context, job: Job, index: int) -> Output:
    """What output ``index`` of ``job`` serves, under the server's bitrate policy."""
    return output_of(job.output, job.id, index, ctx.settings.media_bitrate)


def prewarm_output(ctx: Context, job: Job, index: int = 0) -> None:
    if job.output is not None:
        ctx.media.prewarm(job_output(ctx, job, index).spec)


def output_url(ctx: Context, origin: str, job: Job, index: int, ttl: float) -> str:
    """A signed link to output ``index`` of ``job``, with the extension of its kind."""
    return ctx.links.url(origin, job.id, index, ttl, extension(job.output))


async def mp4_response(ctx: Context, request: Request, output: Output) -> Response:
    """Serve one output (any kind; the name is historical), with single-range support."""
    data = await ctx.media.output(output)
    media_type = content_type(output.spec)
    size = len(data)
    headers = {"accept-ranges": "bytes", "cache-control": "private, max-age=3600"}
    wanted = byte_range(request.headers.get("range"), size)
    if request.headers.get("range") and wanted is None:
        return Response(status_code=416, headers={"content-range": f"bytes */{size}"})
    if wanted is not None:
        start, end = wanted
        headers["content-range"] = f"bytes {start}-{end}/{size}"
        body = b"" if request.method == "HEAD" else data[start : end + 1]
        return Response(body, status_code=206, media_type=media_type, headers=headers)
    body = b"" if request.method == "HEAD" else data
    response = Response(body, media_type=media_type, headers=headers)
    if request.method == "HEAD":
        response.headers["content-length"] = str(size)
    return response
