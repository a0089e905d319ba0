"""A bare Starlette JSON endpoint: the yardstick the status-poll benchmarks compare against. The POST route
reads and parses its JSON body too, the baseline for polls that carry one (Veo Vertex fetchPredictOperation)."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

BODY = {"id": "0b1e6a47-8d0c-4d8e-9a51-3c0f1e0d9e11", "createdAt": "2026-11-26T19:49:32.334Z",
        "status": "RUNNING", "estimatedCost": {"credits": 25.0}, "progress": 0.4213}


async def task(request):
    return JSONResponse(BODY)


async def fetch(request):
    await request.json()
    return JSONResponse(BODY)


app = Starlette(routes=[Route("/v1/tasks/{task_id}", task), Route("/v1/fetch", fetch, methods=["POST"])])
