"""Each toxic's behaviour as Toxiproxy's own test suite asserts it, measured on real sockets."""

from __future__ import annotations

import itertools
import random
import socket
import threading
import time

import pytest
from mockprovider.proxy.toxics import slice_offsets
from test_proxy_support import Running, TcpServer, connect, recv_all, recv_exact, round_trip


class Sink:
    """Records everything received on each connection, and when the last byte and the EOF came."""

    def __init__(self) -> None:
        self.data: list[bytearray] = []
        self.done = threading.Event()
        self.last = 0.0
        self.server = TcpServer(self._handle)

    def _handle(self, conn: socket.socket) -> None:
        buf = bytearray()
        self.data.append(buf)
        while True:
            try:
                part = conn.recv(65536)
            except OSError:
                part = b""
            if not part:
                self.done.set()
                return
            buf += part
            self.last = time.perf_counter()


@pytest.mark.parametrize(
    ("up", "up_jitter", "down", "down_jitter"),
    [(0, 0, 0, 0), (100, 0, 0, 0), (0, 0, 100, 0), (50, 20, 50, 20), (100, 100, 0, 0)],
)
def test_latency_round_trip(tp: Running, echo_server: TcpServer, up, up_jitter, down, down_jitter) -> None:
    host, port = tp.make("lat", echo_server.address)
    tp.toxic("lat", type="latency", stream="upstream", attributes={"latency": up, "jitter": up_jitter})
    tp.toxic("lat", type="latency", stream="downstream", attributes={"latency": down, "jitter": down_jitter})
    with connect(host, port) as s:
        for _ in range(3):
            rtt = round_trip(s) * 1000
            assert abs(rtt - (up + down)) <= up_jitter + down_jitter + 20, rtt


