"""Kling's auth failures (1000-1004) and limits (1303, 1302, 1102, 1301, 5000-5002), driven by profiles."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from kling_client import ACCESS_KEY, SECRET_KEY, Kling, token

from mockprovider.testing import MockServer

COSTS = {"start_time": 0, "end_time": 2 * 10**12}  # /account/costs requires both

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
BODY = {"model_name": "kling-v2-6", "prompt": "a cat", "duration": "5", "mode": "std"}


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=9) as s:
        yield s


def use_profile(server: MockServer, profile: dict) -> None:
    r = server.admin("PUT", "/profile", json={"profile": profile})
    assert r.status_code == 200, r.text


def call(server: MockServer, authorization: str | None) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return httpx.post(f"{server.url}/v1/videos/text2video", headers=headers, json=BODY, timeout=10)


def expect(r: httpx.Response, status: int, code: int) -> dict:
    answer = r.json()
    assert (r.status_code, answer["code"]) == (status, code), answer
    assert answer["message"] and answer["request_id"] and "data" not in answer
    return answer


def test_a_correct_token_passes(server, kling):
    assert call(server, f"Bearer {token()}").status_code == 200


@pytest.mark.parametrize(("authorization", "code"), [
    (None, 1001),
    ("", 1001),
    ("Bearer", 1001),
    ("Bearer not-a-jwt", 1002),
    ("Basic " + "YWs6c2s=", 1002),
    (lambda: token(exp=time.time() - 120), 1004),
    (lambda: token(nbf=time.time() + 120), 1003),
    (lambda: token(sk="some-other-secret-of-enough-length-32b"), 1002),
    (lambda: token(ak="ak_nobody"), 1000),
    (lambda: jwt.encode({"iss": ACCESS_KEY, "exp": int(time.time()) + 60}, SECRET_KEY, algorithm="HS512"), 1002),
    (lambda: jwt.encode({"exp": int(time.time()) + 60}, SECRET_KEY, algorithm="HS256"), 1002),
])
def test_each_auth_failure(server, kling, authorization, code):
    if callable(authorization):
        authorization = f"Bearer {authorization()}"
    expect(call(server, authorization), 401, code)


def test_the_tolerances_accept_a_little_clock_skew(server, kling):
    now = time.time()
    assert call(server, f"Bearer {token(nbf=now + 2, exp=now + 60)}").status_code == 200
    assert call(server, f"Bearer {token(nbf=now - 60, exp=now - 2)}").status_code == 200


def test_profile_keys_replace_the_default_pair_and_admin_keys_add_to_them(server, kling):
    secret = "profile-secret-long-enough-for-hs256-xx"
    use_profile(server, {"extends": "happy", "providers": {"kling": {"auth": {"keys": {"ak_team": secret}}}}})
    expect(call(server, f"Bearer {token()}"), 401, 1000)
    assert call(server, f"Bearer {token('ak_team', secret)}").status_code == 200
    added = server.admin("POST", "/kling/keys", json={"access_key": "ak_added", "secret_key": "s" * 32})
    assert added.status_code == 201
    assert call(server, f"Bearer {token('ak_added', 's' * 32)}").status_code == 200
    listed = {k["access_key"]: k["source"] for k in server.admin("GET", "/kling/keys").json()["keys"]}
    assert listed == {"ak_team": "profile", "ak_added": "admin"}
    assert server.admin("DELETE", "/kling/keys/ak_added").status_code == 204
    assert server.admin("DELETE", "/kling/keys/ak_added").status_code == 404
    expect(call(server, f"Bearer {token('ak_added', 's' * 32)}"), 401, 1000)
    assert server.admin("POST", "/kling/keys", json={"access_key": ""}).status_code == 400


def test_a_token_read_once_is_still_checked_on_every_request(server, kling, monkeypatch):
    """The header is decoded and its signature checked once, but its key pair and dates are checked each time:
    one header string, refused as soon as its key is removed or replaced, and as its dates pass."""
    from types import SimpleNamespace

    from mockprovider.dialects.kling import auth

    header = f"Bearer {token(exp=time.time() + 600)}"
    assert call(server, header).status_code == 200
    monkeypatch.setattr(auth, "time", SimpleNamespace(time=lambda: time.time() + 606))  # the server's clock, later
    expect(call(server, header), 401, 1004)
    monkeypatch.setattr(auth, "time", time)
    assert call(server, header).status_code == 200

    def add_key(access: str, secret: str) -> int:
        return server.admin("POST", "/kling/keys", json={"access_key": access, "secret_key": secret}).status_code

    header = f"Bearer {token('ak_revoked', 'r' * 32)}"
    expect(call(server, header), 401, 1000)
    assert add_key("ak_revoked", "r" * 32) == 201
    assert call(server, header).status_code == 200
    assert server.admin("DELETE", "/kling/keys/ak_revoked").status_code == 204
    expect(call(server, header), 401, 1000)
    assert add_key("ak_revoked", "q" * 32) == 201
    expect(call(server, header), 401, 1002)
    now = time.time()
    found = auth.read(f"Bearer {token(exp=now + 60, nbf=now + 30)}")
    assert auth.checked(found, SECRET_KEY, now) == auth.NOT_YET_VALID
    assert auth.checked(found, SECRET_KEY, now + 30) == ACCESS_KEY
    assert auth.checked(found, SECRET_KEY, now + 66) == auth.EXPIRED
    assert auth.checked(found, None, now + 30) == auth.NOT_FOUND
    assert auth.checked(found, "another secret", now + 30) == auth.BAD_SIGNATURE


def test_concurrency_over_the_limit_is_rejected_not_queued(server, kling):
    use_profile(server, {"jobs": {"run": "1h"}, "limits": {"concurrent_jobs": 1}})
    assert kling.post("/v1/videos/text2video", BODY).status_code == 200
    answer = expect(kling.post("/v1/videos/text2video", BODY), 429, 1303)
    assert answer["message"] == "parallel task over resource pack limit"
    # another account has its own slots
    server.admin("POST", "/kling/keys", json={"access_key": "ak_two", "secret_key": "t" * 32})
    assert Kling(server.url, "ak_two", "t" * 32).post("/v1/videos/text2video", BODY).status_code == 200


def test_an_image_task_holds_one_slot_per_image(server, kling):
    """providers.md (Kling, limits 8): an image task occupies ``n`` concurrency slots, a video task one."""
    use_profile(server, {"jobs": {"queue": "0s", "run": "100s"}, "limits": {"concurrent_jobs": 4}})
    images = {"model_name": "kling-v2-1", "prompt": "a cat"}
    assert kling.post("/v1/images/generations", {**images, "n": 3}).json()["code"] == 0
    assert kling.post("/v1/videos/text2video", BODY).json()["code"] == 0  # the fourth slot
    expect(kling.post("/v1/images/generations", {**images, "n": 1}), 429, 1303)
    expect(kling.post("/v1/videos/text2video", BODY), 429, 1303)
    assert server.admin("POST", "/clock", {"advance": 150}).status_code == 200  # all four slots free again
    expect(kling.post("/v1/images/generations", {**images, "n": 5}), 429, 1303)  # more than the account has
    assert kling.post("/v1/images/generations", {**images, "n": 4}).json()["code"] == 0
    expect(kling.post("/v1/videos/text2video", BODY), 429, 1303)
    assert server.admin("POST", "/clock", {"advance": 150}).status_code == 200
    for _ in range(4):  # four one-image tasks fit where one four-image task did
        assert kling.post("/v1/images/generations", {**images, "n": 1}).json()["code"] == 0
    expect(kling.post("/v1/images/generations", {**images, "n": 1}), 429, 1303)


def test_rate_limit(server, kling):
    use_profile(server, {"extends": "happy", "limits": {"requests_per_minute": 2}})
    assert kling.post("/v1/videos/text2video", BODY).status_code == 200
    assert kling.get("/v1/videos/text2video").status_code == 200
    expect(kling.post("/v1/videos/text2video", BODY), 429, 1302)


def test_credits_exhausted_and_account_costs(server, kling):
    use_profile(server, {"extends": "happy", "limits": {"credits": 2}})
    [pack] = kling.get("/account/costs", **COSTS).json()["data"]["resource_pack_subscribe_infos"]
    assert (pack["total_quantity"], pack["remaining_quantity"], pack["status"]) == (2.0, 2.0, "online")
    assert kling.post("/v1/videos/text2video", BODY).status_code == 200  # 1.5 units
    expect(kling.post("/v1/videos/text2video", BODY), 429, 1102)
    [pack] = kling.get("/account/costs", **COSTS).json()["data"]["resource_pack_subscribe_infos"]
    assert pack["remaining_quantity"] == pytest.approx(0.5)
    use_profile(server, {"extends": "happy", "limits": {"credits": 1.5}})
    [pack] = kling.get("/account/costs", **COSTS).json()["data"]["resource_pack_subscribe_infos"]
    assert pack["status"] == "runOut"


def test_failed_tasks_give_their_units_back(server, kling):
    use_profile(server, {"extends": "happy", "limits": {"credits": 2},
                         "jobs": {"failure_rate": {"internal": 1.0}}})
    task = kling.create("text2video", BODY)
    done = kling.wait("text2video", task["task_id"])
    assert done["task_status"] == "failed" and done["final_unit_deduction"] == "0"
    deadline = time.monotonic() + 5
    while True:
        [pack] = kling.get("/account/costs", **COSTS).json()["data"]["resource_pack_subscribe_infos"]
        if pack["remaining_quantity"] == pytest.approx(2.0) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert pack["remaining_quantity"] == pytest.approx(2.0)


def test_moderation_at_submit_and_as_a_failed_task(server, kling):
    use_profile(server, {"extends": "happy", "jobs": {"reject_at_submit": 1.0}})
    expect(kling.post("/v1/videos/text2video", BODY), 400, 1301)
    use_profile(server, {"extends": "happy", "jobs": {"failure_rate": {"content_policy": 1.0}}})
    task = kling.create("text2video", BODY)
    done = kling.wait("text2video", task["task_id"])
    assert done["task_status"] == "failed"
    assert "risk control" in done["task_status_msg"]
    assert done["task_result"] == {}


@pytest.mark.parametrize(("status", "code"), [(500, 5000), (503, 5001), (504, 5002)])
def test_injected_server_errors(server, kling, status, code):
    use_profile(server, {"extends": "happy", "faults": {"all": [{"kind": "error", "status": status, "rate": 1.0}]}})
    expect(kling.post("/v1/videos/text2video", BODY), status, code)
    expect(kling.get("/v1/videos/text2video/1"), status, code)
