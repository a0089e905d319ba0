"""What dialects remember between requests, seen from two replicas sharing one real redis-server (two servers
in this process, each with its own event loop, its own seed and ``--state redis://``): uploads made through one
are used by generations on the other (runwayml, dashscope, Replicate, fal), Kling key pairs and identify-face
sessions hold on both, a Kling external_task_id and a media link work across them, a Veo file made through one
downloads and extends on the other, and a Redis outage answers each provider's 503."""

from __future__ import annotations

import base64
import datetime
import io
import time

import dashscope
import httpx
import pytest
import replicate
import runwayml
from dashscope import VideoSynthesis
from dashscope.utils.oss_utils import OssUtils
from kling_client import Kling, png_base64, probe_mp4
from runway_client import client as runway

from mockprovider.testing import MockServer

WAN_KEY = "sk-shared-1"
REPLICATE_KEY = "r8_" + "s" * 37


@pytest.fixture(scope="module")
def pair(redis_server):
    """Replicas A and B on one Redis (flushed first), run with one seed as replicas are: their seeded id streams
    draw the same ids, which the shared tables must keep apart."""
    if redis_server.process is None or not redis_server.ping():
        redis_server.start()
    redis_server.command("FLUSHALL")
    with MockServer(profile="happy", time_scale=0.01, seed=1, state=redis_server.url) as a, \
            MockServer(profile="happy", time_scale=0.01, seed=1, state=redis_server.url) as b:
        yield a, b


def test_runway_upload_on_a_generates_on_b(pair):
    a, b = pair
    uri = runway(a.url).uploads.create_ephemeral(file=("cat.png", b"\x89PNG" + b"\0" * 600, "image/png")).uri
    task = runway(b.url).image_to_video.create(model="gen4_turbo", prompt_image=uri, prompt_text="a cat",
                                                ratio="1280:720", duration=5)
    assert task.id
    # Step 2 of an upload may land elsewhere too: the policy signed by A is good on B.
    headers = {"Authorization": f"Bearer {runway(a.url).api_key}", "X-Runway-Version": "2024-11-06"}
    made = httpx.post(f"{a.url}/v1/uploads", headers=headers, json={"filename": "b.png", "type": "ephemeral"})
    assert made.status_code == 200, made.text
    made = made.json()
    upload_url = made["uploadUrl"].replace(a.url, b.url)
    sent = httpx.post(upload_url, data=made["fields"], files={"file": ("b.png", b"\x89PNG" + b"\0" * 600,
                                                                        "image/png")})
    assert sent.status_code == 204, sent.text
    forged = httpx.post(upload_url, data={**made["fields"], "policy": "0" * 64},
                        files={"file": ("b.png", b"\x89PNG" + b"\0" * 600, "image/png")})
    assert forged.status_code == 403
    assert runway(a.url).image_to_video.create(model="gen4_turbo", prompt_image=made["runwayUri"],
                                               prompt_text="a cat", ratio="1280:720", duration=5).id


def test_runway_personas_routers_and_usage_are_the_organizations_on_every_replica(pair):
    a, b = pair
    on_a, on_b = runway(a.url, key="key_books"), runway(b.url, key="key_books")
    voice = on_a.voices.create(name="Host", from_={"type": "audio", "audio": "https://example.com/me.mp3"})
    assert on_b.voices.retrieve(voice.id).name == "Host"
    avatar = on_b.avatars.create(name="Ava", personality="Cheerful", reference_image="https://example.com/f.png",
                                 voice={"type": "custom", "id": voice.id})
    assert [v.id for v in on_a.voices.list(limit=10)] == [voice.id]
    assert on_a.avatars.retrieve(avatar.id).voice.id == voice.id
    on_a.voices.delete(voice.id)
    with pytest.raises(runwayml.NotFoundError):
        on_b.voices.retrieve(voice.id)
    made = on_b.routers.create(slug="shared-router", name="Prod", settings={"optimizeFor": "quality"})
    assert on_a.routers.retrieve(made.id).slug == "shared-router"
    assert on_a.routers.update(made.id, description="main").version == 2
    assert on_b.routers.retrieve(made.id).description == "main"
    on_a.text_to_video.create(model="gen4.5", prompt_text="a cat", ratio="1280:720", duration=5)
    day = datetime.datetime.now(datetime.timezone.utc).date()
    report = on_b.organization.retrieve_usage(start_date=day.isoformat(),
                                              before_date=(day + datetime.timedelta(days=1)).isoformat())
    assert report.models == ["gen4.5"]  # the task made through A is charged in B's report


