"""The REST API against Toxiproxy 2.12's statuses, bodies and messages, and toxiproxy-python."""

from __future__ import annotations

import socket

import pytest
from test_proxy_support import Running, TcpServer
from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists


def client(chaos: Running) -> Toxiproxy:
    t = Toxiproxy()
    t.update_api_consumer("127.0.0.1", chaos.port)
    return t


def test_toxiproxy_python_walkthrough(tp: Running, echo_server: TcpServer) -> None:
    t = client(tp)
    assert t.running()
    assert t.version() == b'{"version": "2.12.0"}\n'
    p = t.create(upstream=echo_server.address, name="redis")
    assert p.listen.startswith("127.0.0.1:") and not p.listen.endswith(":0")
    assert set(t.proxies()) == {"redis"}
    assert t.get_proxy("redis").upstream == echo_server.address
    assert t.get_proxy("nope") is None
    with socket.create_connection(tuple_addr(p.listen)) as s:
        s.sendall(b"hi")
        assert s.recv(10) == b"hi"
    p.add_toxic(type="latency", attributes={"latency": 100, "jitter": 10})
    p.add_toxic(type="bandwidth", stream="upstream", attributes={"rate": 1000})
    toxics = p.toxics()
    assert set(toxics) == {"latency_downstream", "bandwidth_upstream"}
    assert toxics["latency_downstream"].attributes == {"latency": 100, "jitter": 10}
    assert p.get_toxic("bandwidth_upstream").stream == "upstream"
    p.disable()
    assert tp.api("GET", "/proxies/redis").json()["enabled"] is False
    p.enable()
    with p.down():
        assert t.get_proxy("redis").enabled is False
    assert t.get_proxy("redis").enabled is True
    assert p.destroy_toxic("bandwidth_upstream")
    assert t.reset()
    assert p.toxics() == {}
    created = t.populate([{"name": "a", "upstream": echo_server.address}, {"name": "redis", "upstream": "x:1"}])
    assert {x.name for x in created} == {"a", "redis"}
    assert t.get_proxy("redis").upstream == "x:1"
    assert t.destroy(t.get_proxy("a"))
    t.destroy_all()
    assert t.proxies() == {}


def test_toxiproxy_python_errors(tp: Running, echo_server: TcpServer) -> None:
    t = client(tp)
    p = t.create(upstream=echo_server.address, name="web")
    with pytest.raises(ProxyExists):
        t.create(upstream=echo_server.address, name="web")
    p.add_toxic(type="latency", name="slow")
    with pytest.raises(ProxyExists, match="toxic already exists"):
        p.add_toxic(type="timeout", name="slow", stream="upstream")
    with pytest.raises(InvalidToxic, match="invalid toxic type"):
        p.add_toxic(type="walrus")
    with pytest.raises(InvalidToxic, match="stream was invalid"):
        p.add_toxic(type="latency", stream="walrustream")
    with pytest.raises(InvalidToxic, match="cannot unmarshal string"):
        p.add_toxic(type="latency", name="x", attributes={"latency": "100"})
    with pytest.raises(InvalidToxic, match="slicer average_size"):
        p.add_toxic(type="slicer", attributes={"average_size": 0})
    with pytest.raises(NotFound, match="toxic not found"):
        p.destroy_toxic("missing")
    with pytest.raises(InvalidToxic, match="missing required field: upstream"):
        t.create(upstream="", name="empty")
    p.destroy()
    with pytest.raises(NotFound, match="proxy not found"):
        p.destroy()


def tuple_addr(listen: str) -> tuple[str, int]:
    host, port = listen.rsplit(":", 1)
    return host, int(port)


