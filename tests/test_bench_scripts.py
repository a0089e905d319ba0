"""The benchmark scripts in bench/ run for a few seconds each with their real load generators (wrk, k6) against
real servers, so they cannot rot: each must finish and print the figures bench/RESULTS.md quotes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, *args: str, timeout: float = 60) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_status_poll_throughput_and_cpu() -> None:
    out = run("bench_status.py", "--seconds", "1", "--rounds", "1", "--connections", "8",
              "--providers", "runway,veo-vertex", timeout=120)
    for name in ("runway", "veo-vertex", "bare Starlette JSON GET",
                 "bare Starlette JSON POST", "worst ratio", "us CPU/req"):
        assert name in out, out


def test_status_poll_cpu_in_process() -> None:
    out = run("cpu_status.py", "--providers", "runway,veo-vertex", "--rounds", "1", "--batch", "50")
    for name in ("runway", "veo-vertex", "bare Starlette JSON GET", "bare Starlette JSON POST", "worst ratio"):
        assert name in out, out


def test_journal_cost_in_process() -> None:
    out = run("bench_journal.py", "--in-process", "--rounds", "2", "--batch", "200")
    for line in ("journal on (10,000)", "journal off (size 0)", "no insight hook", "journal cost",
                 "whole insight hook"):
        assert line in out, out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_journal_on_and_off_with_wrk() -> None:
    out = run("bench_journal.py", "--seconds", "1", "--rounds", "1", "--connections", "8", "--warm-up", "0")
    assert "throughput on/off" in out and "CPU per request on/off" in out and "journal held" in out, out


def test_report_cost_with_a_full_store() -> None:
    out = run("bench_report.py", "--jobs", "3000", "--in-flight", "100", "--builds", "2")
    assert "report.build: median" in out and "3000 jobs stored, 100 in flight" in out, out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_held_open_requests_report_loop_lag() -> None:
    out = run("bench_held.py", "--connections", "200", "--seconds", "1", "--threads", "1", "--max-hold", "1")
    assert "errors: socket none, non-2xx 0" in out, out
    assert "event-loop lag: p50" in out, out


@pytest.mark.skipif(shutil.which("k6") is None, reason="k6 is not on PATH")
def test_latency_fidelity_and_soak_run_k6() -> None:
    out = run("bench_latency.py", "--rate", "100", "--seconds", "1", "--baseline-seconds", "1")
    assert out.count("configured") == 3 and "failed 0.00%" in out, out
    out = run("bench_soak.py", "--minutes", "0.12", "--rate", "50", "--every", "2.5", "--max-jobs", "1000")
    assert "k6 failed requests: PASS" in out and "job store max" in out, out


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_replicas_bench_quick(redis_url) -> None:
    out = run("bench_replicas.py", "--quick", "--redis-url", redis_url, timeout=300)
    for line in ("memory, 1 process", "redis, 1 process", "redis, --workers 2", "Redis round trips per poll",
                 "Redis round trips per create", "Redis memory per job"):
        assert line in out, out
