"""``mockprovider report``: the client-behaviour report of a running server, as tables in the terminal."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any


def fetch_report(url: str, token: str | None = None, timeout: float = 30) -> dict[str, Any]:
    request = urllib.request.Request(url.rstrip("/") + "/__mock/report")
    if token:
        request.add_header("x-mockprovider-admin-token", token)
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read())


def _n(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def _row(name: str, s: dict[str, Any]) -> list[str]:
    jobs, retries = s["jobs"], s["retries"]
    failed = ", ".join(f"{k} {v}" for k, v in jobs["failed_by_reason"].items()) or "0"
    early = "-" if retries["early_fraction"] is None else f"{retries['early_fraction'] * 100:.0f}%"
    return [
        name, _n(s["requests"]), _n(jobs["created"]), _n(jobs["succeeded"]), failed, _n(jobs["cancelled"]),
        _n(jobs["in_flight"]), _n(jobs["peak_concurrent"]),
        f"{_n(s['polls_per_job']['mean'], 1)} / {_n(s['polls_per_job']['p95'])}",
        f"{_n(s['poll_interval_s']['p50'])} / {_n(s['poll_interval_s']['p95'])}",
        f"{_n(s['detection_lag_s']['p50'])} / {_n(s['detection_lag_s']['p95'])}",
        f"{retries['total']} ({early} early)",
        _n(s["downloads"]["per_succeeded_job"], 2),
        f"{s['webhooks']['delivered']}/{s['webhooks']['failed']}",
        f"${s['cost_usd']:.2f}",
    ]


HEADERS = ["provider / key", "requests", "jobs", "ok", "failed", "cancelled", "in flight", "peak",
           "polls/job mean/p95", "poll interval p50/p95 s", "detection lag p50/p95 s", "retries",
           "downloads/ok job", "webhooks ok/failed", "cost"]


def format_report(report: dict[str, Any]) -> str:
    rows = []
    for provider, section in report["providers"].items():
        rows.append(_row(provider, section))
        keys = section.get("keys", {})
        if len(keys) > 1:
            rows.extend(_row(f"  key {key}", figures) for key, figures in keys.items())
    if not rows:
        return "No provider requests since the last reset.\n"
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append("")
    lines.append(f"total cost at list prices: ${report['total_cost_usd']:.2f}   (seconds are {report['seconds']} "
                 f"seconds; time scale {report['time_scale']:g})")
    for provider, section in report["providers"].items():
        cost = section["cost"]
        if cost["unpriced_jobs"]:
            lines.append(f"{provider}: {cost['unpriced_jobs']} job(s) on models the price book has no price for")
    return "\n".join(lines) + "\n"


def report_command(url: str, token: str | None, as_json: bool = False) -> int:
    try:
        report = fetch_report(url, token)
    except urllib.error.HTTPError as exc:
        print(f"mockprovider report: {url} answered {exc.code}: {exc.read()[:300].decode(errors='replace')}",
              file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"mockprovider report: cannot read {url}/__mock/report: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if as_json else format_report(report))
    return 0
