"""The chaos proxy's Toxiproxy API under hostile input (hypothesis, over a real socket): Toxiproxy-style 400s
where Go would answer them, never a 500; every answer valid JSON; HEAD without a body; the proxies still
listable afterwards."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, Raw, encode, field_sweep, hostile_values, mutated_bodies, path_segments
from hypothesis import given
from hypothesis import strategies as st
from test_proxy_support import Running

PROXY = {"name": "fuzzed", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9", "enabled": True}
TOXIC = {"name": "lag", "type": "latency", "stream": "downstream", "toxicity": 0.5,
         "attributes": {"latency": 100, "jitter": 10, "distribution": {"lognormal": {"median": "10ms", "p99": "50ms"}}}}


@pytest.fixture(scope="module")
def api():
    running = Running().start()
    with Fuzzer(host="127.0.0.1", port=running.port) as f:
        f.running = running
        reply = f.request("POST", "/proxies", {}, json.dumps({**PROXY, "name": "kept"}).encode())
        assert reply.status == 201, reply.text()
        yield f
        _listable(f)
        assert "kept" in json.loads(f.request("GET", "/proxies").body)
        f.assert_no_errors_logged("the proxy API fuzz run")
    running.stop()


def _listable(f: Fuzzer) -> None:
    reply = f.request("GET", "/proxies")
    assert reply.status == 200
    json.loads(reply.body)  # every name stored can be listed again


def _cannot_listen(reply) -> bool:
    """Toxiproxy answers 500 when the listen address cannot be listened on (Collection.Add's error): chosen."""
    return reply.status == 500 and b"listen tcp" in reply.body


def clean(api: Fuzzer, reply):
    return api.expect_clean(reply, allowed=lambda status: status < 500 or _cannot_listen(reply))


def _toxiproxy(reply) -> None:
    assert reply.status in (200, 201, 204, 400, 404, 405, 409) or _cannot_listen(reply), reply.text()[:300]
    if reply.body and reply.status != 404:
        json.loads(reply.body)  # valid JSON, NaN never echoed


def _clean(api: Fuzzer) -> None:
    for name in json.loads(api.request("GET", "/proxies").body):
        if name != "kept":
            api.request("DELETE", f"/proxies/{quote(name, safe='')}")


@FUZZ_SETTINGS
@given(body=mutated_bodies(PROXY))
def test_proxy_bodies(api, body):
    _toxiproxy(clean(api, api.request("POST", "/proxies", {}, body)))
    _listable(api)
    _clean(api)


@FUZZ_SETTINGS
@given(body=mutated_bodies(TOXIC), method=st.sampled_from(["POST", "PATCH"]))
def test_toxic_bodies(api, body, method):
    if method == "POST":
        reply = api.request("POST", "/proxies/kept/toxics", {}, body)
    else:
        api.request("POST", "/proxies/kept/toxics", {}, json.dumps(TOXIC).encode())
        reply = api.request("POST", "/proxies/kept/toxics/lag", {}, body)
    _toxiproxy(api.expect_clean(reply))
    for toxic in json.loads(api.request("GET", "/proxies/kept/toxics").body):
        api.request("DELETE", f"/proxies/kept/toxics/{quote(toxic['name'], safe='')}")


@pytest.mark.parametrize("valid", [PROXY, TOXIC], ids=["proxy", "toxic"])
def test_every_field_with_every_edge_value(api, valid):
    path = "/proxies" if valid is PROXY else "/proxies/kept/toxics"
    for _path, body in field_sweep(valid):
        _toxiproxy(clean(api, api.request("POST", path, {}, body)))
        _listable(api)
        _clean(api)
        for toxic in json.loads(api.request("GET", "/proxies/kept/toxics").body):
            api.request("DELETE", f"/proxies/kept/toxics/{quote(toxic['name'], safe='')}")


@pytest.mark.parametrize("body", [
    Raw("[" * 100_000 + "]" * 100_000), Raw('{"name": ' + "9" * 5000 + "}"), Raw('{"toxicity": NaN}'),
    {**TOXIC, "toxicity": Raw("Infinity")}, {**TOXIC, "toxicity": Raw("1e400")},
    {**TOXIC, "attributes": {"latency": Raw("NaN")}}, {**TOXIC, "attributes": {"latency": Raw("9" * 5000)}},
    {**TOXIC, "attributes": {"distribution": {"fixed": Raw("Infinity")}}},
    {**TOXIC, "attributes": {"distribution": {"lognormal": {"mu": 1000, "sigma": 1}}}},
    {**TOXIC, "attributes": {"distribution": {"p50": "1ms", "p50.0001": "1000000s"}}},
])
def test_what_go_refuses_is_a_400(api, body):
    reply = api.expect_clean(api.request("POST", "/proxies/kept/toxics", {}, encode(body)))
    assert reply.status == 400, reply.text()[:300]
    assert json.loads(reply.body)["status"] == 400
    assert len(reply.body) < 2000


def test_a_lone_surrogate_name_is_stored_as_go_would(api):
    reply = api.expect_clean(api.request("POST", "/proxies", {}, encode({**PROXY, "name": Raw('"a\\ud800b"')})))
    assert reply.status == 201, reply.text()
    assert json.loads(reply.body)["name"] == "a\ufffdb"
    _listable(api)
    _clean(api)


def test_head_has_no_body(api):
    for path in ("/metrics", "/version", "/nope", "/proxies"):
        reply = api.request("HEAD", path)
        assert reply.body == b""
        after = api.request("GET", "/version")  # the same keep-alive connection stays in step
        assert after.status == 200 and json.loads(after.body)["version"]


@FUZZ_SETTINGS
@given(name=path_segments(), toxic=path_segments(), method=st.sampled_from(["GET", "POST", "DELETE", "PATCH", "HEAD"]),
       body=hostile_values())
def test_paths(api, name, toxic, method, body):
    for path in (f"/proxies/{name}", f"/proxies/{name}/toxics", f"/proxies/kept/toxics/{toxic}"):
        reply = clean(api, api.request(method, path, {}, encode(body) if method in ("POST", "PATCH") else b""))
        assert reply.status < 500 or _cannot_listen(reply), reply.text()[:200]
    _listable(api)
    _clean(api)
