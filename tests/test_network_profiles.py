"""Profiles drive the network: the ``network:`` section of the active profile configures the chaos proxy
embedded in ``mockprovider serve`` (or a real Toxiproxy at a URL), and switching profiles reconfigures it."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from toxiproxy import Toxiproxy

from mockprovider.testing import MockServer, free_port


def toxiproxy_client(port: int) -> Toxiproxy:
    client = Toxiproxy()
    client.update_api_consumer("127.0.0.1", port)
    return client


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def network(provider_listen: int, db_listen: int, upstream: int, db_upstream: int, latency_ms: int) -> dict:
    return {"proxies": [
        {"name": "provider", "listen": f"127.0.0.1:{provider_listen}", "upstream": f"127.0.0.1:{upstream}",
         "toxics": [{"name": "slow", "type": "latency", "stream": "downstream",
                     "attributes": {"latency": latency_ms}}]},
        {"name": "db", "listen": f"127.0.0.1:{db_listen}", "upstream": f"127.0.0.1:{db_upstream}"},
    ]}


@pytest.fixture
def echo_server():
    """A TCP echo server standing in for a database."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = False

    def serve() -> None:
        while not stop:
            try:
                conn, _ = listener.accept()
            except OSError:
                return

            def echo(c: socket.socket) -> None:
                with c:
                    while data := c.recv(65536):
                        c.sendall(data)

            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield port
    stop = True
    listener.close()


def timed_health(port: int) -> float:
    start = time.perf_counter()
    assert httpx.get(f"http://127.0.0.1:{port}/__mock/health", timeout=5).status_code == 200
    return time.perf_counter() - start


def test_profiles_configure_the_embedded_proxy_and_keep_untouched_connections(echo_server):
    api_port, provider_port, db_port = free_port(), free_port(), free_port()
    with MockServer(profile="happy", extra={"proxy": True, "proxy_port": api_port}) as server:
        slow = network(provider_port, db_port, server.settings.port, echo_server, 300)
        fast = network(provider_port, db_port, server.settings.port, echo_server, 0)
        assert server.admin("PUT", "/profile", {"name": "slow-net", "profile": {"network": slow}}).status_code == 200
        client = toxiproxy_client(api_port)
        wait_for(lambda: "provider" in client.proxies())
        toxics = client.get_proxy("provider").toxics()
        assert toxics["slow"].attributes["latency"] == 300
        assert timed_health(provider_port) >= 0.3

        db = socket.create_connection(("127.0.0.1", db_port))
        db.sendall(b"before")
        assert db.recv(100) == b"before"

        reply = server.admin("PUT", "/profile", {"name": "fast-net", "profile": {"network": fast}, "ttl": "1s"})
        assert reply.status_code == 200
        wait_for(lambda: client.get_proxy("provider").toxics()["slow"].attributes["latency"] == 0)
        assert timed_health(provider_port) < 0.25
        db.sendall(b"after")  # the db proxy did not change: its connection survived the switch
        assert db.recv(100) == b"after"

        # After the TTL the previous profile returns, with its network, without any request in between.
        wait_for(lambda: client.get_proxy("provider").toxics()["slow"].attributes["latency"] == 300)
        db.sendall(b"again")
        assert db.recv(100) == b"again"
        db.close()

        server.admin("PUT", "/profile", {"name": "happy"})
        wait_for(lambda: not client.proxies())


def test_a_broken_network_section_is_rejected_and_nothing_changes():
    api_port = free_port()
    with MockServer(profile="happy", extra={"proxy": True, "proxy_port": api_port}) as server:
        bad = {"proxies": [{"name": "x", "upstream": "127.0.0.1:1",
                            "toxics": [{"type": "bandwidth", "attributes": {"rate": -5}}]}]}
        reply = server.admin("PUT", "/profile", {"profile": {"network": bad}})
        assert reply.status_code == 400
        assert "network" in reply.json()["error"]
        assert server.admin("GET", "/profile").json()["name"] == "happy"
        assert toxiproxy_client(api_port).proxies() == {}


def test_network_sections_can_drive_a_separate_toxiproxy_server():
    api_port, listen = free_port(), free_port()
    toxi = subprocess.Popen([sys.executable, "-m", "mockprovider.proxy", "--port", str(api_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = toxiproxy_client(api_port)
        wait_for(lambda: _running(client), timeout=20)
        with MockServer(profile="happy", extra={"toxiproxy_url": f"http://127.0.0.1:{api_port}"}) as server:
            section = {"proxies": [{"name": "provider", "listen": f"127.0.0.1:{listen}",
                                    "upstream": f"127.0.0.1:{server.settings.port}",
                                    "toxics": [{"name": "lag", "type": "latency", "attributes": {"latency": 50}}]}]}
            server.admin("PUT", "/profile", {"profile": {"network": section}})
            wait_for(lambda: "provider" in client.proxies() and "lag" in client.get_proxy("provider").toxics())
            assert client.get_proxy("provider").toxics()["lag"].attributes["latency"] == 50
            assert timed_health(listen) >= 0.05
    finally:
        toxi.terminate()
        toxi.wait(10)


def _running(client: Toxiproxy) -> bool:
    try:
        return client.running()
    except Exception:
        return False


def test_a_toxiproxy_that_starts_later_still_gets_the_section():
    api_port, listen = free_port(), free_port()
    with MockServer(profile="happy", extra={"toxiproxy_url": f"http://127.0.0.1:{api_port}"}) as server:
        section = {"proxies": [{"name": "late", "listen": f"127.0.0.1:{listen}",
                                "upstream": f"127.0.0.1:{server.settings.port}"}]}
        server.admin("PUT", "/profile", {"profile": {"network": section}})  # nothing listens there yet
        time.sleep(0.3)
        toxi = subprocess.Popen([sys.executable, "-m", "mockprovider.proxy", "--port", str(api_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client = toxiproxy_client(api_port)
            wait_for(lambda: _running(client), timeout=20)
            wait_for(lambda: "late" in client.proxies(), timeout=20)
            assert timed_health(listen) < 5
        finally:
            toxi.terminate()
            toxi.wait(10)