def err(r, status: int, message: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.text == f'{{"error":"{message}","status":{status}}}\n'


def test_general_http_behaviour(tp: Running) -> None:
    r = tp.api("GET", "/proxies")
    assert r.status_code == 200 and r.text == "{}" and r.headers["Content-Type"] == "application/json"
    assert len(r.headers["X-Toxiproxy-Request-Id"]) == 20
    r = tp.api("GET", "/proxies", headers={"User-Agent": "Mozilla/5.0"})
    assert r.status_code == 403 and r.text == "User agent not allowed\n"
    assert tp.api("GET", "/proxies", headers={"User-Agent": "Wget/2.1"}).status_code == 200
    r = tp.api("PUT", "/proxies/a")
    assert r.status_code == 405 and r.text == "" and "Content-Type" not in r.headers
    assert tp.api("GET", "/reset").status_code == 405
    r = tp.api("GET", "/proxies/a/")
    assert r.status_code == 404 and r.text == "404 page not found\n"
    r = tp.api("GET", "/version")
    assert r.text == '{"version": "2.12.0"}\n' and r.headers["Content-Type"] == "application/json;charset=utf-8"
    assert tp.api("POST", "/reset", raw=b"whatever").status_code == 204


def test_proxy_errors(tp: Running) -> None:
    err(tp.api("POST", "/proxies", raw=b""), 400, "bad request body: EOF")
    err(tp.api("POST", "/proxies", raw=b"{nope"), 400,
        "bad request body: invalid character 'n' looking for beginning of object key string")
    err(tp.api("POST", "/proxies", raw=b'{"name": "a"'), 400, "bad request body: unexpected EOF")
    err(tp.api("POST", "/proxies", {"upstream": "x:1"}), 400, "missing required field: name")
    err(tp.api("POST", "/proxies", {"name": "a"}), 400, "missing required field: upstream")
    err(tp.api("POST", "/proxies", {"name": "a", "upstream": "x:1", "listen": "nonsense"}), 500,
        "listen tcp: address nonsense: missing port in address")
    tp.make("a", "x:1")
    err(tp.api("POST", "/proxies", {"name": "a", "upstream": "x:1"}), 409, "proxy already exists")
    taken = tp.api("GET", "/proxies/a").json()["listen"]
    err(tp.api("POST", "/proxies", {"name": "b", "upstream": "x:1", "listen": taken}), 500,
        f"listen tcp {taken}: bind: address already in use")
    for method, path in [("GET", "/proxies/zz"), ("DELETE", "/proxies/zz"), ("PATCH", "/proxies/zz"),
                         ("GET", "/proxies/zz/toxics"), ("POST", "/proxies/zz/toxics"),
                         ("GET", "/proxies/zz/toxics/t"), ("DELETE", "/proxies/zz/toxics/t")]:
        err(tp.api(method, path, {}), 404, "proxy not found")
    err(tp.api("GET", "/proxies/a/toxics/t"), 404, "toxic not found")
    err(tp.api("PATCH", "/proxies/a/toxics/t", {}), 404, "toxic not found")
    assert tp.api("DELETE", "/proxies/a").status_code == 204
    err(tp.api("DELETE", "/proxies/a"), 404, "proxy not found")


def test_listen_resolution_and_update(tp: Running) -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    r = tp.api("POST", "/proxies", {"name": "a", "upstream": "x:1", "listen": f"localhost:{port}"})
    assert r.status_code == 201 and r.json()["listen"] == f"127.0.0.1:{port}"
    assert list(r.json()) == ["name", "listen", "upstream", "enabled", "Logger", "toxics"]
    r = tp.api("POST", "/proxies", {"name": "d", "upstream": "x:1", "listen": "localhost:0", "enabled": False})
    assert r.json()["listen"] == "localhost:0" and r.json()["enabled"] is False
    r = tp.api("PATCH", "/proxies/d", {"enabled": True})
    assert r.status_code == 200 and r.json()["listen"].startswith("127.0.0.1:")
    resolved = r.json()["listen"]
    tp.api("POST", "/proxies/d", {"enabled": False})
    assert tp.api("PATCH", "/proxies/d", {"enabled": True}).json()["listen"] == resolved
    r = tp.api("PATCH", "/proxies/d", {"upstream": "y:2", "name": "ignored"})
    assert r.json()["name"] == "d" and r.json()["upstream"] == "y:2" and r.json()["enabled"] is True
    r = tp.api("PATCH", "/proxies/d", {"listen": "127.0.0.1:0"})
    assert r.json()["listen"] != resolved
    err(tp.api("PATCH", "/proxies/d", {"listen": "bad listen"}), 500, "address bad listen: missing port in address")


def test_toxic_create_update_semantics(tp: Running) -> None:
    tp.make("a", "x:1")
    r = tp.api("POST", "/proxies/a/toxics", {"type": "latency", "attributes": {"latency": 100, "jitter": 10}})
    assert r.status_code == 200
    assert r.text == ('{"attributes":{"latency":100,"jitter":10},"name":"latency_downstream",'
                      '"type":"latency","stream":"downstream","toxicity":1}')
    r = tp.api("POST", "/proxies/a/toxics", {"type": "latency", "stream": "UpStream", "toxicity": 0.5})
    assert r.json()["name"] == "latency_UpStream" and r.json()["stream"] == "UpStream"
    assert r.json()["attributes"] == {"latency": 0, "jitter": 0} and r.json()["toxicity"] == 0.5
    assert tp.api("POST", "/proxies/a/toxics", {"type": "noop", "name": "n"}).json()["stream"] == "downstream"
    names = [t["name"] for t in tp.api("GET", "/proxies/a/toxics").json()]
    assert names == ["latency_UpStream", "latency_downstream", "n"]  # upstream first, then downstream
    r = tp.api("PATCH", "/proxies/a/toxics/latency_downstream", {"attributes": {"latency": 300}, "type": "x"})
    assert r.json()["attributes"] == {"latency": 300, "jitter": 10} and r.json()["type"] == "latency"
    r = tp.api("POST", "/proxies/a/toxics/latency_UpStream", {"toxicity": 0.25})
    assert r.json()["toxicity"] == 0.25
    err(tp.api("POST", "/proxies/a/toxics", {"type": "latency", "stream": ""}), 400,
        "stream was invalid, can be either upstream or downstream")
    err(tp.api("POST", "/proxies/a/toxics", {"stream": "upstream"}), 400, "invalid toxic type")
    err(tp.api("POST", "/proxies/a/toxics", {"type": "noop", "name": "n", "stream": "upstream"}), 409,
        "toxic already exists")
    err(tp.api("POST", "/proxies/a/toxics", {"type": "latency", "name": "f", "attributes": {"latency": 1.5}}), 400,
        "bad request body: json: cannot unmarshal number 1.5 into Go struct field "
        "LatencyToxic.attributes.latency of type int64")
    assert tp.api("DELETE", "/proxies/a/toxics/n").status_code == 204
    assert tp.api("GET", "/proxies/a").json()["toxics"][0]["name"] == "latency_UpStream"


def test_rejects_what_crashes_toxiproxy(tp: Running) -> None:
    tp.make("a", "x:1")
    for body, fragment in [
        ({"type": "bandwidth", "attributes": {"rate": -1}}, "bandwidth rate cannot be negative"),
        ({"type": "slicer", "attributes": {"average_size": 0}}, "slicer average_size must be at least 1"),
        ({"type": "slicer", "attributes": {"average_size": 5, "size_variation": -1}}, "size_variation"),
        ({"type": "latency", "attributes": {"distribution": {"lognormal": {"median": "5ms"}}}}, "p99"),
    ]:
        r = tp.api("POST", "/proxies/a/toxics", body)
        assert r.status_code == 400 and fragment in r.json()["error"], r.text
    tp.toxic("a", type="bandwidth", attributes={"rate": 10})
    r = tp.api("PATCH", "/proxies/a/toxics/bandwidth_downstream", {"attributes": {"rate": -5}})
    assert r.status_code == 400
    for raw in [b"[]", b"7", b'"x"', b'{"name": 5, "upstream": "x:1"}', b'{"name": "q", "upstream": "x:1", "http": 5}']:
        assert tp.api("POST", "/proxies", raw=raw).status_code == 400, raw
    assert tp.api("POST", "/proxies/a/toxics", raw=b'{"type": "latency", "toxicity": "x"}').status_code == 400


def test_populate(tp: Running, echo_server: TcpServer) -> None:
    r = tp.api("POST", "/populate", [])
    assert r.status_code == 201 and r.text == '{"proxies":null}'
    r = tp.api("POST", "/populate", [{"name": "one", "upstream": echo_server.address, "listen": "localhost:0"},
                                     {"name": "two", "upstream": "x:1", "enabled": False}])
    assert r.status_code == 201
    one, two = r.json()["proxies"]
    assert one["enabled"] is True and two["enabled"] is False
    tp.toxic("one", type="latency")
    same = tp.api("POST", "/populate", [{"name": "one", "upstream": echo_server.address,
                                         "listen": one["listen"].replace("127.0.0.1", "localhost")}])
    assert same.json()["proxies"][0]["toxics"][0]["name"] == "latency_downstream"
    moved = tp.api("POST", "/populate", [{"name": "one", "upstream": "other:1", "listen": "127.0.0.1:0"}])
    assert moved.json()["proxies"][0]["toxics"] == []
    r = tp.api("POST", "/populate", [{"name": "three", "upstream": "x:1"}, {"upstream": "x:1"}])
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/json"
    assert r.text == '{"error":"missing required field: name at proxy 2","status":400,"proxies":null}'
    assert "three" not in tp.api("GET", "/proxies").json()
    r = tp.api("POST", "/populate", [{"name": "four", "upstream": "x:1"},
                                     {"name": "five", "upstream": "x:1", "listen": "bad"}])
    assert r.status_code == 500 and r.json()["error"] == "listen tcp: address bad: missing port in address"
    assert [p["name"] for p in r.json()["proxies"]] == ["four"]
    assert set(tp.api("GET", "/proxies").json()) == {"one", "two", "four"}
    assert tp.api("POST", "/populate", {"name": "x"}).status_code == 400


def test_reset_reenables_and_clears(tp: Running) -> None:
    tp.make("a", "x:1")
    tp.toxic("a", type="latency")
    tp.api("PATCH", "/proxies/a", {"enabled": False})
    assert tp.api("POST", "/reset").status_code == 204
    body = tp.api("GET", "/proxies/a").json()
    assert body["enabled"] is True and body["toxics"] == []


def test_metrics(tp: Running, echo_server: TcpServer) -> None:
    host, port = tp.make("m", echo_server.address)
    with socket.create_connection((host, port)) as s:
        s.sendall(b"12345")
        assert s.recv(10) == b"12345"
    text = tp.api("GET", "/metrics").text
    assert (f'toxiproxy_proxy_received_bytes_total{{direction="upstream",listener="127.0.0.1:{port}",'
            f'proxy="m",upstream="{echo_server.address}"}} 5') in text
    assert 'toxiproxy_proxy_sent_bytes_total{direction="downstream"' in text
