"""Kling's API as a hand-written client sees it: create, poll, download and decode; validation; queries."""

from __future__ import annotations

import httpx
import orjson
import pytest
from kling_client import Kling, png_base64, probe_mp4

from mockprovider.testing import MockServer

COSTS = {"start_time": 0, "end_time": 2 * 10**12}  # /account/costs requires both

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=4) as s:
        yield s


def test_text2video_to_a_decodable_mp4(kling):
    created = kling.create("text2video", {"model_name": "kling-v2-6", "prompt": "a cat on a skateboard",
                                          "duration": "5", "mode": "std", "aspect_ratio": "9:16",
                                          "external_task_id": "t2v-1"})
    assert created["task_status"] == "submitted"
    assert created["task_id"].isdigit() and len(created["task_id"]) == 18
    assert created["task_info"] == {"external_task_id": "t2v-1"}
    assert isinstance(created["created_at"], int) and created["created_at"] > 10**12
    done = kling.wait("text2video", created["task_id"])
    assert done["task_status"] == "succeed", done
    assert set(done["_seen"]) <= {"submitted", "processing", "succeed"}
    assert done["task_status_msg"] == ""
    assert done["final_unit_deduction"] == "1.5"
    [video] = done["task_result"]["videos"]
    assert video["duration"] == "5" and isinstance(video["duration"], str)
    media = httpx.get(video["url"], timeout=20)
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    info = probe_mp4(media.content)
    assert (info["width"], info["height"]) == (720, 1280)
    assert abs(info["duration"] - 5.0) < 0.2


def test_each_poll_is_the_task_rendered_afresh_byte_for_byte(server, kling):
    """Unfinished tasks' bodies are kept encoded between polls: each answer is still the envelope of the task
    rendered afresh, in orjson's bytes, with a fresh request id, through every status."""
    from mockprovider.dialects.kling import responses as wire

    dialect = next(d for d in server.app.dialects if d.name == "kling")
    engine = server.app.engine
    assert server.admin("PUT", "/profile", {"profile": {"extends": "happy",
                                                        "jobs": {"queue": "1h", "run": "1h"}}}).status_code == 200
    created = kling.create("text2video", {"prompt": "a cat", "external_task_id": "polled-1"})
    path = f"/v1/videos/text2video/{created['task_id']}"
    for status in ("submitted", "processing", "succeed"):
        replies = [kling.get(path) for _ in range(2)]
        job = server.call(engine.get, "kling", created["task_id"])
        state, _ = job.state(engine.clock.now())
        for reply in replies:
            answer = reply.json()
            assert answer["data"]["task_status"] == status and reply.content == orjson.dumps(answer)
            if status != "succeed":  # a finished task's links are signed afresh: its body is built each time
                rendered = dialect._render(job, state, "", 0.0)
                assert reply.content == wire.envelope(answer["request_id"], rendered).body
        if status != "succeed":
            assert replies[0].json()["data"] == replies[1].json()["data"]
        assert replies[0].json()["request_id"] != replies[1].json()["request_id"]
        assert replies[0].json()["data"]["task_info"] == {"external_task_id": "polled-1"}
        assert server.admin("POST", "/clock", {"advance": "1h"}).status_code == 200


def test_request_ids_are_the_seeded_stream_in_order_and_start_again_after_a_reset(server, kling):
    from mockprovider.engine.rng import stream, uuid4_text

    rng = stream(server.app.engine.seed, "kling", "request_ids")
    expected = [uuid4_text(rng) for _ in range(70)]  # past the first batch drawn ahead
    created = kling.post("/v1/videos/text2video", {"prompt": "a cat"}).json()
    path = f"/v1/videos/text2video/{created['data']['task_id']}"
    ids = [created["request_id"]] + [kling.get(path).json()["request_id"] for _ in range(69)]
    assert ids == expected
    assert server.admin("POST", "/reset").status_code in (200, 204)
    assert kling.get(path).json()["request_id"] == expected[0]  # a 1203 now, from the stream drawn afresh


