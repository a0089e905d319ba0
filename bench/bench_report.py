"""What ``GET /__mock/report`` costs with a full job store: 200,000 jobs (the store's default bound) over 50
keys, most of them finished and a few thousand still running, each polled a few times; then the report is built
(``insight.report.build``, what the route answers) and timed, the median of several builds, in process.

    python bench/bench_report.py [--jobs 200000] [--keys 50] [--in-flight 2000] [--builds 7]

Target: the report's cost does not grow with the job store (it reads counters kept as jobs and requests happen,
and walks only the jobs in flight).
"""

from __future__ import annotations

import argparse
import statistics
import time

from mockprovider.engine.clock import Clock
from mockprovider.engine.engine import Engine, JobRequest
from mockprovider.engine.profile import ProfileLibrary
from mockprovider.insight import report
from mockprovider.insight.journal import Record
from mockprovider.testing import done


def fill(jobs: int, keys: int, in_flight: int) -> Engine:
    library = ProfileLibrary()
    profile = library.load_inline({"jobs": {"queue": "0s", "run": {"uniform": ["5s", "15s"]}}})
    engine = Engine(library=library, profile=profile, seed=1, clock=Clock(scale=1.0), journal_size=0)
    engine.store.max_jobs = jobs + 1
    insight = engine.insight
    assignment = engine.selector.active
    long = done(engine.activate(library.load_inline({"jobs": {"queue": "0s", "run": "1h"}})))
    done(engine.activate(profile))
    for i in range(jobs):
        key = f"key{i % keys}"
        request = JobRequest(provider="runway", model="gen4_turbo", account=key, kind="image_to_video",
                             make_id=lambda rng: f"{rng.getrandbits(64):016x}", usage={"seconds": 5})
        job = done(engine.submit(request, long if i >= jobs - in_flight else assignment, queue_when_busy=True))
        for _ in range(i % 4):  # a few polls each, through the observer as a request would
            record = Record("runway", "status", "GET", f"/v1/tasks/{job.id}", time.monotonic())
            record.key, record.status, record.touched, record.job = key, 200, job, job.id
            insight.observer.observe(record, engine.clock.now(), 1.0)
        if i % 1000 == 999:
            engine.clock.advance(1.0)
    engine.clock.advance(30.0)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--in-flight", type=int, default=2_000)
    parser.add_argument("--builds", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    engine = fill(args.jobs, args.keys, args.in_flight)
    print(f"filled {len(engine.store)} jobs in {time.perf_counter() - started:.1f} s")
    took = []
    for _ in range(max(args.builds, 1)):
        started = time.perf_counter()
        out = report.build(engine)
        took.append(time.perf_counter() - started)
    jobs = out["providers"]["runway"]["jobs"]
    print(f"report.build: median {statistics.median(took) * 1000:.1f} ms, best {min(took) * 1000:.1f} ms "
          f"over {len(took)} builds ({len(engine.store)} jobs stored, {jobs['in_flight']} in flight, "
          f"{jobs['succeeded']} succeeded, peak {jobs['peak_concurrent']})")


if __name__ == "__main__":
    main()
