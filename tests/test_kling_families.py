"""Kling's newer task families through the docs-written client (tests/kling_client.py): omni-video,
multi-image2video, video-extend, identify-face + advanced-lip-sync, effects and image generation; their list/get
routes, callbacks, error codes, /account/costs parameters and unknown paths. Every output is decoded."""

from __future__ import annotations

import io

import av
import httpx
import pytest
from kling_client import Receiver, png_base64, probe_mp4

from mockprovider.testing import MockServer

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
IMAGE = "https://example.com/person.png"
VIDEO = "https://example.com/clip.mp4"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=8) as s:
        yield s


def refused(kling, path: str, body: dict, code: int = 1201, status: int = 400) -> str:
    reply = kling.post(path, body)
    answer = reply.json()
    assert (reply.status_code, answer["code"]) == (status, code), answer
    assert set(answer) == {"code", "message", "request_id"}
    return answer["message"]


def video_of(task: dict) -> dict:
    [video] = task["task_result"]["videos"]
    media = httpx.get(video["url"], timeout=120)
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    return {**probe_mp4(media.content), "id": video["id"], "text": video["duration"]}


def test_omni_video_defaults_to_pro_and_validates_its_inputs(kling):
    created = kling.create("omni-video", {"prompt": "a <<<image_1>>> dancer", "aspect_ratio": "9:16",
                                          "image_list": [{"image_url": IMAGE}], "duration": "7"})
    done = kling.wait("omni-video", created["task_id"])
    assert done["task_status"] == "succeed" and done["final_unit_deduction"] == "5.6"  # o1 pro 0.8/s x 7 s
    info = video_of(done)
    assert (info["width"], info["height"], info["text"]) == (1080, 1920, "7")
    assert [t["task_id"] for t in kling.get("/v1/videos/omni-video").json()["data"]] == [created["task_id"]]
    v3 = kling.post("/v1/videos/omni-video/", {"model_name": "kling-v3-omni", "prompt": "x", "mode": "std",
                                               "aspect_ratio": "1:1", "duration": "15", "sound": "on"})
    assert v3.status_code == 200 and v3.json()["code"] == 0  # the doc's trailing-slash path
    assert "aspect_ratio" in refused(kling, "/v1/videos/omni-video", {"prompt": "x"})
    refused(kling, "/v1/videos/omni-video", {"prompt": "x", "aspect_ratio": "16:9", "duration": "11"})
    assert "end_frame" in refused(kling, "/v1/videos/omni-video", {
        "prompt": "x", "image_list": [{"image_url": IMAGE, "type": "end_frame"}]})
    assert "sound" in refused(kling, "/v1/videos/omni-video", {
        "prompt": "x", "aspect_ratio": "16:9", "sound": "on",
        "video_list": [{"video_url": VIDEO, "refer_type": "feature"}]})
    refused(kling, "/v1/videos/omni-video", {"prompt": "x", "aspect_ratio": "16:9", "model_name": "kling-v3"})


def test_multi_image2video(kling):
    images = [{"image": png_base64(400, 400)}, {"image": IMAGE}]
    created = kling.create("multi-image2video", {"image_list": images, "prompt": "together", "mode": "pro",
                                                 "duration": "10", "aspect_ratio": "16:9"})
    done = kling.wait("multi-image2video", created["task_id"])
    assert done["final_unit_deduction"] == "7"
    info = video_of(done)
    assert (info["width"], info["height"], info["text"]) == (1920, 1080, "10")
    refused(kling, "/v1/videos/multi-image2video", {"image_list": images * 3, "prompt": "x"})
    refused(kling, "/v1/videos/multi-image2video", {"image_list": images, "prompt": "x", "model_name": "kling-v2-6"})
    refused(kling, "/v1/videos/multi-image2video", {"image_list": [{"image": "data:image/png;base64,AAAA"}],
                                                    "prompt": "x"})