def test_image2video_follows_the_image_and_the_duration(kling):
    created = kling.create("image2video", {"model_name": "kling-v1-6", "image": png_base64(640, 360),
                                           "prompt": "waves", "duration": "10", "mode": "pro"})
    done = kling.wait("image2video", created["task_id"])
    assert done["task_status"] == "succeed", done
    [video] = done["task_result"]["videos"]
    assert video["duration"] == "10"
    info = probe_mp4(httpx.get(video["url"], timeout=30).content)
    assert (info["width"], info["height"]) == (1920, 1080)
    assert abs(info["duration"] - 10.0) < 0.2
    # the image2video path does not find a text2video task, and the other way round
    assert kling.get(f"/v1/videos/text2video/{created['task_id']}").json()["code"] == 1203


def test_kling_v3_takes_3_to_15_seconds(kling):
    created = kling.create("text2video", {"model_name": "kling-v3", "prompt": "rain", "duration": "3",
                                          "aspect_ratio": "1:1", "watermark_info": {"enabled": True}})
    done = kling.wait("text2video", created["task_id"])
    assert done["watermark_info"] == {"enabled": True}
    [video] = done["task_result"]["videos"]
    info = probe_mp4(httpx.get(video["url"], timeout=20).content)
    assert (info["width"], info["height"]) == (720, 720) and abs(info["duration"] - 3.0) < 0.2
    assert httpx.get(video["watermark_url"], timeout=20).headers["content-type"] == "video/mp4"


def test_query_by_external_task_id_and_its_uniqueness(kling):
    created = kling.create("text2video", {"prompt": "x", "external_task_id": "mine-7"})
    by_external = kling.query("text2video", "mine-7")
    assert by_external["task_id"] == created["task_id"]
    again = kling.post("/v1/videos/text2video", {"prompt": "y", "external_task_id": "mine-7"})
    assert again.status_code == 400 and again.json()["code"] == 1201
    assert "external_task_id" in again.json()["message"]
    missing = kling.get("/v1/videos/text2video/000000000000000001")
    assert missing.status_code == 404 and missing.json()["code"] == 1203


def test_list_pages_newest_first(kling):
    ids = [kling.create("text2video", {"prompt": f"p{i}"})["task_id"] for i in range(5)]
    first = kling.get("/v1/videos/text2video", pageNum=1, pageSize=2).json()
    assert first["code"] == 0 and [t["task_id"] for t in first["data"]] == ids[::-1][:2]
    third = kling.get("/v1/videos/text2video", pageNum=3, pageSize=2).json()["data"]
    assert [t["task_id"] for t in third] == [ids[0]]
    assert kling.get("/v1/videos/image2video").json()["data"] == []
    for params in ({"pageSize": 0}, {"pageSize": 501}, {"pageNum": 1001}, {"pageNum": "x"}):
        bad = kling.get("/v1/videos/text2video", **params)
        assert bad.status_code == 400 and bad.json()["code"] == 1201, params


