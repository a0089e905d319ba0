"""Jobs, limits, the clock and profiles shared by two ``mockprovider serve`` replicas on one real redis-server
(``--state redis://...``), driven through the official SDKs: a job made on one replica polls on the other, a
concurrency limit of N is N across both (Runway THROTTLED, Kling 1303), a profile switch is seen everywhere
within a second, a replica killed with SIGKILL loses no job and no slot, and a Redis restart (with its
append-only file) is survived."""

from __future__ import annotations

import httpx
import pytest
import replicate
from kling_client import Kling
from redis_support import RedisServer
from replicas import Replicas, admin, until
from runway_client import client, image_to_video

SCALE = 0.02  # engine seconds run 50 times faster: a 20 s job lasts 0.4 s
REPLICATE = "r8_" + "0123456789abcdefghijklmnopqrstuvwxyz0"[:37]
KLING_BODY = {"model_name": "kling-v1", "prompt": "a lighthouse"}


@pytest.fixture(scope="module")
def store():
    server = RedisServer(persistent=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def group(store):
    with Replicas(2, store.url, args=["--profile", "happy", "--time-scale", str(SCALE)]) as replicas:
        yield replicas


@pytest.fixture(autouse=True)
def clean(group):
    group.heal_and_reset()





def test_a_job_made_on_one_replica_polls_on_the_other(group):
    a, b = group.urls
    task = image_to_video(client(a))
    seen = client(b).tasks.retrieve(task.id)
    assert seen.id == task.id
    done = client(b).tasks.retrieve(task.id).wait_for_task_output(timeout=30)
    assert done.status == "SUCCEEDED" and done.output
    plans = [admin(url, "GET", f"/jobs/{task.id}").json() for url in (a, b)]
    assert plans[0]["plan"] == plans[1]["plan"] and plans[0]["created"] == plans[1]["created"]
    assert httpx.get(done.output[0], timeout=30).content[4:8] == b"ftyp"  # the media link works on either

    group.use_profile({"extends": "happy", "jobs": {"run": "1h"}}, "long")
    made = replicate.Client(api_token=REPLICATE, base_url=a).predictions.create(
        model="minimax/hailuo-2.3", input={"prompt": "x"})
    other = replicate.Client(api_token=REPLICATE, base_url=b)
    assert other.predictions.get(made.id).id == made.id
    other.predictions.cancel(made.id)
    assert replicate.Client(api_token=REPLICATE, base_url=a).predictions.get(made.id).status == "canceled"
    assert admin(a, "GET", "/jobs").json()["total"] == admin(b, "GET", "/jobs").json()["total"] == 2


def test_ids_do_not_collide_across_replicas(group):
    a, b = group.urls
    ids = {image_to_video(client(url)).id for url in (a, b) for _ in range(5)}
    assert len(ids) == 10
    assert admin(a, "GET", "/jobs").json()["total"] == 10


def test_a_concurrency_limit_holds_across_replicas(group):
    a, b = group.urls
    group.use_profile({"extends": "happy", "jobs": {"queue": "0s", "run": "1h"},
                        "limits": {"concurrent_jobs": 2}}, "two-slots")
    tasks = [image_to_video(client(url)) for url in (a, b, a, b)]
    states = [client(b).tasks.retrieve(t.id).status for t in tasks]
    assert states[:2] == ["RUNNING", "RUNNING"] and states[2:] == ["THROTTLED", "THROTTLED"], states
    client(b).tasks.delete(tasks[0].id)  # a cancel frees its slot: the first waiting job moves up, on both
    assert client(a).tasks.retrieve(tasks[2].id).status == "RUNNING"
    assert client(a).tasks.retrieve(tasks[3].id).status == "THROTTLED"

    kling_a, kling_b = Kling(a), Kling(b)
    assert kling_a.post("/v1/videos/text2video", KLING_BODY).json()["code"] == 0
    assert kling_b.post("/v1/videos/text2video", KLING_BODY).json()["code"] == 0
    for kling in (kling_a, kling_b):
        over = kling.post("/v1/videos/text2video", KLING_BODY)
        assert over.status_code == 429 and over.json()["code"] == 1303


def test_a_profile_switched_on_one_replica_is_seen_on_the_other_within_a_second(group):
    a, b = group.urls
    assert admin(b, "GET", "/profile").json()["name"] == "happy"
    assert admin(a, "PUT", "/profile", {"name": "realistic"}).status_code == 200
    until(lambda: admin(b, "GET", "/profile").json()["name"] == "realistic", 1.0)
    key = "key_" + "0123456789abcdef" * 8
    assert admin(b, "PUT", f"/keys/{key}/profile", {"name": "happy"}).status_code == 200
    until(lambda: key in admin(a, "GET", "/profiles").json()["keys"], 1.0)
    # the clock is shared too: a scale set on one replica is the other's
    assert admin(a, "PUT", "/clock", {"scale": 0.5}).status_code == 200
    until(lambda: admin(b, "GET", "/clock").json()["scale"] == 0.5, 1.0)
    assert admin(b, "PUT", "/clock", {"scale": SCALE}).status_code == 200


def test_a_replica_killed_with_sigkill_loses_no_job_and_no_slot(group):
    a, b = group.urls
    group.use_profile({"extends": "happy", "jobs": {"queue": "0s", "run": "100s"},
                        "limits": {"concurrent_jobs": 1}}, "one-slot")
    first, second = image_to_video(client(a)), image_to_video(client(a))
    before = {t.id: admin(a, "GET", f"/jobs/{t.id}").json() for t in (first, second)}
    assert before[second.id]["state"] == "throttled"
    assert group.kill(0) == -9
    after = {t.id: admin(b, "GET", f"/jobs/{t.id}").json() for t in (first, second)}
    for job_id, job in before.items():
        assert after[job_id]["plan"] == job["plan"] and after[job_id]["admitted"] == job["admitted"]
    # the dead replica's slot frees when its job ends: the waiting job starts and finishes on the survivor
    done = client(b).tasks.retrieve(second.id).wait_for_task_output(timeout=30)
    assert done.status == "SUCCEEDED"
    assert client(b).tasks.retrieve(image_to_video(client(b)).id).status == "RUNNING"  # no slot left taken


def test_a_redis_restart_is_survived(group, store):
    a, b = group.urls
    task = image_to_video(client(a))
    store.stop()  # SIGTERM: the append-only file is complete
    down = httpx.get(f"{b}/v1/tasks/{task.id}", headers={"Authorization": f"Bearer {'key_' + '0123456789abcdef' * 8}",
                                                         "X-Runway-Version": "2024-11-06"})
    assert down.status_code == 503 and "error" in down.json()
    store.start()
    until(lambda: _status(b, task.id) == 200, 10.0, 0.05)
    assert client(a).tasks.retrieve(task.id).id == task.id
    assert "unavailable" in group[1].log()  # one log line says why the 503s


def _status(url: str, task_id: str) -> int:
    try:
        return client(url).tasks.with_raw_response.retrieve(task_id).status_code
    except Exception:  # the SDK raises for a 503: keep trying
        return 503
