"""Latency fidelity: status polls held for a lognormal time (median 200 ms, p99 1.2 s) by the profile, at a
fixed arrival rate from k6 (``bench/k6/latency.js``, constant-arrival-rate); k6's p50, p95 and p99 of
``http_req_duration`` against the configured quantiles. A short run without latency first measures what the
server and k6 add on their own (the baseline).

    python bench/bench_latency.py [--rate 500] [--seconds 90] [--baseline-seconds 15]

Target: each measured quantile within 5% (+2 ms) of the configured one.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
from statistics import NormalDist

import httpx
from common import ROOT, free_port, mockprovider, process, scratch_dir

KEY = "key_latency"
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
MEDIAN, P99 = 0.200, 1.200
QUANTILES = (0.50, 0.95, 0.99)


def configured() -> dict[float, float]:
    """Quantiles of the lognormal with this median and p99 (seconds)."""
    z = NormalDist()
    sigma = math.log(P99 / MEDIAN) / z.inv_cdf(0.99)
    return {q: MEDIAN * math.exp(sigma * z.inv_cdf(q)) for q in QUANTILES}


def k6(url: str, rate: int, seconds: int, out: str) -> dict:
    subprocess.run(["k6", "run", "--quiet", "--no-color", "--address", "", "--summary-trend-stats", "p(50),p(95),p(99)",
                    "--summary-export", out, "-e", f"URL={url}", "-e", f"RATE={rate}", "-e", f"DURATION={seconds}s",
                    "-e", f"KEY={KEY}", str(ROOT / "bench" / "k6" / "latency.js")],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)["metrics"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=90)
    parser.add_argument("--baseline-seconds", type=int, default=15)
    args = parser.parse_args()

    work = scratch_dir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    held = {"latency": {"status": {"lognormal": {"median": f"{MEDIAN * 1000:.0f}ms", "p99": f"{P99}s"}}},
            "jobs": {"queue": "0s", "run": "1h"}}
    with process(mockprovider(port, "--profile", "happy", "--seed", "11"), f"{url}/__mock/health"):
        httpx.put(f"{url}/__mock/profile", json={"profile": {"jobs": {"queue": "0s", "run": "1h"}}})
        task = httpx.post(f"{url}/v1/image_to_video", headers=HEADERS, json={
            "model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}).json()
        status = f"{url}/v1/tasks/{task['id']}"
        base = k6(status, args.rate, args.baseline_seconds, str(work / "baseline.json"))
        assert httpx.put(f"{url}/__mock/profile", json={"profile": held}).status_code == 200
        run = k6(status, args.rate, args.seconds, str(work / "lognormal.json"))
        lag = httpx.get(f"{url}/__mock/stats").json()["loop_lag"]

    def describe(metrics: dict) -> str:
        d, reqs = metrics["http_req_duration"], metrics["http_reqs"]
        failed = metrics["http_req_failed"]["value"]
        dropped = metrics.get("dropped_iterations", {}).get("count", 0)
        return (f"{reqs['count']} requests at {reqs['rate']:.0f}/s, failed {failed:.2%}, dropped {dropped}; "
                f"p50 {d['p(50)']:.1f} ms, p95 {d['p(95)']:.1f} ms, p99 {d['p(99)']:.1f} ms")

    print(f"baseline, no latency ({args.baseline_seconds} s): {describe(base)}")
    print(f"lognormal median {MEDIAN * 1000:.0f} ms, p99 {P99 * 1000:.0f} ms ({args.seconds} s): {describe(run)}")
    ok = run["http_req_failed"]["value"] == 0
    for q, want in configured().items():
        got = run["http_req_duration"][f"p({q * 100:.0f})"]
        want_ms = want * 1000
        allowed = 0.05 * want_ms + 2
        good = abs(got - want_ms) <= allowed
        ok &= good
        print(f"  p{q * 100:.0f}: configured {want_ms:7.1f} ms, measured {got:7.1f} ms, off {got - want_ms:+6.1f} ms "
              f"({(got - want_ms) / want_ms:+.1%}; allowed +/-{allowed:.1f} ms)  {'PASS' if good else 'MISS'}")
    print(f"server event-loop lag over the last 2 min: p99 {lag['p99_ms']} ms, max {lag['max_ms']} ms")
    print(f"target: every quantile within 5% (+2 ms), no failed requests: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