@pytest.mark.parametrize(("kind", "body", "field"), [
    ("text2video", {"model_name": "kling-v9", "prompt": "x"}, "model_name"),
    ("text2video", {"model_name": "kling-v1-5", "prompt": "x"}, "model_name"),  # image2video only
    ("text2video", {"model_name": "kling-v2-master", "prompt": "x", "cfg_scale": 0.5}, "cfg_scale"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x", "cfg_scale": 1.5}, "cfg_scale"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x", "duration": 5}, "duration"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x", "duration": "7"}, "duration"),
    ("text2video", {"model_name": "kling-v3", "prompt": "x", "duration": "16"}, "duration"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x", "mode": "ultra"}, "mode"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio"),
    ("text2video", {"model_name": "kling-v1"}, "prompt"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x" * 2501}, "prompt"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x", "negative_prompt": "n" * 2501}, "negative_prompt"),
    ("text2video", {"model_name": "kling-v2-6", "prompt": "x", "sound": "on", "mode": "std"}, "sound"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x", "mode": "pro",
                    "camera_control": {"type": "forward_up"}}, "camera_control"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x",
                    "camera_control": {"type": "simple", "config": {"zoom": 11}}}, "camera_control.config.zoom"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x",
                    "camera_control": {"type": "simple", "config": {"zoom": 2, "pan": 1}}}, "camera_control"),
    ("text2video", {"model_name": "kling-v1", "prompt": "x", "callback_url": "ftp://x"}, "callback_url"),
    ("image2video", {"model_name": "kling-v1-6", "prompt": "x"}, "image"),
    ("image2video", {"model_name": "kling-v1-6", "image": "data:image/png;base64," + png_base64(400, 400)}, "image"),
    ("image2video", {"model_name": "kling-v1-6", "image": png_base64(200, 400)}, "image"),
    ("image2video", {"model_name": "kling-v1-6", "image": png_base64(1000, 300)}, "image"),
    ("image2video", {"model_name": "kling-v1-6", "image": "R0lGODlhAQABAAAAACw="}, "image"),
    ("image2video", {"model_name": "kling-v1-6", "image": "!!not base64!!"}, "image"),
    ("image2video", {"model_name": "kling-v1-6", "mode": "std", "image": png_base64(400, 400),
                     "image_tail": png_base64(400, 400)}, "image_tail"),
    ("image2video", {"model_name": "kling-v1-5", "mode": "pro", "image": png_base64(400, 400),
                     "image_tail": png_base64(400, 400),
                     "camera_control": {"type": "simple", "config": {"zoom": 1}}}, "image_tail"),
])
def test_validation_names_the_field(kling, kind, body, field):
    r = kling.post(f"/v1/videos/{kind}", body)
    answer = r.json()
    assert r.status_code == 400, answer
    assert answer["code"] == 1201 and field in answer["message"], answer
    assert set(answer) == {"code", "message", "request_id"}


def test_a_camera_move_where_the_capability_map_allows_it(kling):
    created = kling.create("text2video", {"model_name": "kling-v1", "prompt": "x", "mode": "std", "duration": "5",
                                          "cfg_scale": 0.3, "camera_control": {"type": "simple",
                                                                               "config": {"zoom": 5}}})
    assert created["task_status"] == "submitted"


@pytest.mark.parametrize(("content", "code", "status"), [
    (b"{not json", 1200, 400),
    (b"[1, 2]", 1200, 400),
    (b"", 1200, 400),
])
def test_malformed_bodies(kling, content, code, status):
    r = kling.http.post("/v1/videos/text2video", headers=kling.headers(), content=content)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text


def test_oversized_body_is_a_clear_4xx():
    with MockServer(profile="happy", time_scale=0.01, max_body=1024) as server:
        client = Kling(server.url)
        r = client.post("/v1/videos/text2video", {"prompt": "x" * 4096})
        assert r.status_code == 413 and r.json()["code"] == 1200
        client.close()


def test_unrouted_paths_and_methods_answer_in_kling_shape(kling):
    r = kling.http.put("/v1/videos/text2video", headers=kling.headers())
    assert (r.status_code, r.json()["code"]) == (404, 1202)
    r = kling.get("/v1/videos/omni-video/1")
    assert (r.status_code, r.json()["code"]) == (404, 1203)


def test_account_costs_reflect_spending(kling):
    before = kling.get("/account/costs", **COSTS).json()
    assert before["code"] == 0
    [pack] = before["data"]["resource_pack_subscribe_infos"]
    kling.create("text2video", {"model_name": "kling-v1", "prompt": "x", "mode": "pro", "duration": "10"})
    [after] = kling.get("/account/costs", **COSTS).json()["data"]["resource_pack_subscribe_infos"]
    assert pack["remaining_quantity"] - after["remaining_quantity"] == pytest.approx(7.0)
    assert after["status"] == "online"