def test_video_extend_adds_up_and_names_its_parent(kling):
    source = kling.wait("text2video", kling.create("text2video", {"model_name": "kling-v1-6", "prompt": "a road",
                                                                  "duration": "5"})["task_id"])
    first = video_of(source)
    extended = kling.wait("video-extend", kling.create("video-extend", {"video_id": first["id"],
                                                                         "prompt": "keep driving"})["task_id"])
    again = kling.wait("video-extend", kling.create("video-extend", {
        "video_id": extended["task_result"]["videos"][0]["id"]})["task_id"])
    info = video_of(again)
    assert info["text"] == "15" and info["duration"] == pytest.approx(15.0, abs=0.1)
    assert (info["width"], info["height"]) == (first["width"], first["height"])
    parent = again["task_info"]["parent_video"]
    assert parent["duration"] == "10" and parent["id"] == extended["task_result"]["videos"][0]["id"]
    assert extended["final_unit_deduction"] == "2"  # v1-6 std, per extension
    v26 = kling.wait("text2video", kling.create("text2video", {"model_name": "kling-v2-6", "prompt": "x"})["task_id"])
    assert "cannot be extended" in refused(kling, "/v1/videos/video-extend",
                                           {"video_id": v26["task_result"]["videos"][0]["id"]})
    refused(kling, "/v1/videos/video-extend", {"video_id": "123456789012345678"}, 1203, 404)
    refused(kling, "/v1/videos/video-extend", {})


def test_identify_face_then_advanced_lip_sync(kling):
    source = kling.wait("text2video", kling.create("text2video", {"model_name": "kling-v2-6", "prompt": "a face",
                                                                  "duration": "5"})["task_id"])
    video_id = source["task_result"]["videos"][0]["id"]
    reply = kling.post("/v1/videos/identify-face", {"video_id": video_id})
    assert reply.status_code == 200
    faces = reply.json()["data"]
    [face] = faces["face_data"]
    assert face["end_time"] == 5000 and faces["session_id"]
    picture = httpx.get(face["face_image"], timeout=120)
    assert picture.headers["content-type"] == "image/jpeg"
    with av.open(io.BytesIO(picture.content)) as container:
        assert next(container.decode(video=0)).width == 256
    assert kling.post("/v1/videos/Identify-face", {"video_url": VIDEO}).json()["code"] == 0  # older spelling
    refused(kling, "/v1/videos/identify-face", {"video_id": video_id, "video_url": VIDEO})
    refused(kling, "/v1/videos/identify-face", {"video_id": "123456789012345678"}, 1203, 404)  # as video-extend
    choose = {"face_id": face["face_id"], "sound_file": "https://example.com/line.mp3", "sound_start_time": 0,
              "sound_end_time": 3000, "sound_insert_time": 1000, "sound_volume": 1.5}
    created = kling.create("advanced-lip-sync", {"session_id": faces["session_id"], "face_choose": [choose]})
    done = kling.wait("advanced-lip-sync", created["task_id"])
    info = video_of(done)
    assert info["audio"] and info["duration"] == pytest.approx(5.0, abs=0.1)
    assert done["final_unit_deduction"] == "0.5"
    refused(kling, "/v1/videos/advanced-lip-sync", {"session_id": "nope", "face_choose": [choose]})
    refused(kling, "/v1/videos/advanced-lip-sync", {"session_id": faces["session_id"],
                                                    "face_choose": [{**choose, "sound_end_time": 1000}]})
    refused(kling, "/v1/videos/advanced-lip-sync", {"session_id": faces["session_id"],
                                                    "face_choose": [{**choose, "sound_insert_time": 4500}]})


