"""Shared state on Redis: what it costs and what workers buy, on this machine, loopback only.

1. Status polls per second (Runway ``GET /v1/tasks/{id}`` of a RUNNING task, wrk) for the in-memory single
   process (today's reference), one process on Redis, and ``serve --workers 2`` on Redis, in alternating rounds.
2. Redis round trips per poll for a job that has not changed state (target: <= 1), counted by a TCP relay in
   front of Redis (a pipeline or a script call is one trip), with the commands behind them (INFO commandstats,
   a script's own calls included), each less what the server sends by itself in as long a time without polls.
3. Memory per job in Redis: INFO memory's used_memory before and after creating ``--jobs`` jobs (100,000 by
   default), with the keys per job. Served creates run at some tens a second on a loaded machine, so the jobs
   are made by ``--seeders`` processes (one a core, the servers stopped by then), each running the server's own
   application in process with 32 creates in flight through ASGI: the dialect, the engine and the Redis
   state as ``serve --state`` runs them, without the socket and the HTTP parsing.

    python bench/bench_replicas.py [--seconds 5] [--rounds 3] [--connections 64] [--jobs 100000] [--seeders 2]
                                   [--redis-url redis://127.0.0.1:6379/0]   (default: a redis-server of its own)
    python bench/bench_replicas.py --quick      (a few seconds: what tests/test_bench_scripts.py runs)
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import os
import re
import statistics
import threading
import time
from urllib.parse import urlsplit

import httpx
import orjson
import redis
import uvloop
from common import (
    free_port,
    mockprovider,
    redis_server,
    rounds_text,
    scratch_dir,
    started,
    wait_for_workers,
    wrk,
)

KEY = "key_" + "cd" * 64
RUNWAY = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}
TASK = {"model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}
# happy (no limits, no faults, no latency) with jobs that stay RUNNING for the whole run
COUNTED = "redis through the round-trip counter"
LONG_JOBS = "description: bench_replicas\nextends: happy\njobs: {queue: 0s, run: 1h}\n"


def running_task(base: str) -> str:
    """The URL of a Runway task that stays RUNNING for the whole run."""
    created = httpx.post(f"{base}/v1/image_to_video", headers=RUNWAY, json=TASK, timeout=10)
    assert created.status_code == 200, f"{base}: create answered {created.status_code} {created.text[:300]}"
    url = f"{base}/v1/tasks/{created.json()['id']}"
    reply = httpx.get(url, headers=RUNWAY, timeout=10)
    assert reply.status_code == 200 and reply.json()["status"] == "RUNNING", f"{url}: {reply.text[:300]}"
    return url


class RoundTripCounter:
    """A TCP relay in front of Redis, in a thread of its own, that counts round trips: a burst of bytes from the
    client after the server has answered (a pipeline or a script call is one; each command sent and awaited
    apart is one more)."""

    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.port = free_port()
        self.url = parts._replace(netloc=f"127.0.0.1:{self.port}").geturl()
        self.trips = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self.ready.set()
        with contextlib.suppress(RuntimeError):
            self.loop.run_until_complete(server.serve_forever())

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        answered = True

        async def upward() -> None:
            nonlocal answered
            while data := await reader.read(65536):
                if answered:
                    self.trips += 1
                    answered = False
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downward() -> None:
            nonlocal answered
            while data := await up_reader.read(65536):
                answered = True
                writer.write(data)
                await writer.drain()
            writer.close()

        with contextlib.suppress(OSError):
            await asyncio.gather(upward(), downward())


def command_counts(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items() if name != "cmdstat_info"}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def per_create(counter: RoundTripCounter, base: str, creates: int) -> tuple[float, float]:
    """(round trips per Runway create, creates per second), sequential, on the counted server."""
    with httpx.Client(headers=RUNWAY, timeout=30) as http:
        trips, started = counter.trips, time.monotonic()
        for _ in range(creates):
            reply = http.post(f"{base}/v1/image_to_video", json=TASK)
            assert reply.status_code == 200, reply.text[:300]
        return (counter.trips - trips) / creates, creates / (time.monotonic() - started)


def per_poll(client: redis.Redis, counter: RoundTripCounter, url: str, polls: int) -> dict[str, object]:
    """Round trips and commands per poll, net of what the server sends in as long a time without polls."""
    with httpx.Client(headers=RUNWAY, timeout=10) as http:
        http.get(url)  # connection up, anything cached warm
        before, trips = command_counts(client), counter.trips
        started = time.monotonic()
        for _ in range(polls):
            assert http.get(url).status_code == 200
        took = time.monotonic() - started
        during, during_trips = delta(before, command_counts(client)), counter.trips - trips
    before, trips = command_counts(client), counter.trips
    time.sleep(took)
    idle, idle_trips = delta(before, command_counts(client)), counter.trips - trips
    return {"trips": max(during_trips - idle_trips, 0) / polls,
            "commands": max(sum(during.values()) - sum(idle.values()), 0) / polls,
            "during": during, "during_trips": during_trips, "idle": idle, "idle_trips": idle_trips}


async def create_jobs(post, count: int, concurrency: int = 32) -> int:
    """Create ``count`` Runway tasks with ``concurrency`` requests in flight through ``post(path, body)``
    (-> status, body); the number created."""
    created = 0

    async def one_worker(n: int) -> None:
        nonlocal created
        for _ in range(n):
            status, body = await post("/v1/image_to_video", TASK)
            if status != 200:
                raise RuntimeError(f"create answered {status}: {body[:300]!r}")
            created += 1

    shares = [count // concurrency + (1 if i < count % concurrency else 0) for i in range(concurrency)]
    await asyncio.gather(*(one_worker(n) for n in shares))
    return created


def asgi_poster(app) -> object:
    """``post(path, json_body) -> (status, body)`` straight into an ASGI app, as uvicorn hands it a request."""
    headers = [(k.lower().encode(), v.encode()) for k, v in {**RUNWAY, "Content-Type": "application/json",
                                                                "Host": "127.0.0.1:8000"}.items()]

    async def post(path: str, payload: object) -> tuple[int, bytes]:
        body = orjson.dumps(payload)
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [*headers, (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}
        sent = False
        status, parts = 0, []

        async def receive() -> dict:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # no disconnect while the request is handled
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        await app(scope, receive, send)
        return status, b"".join(parts)

    return post


async def seed_in_process(redis_url: str, profile: str, count: int, concurrency: int) -> int:
    """Create ``count`` Runway tasks through the server's own application in this process: the same dialect,
    engine and Redis state as ``serve --state`` runs, called as uvicorn calls it (ASGI) without the socket and
    the HTTP parsing, so the jobs are stored exactly as a served create stores them."""
    from mockprovider.app import create_app
    from mockprovider.context import Settings

    app = create_app(Settings(profile=profile, state=redis_url))
    async with app.router.lifespan_context(app):
        return await create_jobs(asgi_poster(app), count, concurrency)


def seed_worker(redis_url: str, profile: str, count: int, concurrency: int) -> int:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # the served processes' loop
        return runner.run(seed_in_process(redis_url, profile, count, concurrency))


def seed_jobs(redis_url: str, profile: str, count: int, processes: int, concurrency: int = 32) -> int:
    """Create ``count`` jobs in Redis from ``processes`` processes at once (one a core: a create is CPU-bound)."""
    shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
        done = [pool.submit(seed_worker, redis_url, profile, n, concurrency) for n in shares if n]
        return sum(f.result() for f in done)


def memory_per_job(client: redis.Redis, redis_url: str, profile: str, jobs: int, processes: int
                   ) -> tuple[float, float, int, float]:
    """(bytes per job, keys per job, jobs created, seconds it took)."""
    before, keys_before = int(client.info("memory")["used_memory"]), client.dbsize()
    started = time.monotonic()
    created = seed_jobs(redis_url, profile, jobs, processes)
    took = time.monotonic() - started
    after, keys_after = int(client.info("memory")["used_memory"]), client.dbsize()
    return (after - before) / created, (keys_after - keys_before) / created, created, took


def poll_rate(url: str, seconds: int, connections: int, threads: int) -> float:
    """wrk's requests per second; a round with only read timeouts (wrk's 2 s, on a loaded machine) still counts,
    any other error (a non-2xx answer: a poll that missed its job) stops the bench."""
    try:
        return wrk(url, seconds, connections, RUNWAY, threads=threads)
    except RuntimeError as exc:
        text = str(exc)
        if "Non-2xx" in text or not re.search(r"Socket errors: connect 0, read 0, write 0, timeout \d+", text):
            raise
        timeouts = re.search(r"timeout (\d+)", text).group(1)
        print(f"  (wrk: {timeouts} requests over 2 s in a round of {url})")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--polls", type=int, default=5000, help="sequential polls for the commands-per-poll count")
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs stored for the memory-per-job figure")
    parser.add_argument("--seeders", type=int, default=os.cpu_count() or 1,
                        help="processes creating those jobs at once, each running the server's app in process")
    parser.add_argument("--creates", type=int, default=200, help="sequential creates for the round-trips count")
    parser.add_argument("--redis-url", help="a Redis to use (default: start a redis-server of its own); "
                                            "it should be empty: the bench reads its INFO")
    parser.add_argument("--quick", action="store_true", help="no warm-up, 1 s rounds, 200 polls, 20 creates, 100 "
                                                             "jobs; the Redis process polled through the round-trip "
                                                             "counter")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.connections, args.polls, args.creates, args.jobs = 1, 1, 16, 200, 20, 100
        args.seeders = 1

    with contextlib.ExitStack() as stack:
        url = args.redis_url or stack.enter_context(redis_server())
        client = redis.Redis.from_url(url)
        stack.callback(client.close)
        counter = RoundTripCounter(url)
        ports = {"memory, 1 process": free_port(), "redis, 1 process": free_port(), "redis, --workers 2": free_port(),
                 COUNTED: free_port()}
        extra = {"memory, 1 process": [], "redis, 1 process": ["--state", url],
                 "redis, --workers 2": ["--state", url, "--workers", "2"], COUNTED: ["--state", counter.url]}
        if args.quick:  # one server fewer to start: the Redis process talks through the counter
            del ports[COUNTED]
            extra["redis, 1 process"] = extra.pop(COUNTED)
        profile = scratch_dir() / "bench-replicas.yaml"
        profile.write_text(LONG_JOBS)
        targets = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        servers = stack.enter_context(contextlib.ExitStack())
        for name, port in ports.items():
            servers.enter_context(started(mockprovider(port, "--profile", str(profile), "--log-level", "warning",
                                                       *extra[name])))
        for name, base in targets.items():
            wait_for_workers(base, 2 if "workers" in name else 1)
        polls = {name: running_task(base) for name, base in targets.items()}
        counted = polls.pop(COUNTED) if COUNTED in polls else polls["redis, 1 process"]
        counted_base = targets.pop(COUNTED, targets["redis, 1 process"])
        rates: dict[str, list[float]] = {name: [] for name in polls}
        for poll in polls.values() if not args.quick else ():  # warm up (--quick: a smoke run, figures unread)
            poll_rate(poll, 1, args.connections, args.threads)
        for _ in range(args.rounds):
            for name, poll in polls.items():
                rates[name].append(poll_rate(poll, args.seconds, args.connections, args.threads))
        print(f"status polls per second (Runway GET /v1/tasks/{{id}}, RUNNING; wrk -t{args.threads} "
              f"-c{args.connections}, {args.seconds} s x {args.rounds} rounds)")
        reference = statistics.median(rates["memory, 1 process"])
        for name, got in rates.items():
            median = statistics.median(got)
            print(f"  {name:<22} {median:9.0f} polls/s  {median / reference:5.2f} of memory  "
                  f"(rounds: {rounds_text(got)})")

        got = per_poll(client, counter, counted, args.polls)
        print(f"Redis round trips per poll of an unchanged job: {got['trips']:.2f}  (target <= 1), commands per poll "
              f"{got['commands']:.2f}  ({args.polls} polls: {got['during_trips']} round trips, commands "
              f"{dict(sorted(got['during'].items()))}; as long without polls: {got['idle_trips']} round trips, "
              f"{dict(sorted(got['idle'].items()))})")

        trips, rate = per_create(counter, counted_base, args.creates)
        print(f"Redis round trips per create (Runway image_to_video, sequential): {trips:.1f}  "
              f"({args.creates} creates, {rate:.0f}/s)")

        servers.close()  # the cores go to the processes that create the jobs
        per_job, keys, created, took = memory_per_job(client, url, str(profile), args.jobs, args.seeders)
        print(f"Redis memory per job: {per_job:.0f} bytes, {keys:.2f} keys  ({created} Runway tasks created in "
              f"{took:.1f} s, {created / took:.0f}/s by {args.seeders} processes running the server's app in "
              f"process; used_memory {client.info('memory')['used_memory_human']})")


if __name__ == "__main__":
    main()
