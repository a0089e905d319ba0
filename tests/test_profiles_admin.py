"""Profiles: loading, errors that name the file and the field, and switching them at runtime through the
admin API (globally, with a TTL, per API key, per request header)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import runwayml
from runway_client import KEY, client, image_to_video

from mockprovider.engine.profile import ProfileError, ProfileLibrary
from mockprovider.testing import MockServer

SHIPPED = ("default", "happy", "realistic", "degraded", "rate-limited", "outage")


def test_every_shipped_profile_loads():
    library = ProfileLibrary()
    assert set(SHIPPED) <= set(library.names())
    for name in SHIPPED:
        profile = library.load(name)
        assert profile.description
        profile.resolve("runway", "gen4_turbo")


def test_extends_merges_the_base_profile():
    profile = ProfileLibrary().load("rate-limited")
    assert profile.resolve("runway").limits.concurrent_jobs == 2
    assert profile.resolve("runway").run.describe() == ProfileLibrary().load("default").resolve("runway").run.describe()


def test_per_provider_and_per_model_overrides():
    profile = ProfileLibrary().load("realistic")
    turbo = profile.resolve("runway", "gen4_turbo").run.describe()
    runway = profile.resolve("runway", "gen4.5").run.describe()
    other = profile.resolve("someone-else").run.describe()
    assert len({str(turbo), str(runway), str(other)}) == 3


@pytest.mark.parametrize("text,where", [
    ("jobs:\n  run: {lognormal: {median: 10s}}\n", "jobs.run: lognormal needs 'p99'"),
    ("jobs:\n  failure_rate: {internal: 1.5}\n", "jobs.failure_rate.internal"),
    ("limits:\n  concurent_jobs: 2\n", "limits.concurent_jobs: unknown field"),
    ("faults:\n  create:\n    - {kind: error, rate: 0.1}\n", "faults.create[0]"),
    ("providers:\n  runway:\n    models:\n      gen4_turbo:\n        jobs: {queue: soon}\n",
     "providers.runway.models.gen4_turbo.jobs.queue"),
    ("jobs: [1, 2\n", "line 2, column 1: invalid YAML"),
    ("- a list\n", "mapping"),
    ("extends: nothing-like-this\n", "extends: no profile named"),
])
def test_broken_profile_names_file_and_field(tmp_path: Path, text: str, where: str):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        ProfileLibrary([tmp_path]).load("broken")
    message = str(caught.value)
    assert str(path) in message
    assert where in message


def test_cli_checks_profile_files(tmp_path: Path):
    good = tmp_path / "good.yaml"
    good.write_text("jobs: {run: 3s}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("jobs: {run: forever}\n")
    result = subprocess.run([sys.executable, "-m", "mockprovider", "profiles", str(good), str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"{good}: ok" in result.stdout
    assert f"{bad}:" in result.stdout and "jobs.run" in result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("profiles")
    (folder / "slow.yaml").write_text("description: slow\njobs: {queue: 0s, run: 1000s}\n")
    with MockServer(profile="happy", time_scale=0.02, profiles_dir=folder) as s:
        s.folder = folder
        yield s


@pytest.fixture(autouse=True)
def clean(server):
    server.admin("POST", "/reset")


def active(server) -> str:
    return server.admin("GET", "/profile").json()["name"]


def test_switch_by_name_and_inline(server):
    assert active(server) == "happy"
    reply = server.admin("PUT", "/profile", {"name": "slow"})
    assert reply.status_code == 200 and reply.json()["name"] == "slow"
    task = image_to_video(client(server.url))
    assert server.admin("GET", f"/jobs/{task.id}").json()["plan"]["run"] == 1000
    reply = server.admin("PUT", "/profile", {"name": "fast-inline", "profile": {"jobs": {"run": "2s"}}})
    assert reply.json()["name"] == "fast-inline"
    task = image_to_video(client(server.url))
    assert server.admin("GET", f"/jobs/{task.id}").json()["plan"]["run"] == 2


def test_yaml_body_switches_too(server):
    reply = httpx.put(f"{server.url}/__mock/profile", content=b"jobs: {run: 7s}\n",
                      headers={"content-type": "application/yaml"})
    assert reply.status_code == 200
    task = image_to_video(client(server.url))
    assert server.admin("GET", f"/jobs/{task.id}").json()["plan"]["run"] == 7


def test_ttl_reverts_to_the_previous_profile(server):
    server.admin("PUT", "/profile", {"name": "slow"})
    # A TTL is real time at any time scale ("a bad minute" is a minute); advancing the engine's clock by its
    # own seconds does not end it.
    reply = server.admin("PUT", "/profile", {"name": "outage", "ttl": "2s"})
    assert reply.json()["reverts_to"] == "slow"
    with pytest.raises((runwayml.InternalServerError, runwayml.APIConnectionError)):
        client(server.url).organization.retrieve()
    server.admin("POST", "/clock", {"advance": "11s"})  # 11 engine seconds: 0.22 s of real time at 0.02
    assert active(server) == "outage"
    time.sleep(2.1)
    assert active(server) == "slow"
    client(server.url).organization.retrieve()


def test_ttl_reverts_without_requests_in_between(server):
    server.admin("PUT", "/profile", {"name": "slow", "ttl": "100ms"})  # real time, whatever the scale
    time.sleep(0.2)
    assert active(server) == "happy"


def test_profile_per_api_key(server):
    other = "key_" + "f" * 128
    assert server.admin("PUT", f"/keys/{other}/profile", {"name": "outage"}).status_code == 200
    client(server.url).organization.retrieve()  # our key: still happy
    with pytest.raises((runwayml.InternalServerError, runwayml.APIConnectionError)):
        client(server.url, key=other).organization.retrieve()
    listed = server.admin("GET", "/profiles").json()
    assert listed["keys"][other]["name"] == "outage"
    assert server.admin("DELETE", f"/keys/{other}/profile").status_code == 204
    client(server.url, key=other).organization.retrieve()


def test_profile_per_request_header(server):
    c = client(server.url, default_headers={"X-Mockprovider-Profile": "slow"})
    task = image_to_video(c)
    assert server.admin("GET", f"/jobs/{task.id}").json()["profile"] == "slow"
    assert active(server) == "happy"
    unknown = client(server.url, default_headers={"X-Mockprovider-Profile": "no-such-profile"})
    with pytest.raises(runwayml.BadRequestError) as caught:
        unknown.organization.retrieve()
    assert "no-such-profile" in caught.value.body["error"]


def test_broken_profile_is_rejected_and_the_active_one_stays(server):
    (server.folder / "broken.yaml").write_text("jobs:\n  run: {uniform: [9s, 1s]}\n")
    reply = server.admin("PUT", "/profile", {"name": "broken"})
    assert reply.status_code == 400
    body = reply.json()
    assert "broken.yaml" in body["error"]
    assert any(p.startswith("jobs.run") for p in body["problems"])
    inline = server.admin("PUT", "/profile", {"profile": {"limits": {"concurrent_jobs": -1}}})
    assert inline.status_code == 400 and "limits.concurrent_jobs" in inline.json()["problems"][0]
    assert server.admin("PUT", "/profile", {"nme": "x"}).status_code == 400
    bad_json = httpx.put(f"{server.url}/__mock/profile", content=b"{oops", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400
    assert server.admin("PUT", "/profile", {"name": "slow", "ttl": "later"}).status_code == 400
    assert active(server) == "happy"


def test_jobs_listing_and_reset(server):
    c = client(server.url)
    ids = [image_to_video(c).id for _ in range(3)]
    listed = server.admin("GET", "/jobs?provider=runway").json()
    assert [j["id"] for j in listed["jobs"]] == ids[::-1]
    one = server.admin("GET", f"/jobs/{ids[0]}").json()
    assert one["plan"]["outcome"] == "success" and one["state"] in ("queued", "running", "succeeded")
    assert server.admin("GET", "/jobs/nope").status_code == 404
    server.admin("POST", "/reset")
    assert server.admin("GET", "/jobs").json()["jobs"] == []
    with pytest.raises(runwayml.NotFoundError):
        c.tasks.retrieve(ids[0])


def test_metrics_and_health(server):
    client(server.url).organization.retrieve()
    text = httpx.get(f"{server.url}/__mock/metrics").text
    assert 'mockprovider_requests_total{endpoint="account",provider="runway",status="200"} 1.0' in text
    assert httpx.get(f"{server.url}/__mock/health").json()["status"] == "ok"


def test_admin_token_guards_the_admin_api():
    with MockServer(profile="happy", admin_token="s3cret") as server:
        assert httpx.get(f"{server.url}/__mock/profile").status_code == 401
        assert httpx.get(f"{server.url}/__mock/health").status_code == 200
        ok = httpx.get(f"{server.url}/__mock/profile", headers={"X-Mockprovider-Admin-Token": "s3cret"})
        assert ok.status_code == 200
        assert server.admin("GET", "/profile").status_code == 200
        assert httpx.get(f"{server.url}/__mock/kling/keys").status_code == 401  # a dialect's admin routes too
        assert server.admin("GET", "/kling/keys").status_code == 200


def test_unknown_paths_answer_in_the_owner_s_shape(server):
    reply = httpx.get(f"{server.url}/v1/tasks", headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code in (404, 405) and "error" in reply.json()
    assert httpx.get(f"{server.url}/nowhere").status_code == 404
