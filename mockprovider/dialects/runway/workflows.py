"""Runway's published workflows (runwayml 5.24.0 ``workflows`` / ``workflow_invocations``): a fixed mock catalogue
of graphs whose input nodes feed one generation node. A run builds that node's generation body from the graph's
defaults and the caller's ``nodeOutputs``, validates it with the generation endpoint's own rules and runs it as a
task; the invocation renders the task as ``{nodeId: [urls]}``.

The catalogue is the mock's own (Runway's workflows are authored by each organization in the web app).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...engine.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, THROTTLED, Job
from .models import _MISSING, custom, invalid_type, invalid_value
from .responses import STATUS, charged, failure_of

ITEM_TYPES = ("primitive", "image", "video", "audio")
MAX_NODE_OUTPUTS = 32  # mock bound on nodeOutputs entries


@dataclass(frozen=True)
class Input:
    node: str
    key: str
    type: str  # primitive | image | video | audio
    field: str  # the generation body's field it fills
    default: Any = None


@dataclass(frozen=True)
class Workflow:
    id: str
    name: str
    description: str
    version: int
    created: str
    endpoint: str
    base: dict[str, Any]
    inputs: tuple[Input, ...]
    output_node: str

    def graph(self) -> dict[str, Any]:
        nodes = [{"id": i.node, "type": "input", "outputs": {i.key: {"type": i.type, "default": i.default}}}
                 for i in self.inputs]
        nodes.append({"id": self.output_node, "type": "generation", "endpoint": self.endpoint,
                      "model": self.base.get("model")})
        edges = [{"source": i.node, "sourceOutput": i.key, "target": self.output_node, "targetInput": i.field}
                 for i in self.inputs]
        return {"version": 1, "nodes": nodes, "edges": edges}

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description, "version": self.version,
                "createdAt": self.created, "updatedAt": self.created, "graph": self.graph()}


CATALOGUE = (
    Workflow("5b1c2f7e-0d6a-4e1b-9a43-1f0e6c1d2a01", "Text to video", "A prompt node feeding gen4.5.", 2,
             "2026-06-01T09:00:00.000Z", "text_to_video", {"model": "gen4.5", "ratio": "1280:720"},
             (Input("prompt", "text", "primitive", "promptText", "A lighthouse at dusk, waves crashing"),
              Input("length", "seconds", "primitive", "duration", 5)), "video"),
    Workflow("5b1c2f7e-0d6a-4e1b-9a43-1f0e6c1d2a02", "Product still", "A prompt and a reference image feeding "
             "gen4_image.", 1, "2026-06-02T09:00:00.000Z", "text_to_image", {"model": "gen4_image", "ratio":
             "1024:1024"}, (Input("prompt", "text", "primitive", "promptText", "A bottle on a marble table"),),
             "image"),
    Workflow("5b1c2f7e-0d6a-4e1b-9a43-1f0e6c1d2a03", "Animate an image", "An image node feeding gen4.5.", 1,
             "2026-06-03T09:00:00.000Z", "image_to_video", {"model": "gen4.5", "ratio": "1280:720", "duration": 5},
             (Input("image", "frame", "image", "promptImage", None),
              Input("prompt", "text", "primitive", "promptText", "The camera slowly pushes in")), "video"),
)
BY_ID = {w.id: w for w in CATALOGUE}


def listing() -> dict[str, Any]:
    return {"data": [{"name": w.name, "versions": [{"id": w.id, "createdAt": w.created, "version": w.version}]}
                     for w in CATALOGUE]}


def build(workflow: Workflow, body: Any) -> tuple[dict[str, Any], dict[str, list]] | list[dict[str, Any]]:
    """(the generation body, field -> the nodeOutputs path it came from), or the issues with the run's body."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return [invalid_type([], "object", body)]
    outputs = body.get("nodeOutputs", _MISSING)
    if outputs is _MISSING or outputs is None:
        outputs = {}
    if not isinstance(outputs, dict):
        return [invalid_type(["nodeOutputs"], "object", outputs)]
    inputs = {(i.node, i.key): i for i in workflow.inputs}
    nodes = {i.node for i in workflow.inputs}
    issues: list[dict[str, Any]] = []
    generation = dict(workflow.base)
    origin: dict[str, list] = {}
    for i in workflow.inputs:
        if i.default is not None:
            generation[i.field] = i.default
    if sum(len(v) for v in outputs.values() if isinstance(v, dict)) > MAX_NODE_OUTPUTS:
        return [custom(["nodeOutputs"], f"At most {MAX_NODE_OUTPUTS} node outputs are allowed")]
    for node, values in list(outputs.items())[:MAX_NODE_OUTPUTS]:
        path = ["nodeOutputs", node]
        if node not in nodes:
            issues.append(custom(path, f"Node {node[:100]!r} is not an input node of this workflow"))
            continue
        if not isinstance(values, dict):
            issues.append(invalid_type(path, "object", values))
            continue
        for key, item in values.items():
            where = [*path, key]
            spec = inputs.get((node, key))
            if spec is None:
                issues.append(custom(where, f"Node {node[:100]!r} has no output {key[:100]!r}"))
                continue
            if not isinstance(item, dict):
                issues.append(invalid_type(where, "object", item))
                continue
            kind = item.get("type")
            if kind not in ITEM_TYPES:
                issues.append(invalid_value([*where, "type"], ITEM_TYPES, kind))
                continue
            if kind != spec.type:
                issues.append(custom([*where, "type"], f"Expected a {spec.type} value for this output"))
                continue
            name = "value" if kind == "primitive" else "uri"
            value = item.get(name, _MISSING)
            if value is _MISSING or value is None:
                issues.append(invalid_type([*where, name], "string", _MISSING))
                continue
            if kind == "primitive" and (not isinstance(value, (str, int, float)) or (isinstance(value, float)
                                        and value != value)):
                issues.append(invalid_type([*where, name], "string", value))
                continue
            generation[spec.field] = value
            origin[spec.field] = [*where, name]
    for i in workflow.inputs:
        if i.field not in generation and not any(x["path"][1:3] == [i.node, i.key] for x in issues):
            issues.append(invalid_type(["nodeOutputs", i.node, i.key], "object", _MISSING))
    return issues or (generation, origin)


def relocate(issues: list[dict[str, Any]], origin: dict[str, list]) -> list[dict[str, Any]]:
    """The generation's issues, at the nodeOutputs path of the value that caused them."""
    moved = []
    for issue in issues:
        path = issue.get("path") or []
        head = path[0] if path else None
        if head in origin:
            issue = {**issue, "path": [*origin[head], *path[1:]]}
        moved.append(issue)
    return moved


def invocation(job: Job, state: str, progress: float, urls: list[str]) -> dict[str, Any]:
    node = job.data["wf"]
    body: dict[str, Any] = {"id": job.id, "createdAt": job.data["createdAt"], "status": STATUS[state]}
    if state in (THROTTLED, QUEUED, CANCELLED):
        return body
    if state == RUNNING:
        return {**body, "output": {}, "progress": round(progress, 4)}
    body["cost"] = {"credits": charged(job, state)}
    if state == SUCCEEDED:
        body["output"] = {node: urls}
    elif state == FAILED:
        code, message = failure_of(job)
        body.update(failure=message, failureCode=code,
                    nodeErrors={node: {"message": message, "failureCode": code, "nodeName": node}})
    return body
