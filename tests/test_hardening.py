"""Hardening of the admin API, profiles, the clock, ids and the CLI, over a real socket: every bad value is a clear
400 that changes nothing, bounds are enforced where arithmetic, dates or allocations would break, runs are told
apart by their ids, and the CLI refuses bad flags and variables before anything starts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import pytest
from fuzzing import FUZZ_SETTINGS, Fuzzer, hostile_values, json_values
from hypothesis import given
from hypothesis import strategies as st
from plain_http import PlainClient

from mockprovider.cli import main
from mockprovider.testing import MockServer, free_port

RUNWAY = {"Authorization": "Bearer key_hardening", "X-Runway-Version": "2024-11-06"}
TASK = {"model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"}
TASK_BODY, JSON = json.dumps(TASK).encode(), {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=None) as s:
        yield s


@pytest.fixture(scope="module")
def fuzzer(server):
    with Fuzzer(server) as f:
        yield f
        f.assert_healthy()


def create(server) -> str:
    reply = httpx.post(server.url + "/v1/image_to_video", headers=RUNWAY, json=TASK)
    assert reply.status_code == 200, reply.text
    return reply.json()["id"]


# -- the clock ----------------------------------------------------------------------------------------------


def test_the_clock_refuses_absurd_moves_and_a_refused_request_changes_nothing(server):
    before = server.admin("GET", "/clock").json()
    for body in ({"advance": 1e300}, {"advance": "1e400"}, {"advance": -1}, {"scale": 0}, {"scale": -1},
                 {"scale": 1e300}, {"scale": "x"}, {"scale": 715, "advance": -1}, {"scale": 0.5, "advance": 1e300},
                 {"advance": "9" * 5000}, {"speed": 2}, [1], "x"):
        reply = server.admin("POST", "/clock", body)
        assert reply.status_code == 400, (body, reply.content[:200])
        assert len(reply.content) < 1000
    after = server.admin("GET", "/clock").json()
    assert after["scale"] == before["scale"]
    assert after["now"] - before["now"] < 100  # no jump (0.01 scale: 100 engine s is a real second)
    create(server)  # and creates still work


def test_reset_restores_the_clock(server):
    assert server.admin("POST", "/clock", {"scale": 0.5, "advance": "1h"}).status_code == 200
    assert server.admin("POST", "/reset").status_code == 200
    clock = server.admin("GET", "/clock").json()
    assert clock["scale"] == 0.01
    assert clock["now"] < 3600


# -- profiles -----------------------------------------------------------------------------------------------

BROKEN = [
    {"jobs": {"run": {"lognormal": {"mu": 1000, "sigma": 1}}}},
    {"latency": {"default": {"lognormal": {"mu": 1, "sigma": 1e9}}}},
    {"outputs": {"url_ttl": ".inf"}}, {"outputs": {"url_ttl": 1e300}},
    {"limits": {"credits": 1e300}}, {"limits": {"concurrent_jobs": 20_000_000}},
    {"limits": {"requests_per_minute": 10**12}}, {"latency": {"default": 1e300}},
    {"faults": {"all": [{"kind": "hang", "rate": 1, "hold": "2h"}]}},
    {"jobs": {"queue": {"normal": {"mean": "1e12s", "stddev": 1}}}},
]
BROKEN_YAML = [
    "outputs: {url_ttl: .inf}", "limits: {credits: .inf}", "latency: {default: .inf}", "latency: {default: .nan}",
    "limits: {concurrent_jobs: 20000000}",
    # a 363-byte alias bomb: 9 levels of 9 aliases
    'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
    "[" * 20_000 + "]" * 20_000,
    "a:\n" + "".join(" " * (i + 1) + f"b{i}:\n" for i in range(200)),
]


@pytest.mark.parametrize("profile", BROKEN)
def test_profiles_out_of_range_are_refused(server, profile):
    reply = server.admin("PUT", "/profile", {"profile": profile})
    assert reply.status_code == 400, (profile, reply.content[:300])
    assert server.admin("GET", "/profile").json()["name"] == "happy"


@pytest.mark.parametrize("text", BROKEN_YAML, ids=range(len(BROKEN_YAML)))
def test_yaml_bodies_are_bounded(server, text):
    reply = httpx.put(server.url + "/__mock/profile", content=text.encode(),
                      headers={"content-type": "application/yaml"}, timeout=30)
    assert reply.status_code == 400, reply.text[:300]
    assert len(reply.content) < 10_000
    assert server.admin("GET", "/profile").json()["name"] == "happy"


def test_deep_json_is_refused(server):
    deep = '{"profile": ' + '{"a": ' * 900 + "1" + "}" * 900 + "}"
    reply = httpx.put(server.url + "/__mock/profile", content=deep, headers={"content-type": "application/json"})
    assert reply.status_code == 400 and len(reply.content) < 10_000


def test_long_profile_names_are_400s_not_os_errors(server):
    name = "p" * 300
    assert server.admin("PUT", "/profile", {"name": name}).status_code == 400
    assert server.admin("PUT", "/profile", {"name": name, "profile": {}}).status_code == 400
    reply = httpx.get(server.url + "/v1/organization", headers={**RUNWAY, "X-Mockprovider-Profile": name})
    assert reply.status_code == 400 and len(reply.content) < 2000, reply.text
    reply = httpx.get(server.url + "/v1/organization", headers={**RUNWAY, "X-Mockprovider-Profile": "../happy"})
    assert reply.status_code == 400


def test_a_profile_error_reports_every_problem(tmp_path):
    (tmp_path / "child.yaml").write_text("extends: missing\nlimits: {concurrent_jobs: -1}\njobs: {run: forever}\n")
    (tmp_path / "broken.yaml").write_text("jobs: [1, 2\n")
    with MockServer(profile="happy", profiles_dir=tmp_path) as s:
        reply = s.admin("PUT", "/profile", {"name": "child"})
        assert reply.status_code == 400
        problems = reply.json()["problems"]
        assert any("extends" in p for p in problems) and any("concurrent_jobs" in p for p in problems) and \
            any("jobs.run" in p for p in problems), problems
        listed = s.admin("GET", "/profiles").json()
        assert set(listed["broken"]) == {"child", "broken"}
    assert main(["profiles", "--profiles-dir", str(tmp_path)]) == 1


@FUZZ_SETTINGS
@given(profile=st.dictionaries(st.sampled_from(["latency", "jobs", "limits", "faults", "outputs", "callbacks",
                                                "extends", "providers", "network"]), json_values(), max_size=3),
       ttl=hostile_values())
def test_fuzzed_profiles_and_ttls_never_500(fuzzer, profile, ttl):
    from fuzzing import encode

    reply = fuzzer.expect_clean(fuzzer.request("PUT", "/__mock/profile", {},
                                               encode({"name": "fuzz", "profile": profile, "ttl": ttl})))
    assert reply.status in (200, 400), reply.text()[:300]
    fuzzer.request("PUT", "/__mock/profile", {}, b'{"name": "happy"}')


@FUZZ_SETTINGS
@given(body=st.dictionaries(st.sampled_from(["advance", "scale"]), hostile_values(), max_size=2),
       path=st.sampled_from(["/__mock/clock", "/__mock/jobs?limit=", "/__mock/keys/k/profile"]),
       limit=st.sampled_from(["0", "-1", "\u00b2", "9" * 5000, "x", "50"]))
def test_fuzzed_admin_bodies_never_500(fuzzer, body, path, limit):
    from fuzzing import encode

    if path.endswith("="):
        reply = fuzzer.request("GET", path + limit)
    else:
        reply = fuzzer.request("POST" if "clock" in path else "PUT", path, {}, encode(body))
    fuzzer.expect_clean(reply)
    clock = json.loads(fuzzer.request("GET", "/__mock/clock").body)
    assert clock["now"] < 1e10 and 1e-6 <= clock["scale"] <= 1e6
    fuzzer.request("POST", "/__mock/clock", {}, b'{"scale": 0.01}')


# -- runs told apart ----------------------------------------------------------------------------------------


def test_ids_differ_across_runs_and_resets_unless_a_seed_is_given():
    firsts = []
    for seed in (None, None):
        with MockServer(profile="happy", seed=seed) as s:
            health = s.admin("GET", "/health").json()
            assert isinstance(health["seed"], int) and health["seed_given"] is False
            first = create(s)
            s.admin("POST", "/reset")
            assert s.admin("GET", "/health").json()["seed"] != health["seed"]
            assert create(s) != first
            firsts.append(first)
    assert firsts[0] != firsts[1]
    replayed = []
    for _ in range(2):
        with MockServer(profile="happy", seed=77) as s:
            health = s.admin("GET", "/health").json()
            assert health.pop("pid") > 0  # which process answered (replicas and --workers tell apart by it)
            assert health | {"version": None} == {"status": "ok", "version": None, "seed": 77, "seed_given": True}
            replayed.append(create(s))
            s.admin("POST", "/reset")
            assert create(s) == replayed[-1]
    assert replayed[0] == replayed[1]


# -- the CLI ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "env"), [
    (["serve", "--time-scale", "0"], {}), (["serve", "--time-scale", "nan"], {}), (["serve", "--port", "99999"], {}),
    (["serve"], {"MOCKPROVIDER_PORT": "abc"}), (["serve"], {"MOCKPROVIDER_TIME_SCALE": "-1"}),
    (["serve"], {"MOCKPROVIDER_SEED": "x"}), (["serve"], {"MOCKPROVIDER_LOG_LEVEL": "loud"}),
    (["serve", "--max-jobs", "0"], {}), (["serve", "--head-timeout", "inf"], {}),
])
def test_bad_flags_and_variables_are_argparse_errors(argv, env, monkeypatch, capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err, err


def test_every_serve_flag_has_help_and_its_default():
    out = subprocess.run([sys.executable, "-m", "mockprovider.cli", "serve", "--help"], capture_output=True,
                         text=True, check=True, env={"COLUMNS": "200", "PATH": ""}).stdout
    flags = [line.split()[0].rstrip(",") for line in out.splitlines() if line.startswith("  --")]
    assert len(flags) > 20
    assert "(default: 127.0.0.1)" in out and "(default: 8000)" in out and "MOCKPROVIDER_PORT" in out


def test_a_taken_port_is_reported_before_the_banner():
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        run = subprocess.run([sys.executable, "-m", "mockprovider.cli", "serve", "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "mockprovider " not in run.stdout  # no banner
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr and "Traceback" not in run.stderr, run.stderr


# -- bounded tables -----------------------------------------------------------------------------------------


def test_per_key_state_is_forgotten_once_a_key_is_idle():
    from mockprovider.engine.limits import SWEEP_FLOOR

    with MockServer(profile="happy", time_scale=0.001) as s, httpx.Client(base_url=s.url) as http, \
            PlainClient(s.url) as plain:  # 3,000 creates: httpx's requests at a fraction of its CPU
        for i in range(3 * SWEEP_FLOOR):
            headers = {**RUNWAY, **JSON, "Authorization": f"Bearer key_churn{i}"}
            assert plain.request("POST", "/v1/image_to_video", headers, TASK_BODY)[0] == 200
        engine = s.app.engine
        sizes = s.call(lambda: (len(engine.limits), len(engine.ledger._submissions)))
        # jobs last about a millisecond of real time here: each sweep found the earlier keys idle
        assert sizes[0] < 2 * SWEEP_FLOOR and sizes[1] < 2 * SWEEP_FLOOR, sizes
        # a key that comes back gets new ids, not its old ones again
        first = http.post("/v1/image_to_video", headers={**RUNWAY, "Authorization": "Bearer key_churn0"},
                          json=TASK).json()["id"]
        assert s.admin("GET", f"/jobs/{first}").json()["account"] == "key_churn0"


def test_accounts_kept_for_their_spend_are_capped(caplog):
    """Under a credits limit an idle key is kept for what it spent (its balance must not reset), but only the
    newest ``max_kept_idle`` of them: a client minting keys cannot grow the table without bound."""
    from mockprovider.engine.limits import SWEEP_FLOOR

    caplog.set_level("WARNING", logger="mockprovider")
    budget = {"name": "budget", "profile": {"extends": "happy", "limits": {"credits": 1_000_000}}}
    with MockServer(profile="happy", time_scale=0.001) as s, PlainClient(s.url) as http:
        assert s.admin("PUT", "/profile", budget).status_code == 200
        engine = s.app.engine
        s.call(lambda: setattr(engine.limits, "max_kept_idle", 200))
        for i in range(3 * SWEEP_FLOOR):
            headers = {**RUNWAY, **JSON, "Authorization": f"Bearer key_spender{i}"}
            assert http.request("POST", "/v1/image_to_video", headers, TASK_BODY)[0] == 200
        assert s.call(lambda: len(engine.limits)) < SWEEP_FLOOR + 200
        assert "forgetting the counts (credits, daily jobs)" in caplog.text
        newest = f"key_spender{3 * SWEEP_FLOOR - 1}"
        assert s.call(lambda: engine.spent("runway", newest)) > 0  # the newest keep their spend
        # a key that only polled (spent nothing) is not kept for a balance it never used
        for i in range(SWEEP_FLOOR):
            http.request("GET", "/v1/organization", {**RUNWAY, "Authorization": f"Bearer key_reader{i}"})
        assert s.call(lambda: engine.sweep_accounts(engine.clock.now() + 3600)) >= 0
        assert s.call(lambda: sum(1 for _, a, _ in engine.limits.scopes(100_000) if a.startswith("key_reader"))) \
            == 0


def test_kling_does_not_cache_what_it_cannot_use():
    from mockprovider.dialects.kling import auth

    with MockServer(profile="happy") as s, httpx.Client(base_url=s.url) as http:
        before = auth._read.cache_info().currsize
        for i in range(50):
            reply = http.get("/v1/videos/text2video", headers={"Authorization": f"Bearer {i}" + "x" * 50_000})
            assert reply.status_code == 401 and reply.json()["code"] == 1002
        assert auth._read.cache_info().currsize - before < 5
        reply = http.get("/v1/videos/text2video", headers={"Authorization": "Bearer " + "x" * 200_000})
        assert reply.status_code == 431


def test_the_log_says_what_happens(server, caplog):
    caplog.set_level("INFO", logger="mockprovider")
    server.admin("PUT", "/profile", {"name": "degraded", "ttl": "200ms"})
    server.admin("PUT", "/profile", {"profile": {"limits": {"concurrent_jobs": -1}}})
    import time

    time.sleep(0.4)
    server.admin("GET", "/profile")
    text = caplog.text
    assert "profile switched to degraded for 200ms (then back to happy)" in text, text
    assert "profile rejected" in text and "concurrent_jobs" in text
    assert "profile degraded ended (its TTL ran out); back to happy" in text


def test_the_log_says_when_fault_windows_open_and_close(caplog):
    """A windowed fault logs its opening and closing on the engine's clock, and a window still open when its
    profile goes is logged closed then; a Runway create inside the window gets the fault, outside it does not."""
    caplog.set_level("INFO", logger="mockprovider")
    windowed = {"name": "bad-minute", "profile": {"faults": {"create": [
        {"kind": "error", "status": 503, "rate": 1.0, "during": {"start": "10s", "end": "70s"}}]}}}
    body = {"model": "gen4_turbo", "promptImage": "https://example.com/cat.png", "ratio": "1280:720",
            "duration": 5}
    headers = {"Authorization": "Bearer key_test", "X-Runway-Version": "2024-11-06"}
    with MockServer(profile="happy", time_scale=1.0) as s, httpx.Client(base_url=s.url) as http:
        assert s.admin("PUT", "/profile", windowed).status_code == 200
        assert http.post("/v1/image_to_video", json=body, headers=headers).status_code == 200
        assert s.admin("POST", "/clock", {"advance": 15}).status_code == 200
        wait_for(lambda: "fault window opened" in caplog.text)
        assert http.post("/v1/image_to_video", json=body, headers=headers).status_code == 503
        assert s.admin("POST", "/clock", {"advance": 60}).status_code == 200
        wait_for(lambda: "fault window closed" in caplog.text)
        assert http.post("/v1/image_to_video", json=body, headers=headers).status_code == 200
        assert "profile bad-minute: fault window opened: error 503 at rate 1 on every provider, create requests" \
            in caplog.text
        # Activated again: a new window; the profile then ends while it is open.
        assert s.admin("PUT", "/profile", windowed).status_code == 200
        assert s.admin("POST", "/clock", {"advance": 20}).status_code == 200
        wait_for(lambda: caplog.text.count("fault window opened") == 2)
        assert s.admin("PUT", "/profile", {"name": "happy"}).status_code == 200
        assert "profile bad-minute ended: fault window closed: error 503" in caplog.text


def wait_for(condition, seconds: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
