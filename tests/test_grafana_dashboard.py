"""The shipped Grafana dashboard asks only for what the server exports: every query parses as PromQL
(promql-parser), and every series it selects, with its label matchers and its ``by (...)`` labels, is in a
live scrape of /__mock/metrics taken after traffic that exercises every metric. Also: the metric names follow
Prometheus' conventions, and the compose profile wires Prometheus and Grafana to these files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import promql_parser
import pytest
import yaml
from kling_client import Kling, Receiver
from prometheus_client.parser import text_string_to_metric_families
from runway_client import client

from mockprovider.testing import MockServer

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "docker/grafana/dashboards/mockprovider.json"
PROFILE = {
    "jobs": {"queue": "0s", "run": "2s"},
    "latency": {"status": "1ms"},
    "faults": {"account": [{"kind": "error", "status": 503, "rate": 1.0}]},
    "callbacks": {"delay": "0s"},
    "providers": {"veo": {"limits": {"concurrent_jobs": 0}}},
}


@pytest.fixture(scope="module")
def scrape() -> list:
    """Metric families scraped after traffic touching every metric the dashboard reads."""
    with MockServer(profile="happy", time_scale=0.01, admin_token="t0ken", metrics_token="scr4pe") as server:
        assert server.admin("PUT", "/profile", {"profile": PROFILE}).status_code == 200
        c = client(server.url)
        done = c.image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png", ratio="1280:720",
                                       duration=5).wait_for_task_output(timeout=30)
        assert httpx.get(done.output[0]).status_code == 200
        with pytest.raises(Exception):  # noqa: B017 - the injected 503, as the SDK's own error
            c.organization.retrieve()
        veo = httpx.post(f"{server.url}/v1beta/models/veo-3.1-generate-preview:predictLongRunning",
                         headers={"x-goog-api-key": "k"}, json={"instances": [{"prompt": "a lighthouse"}]})
        assert veo.status_code == 429
        kling = Kling(server.url)
        with Receiver() as receiver:
            kling.create("text2video", {"model_name": "kling-v1", "prompt": "a cat", "callback_url": receiver.url})
            receiver.wait_for(lambda: any(b["task_status"] == "succeed" for b in receiver.accepted()))
        kling.close()
        server.admin("PUT", "/profile", {"profile": {"jobs": {"queue": "0s", "run": "1h"}}})
        c.image_to_video.create(model="gen4_turbo", prompt_image="https://e.com/a.png", ratio="1280:720",
                                duration=5)  # stays running
        text = httpx.get(f"{server.url}/__mock/metrics", headers={"Authorization": "Bearer scr4pe"}).text
    return list(text_string_to_metric_families(text))


def queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(found) >= 15
    return found


def selectors(expr: str) -> tuple[list, list[tuple[str, ...]]]:
    """The vector selectors of a query, and the label lists of its aggregations' ``by (...)``."""
    vectors, groupings = [], []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            vectors.append(node)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            groupings.append(tuple(node.modifier.labels))
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return vectors, groupings


def matches(labels: dict[str, str], matcher) -> bool:
    value = labels.get(matcher.name, "")
    op = str(matcher.op).rsplit(".", 1)[-1]
    if op == "Equal":
        return value == matcher.value
    if op == "NotEqual":
        return value != matcher.value
    if op == "Re":
        return re.fullmatch(matcher.value, value) is not None
    if op == "NotRe":
        return re.fullmatch(matcher.value, value) is None
    raise AssertionError(f"unknown matcher {matcher.op}")


@pytest.mark.parametrize(("title", "expr"), queries())
def test_each_query_selects_series_the_server_exports(scrape, title, expr):
    samples: dict[str, list[dict[str, str]]] = {}
    for family in scrape:
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample.labels)
    vectors, groupings = selectors(expr)
    assert vectors, f"{title}: no series selected"
    for vector in vectors:
        series = samples.get(vector.name)
        assert series, f"{title}: {vector.name} is not exported (exported: {sorted(samples)})"
        wanted = list(vector.matchers.matchers)
        chosen = [s for s in series if all(matches(s, m) for m in wanted)]
        assert chosen, f"{title}: no {vector.name} series matches {vector.matchers}: {series}"
        for labels in groupings:
            missing = [name for name in labels if not all(name in s for s in chosen)]
            assert not missing, f"{title}: {vector.name} has no label {missing}"


def test_metric_names_follow_prometheus_conventions(scrape):
    names = {family.name: family.type for family in scrape}
    assert all(name.startswith("mockprovider_") for name in names)
    for name, kind in names.items():
        if kind == "counter":
            assert not name.endswith("_total")  # the parser strips it: the exposition has name_total
        if kind == "histogram":
            assert name.endswith("_seconds"), name  # base units
    expected = {"mockprovider_requests", "mockprovider_injected_latency_seconds", "mockprovider_faults_injected",
                "mockprovider_limit_rejections", "mockprovider_jobs_created", "mockprovider_jobs_finished",
                "mockprovider_jobs", "mockprovider_job_duration_seconds", "mockprovider_webhook_deliveries",
                "mockprovider_media_bytes", "mockprovider_cost_usd", "mockprovider_detection_lag_seconds"}
    assert expected <= set(names), sorted(expected - set(names))


def test_compose_observability_profile_uses_these_files():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert compose["prometheus"]["profiles"] == ["observability"] == compose["grafana"]["profiles"]
    prometheus = yaml.safe_load((ROOT / "docker/prometheus/prometheus.yml").read_text())
    job = prometheus["scrape_configs"][0]
    assert job["metrics_path"] == "/__mock/metrics"
    assert job["static_configs"][0]["targets"] == ["mockprovider:8000"]
    assert job["authorization"]["credentials_file"] in " ".join(compose["prometheus"]["command"])
    mounts = {v.split(":")[0]: v.split(":")[1] for v in compose["grafana"]["volumes"]}
    assert mounts["./docker/grafana/dashboards"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load((ROOT / "docker/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = source["datasources"][0]["uid"]
    dashboard = json.loads(DASHBOARD.read_text())
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {uid}
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
