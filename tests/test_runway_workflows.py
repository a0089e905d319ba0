"""runwayml 5.24.0's workflows and workflow_invocations, unchanged, against a served mock: the catalogue lists and
retrieves, a run's nodeOutputs feed the generation node's own validation (Zod-style issues at nodeOutputs paths),
the invocation runs through the task engine and its video output decodes (PyAV)."""

from __future__ import annotations

import io

import av
import httpx
import pytest
import runwayml
from runway_client import client, image_to_video

from mockprovider.testing import MockServer

TEXT_TO_VIDEO = "5b1c2f7e-0d6a-4e1b-9a43-1f0e6c1d2a01"
STILL = "5b1c2f7e-0d6a-4e1b-9a43-1f0e6c1d2a02"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=23) as s:
        yield s


@pytest.fixture
def c(server):
    assert server.admin("POST", "/reset").status_code == 200
    return client(server.url)


def test_list_and_retrieve(c):
    listed = c.workflows.list()
    names = {w.name for w in listed.data}
    assert {"Text to video", "Product still"} <= names
    version = next(w for w in listed.data if w.name == "Text to video").versions[0]
    flow = c.workflows.retrieve(version.id)
    assert flow.id == TEXT_TO_VIDEO and flow.version == version.version and flow.graph.version == 1
    assert {n["id"] for n in flow.graph.nodes} == {"prompt", "length", "video"} and flow.graph.edges
    with pytest.raises(runwayml.NotFoundError):
        c.workflows.retrieve("00000000-0000-4000-8000-000000000000")


def test_run_produces_a_video_through_the_task_engine(c):
    run = c.workflows.run(TEXT_TO_VIDEO, node_outputs={
        "prompt": {"text": {"type": "primitive", "value": "a red kite over dunes"}},
        "length": {"seconds": {"type": "primitive", "value": 4}}})
    done = c.workflow_invocations.retrieve(run.id).wait_for_task_output(timeout=60)
    assert done.status == "SUCCEEDED" and done.cost.credits == 48  # gen4.5: 12 credits/s
    [url] = done.output["video"]
    container = av.open(io.BytesIO(httpx.get(url, timeout=60).content))
    stream = container.streams.video[0]
    assert (stream.width, stream.height) == (1280, 720)
    assert 3.5 <= float(container.duration / 1e6) <= 4.5
    assert sum(1 for _ in container.decode(video=0)) > 0
    with pytest.raises(runwayml.NotFoundError):  # an invocation is not a task, nor a task an invocation
        c.tasks.retrieve(run.id)
    task = image_to_video(c)
    with pytest.raises(runwayml.NotFoundError):
        c.workflow_invocations.retrieve(task.id)


def test_defaults_run_without_node_outputs(c):
    run = c.workflows.run(STILL)
    done = c.workflow_invocations.retrieve(run.id).wait_for_task_output(timeout=60)
    [url] = done.output["image"]
    assert httpx.get(url, timeout=60).content[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_node_outputs_get_zod_issues_at_their_paths(c):
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.workflows.run(TEXT_TO_VIDEO, node_outputs={
            "prompt": {"text": {"type": "primitive", "value": "x" * 5000}},
            "length": {"seconds": {"type": "primitive", "value": 99}}})
    body = caught.value.body
    assert body["error"] == "Validation of body failed"
    paths = [issue["path"] for issue in body["issues"]]
    assert ["nodeOutputs", "prompt", "text", "value"] in paths
    assert ["nodeOutputs", "length", "seconds", "value"] in paths
    with pytest.raises(runwayml.BadRequestError) as caught:  # the graph's shape is checked before the model's rules
        c.workflows.run(TEXT_TO_VIDEO, node_outputs={"nope": {"a": {"type": "primitive", "value": 1}},
                                                     "prompt": {"text": {"type": "primitive", "value": [1]}}})
    assert [i["path"] for i in caught.value.body["issues"]] == [["nodeOutputs", "nope"],
                                                                ["nodeOutputs", "prompt", "text", "value"]]
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.workflows.run("5b1c2f7e-0d6a-4e1b-9a43-1f0e6c1d2a03", node_outputs={
            "image": {"frame": {"type": "video", "uri": "https://example.com/a.mp4"}}})
    assert [i["path"] for i in caught.value.body["issues"]] == [["nodeOutputs", "image", "frame", "type"]]
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.workflows.run("5b1c2f7e-0d6a-4e1b-9a43-1f0e6c1d2a03")
    assert [i["path"] for i in caught.value.body["issues"]] == [["nodeOutputs", "image", "frame"]]
    with pytest.raises(runwayml.NotFoundError):
        c.workflows.run("no-such-workflow")