def test_wan_oss_upload_on_a_generates_on_b(pair, monkeypatch, tmp_path):
    a, b = pair
    image = tmp_path / "frame.png"
    image.write_bytes(base64.b64decode(png_base64(720, 1280)))
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{a.url}/api/v1")
    oss_url, _ = OssUtils.upload(model="wan2.6-i2v", file_path=str(image), api_key=WAN_KEY)
    assert oss_url.startswith("oss://")
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{b.url}/api/v1")
    created = VideoSynthesis.async_call(model="wan2.6-i2v", img_url=oss_url, prompt="waves", resolution="720P",
                                        duration=5, api_key=WAN_KEY)
    assert created.status_code == 200, created
    done = VideoSynthesis.wait(created, api_key=WAN_KEY)
    assert done.output.task_status == "SUCCEEDED", done
    info = probe_mp4(httpx.get(done.output.video_url, timeout=20).content)
    assert info["height"] > info["width"]  # the portrait upload read on A steers the output made on B
    # Another key cannot use the file, on either replica.
    other = VideoSynthesis.async_call(model="wan2.6-i2v", img_url=oss_url, prompt="waves", resolution="720P",
                                      api_key="sk-someone-else")
    assert other.status_code == 400 and other.code == "InvalidParameter.DataInspection"


def test_replicate_file_on_a_is_read_on_b(pair):
    a, b = pair
    content = b"\x89PNG\r\n\x1a\n" + b"\x07" * 300
    made = replicate.Client(api_token=REPLICATE_KEY, base_url=a.url).files.create(io.BytesIO(content),
                                                                                  filename="cat.png")
    on_b = replicate.Client(api_token=REPLICATE_KEY, base_url=b.url)
    assert on_b.files.get(made.id).size == len(content)
    assert [f.id for f in on_b.files.list()] == [made.id]
    download = httpx.get(f"{b.url}/v1/files/{made.id}/download",
                         headers={"Authorization": f"Bearer {REPLICATE_KEY}"})
    assert download.status_code == 200 and download.content == content
    on_b.files.delete(made.id)
    assert httpx.get(f"{a.url}/v1/files/{made.id}",
                     headers={"Authorization": f"Bearer {REPLICATE_KEY}"}).status_code == 404


def test_fal_upload_on_a_is_served_by_b(pair):
    a, b = pair
    key = {"Authorization": "Key shared:secret"}
    granted = httpx.post(f"{a.url}/fal-rest/storage/auth/token?storage_type=fal-cdn-v3", headers=key, json={})
    assert granted.status_code == 200, granted.text
    cdn_token = {"Authorization": f"Bearer {granted.json()['token']}", "Content-Type": "image/png",
                 "X-Fal-File-Name": "cat.png"}
    sent = httpx.post(f"{b.url}/fal-cdn/files/upload", headers=cdn_token, content=b"\x89PNG fal")  # B takes A's
    assert sent.status_code == 200, sent.text
    url = sent.json()["access_url"]
    assert httpx.get(url.replace(b.url, a.url)).content == b"\x89PNG fal"
    initiated = httpx.post(f"{a.url}/fal-rest/storage/upload/initiate", headers=key,
                           json={"content_type": "text/plain", "file_name": "notes.txt"}).json()
    assert httpx.put(initiated["upload_url"].replace(a.url, b.url), content=b"notes",
                     headers={"Content-Type": "text/plain"}).status_code == 200
    assert httpx.get(initiated["file_url"]).content == b"notes"
    assert httpx.get(f"{a.url}/fal/webhooks/jwks").json() == httpx.get(f"{b.url}/fal/webhooks/jwks").json()


