"""Relaying: concurrency, disable/enable, upstream down, updates that keep connections, profiles."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time

import pytest
from mockprovider.proxy.profile import NetworkSection, apply_to_toxiproxy, parse_network
from test_proxy_support import Running, TcpServer, connect, recv_exact, round_trip


def test_bytes_pass_intact(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("e", echo_server.address)
    with connect(host, port) as s:
        assert round_trip(s, b"hello world") < 1
        big = bytes(range(256)).hex().encode() * 128  # 64 KiB of hex
        s.sendall(big)
        assert recv_exact(s, len(big)) == big
        s.sendall(b"two-")
        s.sendall(b"part")
        assert recv_exact(s, 8) == b"two-part"


def test_500_concurrent_connections(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("many", echo_server.address)
    socks = [connect(host, port, timeout=10) for _ in range(500)]
    try:
        for i, s in enumerate(socks):
            s.sendall(f"conn-{i:04d}-".encode() * 50)
        for i, s in enumerate(socks):
            assert recv_exact(s, 500) == f"conn-{i:04d}-".encode() * 50
    finally:
        for s in socks:
            s.close()


def test_disable_closes_and_refuses(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("d", echo_server.address)
    s = connect(host, port)
    round_trip(s)
    tp.api("PATCH", "/proxies/d", {"enabled": False})
    assert s.recv(10) == b""
    s.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=1)
    tp.api("PATCH", "/proxies/d", {"enabled": True})
    with connect(host, port) as s2:
        round_trip(s2)


def test_upstream_down_gives_eof_quickly(tp: Running) -> None:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{dead.getsockname()[1]}"
    dead.close()
    host, port = tp.make("down", address)
    with connect(host, port) as s:
        start = time.perf_counter()
        assert s.recv(10) == b""
        assert time.perf_counter() - start < 0.5


def test_update_to_same_resolved_address_keeps_connections(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("u", echo_server.address)
    with connect(host, port) as s:
        round_trip(s)
        r = tp.api("PATCH", "/proxies/u", {"listen": f"localhost:{port}"})
        assert r.json()["listen"] == f"127.0.0.1:{port}"
        round_trip(s)


def section(*proxies: dict) -> NetworkSection:
    return parse_network({"proxies": list(proxies)})


def test_network_controller_diff_keeps_untouched_connections(chaos: Running, echo_server: TcpServer) -> None:
    chaos.clear()
    controller = chaos.proxy.controller
    first = section(
        {"name": "keep", "upstream": echo_server.address, "toxics": [{"type": "noop"}]},
        {"name": "change", "upstream": echo_server.address},
        {"name": "drop", "upstream": echo_server.address},
    )
    chaos.run(controller.apply(first))
    proxies = chaos.api("GET", "/proxies").json()
    assert set(proxies) == {"keep", "change", "drop"}
    keep = connect(*proxies["keep"]["listen"].rsplit(":", 1))
    change = connect(*proxies["change"]["listen"].rsplit(":", 1))
    round_trip(keep)
    round_trip(change)
    second = section(
        {"name": "keep", "upstream": echo_server.address, "toxics": [{"type": "noop"}]},
        {"name": "change", "upstream": echo_server.address,
         "toxics": [{"type": "latency", "attributes": {"latency": 60}}]},
        {"name": "new", "upstream": echo_server.address, "enabled": False},
    )
    chaos.run(controller.apply(second))
    proxies = chaos.api("GET", "/proxies").json()
    assert set(proxies) == {"keep", "change", "new"} and proxies["new"]["enabled"] is False
    assert round_trip(keep) < 0.03  # untouched: same connection still works
    assert round_trip(change) >= 0.055  # toxic added live, connection kept
    chaos.run(controller.apply(None))
    assert chaos.api("GET", "/proxies").json() == {}
    assert keep.recv(10) == b""
    keep.close()
    change.close()


def test_network_section_errors_are_readable() -> None:
    with pytest.raises(ValueError, match=r"network\.proxies\.0\.upstream: Field required"):
        parse_network({"proxies": [{"name": "a"}]})
    with pytest.raises(ValueError, match="bandwidth rate cannot be negative"):
        parse_network({"proxies": [{"name": "a", "upstream": "x:1",
                                    "toxics": [{"type": "bandwidth", "attributes": {"rate": -1}}]}]})
    with pytest.raises(ValueError, match="latency has no attribute 'rate'"):
        parse_network({"proxies": [{"name": "a", "upstream": "x:1",
                                    "toxics": [{"type": "latency", "attributes": {"rate": 1}}]}]})
    with pytest.raises(ValueError, match="defined twice"):
        parse_network({"proxies": [{"name": "a", "upstream": "x:1"}, {"name": "a", "upstream": "y:1"}]})
    with pytest.raises(ValueError, match="exactly one of status, latency or reset_after_bytes"):
        parse_network({"proxies": {"a": {"upstream": "x:1", "http": [{"probability": 0.5}]}}})
    ok = parse_network({"proxies": {"a": {"upstream": "x:1", "http": True}}})
    assert ok.proxies[0].name == "a" and ok.proxies[0].http is not None


def test_apply_to_toxiproxy_with_python_client(tp: Running, echo_server: TcpServer) -> None:
    sec = section({"name": "pg", "upstream": echo_server.address, "toxics": [
        {"type": "latency", "stream": "upstream", "attributes": {"latency": 10}},
        {"type": "latency", "name": "users", "attributes": {"distribution": {"p50": "5ms", "p99": "50ms"}}},
    ]})
    warnings = apply_to_toxiproxy(sec, tp.url)
    assert warnings == []  # mockprovider's own proxy applies distributions and HTTP rules: nothing to warn of
    body = tp.api("GET", "/proxies/pg").json()
    assert [t["name"] for t in body["toxics"]] == ["latency_upstream", "users"]
    # our proxy takes what a real Toxiproxy would ignore: the distribution, and HTTP rules
    assert body["toxics"][1]["attributes"]["distribution"]
    apply_to_toxiproxy(sec, tp.url)  # idempotent: same proxy, toxics replaced
    assert tp.api("GET", "/proxies/pg").json()["listen"] == body["listen"]
    with_rules = section({"name": "pg", "upstream": echo_server.address,
                          "http": [{"path_prefix": "/", "probability": 1.0, "status": 503}]})
    assert apply_to_toxiproxy(with_rules, tp.url) == []
    assert tp.api("GET", "/proxies/pg").json()["http"]["rules"][0]["status"] == 503
    apply_to_toxiproxy(sec, tp.url)  # and a section without rules clears them
    assert "http" not in tp.api("GET", "/proxies/pg").json()


def test_cli_main_loads_config(tmp_path) -> None:
    config = tmp_path / "toxiproxy.json"
    config.write_text(json.dumps([
        {"name": "on", "listen": "127.0.0.1:0", "upstream": "x:1"},
        {"name": "off", "listen": "127.0.0.1:0", "upstream": "x:1", "enabled": False},
    ]))
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc = subprocess.Popen([sys.executable, "-m", "mockprovider.proxy", "--port", str(port),
                             "-config", str(config), "--seed", "1"])
    try:
        import requests

        for _ in range(100):
            try:
                body = requests.get(f"http://127.0.0.1:{port}/proxies", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert body["on"]["enabled"] is True and not body["on"]["listen"].endswith(":0")
        assert body["off"] == {"name": "off", "listen": "127.0.0.1:0", "upstream": "x:1", "enabled": False,
                               "Logger": {}, "toxics": []}
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def test_rewire_many_connections_concurrently(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("rw", echo_server.address)
    socks = [connect(host, port) for _ in range(50)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def talk(s: socket.socket) -> None:
        try:
            while not stop.is_set():
                round_trip(s, b"abc" * 100)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(s,), daemon=True) for s in socks]
    for t in threads:
        t.start()
    for i in range(10):
        tp.toxic("rw", type="latency", name=f"l{i}", stream="upstream", attributes={"latency": 1})
        tp.api("DELETE", f"/proxies/rw/toxics/l{i}")
    stop.set()
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    for s in socks:
        s.close()
    assert errors == []


def test_a_driven_section_is_undone_exactly(tp: Running, echo_server: TcpServer) -> None:
    """The next section (or none) takes away what the previous one added, and leaves hand-made proxies and
    toxics alone, through the Toxiproxy API as through the embedded proxy."""
    from mockprovider.proxy.profile import ToxiproxyDriver

    tp.make("mine", echo_server.address)
    tp.toxic("mine", name="my_own", type="latency", attributes={"latency": 1})
    driver = ToxiproxyDriver(tp.url)
    driver.apply(section(
        {"name": "pg", "upstream": echo_server.address, "http": [{"probability": 1.0, "status": 503}],
         "toxics": [{"type": "latency", "attributes": {"latency": 10}}]},
        {"name": "mine", "upstream": echo_server.address, "toxics": [{"type": "timeout", "name": "cut"}]}))
    assert {t["name"] for t in tp.api("GET", "/proxies/mine").json()["toxics"]} == {"my_own", "cut"}
    driver.apply(None)
    proxies = tp.api("GET", "/proxies").json()
    assert "pg" not in proxies, "a proxy the section created goes with it"
    assert [t["name"] for t in proxies["mine"]["toxics"]] == ["my_own"], "only the section's toxic goes"


def test_the_embedded_proxy_gives_a_hand_made_proxy_back(echo_server: TcpServer) -> None:
    from mockprovider.proxy.app import ChaosProxy

    async def run() -> None:
        proxy = ChaosProxy(seed=1)
        await proxy.start("127.0.0.1", 0)
        try:
            c = proxy.collection
            await c.create({"name": "mine", "listen": "127.0.0.1:0", "upstream": echo_server.address})
            await c.add_toxic("mine", {"name": "my_own", "type": "latency", "attributes": {"latency": 1}})
            await proxy.apply(section({"name": "mine", "upstream": "127.0.0.1:9", "toxics": [
                {"type": "timeout", "name": "cut"}]}))
            assert c.get("mine").upstream == "127.0.0.1:9"
            await proxy.apply(None)
            assert "mine" in c.proxies, "the user's proxy survives the section"
            assert c.get("mine").upstream == echo_server.address
            assert [t.name for t in c.get("mine").all_toxics()] == ["my_own"]
        finally:
            await proxy.stop()

    asyncio.run(run())