def test_effects_single_and_dual(kling):
    single = kling.wait("effects", kling.create("effects", {"effect_scene": "bullet_time",
                                                            "input": {"image": IMAGE, "duration": "5"}})["task_id"])
    assert video_of(single)["text"] == "5"
    dual = kling.create("effects", {"effect_scene": "hug", "input": {"model_name": "kling-v1-6", "mode": "pro",
                                                                     "images": [IMAGE, IMAGE], "duration": "10"}})
    info = video_of(kling.wait("effects", dual["task_id"]))
    assert (info["height"], info["text"]) == (1080, "10")
    refused(kling, "/v1/videos/effects", {"effect_scene": "fight", "input": {"model_name": "kling-v1",
                                                                              "images": [IMAGE, IMAGE],
                                                                              "duration": "5"}})
    refused(kling, "/v1/videos/effects", {"effect_scene": "hug", "input": {"images": [IMAGE], "duration": "5"}})
    refused(kling, "/v1/videos/effects", {"effect_scene": "no_such_scene", "input": {"image": IMAGE,
                                                                                      "duration": "5"}})


def test_image_generation_returns_n_distinct_pngs(kling):
    created = kling.create("generations", {"model_name": "kling-v2-1", "prompt": "a red fox", "n": 3,
                                           "aspect_ratio": "3:2"})
    done = kling.wait("generations", created["task_id"])
    images = done["task_result"]["images"]
    assert [i["index"] for i in images] == [0, 1, 2] and done["final_unit_deduction"] == "12"
    bodies = []
    for image in images:
        reply = httpx.get(image["url"], timeout=120)
        assert reply.headers["content-type"] == "image/png"
        with av.open(io.BytesIO(reply.content)) as container:
            frame = next(container.decode(video=0))
            assert (frame.width, frame.height) == (1536, 1024)
        bodies.append(reply.content)
    assert len(set(bodies)) == 3
    assert kling.get("/v1/images/generations", pageSize=1).json()["data"][0]["task_id"] == created["task_id"]
    refused(kling, "/v1/images/generations", {"prompt": "x", "n": 10})
    refused(kling, "/v1/images/generations", {"prompt": "x", "model_name": "kling-v2", "image_reference": "face"})
    refused(kling, "/v1/images/generations", {"prompt": "x", "image": IMAGE, "negative_prompt": "y"})


def test_new_families_send_callbacks(server, kling):
    profile = {"extends": "happy", "callbacks": {"delay": "0s", "backoff": "2s", "max_attempts": 3}}
    assert server.admin("PUT", "/profile", json={"profile": profile}).status_code == 200
    with Receiver() as receiver:
        task = kling.create("generations", {"prompt": "cb", "callback_url": receiver.url, "external_task_id": "g1"})
        receiver.wait_for(lambda: any(b["task_status"] == "succeed" for b in receiver.accepted()))
    final = [b for b in receiver.accepted() if b["task_status"] == "succeed"][-1]
    assert final["task_id"] == task["task_id"] and "code" not in final
    assert final["task_info"] == {"external_task_id": "g1"} and final["task_result"]["images"]
    assert kling.query("generations", "g1")["task_id"] == task["task_id"]  # external ids resolve here too


def test_account_costs_requires_its_documented_parameters(kling):
    for params in ({}, {"start_time": 0}, {"end_time": 10}, {"start_time": "x", "end_time": 10},
                   {"start_time": 10, "end_time": 5}):
        reply = kling.get("/account/costs", **params)
        assert (reply.status_code, reply.json()["code"]) == (400, 1201), params
    ok = kling.get("/account/costs", start_time=0, end_time=10**13).json()["data"]
    assert ok["resource_pack_subscribe_infos"]
    other = kling.get("/account/costs", start_time=0, end_time=10**13, resource_pack_name="Image pack").json()
    assert other["data"]["resource_pack_subscribe_infos"] == []


def test_unknown_kling_paths_answer_in_klings_envelope(kling):
    for method, path in (("GET", "/v1/videos/lip-sync/123"), ("POST", "/v1/audio/text-to-audio/x"),
                         ("GET", "/v1/images/nope"), ("GET", "/account/whoami"), ("DELETE", "/v1/videos/effects")):
        reply = kling.http.request(method, path, headers=kling.headers())
        answer = reply.json()
        assert reply.status_code in (404, 405) and set(answer) == {"code", "message", "request_id"}, path
        assert answer["code"] in (1202, 1203)
