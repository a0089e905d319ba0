"""Wan's local-file inputs through dashscope unchanged: ``img_url="file://..."`` makes the SDK fetch an upload policy,
POST the file to our upload host and send ``oss://`` with the resolve header; the task renders a decodable MP4.
oss:// URLs not uploaded by the key (or without the header) are refused; the store is bounded."""

from __future__ import annotations

import asyncio
import base64
import json

import dashscope
import httpx
import pytest
from dashscope import VideoSynthesis
from kling_client import png_base64, probe_mp4

from mockprovider.dialects.wan.uploads import Upload, UploadStore
from mockprovider.state import Backend
from mockprovider.testing import MockServer

KEY = "sk-upload-1"
CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=5) as s:
        yield s


@pytest.fixture
def wan(server, monkeypatch):
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{server.url}/api/v1")
    return VideoSynthesis


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "first frame.png"
    path.write_bytes(base64.b64decode(png_base64(720, 1280)))
    return path


def _create(server, url: str, key: str = KEY, resolve: bool = True, model: str = "wan2.6-i2v") -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"}
    if resolve:
        headers["X-DashScope-OssResourceResolve"] = "enable"
    body = {"model": model, "input": {"prompt": "waves", "img_url": url}, "parameters": {"resolution": "720P"}}
    return httpx.post(f"{server.url}{CREATE}", headers=headers, content=json.dumps(body))


def test_sdk_uploads_a_local_file_and_the_task_renders(wan, image):
    created = wan.async_call(model="wan2.6-i2v", img_url=image.as_uri(), prompt="waves", resolution="720P",
                             duration=5, api_key=KEY)
    assert created.status_code == 200, created
    done = wan.wait(created, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED", done
    media = httpx.get(done.output.video_url, timeout=20)
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    info = probe_mp4(media.content)
    # the uploaded image is portrait (720x1280): the output follows it, as it does an inline image
    assert (info["width"], info["height"]) == (720, 1280) and abs(info["duration"] - 5.0) < 0.1


def test_policy_errors_in_dashscope_shape(server):
    auth = {"Authorization": f"Bearer {KEY}"}
    for query, code in [("action=getPolicy", "InvalidParameter"), ("action=nope&model=wan2.6-i2v", "InvalidParameter"),
                        ("action=getPolicy&model=no-such-model", "InvalidParameter")]:
        reply = httpx.get(f"{server.url}/api/v1/uploads?{query}", headers=auth)
        assert reply.status_code == 400 and set(reply.json()) == {"request_id", "code", "message"}
        assert reply.json()["code"] == code
    assert httpx.get(f"{server.url}/api/v1/uploads?action=getPolicy&model=wan2.6-i2v").json()["code"] == \
        "InvalidApiKey"
    policy = httpx.get(f"{server.url}/api/v1/uploads?action=getPolicy&model=wan2.6-i2v", headers=auth).json()["data"]
    assert policy["upload_host"] == f"{server.url}/api/v1/uploads/oss"


def _upload(server, key: str, name: str = "a.png", form_key: str | None = None,
            content: bytes = b"\x89PNG" + b"0" * 100, **changes) -> tuple[int, str]:
    auth = {"Authorization": f"Bearer {key}"}
    policy = httpx.get(f"{server.url}/api/v1/uploads?action=getPolicy&model=wan2.6-i2v", headers=auth).json()["data"]
    form = {"OSSAccessKeyId": policy["oss_access_key_id"], "Signature": policy["signature"],
            "policy": policy["policy"], "key": form_key or f"{policy['upload_dir']}/{name}",
            "success_action_status": "200", **changes}
    reply = httpx.post(policy["upload_host"], data=form, files={"file": (name, content)})
    return reply.status_code, "oss://" + form["key"]


def test_oss_urls_only_for_files_the_key_uploaded(server):
    status, url = _upload(server, KEY)
    assert status == 200
    assert _create(server, url).status_code == 200
    for reply in (_create(server, url, key="sk-someone-else"), _create(server, url + "x"),
                  _create(server, "oss://dashscope-instant/made/up.png"), _create(server, url, resolve=False)):
        assert reply.status_code == 400 and reply.json()["code"].startswith("InvalidParameter"), reply.text
        assert set(reply.json()) == {"request_id", "code", "message"}


def _size_of_task(server, created: httpx.Response) -> str:
    """The finished task's ``usage.video_ratio`` (wan2.2 reports the size it made)."""
    assert created.status_code == 200, created.text
    task = created.json()["output"]["task_id"]
    done = VideoSynthesis.wait(task, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED", done
    return done.usage["video_ratio"]


def test_uploaded_images_set_the_output_orientation(server, wan):
    """The size read from the upload's header steers the output like an inline image's: square and landscape
    uploads give square and landscape sizes; an image outside 360-2000 px is refused as inline ones are."""
    expected = {(960, 960): "960*960", (1280, 720): "1280*720", (1088, 832): "1088*832"}
    for (w, h), size in expected.items():
        status, url = _upload(server, KEY, name=f"{w}x{h}.png", content=base64.b64decode(png_base64(w, h)))
        assert status == 200
        assert _size_of_task(server, _create(server, url, model="wan2.2-i2v-flash")) == size
    status, url = _upload(server, KEY, name="tiny.png", content=base64.b64decode(png_base64(200, 200)))
    assert status == 200
    tiny = _create(server, url)
    assert tiny.status_code == 400 and "360 to 2000" in tiny.json()["message"]
    status, url = _upload(server, "sk-someone-else", name="theirs.png", content=base64.b64decode(png_base64(200, 200)))
    theirs = _create(server, url)  # not this key's file: refused as unknown, its size never consulted
    assert theirs.status_code == 400 and theirs.json()["code"] == "InvalidParameter.DataInspection"


def test_upload_refusals(server):
    assert _upload(server, KEY, OSSAccessKeyId="LTAIforged")[0] == 403
    assert _upload(server, KEY, form_key="elsewhere/a.png")[0] == 400
    assert _upload(server, KEY, name="..")[0] == 400
    bad = httpx.post(f"{server.url}/api/v1/uploads/oss", content=b"not multipart",
                     headers={"Content-Type": "text/plain"})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidParameter"


def test_store_is_bounded_and_evicts_oldest_first():
    async def scenario() -> None:
        store = UploadStore(Backend(), max_files=3)
        for i in range(5):
            assert await store.add(f"k{i}", Upload("a", 10, "image/png", (640, 480)))
        assert not await store.add("k4", Upload("b", 1, "image/png"))  # OSS's forbid-overwrite
        found = await store.get_many([f"k{i}" for i in range(5)])
        assert sorted(found) == ["k2", "k3", "k4"] and found["k4"] == Upload("a", 10, "image/png", (640, 480))

    asyncio.run(scenario())
