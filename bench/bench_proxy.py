"""Chaos proxy benchmark: throughput (1 and 50 streams) and added round-trip latency, no toxics,
each against a direct connection in the same run.

    python bench/bench_proxy.py [--mb 2000] [--streams 50] [--rtts 5000]

The proxy runs in its own process (``python -m mockprovider.proxy``, uvloop); the sink and echo
servers run in another; this process drives the load. Everything is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

CHUNK = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ servers (child process)
def serve(sink_port: int, echo_port: int) -> None:
    def sink(conn: socket.socket) -> None:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        header = conn.recv(8, socket.MSG_WAITALL)
        want = int.from_bytes(header, "big")
        got = 0
        while got < want:
            n = conn.recv_into(view)
            if not n:
                break
            got += n
        conn.sendall(b"k")
        conn.close()

    def echo(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)

    def accept(port: int, handler) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(512)
        while True:
            conn, _ = s.accept()
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, args=(echo_port, echo), daemon=True).start()
    accept(sink_port, sink)


# ------------------------------------------------------------------ load
def throughput(port: int, total: int, streams: int) -> float:
    """MB/s (10^6 bytes) to push ``total`` bytes over ``streams`` connections to the sink."""
    per = total // streams
    payload = memoryview(bytes(CHUNK))
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(streams)]
    barrier = threading.Barrier(streams + 1)

    def push(s: socket.socket) -> None:
        barrier.wait()
        s.sendall(per.to_bytes(8, "big"))
        left = per
        while left > 0:
            n = min(left, CHUNK)
            s.sendall(payload[:n])
            left -= n
        assert s.recv(1) == b"k"
        s.close()

    threads = [threading.Thread(target=push, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return per * streams / (time.perf_counter() - start) / 1e6


def round_trips(port: int, n: int) -> list[float]:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = b"x" * 64
    out = []
    for _ in range(200):  # warm up
        s.sendall(msg)
        s.recv(64)
    for _ in range(n):
        t0 = time.perf_counter()
        s.sendall(msg)
        got = 0
        while got < 64:
            got += len(s.recv(64))
        out.append(time.perf_counter() - t0)
    s.close()
    return out


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(p * len(values)))]


def api(port: int, body: dict) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/proxies", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=2000, help="megabytes per throughput run")
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--rtts", type=int, default=5000)
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    sink_port, echo_port, api_port = free_port(), free_port(), free_port()
    servers = subprocess.Popen([sys.executable, __file__, "--serve", str(sink_port), str(echo_port)])
    proxy = subprocess.Popen([sys.executable, "-m", "mockprovider.proxy", "--port", str(api_port),
                              "--seed", "1", "--log-level", "warning"])
    try:
        for _ in range(200):
            try:
                sink = api(api_port, {"name": "sink", "upstream": f"127.0.0.1:{sink_port}", "listen": "127.0.0.1:0"})
                break
            except OSError:
                time.sleep(0.05)
        echo = api(api_port, {"name": "echo", "upstream": f"127.0.0.1:{echo_port}", "listen": "127.0.0.1:0"})
        p_sink = int(sink["listen"].rsplit(":", 1)[1])
        p_echo = int(echo["listen"].rsplit(":", 1)[1])
        total = args.mb * 1_000_000
        print(f"cpus={os.cpu_count()} python={sys.version.split()[0]} bytes/run={total:,}")
        for streams in (1, args.streams):
            direct = throughput(sink_port, total, streams)
            proxied = throughput(p_sink, total, streams)
            print(f"throughput {streams:>2} stream(s): direct {direct:8.0f} MB/s   proxy {proxied:8.0f} MB/s"
                  f"   ({proxied / direct:.0%} of direct)")
        direct = round_trips(echo_port, args.rtts)
        proxied = round_trips(p_echo, args.rtts)
        d50, d99, p50, p99 = (pct(direct, 0.5), pct(direct, 0.99), pct(proxied, 0.5), pct(proxied, 0.99))
        print(f"round trip 64 B: direct p50 {d50 * 1e6:6.0f} us p99 {d99 * 1e6:6.0f} us | "
              f"proxy p50 {p50 * 1e6:6.0f} us p99 {p99 * 1e6:6.0f} us | "
              f"added p50 {(p50 - d50) * 1e6:5.0f} us p99 {(p99 - d99) * 1e6:5.0f} us "
              f"(mean added {(statistics.mean(proxied) - statistics.mean(direct)) * 1e6:.0f} us)")
    finally:
        proxy.terminate()
        servers.terminate()
        proxy.wait(5)
        servers.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
