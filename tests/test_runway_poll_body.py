"""Runway's status poll keeps an unfinished task's answer (responses.unfinished_task): its status, headers and
bytes must be exactly those of the task as rendered (responses.task) and answered with json_response, for every
state and progress, on the first poll and on the ones answered from what was kept, and what is kept stays
bounded."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from mockprovider.dialects.runway import responses as wire
from mockprovider.engine.jobs import QUEUED, RUNNING, THROTTLED, Job, Plan
from mockprovider.web.responses import json_response


def task(task_id: str, cost: float, estimate: float | None, created: str = "2026-12-01T16:00:00.000Z") -> Job:
    data = {"createdAt": created, **({"est": estimate} if estimate is not None else {})}
    return Job(id=task_id, provider="runway", model="gen4_turbo", account="key_test", kind="image_to_video", seq=1,
               created=0.0, plan=Plan(queue=0.0, run=10.0, failure=None, fail_at=1.0, stuck=False), cost=cost,
               data=data)


def answer(response) -> tuple:
    return response.status_code, response.raw_headers, response.body


money = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([THROTTLED, QUEUED, RUNNING]), st.floats(min_value=0, max_value=1), money,
       st.none() | money, st.text(min_size=1, max_size=40))
def test_an_unfinished_task_answers_as_rendered(state, progress, cost, estimate, task_id):
    job = task(task_id, cost, estimate)
    for shown in (progress, progress, min(progress + 0.123456, 1.0), progress):  # kept, changed, back
        expected = answer(json_response(wire.task(job, state, shown, [])))
        assert answer(wire.unfinished_task(job, state, shown)) == expected


def test_a_task_of_the_same_id_made_after_a_reset_reads_its_own_answer():
    first, again = task("t-1", 5.0, None), task("t-1", 7.0, None, created="2026-12-01T17:00:00.000Z")
    assert b"5.0" in wire.unfinished_task(first, RUNNING, 0.5).body
    body = wire.unfinished_task(again, RUNNING, 0.5).body
    assert body == orjson.dumps(wire.task(again, RUNNING, 0.5, [])) and b"17:00" in body


def test_what_is_kept_is_bounded():
    for i in range(wire.MAX_KEPT + 10):
        wire.unfinished_task(task(f"bound-{i}", 1.0, None), QUEUED, 0.0)
        assert len(wire._kept) <= wire.MAX_KEPT