def test_kling_key_pair_added_on_a_signs_requests_to_b(pair):
    a, b = pair
    added = httpx.post(f"{a.url}/__mock/kling/keys", json={"access_key": "ak_shared", "secret_key": "sk_shared"})
    assert added.status_code == 201, added.text
    body = {"model_name": "kling-v1", "prompt": "a cat", "duration": "5"}
    assert Kling(b.url, "ak_shared", "sk_shared").create("text2video", body)["task_id"]
    listed = httpx.get(f"{b.url}/__mock/kling/keys").json()["keys"]
    assert {"access_key": "ak_shared", "source": "admin"}.items() <= next(
        k for k in listed if k["access_key"] == "ak_shared").items()
    assert httpx.delete(f"{b.url}/__mock/kling/keys/ak_shared").status_code == 204
    deadline = time.monotonic() + 5  # A may trust the pair it read for up to a second more
    while True:
        refused = Kling(a.url, "ak_shared", "sk_shared").post("/v1/videos/text2video", body)
        if refused.json()["code"] == 1000 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert refused.status_code == 401 and refused.json()["code"] == 1000


def test_face_session_made_on_a_is_used_on_b(pair):
    a, b = pair
    faces = Kling(a.url).post("/v1/videos/identify-face", {"video_url": "https://example.com/talk.mp4"})
    assert faces.status_code == 200, faces.text
    session = faces.json()["data"]["session_id"]
    lip = Kling(b.url).post("/v1/videos/advanced-lip-sync", {
        "session_id": session, "face_choose": [{"face_id": "0", "sound_file": "https://example.com/a.mp3",
                                                "sound_start_time": 0, "sound_end_time": 2000,
                                                "sound_insert_time": 0}]})
    assert lip.status_code == 200 and lip.json()["code"] == 0, lip.text


def test_one_seed_on_two_replicas_still_hands_out_distinct_ids(pair):
    a, b = pair
    policies = [httpx.get(f"{r.url}/api/v1/uploads", params={"action": "getPolicy", "model": "wan2.6-i2v"},
                          headers={"Authorization": f"Bearer {WAN_KEY}"}).json()["data"] for r in (a, b)]
    assert policies[0]["oss_access_key_id"] != policies[1]["oss_access_key_id"]
    assert policies[0]["upload_dir"] != policies[1]["upload_dir"]
    sessions = [Kling(r.url).post("/v1/videos/identify-face", {"video_url": "https://example.com/t.mp4"})
                .json()["data"]["session_id"] for r in (a, b)]
    assert sessions[0] != sessions[1]
    uploads = [runway(r.url).uploads.create_ephemeral(file=("c.png", b"\x89PNG" + b"\0" * 600, "image/png")).uri
               for r in (a, b)]
    assert uploads[0] != uploads[1]


def _finish(get, deadline: float = 20.0) -> dict:
    until = time.monotonic() + deadline
    while True:
        found = get()
        if found is not None:
            return found
        assert time.monotonic() < until, "the task did not finish"
        time.sleep(0.02)


def test_kling_external_id_and_media_link_across_replicas(pair):
    a, b = pair
    body = {"model_name": "kling-v1", "prompt": "a kite", "duration": "5", "external_task_id": "shared-ext-1"}
    made = Kling(a.url).create("text2video", body)
    refused = Kling(b.url).post("/v1/videos/text2video", body)
    assert refused.json()["code"] == 1201, refused.text  # the id is taken, whichever replica is asked

    def done() -> dict | None:
        found = Kling(b.url).query("text2video", "shared-ext-1")  # by external id, on the other replica
        return found if found["task_status"] == "succeed" else None

    task = _finish(done)
    assert task["task_id"] == made["task_id"]
    url = task["task_result"]["videos"][0]["url"]
    assert url.startswith(b.url)
    media = httpx.get(url.replace(b.url, a.url), timeout=20)  # signed by B, served by A
    assert media.status_code == 200, media.text
    assert probe_mp4(media.content)["width"] > 0
    forged = httpx.get(url.replace(b.url, a.url).replace("sig=", "sig=0"), timeout=20)
    assert forged.status_code == 403


