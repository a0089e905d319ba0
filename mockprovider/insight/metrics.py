"""``/__mock/metrics`` in Prometheus' text format, through prometheus-client.

The hot path only bumps plain dict counters (web/metrics.py, insight); a custom collector turns them into
metric families at scrape time, so a request pays no label lookup or lock. Every label is bounded: providers
and endpoint kinds are fixed sets, statuses are HTTP codes, models come from the dialects' validated lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from . import LATENCY_BUCKETS
from .ledger import DURATION_BUCKETS, in_flight_state
from .observer import LAG_BUCKETS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _buckets(bounds: tuple[float, ...], counts: list[float]) -> list[tuple[str, float]]:
    out, acc = [], 0.0
    for bound, n in zip(bounds, counts, strict=False):
        acc += n
        out.append(("+Inf" if bound == float("inf") else f"{bound:g}", acc))
    return out


class InsightCollector:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def describe(self) -> list[Metric]:
        return []  # collected fresh on each scrape

    def collect(self) -> Iterator[Metric]:
        ctx = self.ctx
        engine = ctx.engine
        insight = engine.insight
        now = engine.clock.now()
        in_flight = insight.ledger.in_flight()  # settles what is due first

        requests = CounterMetricFamily("mockprovider_requests", "Provider API requests by provider, endpoint "
                                       "kind and HTTP status.", labels=["provider", "endpoint", "status"])
        for (provider, kind, status), n in sorted(ctx.metrics.requests.items()):
            requests.add_metric([provider, kind, str(status)], n)
        yield requests

        latency = HistogramMetricFamily("mockprovider_injected_latency_seconds", "Latency injected by the "
                                        "profile, in real seconds.", labels=["provider", "endpoint"])
        for (provider, kind), counts in sorted(insight.latency.items()):
            latency.add_metric([provider, kind], _buckets(LATENCY_BUCKETS, counts[:-1]), counts[-1])
        yield latency

        faults = CounterMetricFamily("mockprovider_faults_injected", "Request faults injected, by kind.",
                                     labels=["provider", "kind"])
        for (provider, kind), n in sorted(insight.faults.items()):
            faults.add_metric([provider, kind], n)
        yield faults

        rejections = CounterMetricFamily("mockprovider_limit_rejections", "Requests or jobs refused by a limit "
                                         "(rate, concurrency, daily, credits, capacity, content_policy).",
                                         labels=["provider", "limit"])
        for (provider, limit), n in sorted(insight.rejections.items()):
            rejections.add_metric([provider, limit], n)
        yield rejections

        created = CounterMetricFamily("mockprovider_jobs_created", "Jobs created.", labels=["provider"])
        finished = CounterMetricFamily("mockprovider_jobs_finished", "Jobs finished, by outcome (and failure "
                                       "reason).", labels=["provider", "outcome", "reason"])
        cost = CounterMetricFamily("mockprovider_cost_usd", "What finished jobs cost at the provider's list "
                                   "price (the price book), in US dollars.", labels=["provider", "model"])
        duration = HistogramMetricFamily("mockprovider_job_duration_seconds", "Time from a job's creation to "
                                         "its end, in real seconds.", labels=["provider"])
        media = CounterMetricFamily("mockprovider_media_bytes", "Media bytes served.", labels=["provider"])
        downloads = CounterMetricFamily("mockprovider_downloads", "Media downloads.", labels=["provider"])
        webhooks = CounterMetricFamily("mockprovider_webhook_deliveries", "Webhook deliveries by outcome.",
                                       labels=["provider", "outcome"])
        lag = HistogramMetricFamily("mockprovider_detection_lag_seconds", "Time from a job's end to the first "
                                    "poll (or acknowledged webhook) that saw it, in real seconds.",
                                    labels=["provider"])
        polls = CounterMetricFamily("mockprovider_job_polls", "Status polls that found their job.",
                                    labels=["provider"])
        per_provider: dict[str, dict[str, Any]] = {}
        for (provider, _key), group in list(insight.observer.groups.items()):
            p = per_provider.setdefault(provider, {
                "created": 0, "finished": {}, "cost": {}, "durations": [0] * len(DURATION_BUCKETS), "dsum": 0.0,
                "media": 0, "downloads": 0, "webhooks": {"delivered": 0, "failed": 0},
                "lag": [0] * len(LAG_BUCKETS), "lsum": 0.0, "polls": 0})
            tally = group.jobs
            if tally is not None:
                p["created"] += tally.created
                for outcome, reason, n in (("succeeded", "", tally.succeeded), ("cancelled", "", tally.cancelled),
                                           *(("failed", r, n) for r, n in tally.failed.items())):
                    p["finished"][(outcome, reason)] = p["finished"].get((outcome, reason), 0) + n
                for model, usd in tally.usd_by_model.items():
                    p["cost"][model] = p["cost"].get(model, 0.0) + usd
                p["durations"] = [a + b for a, b in zip(p["durations"], tally.durations, strict=True)]
                p["dsum"] += tally.duration_sum
            p["media"] += group.media_bytes
            p["downloads"] += group.downloads
            p["webhooks"]["delivered"] += group.webhooks["delivered"]
            p["webhooks"]["failed"] += group.webhooks["failed"]
            p["lag"] = [a + b for a, b in zip(p["lag"], group.lag_buckets, strict=True)]
            p["lsum"] += group.lag_sum
            p["polls"] += group.poll_count
        for provider, p in sorted(per_provider.items()):
            created.add_metric([provider], p["created"])
            for (outcome, reason), n in sorted(p["finished"].items()):
                finished.add_metric([provider, outcome, reason], n)
            for model, usd in sorted(p["cost"].items()):
                cost.add_metric([provider, model], usd)
            duration.add_metric([provider], _buckets(DURATION_BUCKETS, p["durations"]), p["dsum"])
            media.add_metric([provider], p["media"])
            downloads.add_metric([provider], p["downloads"])
            for outcome, n in p["webhooks"].items():
                webhooks.add_metric([provider, outcome], n)
            lag.add_metric([provider], _buckets(LAG_BUCKETS, p["lag"]), p["lsum"])
            polls.add_metric([provider], p["polls"])
        yield from (created, finished, cost, duration, media, downloads, webhooks, lag, polls)

        states = GaugeMetricFamily("mockprovider_jobs", "Jobs in flight, by state.", labels=["provider", "state"])
        counts: dict[tuple[str, str], int] = {}
        for provider in per_provider:
            for state in ("throttled", "queued", "running"):
                counts[(provider, state)] = 0
        for job in in_flight:
            key = (job.provider, in_flight_state(job, now))
            counts[key] = counts.get(key, 0) + 1
        for (provider, state), n in sorted(counts.items()):
            states.add_metric([provider, state], n)
        yield states

        yield GaugeMetricFamily("mockprovider_jobs_stored", "Jobs held in the job store.", value=len(engine.store))
        journal = insight.journal
        yield GaugeMetricFamily("mockprovider_journal_records", "Requests held in the journal.", value=len(journal))
        yield CounterMetricFamily("mockprovider_journal_dropped", "Requests pushed out of the bounded journal.",
                                  value=journal.dropped)
        lag_ms = ctx.loop_lag.summary().get("p99_ms") or 0.0
        yield GaugeMetricFamily("mockprovider_event_loop_lag_p99_seconds", "Event loop lag, 99th percentile of "
                                "recent samples.", value=lag_ms / 1000)


def registry_for(ctx: Any) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(InsightCollector(ctx))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
