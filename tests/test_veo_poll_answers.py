"""Veo keeps a pending operation's answer (responses.pending_operation) for the Gemini API's GET and Vertex's
fetchPredictOperation: its status, headers and bytes must be those of the operation as rendered
(responses.operation) and answered with json_response, and what is kept stays bounded."""

from __future__ import annotations

import pytest

from mockprovider.dialects.veo import responses as wire
from mockprovider.engine.jobs import QUEUED, RUNNING, THROTTLED, Job, Plan
from mockprovider.web.responses import json_response


def answer(response) -> tuple:
    return response.status_code, response.raw_headers, response.body


@pytest.mark.parametrize("state", [THROTTLED, QUEUED, RUNNING])
@pytest.mark.parametrize("pending_done", [False, True])  # Gemini's GET, Vertex's fetch
def test_a_pending_operation_answers_as_rendered(state, pending_done):
    job = Job(id="op1", provider="veo", model="veo-3.1-generate-preview", account="k", kind="generate_videos",
              seq=1, created=0.0, plan=Plan(queue=1.0, run=10.0, failure=None, fail_at=1.0, stuck=False),
              data={"api": "g", "n": 1})
    for name in ("models/veo-3.1-generate-preview/operations/op1", "publishers/google/models/m/operations/o\"1"):
        expected = answer(json_response(wire.operation(name, state, job, None, pending_done=pending_done)))
        assert answer(wire.pending_operation(name, pending_done=pending_done)) == expected
        assert answer(wire.pending_operation(name, pending_done=pending_done)) == expected  # kept


def test_what_is_kept_is_bounded():
    for i in range(wire.MAX_PENDING + 10):
        wire.pending_operation(f"models/m/operations/bound{i}", pending_done=i % 2 == 0)
        assert len(wire._pending) <= wire.MAX_PENDING