def test_veo_gemini_file_from_a_downloads_and_extends_on_b(pair):
    a, b = pair
    key = {"x-goog-api-key": "k-shared"}
    model = "/v1beta/models/veo-3.1-generate-preview"
    made = httpx.post(f"{a.url}{model}:predictLongRunning", headers=key,
                      json={"instances": [{"prompt": "a red kite"}]}).json()

    def done() -> dict | None:
        op = httpx.get(f"{b.url}/v1beta/{made['name']}", headers=key).json()
        return op if op.get("done") else None

    uri = _finish(done)["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    file_path = uri.split("/v1beta/", 1)[1]
    media = httpx.get(f"{a.url}/v1beta/{file_path}", headers=key, timeout=20)  # the file, on either replica
    assert media.status_code == 200 and probe_mp4(media.content)["width"] > 0
    extended = httpx.post(f"{b.url}{model}:predictLongRunning", headers=key, json={
        "instances": [{"prompt": "keep going", "video": {"uri": uri}}], "parameters": {"durationSeconds": 8}})
    assert extended.status_code == 200, extended.text


def test_redis_outage_answers_each_providers_503(pair, redis_server):
    a, b = pair
    redis_server.kill()
    try:
        upload = httpx.post(f"{a.url}/v1/uploads", json={"filename": "a.png", "type": "ephemeral"},
                            headers={"Authorization": f"Bearer {runway(a.url).api_key}",
                                     "X-Runway-Version": "2024-11-06"})
        assert upload.status_code == 503 and "error" in upload.json(), upload.text
        kling = Kling(b.url).post("/v1/videos/text2video", {"model_name": "kling-v1", "prompt": "x"})
        assert kling.status_code == 503 and kling.json()["code"] != 0, kling.text
        wan = httpx.get(f"{b.url}/api/v1/uploads", params={"action": "getPolicy", "model": "wan2.6-i2v"},
                        headers={"Authorization": f"Bearer {WAN_KEY}"})
        assert wan.status_code == 503 and "code" in wan.json(), wan.text
        bucket = httpx.post(f"{a.url}/__uploads/runway/{'0' * 32}", files={"file": ("a", b"x")})
        assert bucket.status_code == 503 and b"<Code>ServiceUnavailable</Code>" in bucket.content
    finally:
        redis_server.start()
    deadline = time.monotonic() + 10
    while Kling(b.url).post("/v1/videos/text2video", {"model_name": "kling-v1", "prompt": "x"}).status_code != 200:
        assert time.monotonic() < deadline, "the replica did not recover when Redis came back"
        time.sleep(0.2)
    assert httpx.get(f"{a.url}/__mock/health").status_code == 200


def test_served_replicas_share_an_upload_its_task_and_its_media(replicas, monkeypatch, tmp_path):
    """The same through ``mockprovider serve`` processes, as a load balancer would spread one client's calls."""
    first, second = replicas(2, args=["--profile", "happy", "--time-scale", "0.01"]).urls
    image = tmp_path / "frame.png"
    image.write_bytes(base64.b64decode(png_base64(1280, 720)))
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{first}/api/v1")
    oss_url, _ = OssUtils.upload(model="wan2.6-i2v", file_path=str(image), api_key=WAN_KEY)
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{second}/api/v1")
    created = VideoSynthesis.async_call(model="wan2.6-i2v", img_url=oss_url, prompt="waves", resolution="720P",
                                        duration=5, api_key=WAN_KEY)
    assert created.status_code == 200, created
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{first}/api/v1")
    done = VideoSynthesis.wait(created, api_key=WAN_KEY)
    assert done.output.task_status == "SUCCEEDED", done
    media = httpx.get(done.output.video_url.replace(first, second), timeout=20)
    assert media.status_code == 200
    info = probe_mp4(media.content)
    assert info["width"] > info["height"]
