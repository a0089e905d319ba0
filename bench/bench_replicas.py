"""Shared state on Redis: what it costs and what workers buy, on this machine, loopback only.

1. Status polls per second (Runway ``GET /v1/tasks/{id}`` of a RUNNING task, wrk) for the in-memory single
   process (today's reference), one process on Redis, and ``serve --workers 2`` on Redis, in alternating rounds.
2. Redis commands per poll for a job that has not changed state: INFO commandstats before and after a run of
   sequential polls, less what the server sends by itself in as long a time without polls (target: <= 1).
3. Memory per job in Redis: INFO memory's used_memory before and after creating ``--jobs`` jobs (100,000 by
   default), with the keys per job.

    python bench/bench_replicas.py [--seconds 5] [--rounds 3] [--connections 64] [--jobs 100000]
                                   [--redis-url redis://127.0.0.1:6379/0]   (default: a redis-server of its own)
    python bench/bench_replicas.py --quick      (a few seconds: what tests/test_bench_scripts.py runs)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator

import httpx
import redis
from common import ROOT, free_port, mockprovider, scratch_dir, wrk

KEY = "key_" + "cd" * 64
RUNWAY = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
TASK = {"model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}
# happy (no limits, no faults, no latency) with jobs that stay RUNNING for the whole run
LONG_JOBS = "description: bench_replicas\nextends: happy\njobs: {queue: 0s, run: 1h}\n"


@contextlib.contextmanager
def own_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed: apt-get install redis-server, or pass --redis-url")
    port = free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(scratch_dir()), "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def server(args: list[str]) -> Iterator[subprocess.Popen]:
    """A server process, started without waiting (they start together), its log in a file shown if it dies."""
    log = scratch_dir() / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    except BaseException:
        if proc.poll() is not None:
            print(f"{' '.join(args)} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def running_task(base: str) -> str:
    """The URL of a Runway task that stays RUNNING for the whole run."""
    task = httpx.post(f"{base}/v1/image_to_video", headers=RUNWAY, json=TASK, timeout=10).json()
    url = f"{base}/v1/tasks/{task['id']}"
    assert httpx.get(url, headers=RUNWAY, timeout=10).json()["status"] == "RUNNING"
    return url


def command_counts(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items() if name != "cmdstat_info"}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def commands_per_poll(client: redis.Redis, url: str, polls: int) -> tuple[float, dict[str, int], dict[str, int]]:
    """(net commands per poll, commands during the polls, commands in as long a time without polls)."""
    with httpx.Client(headers=RUNWAY, timeout=10) as http:
        http.get(url)  # connection up, anything cached warm
        before = command_counts(client)
        started = time.monotonic()
        for _ in range(polls):
            assert http.get(url).status_code == 200
        took = time.monotonic() - started
        during = delta(before, command_counts(client))
    before = command_counts(client)
    time.sleep(took)
    idle = delta(before, command_counts(client))
    net = sum(during.values()) - sum(idle.values())
    return max(net, 0) / polls, during, idle


async def create_jobs(base: str, count: int, concurrency: int = 32) -> int:
    created = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=RUNWAY, timeout=30, limits=limits) as http:
        async def one_worker(n: int) -> None:
            nonlocal created
            for _ in range(n):
                reply = await http.post(f"{base}/v1/image_to_video", json=TASK)
                if reply.status_code == 200:
                    created += 1
                else:
                    raise RuntimeError(f"create answered {reply.status_code}: {reply.text[:300]}")

        shares = [count // concurrency + (1 if i < count % concurrency else 0) for i in range(concurrency)]
        await asyncio.gather(*(one_worker(n) for n in shares))
    return created


def memory_per_job(client: redis.Redis, base: str, jobs: int) -> tuple[float, float, int, float]:
    """(bytes per job, keys per job, jobs created, seconds it took)."""
    before, keys_before = int(client.info("memory")["used_memory"]), client.dbsize()
    started = time.monotonic()
    created = asyncio.run(create_jobs(base, jobs))
    took = time.monotonic() - started
    after, keys_after = int(client.info("memory")["used_memory"]), client.dbsize()
    return (after - before) / created, (keys_after - keys_before) / created, created, took


def rounds_text(rates: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in rates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--polls", type=int, default=5000, help="sequential polls for the commands-per-poll count")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--redis-url", help="a Redis to use (default: start a redis-server of its own); "
                                            "it should be empty: the bench reads its INFO")
    parser.add_argument("--quick", action="store_true", help="1 s rounds, 300 polls, 2,000 jobs")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.connections, args.polls, args.jobs = 1, 1, 16, 300, 2000

    with contextlib.ExitStack() as stack:
        url = args.redis_url or stack.enter_context(own_redis())
        client = redis.Redis.from_url(url)
        stack.callback(client.close)
        ports = {"memory, 1 process": free_port(), "redis, 1 process": free_port(), "redis, --workers 2": free_port()}
        extra = {"memory, 1 process": [], "redis, 1 process": ["--state", url],
                 "redis, --workers 2": ["--state", url, "--workers", "2"]}
        profile = scratch_dir() / "bench-replicas.yaml"
        profile.write_text(LONG_JOBS)
        targets = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name, port in ports.items():
            stack.enter_context(server(mockprovider(port, "--profile", str(profile), "--log-level", "warning",
                                                    *extra[name])))
        for name, base in targets.items():
            wait_for_workers(base, 2 if "workers" in name else 1)
        polls = {name: running_task(base) for name, base in targets.items()}
        rates: dict[str, list[float]] = {name: [] for name in polls}
        for poll in polls.values():  # warm up
            wrk(poll, 1, args.connections, RUNWAY, threads=args.threads)
        for _ in range(args.rounds):
            for name, poll in polls.items():
                rates[name].append(wrk(poll, args.seconds, args.connections, RUNWAY, threads=args.threads))
        print(f"status polls per second (Runway GET /v1/tasks/{{id}}, RUNNING; wrk -t{args.threads} "
              f"-c{args.connections}, {args.seconds} s x {args.rounds} rounds)")
        reference = statistics.median(rates["memory, 1 process"])
        for name, got in rates.items():
            median = statistics.median(got)
            print(f"  {name:<22} {median:9.0f} polls/s  {median / reference:5.2f} of memory  "
                  f"(rounds: {rounds_text(got)})")

        per_poll, during, idle = commands_per_poll(client, polls["redis, 1 process"], args.polls)
        print(f"Redis commands per poll of an unchanged job: {per_poll:.2f}  (target <= 1; {args.polls} polls: "
              f"{sum(during.values())} commands {dict(sorted(during.items()))}; idle as long: "
              f"{sum(idle.values())} {dict(sorted(idle.items()))})")

        per_job, keys, created, took = memory_per_job(client, targets["redis, 1 process"], args.jobs)
        print(f"Redis memory per job: {per_job:.0f} bytes, {keys:.2f} keys  ({created} Runway tasks created in "
              f"{took:.1f} s, {created / took:.0f}/s; used_memory {client.info('memory')['used_memory_human']})")


def wait_for_workers(base: str, count: int, timeout: float = 120) -> None:
    """Until ``count`` distinct worker pids have answered /__mock/health (each worker has started)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only workers {seen} answered at {base}")
        with contextlib.suppress(httpx.HTTPError):
            seen.add(httpx.get(f"{base}/__mock/health", timeout=2, headers={"connection": "close"}).json()["pid"])
        time.sleep(0.02)


if __name__ == "__main__":
    main()