def test_chained_latency_adds_up(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("lat", echo_server.address)
    tp.toxic("lat", type="latency", name="a", stream="upstream", attributes={"latency": 500})
    tp.toxic("lat", type="latency", name="b", stream="upstream", attributes={"latency": 500})
    with connect(host, port) as s:
        assert abs(round_trip(s) * 1000 - 1000) <= 10


def test_latency_does_not_limit_throughput(tp: Running, echo_server: TcpServer) -> None:
    sink = Sink()
    host, port = tp.make("lat", sink.server.address)
    tp.toxic("lat", type="latency", stream="upstream", attributes={"latency": 100})
    payload = random.randbytes(1_200_000)
    with connect(host, port) as s:
        s.sendall(payload)
        time.sleep(0.3)
    assert sink.done.wait(3)
    assert bytes(sink.data[0]) == payload


def test_latency_added_and_removed_live(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("lat", echo_server.address)
    with connect(host, port) as s:
        assert round_trip(s) < 0.02
        tp.toxic("lat", type="latency", attributes={"latency": 100})
        assert 0.09 <= round_trip(s) <= 0.13
        assert tp.api("DELETE", "/proxies/lat/toxics/latency_downstream").status_code == 204
        assert round_trip(s) < 0.02


def test_latency_distribution_mixture_is_seeded(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("lat", echo_server.address)
    # draws far apart (0 or 150 ms, told apart at 75 ms): a loaded machine's scheduling delay cannot turn one
    # into the other
    mixture = {"mixture": [{"weight": 0.5, "value": "0ms"}, {"weight": 0.5, "value": "150ms"}]}
    body = tp.toxic("lat", type="latency", attributes={"distribution": mixture})
    assert body["attributes"]["distribution"] == mixture

    def sample() -> list[bool]:
        with connect(host, port) as s:
            return [round_trip(s) > 0.075 for _ in range(12)]

    first = sample()
    assert any(first) and not all(first)
    tp.api("DELETE", "/proxies/lat")
    host, port = tp.make("lat", echo_server.address)
    tp.toxic("lat", type="latency", attributes={"distribution": mixture})
    assert sample() == first  # same seed, same proxy name, same connection number: same draws


def test_bandwidth_rate(tp: Running) -> None:
    sink = Sink()
    host, port = tp.make("bw", sink.server.address)
    tp.toxic("bw", type="bandwidth", stream="upstream", attributes={"rate": 1000})
    with connect(host, port) as s:
        start = time.perf_counter()
        s.sendall(b"x" * 480_000)
        assert sink.done.wait(0.01) is False
        while sum(map(len, sink.data)) < 480_000:
            time.sleep(0.001)
        elapsed = (sink.last - start) * 1000
    # never faster than the rate allows; slower only by what a loaded machine's scheduling adds
    assert 470 <= elapsed <= 530, elapsed


def test_bandwidth_zero_stops_data(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("bw", echo_server.address)
    tp.toxic("bw", type="bandwidth", attributes={"rate": 0})
    with connect(host, port, timeout=0.3) as s:
        s.sendall(b"hello")
        with pytest.raises(TimeoutError):
            s.recv(10)
        tp.api("DELETE", "/proxies/bw/toxics/bandwidth_downstream")
        s.settimeout(2)
        assert recv_exact(s, 5) == b"hello"  # held data is kept when the toxic goes


def test_timeout_closes_after_idle(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("to", echo_server.address)
    tp.toxic("to", type="timeout", stream="upstream", attributes={"timeout": 100})
    with connect(host, port) as s:
        start = time.perf_counter()
        s.sendall(b"dropped")
        assert s.recv(10) == b""
        assert 0.09 <= time.perf_counter() - start <= 0.2


def test_timeout_zero_stalls_and_removal_closes(tp: Running) -> None:
    sink = Sink()
    host, port = tp.make("to", sink.server.address)
    tp.toxic("to", type="timeout", stream="upstream", attributes={"timeout": 0})
    with connect(host, port, timeout=0.3) as s:
        s.sendall(b"dropped")
        with pytest.raises(TimeoutError):
            s.recv(10)
        start = time.perf_counter()
        tp.api("DELETE", "/proxies/to/toxics/timeout_upstream")
        s.settimeout(1)
        assert s.recv(10) == b""
        assert sink.done.wait(1)
        assert time.perf_counter() - start < 1
    assert bytes(sink.data[0]) == b""


def test_timeout_behind_latency_removal_does_not_hang(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("to", echo_server.address)
    tp.toxic("to", type="latency", name="lat", stream="upstream", attributes={"latency": 50})
    tp.toxic("to", type="timeout", name="to0", stream="upstream", attributes={"timeout": 0})
    with connect(host, port) as s:
        s.sendall(b"x" * 1000)
        start = time.perf_counter()
        assert tp.api("DELETE", "/proxies/to/toxics/lat").status_code == 204
        assert time.perf_counter() - start < 1


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
@pytest.mark.parametrize("delay", [0, 100])
def test_reset_peer(tp: Running, echo_server: TcpServer, stream: str, delay: int) -> None:
    host, port = tp.make("rp", echo_server.address)
    tp.toxic("rp", type="reset_peer", stream=stream, attributes={"timeout": delay})
    with connect(host, port) as s:
        start = time.perf_counter()
        s.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            s.recv(10)
        assert s.recv(10) == b""
        assert abs((time.perf_counter() - start) * 1000 - delay) <= 110


@pytest.mark.parametrize(
    ("limit", "writes", "expected"),
    [(100, [90, 20], 100), (100, [100], 100), (100, [150], 100), (100, [25, 25, 25, 25], 100), (0, [10], 0),
     (10, [16], 10)],
)
def test_limit_data(tp: Running, limit: int, writes: list[int], expected: int) -> None:
    sink = Sink()
    host, port = tp.make("ld", sink.server.address)
    tp.toxic("ld", type="limit_data", stream="upstream", attributes={"bytes": limit})
    payload = bytes(i % 251 for i in range(sum(writes)))
    with connect(host, port) as s:
        pos = 0
        for n in writes:
            s.sendall(payload[pos : pos + n])
            pos += n
            time.sleep(0.02)
        assert recv_all(s) == b""  # the link closed after the limit
    assert sink.done.wait(2)
    assert bytes(sink.data[0]) == payload[:expected]


def test_limit_data_count_survives_update(tp: Running) -> None:
    sink = Sink()
    host, port = tp.make("ld", sink.server.address)
    tp.toxic("ld", type="limit_data", stream="upstream", attributes={"bytes": 100})
    with connect(host, port) as s:
        s.sendall(b"a" * 60)
        time.sleep(0.05)
        tp.api("PATCH", "/proxies/ld/toxics/limit_data_upstream", {"attributes": {"bytes": 80}})
        s.sendall(b"b" * 60)
        assert recv_all(s) == b""
    assert sink.done.wait(2)
    assert bytes(sink.data[0]) == b"a" * 60 + b"b" * 20


def test_slicer_pieces_and_timing(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("sl", echo_server.address)
    tp.toxic("sl", type="slicer", attributes={"average_size": 5, "size_variation": 0, "delay": 20000})
    with connect(host, port) as s:
        s.sendall(b"0123456789abcdefghij")
        pieces, times = [], []
        while sum(map(len, pieces)) < 20:
            pieces.append(s.recv(100))
            times.append(time.perf_counter())
    assert pieces == [b"01234", b"56789", b"abcde", b"fghij"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(0.015 <= g <= 0.035 for g in gaps), gaps


def test_slicer_offsets_like_toxiproxy() -> None:
    rng = random.Random(7)
    cuts = slice_offsets(24, 1, 0, rng)
    assert len(cuts) - 1 == 24
    cuts = slice_offsets(480_000, 1024, 512, rng)
    assert 240 <= len(cuts) - 1 <= 720
    assert cuts[0] == 0 and cuts[-1] == 480_000 and cuts == sorted(cuts)


def test_slicer_reassembles_byte_exact(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("sl", echo_server.address)
    tp.toxic("sl", type="slicer", stream="upstream",
             attributes={"average_size": 1024, "size_variation": 512, "delay": 0})
    payload = random.randbytes(480_000)
    with connect(host, port) as s:
        threading.Thread(target=s.sendall, args=(payload,), daemon=True).start()
        assert recv_exact(s, len(payload)) == payload


def test_slow_close_delays_eof(tp: Running) -> None:
    server = TcpServer(lambda c: c.close())
    host, port = tp.make("sc", server.address)
    tp.toxic("sc", type="slow_close", attributes={"delay": 200})
    with connect(host, port) as s:
        start = time.perf_counter()
        assert s.recv(10) == b""
        assert 0.195 <= time.perf_counter() - start <= 0.3
    server.close()


def test_toxicity_zero_is_noop_and_half_is_per_connection(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("tx", echo_server.address)
    tp.toxic("tx", type="latency", toxicity=0, attributes={"latency": 200})
    with connect(host, port) as s:
        assert round_trip(s) < 0.05
    tp.api("PATCH", "/proxies/tx/toxics/latency_downstream", {"toxicity": 0.5, "attributes": {"latency": 40}})
    kinds = []
    for _ in range(20):
        with connect(host, port) as s:
            slow = [round_trip(s) > 0.03 for _ in range(2)]
            assert slow[0] == slow[1]  # drawn per connection, not per chunk
            kinds.append(slow[0])
    assert any(kinds) and not all(kinds)


def test_toxicity_update_to_one_with_timeout(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("tx", echo_server.address)
    tp.toxic("tx", type="timeout", toxicity=0, attributes={"timeout": 100})
    with connect(host, port) as s:
        round_trip(s)
        tp.api("PATCH", "/proxies/tx/toxics/timeout_downstream", {"toxicity": 1})
        start = time.perf_counter()
        s.sendall(b"x")
        assert s.recv(10) == b""
        assert time.perf_counter() - start < 0.15


def test_no_data_dropped_while_toxics_change(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("nd", echo_server.address)
    payload = b"".join(i.to_bytes(2, "big") for i in range(65535)) * 4
    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set():
            stream = "upstream" if i % 2 else "downstream"
            kind = ["noop", "latency", "slicer"][i % 3]
            attrs = {"average_size": 4096} if kind == "slicer" else {}
            tp.toxic("nd", type=kind, name=f"t{i}", stream=stream, attributes=attrs)
            if i >= 2:
                tp.api("DELETE", f"/proxies/nd/toxics/t{i - 2}")
            i += 1

    with connect(host, port, timeout=10) as s:
        worker = threading.Thread(target=churn, daemon=True)
        worker.start()
        sender = threading.Thread(target=s.sendall, args=(payload,), daemon=True)
        sender.start()
        got = recv_exact(s, len(payload))
        stop.set()
        worker.join(5)
    assert got == payload


def test_round_trips_while_noop_toggles(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("nt", echo_server.address)
    with connect(host, port) as s:
        for i in range(100):
            if i % 10 == 0:
                tp.toxic("nt", type="noop", name=f"n{i}")
            if i % 10 == 5:
                tp.api("DELETE", f"/proxies/nt/toxics/n{i - 5}")
            if i == 50:
                tp.api("POST", "/reset")
            round_trip(s, f"msg{i}".encode())
