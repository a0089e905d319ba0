"""runwayml 5.24.0's voices, avatars and documents, unchanged, against a served mock: create/retrieve/update/list/
delete, Zod-style issues for bad bodies, a bound per organization, other keys' ids unseen; voices and avatars go
PROCESSING -> READY or FAILED on the engine's clock as the profile says, and avatar_videos refuses them until READY;
a custom avatar and voice are accepted by avatar_videos once READY, whose output decodes (PyAV), and refused once
deleted; voices.preview and a READY voice's previewUrl are MP3s that decode to their stated duration."""

from __future__ import annotations

import io

import av
import httpx
import pytest
import runwayml
from runway_client import client

from mockprovider.dialects.runway.personas import MAX_PER_ACCOUNT
from mockprovider.testing import MockServer

IMAGE = "https://example.com/face.png"


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=29) as s:
        yield s


@pytest.fixture
def c(server):
    assert server.admin("POST", "/reset").status_code == 200
    return client(server.url)


def settle(server, seconds: str = "1m") -> None:
    """Move the engine's clock past every voice's and avatar's processing time (happy: about 1 s)."""
    assert server.admin("POST", "/clock", {"advance": seconds}).status_code == 200


def test_voice_crud_and_bad_bodies(c, server):
    made = c.voices.create(name="Narrator", from_={"type": "text", "model": "eleven_ttv_v3",
                                                   "prompt": "A warm, low voice with a slight rasp"})
    settle(server)
    voice = c.voices.retrieve(made.id)
    assert voice.status == "READY" and voice.name == "Narrator" and voice.description is None
    updated = c.voices.update(made.id, description="for trailers")
    assert updated.description == "for trailers" and updated.name == "Narrator"
    c.voices.create(name="Clone", from_={"type": "audio", "audio": "https://example.com/me.mp3"})
    assert [v.name for v in c.voices.list(limit=1)] == ["Clone", "Narrator"]  # newest first, auto-paging
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.voices.create(name="", from_={"type": "text", "model": "eleven_ttv_v3", "prompt": "too short"})
    assert {tuple(i["path"]) for i in caught.value.body["issues"]} == {("name",), ("from", "prompt")}
    with pytest.raises(runwayml.BadRequestError):
        c.voices.create(name="x", from_={"type": "audio", "audio": "runway://nope"})
    with pytest.raises(runwayml.NotFoundError):
        client(server.url, key="key_other").voices.retrieve(made.id)
    c.voices.delete(made.id)
    with pytest.raises(runwayml.NotFoundError):
        c.voices.retrieve(made.id)


def test_avatar_crud_and_bound(c, server):
    voice = c.voices.create(name="Host", from_={"type": "audio", "audio": "https://example.com/me.mp3"})
    avatar = c.avatars.create(name="Ava", personality="Cheerful guide", reference_image=IMAGE,
                              voice={"type": "custom", "id": voice.id}, start_script="Hi!")
    assert avatar.status == "PROCESSING" and avatar.processed_image_uri is None
    settle(server)
    avatar = c.avatars.retrieve(avatar.id)
    assert avatar.status == "READY" and avatar.voice.type == "custom" and avatar.voice.deleted is False
    assert avatar.voice.name == "Host" and avatar.start_script == "Hi!"
    got = c.avatars.update(avatar.id, voice={"type": "runway-live-preset", "preset_id": "clara"}, name="Ava 2")
    assert got.name == "Ava 2" and got.voice.type == "runway-live-preset" and got.voice.preset_id == "clara"
    assert c.avatars.retrieve(avatar.id).personality == "Cheerful guide"
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.avatars.create(name="B", personality="p", reference_image="ftp://x",
                         voice={"type": "custom", "id": "no-such-voice"})
    assert {tuple(i["path"]) for i in caught.value.body["issues"]} == {("referenceImage",), ("voice", "id")}
    for i in range(MAX_PER_ACCOUNT - 1):
        c.avatars.create(name=f"a{i}", personality="p", reference_image=IMAGE,
                         voice={"type": "runway-live-preset", "preset_id": "mia"})
    assert len(list(c.avatars.list(limit=100))) == MAX_PER_ACCOUNT
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.avatars.create(name="over", personality="p", reference_image=IMAGE,
                         voice={"type": "runway-live-preset", "preset_id": "mia"})
    assert "At most" in caught.value.body["issues"][0]["message"]
    c.avatars.delete(avatar.id)
    with pytest.raises(runwayml.NotFoundError):
        c.avatars.retrieve(avatar.id)


def test_custom_avatar_and_voice_drive_avatar_videos(c, server):
    voice = c.voices.create(name="Host", from_={"type": "audio", "audio": "https://example.com/me.mp3"})
    avatar = c.avatars.create(name="Ava", personality="Cheerful", reference_image=IMAGE,
                              voice={"type": "custom", "id": voice.id})
    settle(server)
    params = dict(model="gwm1_avatars", avatar={"type": "custom", "avatar_id": avatar.id},
                  speech={"type": "text", "text": "Welcome to the show, everyone.",
                          "voice": {"type": "custom", "id": voice.id}})
    task = c.avatar_videos.create(**params).wait_for_task_output(timeout=60)
    assert task.status == "SUCCEEDED"
    container = av.open(io.BytesIO(httpx.get(task.output[0], timeout=60).content))
    assert container.streams.video and sum(1 for _ in container.decode(video=0)) > 0
    c.avatars.delete(avatar.id)
    c.voices.delete(voice.id)
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.avatar_videos.create(**params)
    messages = {i["message"] for i in caught.value.body["issues"]}
    assert messages == {"Avatar not found", "Voice not found"}


LIFECYCLE_KEY = "key_lifecycle"
SLOW = {"jobs": {"queue": "0s", "run": "10h"}}  # long against the time scale: only advances end it


def test_lifecycle_follows_the_profile_and_gates_generations(c, server):
    profile = {"providers": {"runway": {"models": {
        "voice_processing": SLOW, "avatar_processing": {"jobs": {**SLOW["jobs"], "failure_rate": {"internal": 1.0}}},
    }}}}
    assert server.admin("PUT", f"/keys/{LIFECYCLE_KEY}/profile", {"profile": profile}).status_code == 200
    mine = client(server.url, key=LIFECYCLE_KEY)
    voice = mine.voices.create(name="Slow", from_={"type": "audio", "audio": "https://example.com/me.mp3"})
    avatar = mine.avatars.create(name="Doomed", personality="p", reference_image=IMAGE,
                                 voice={"type": "custom", "id": voice.id})
    assert mine.voices.retrieve(voice.id).status == "PROCESSING" and avatar.status == "PROCESSING"
    params = dict(model="gwm1_avatars", avatar={"type": "runway-preset", "preset_id": "influencer"},
                  speech={"type": "text", "text": "Hello there.", "voice": {"type": "custom", "id": voice.id}})
    with pytest.raises(runwayml.BadRequestError) as caught:
        mine.avatar_videos.create(**params)
    assert "still processing" in caught.value.body["issues"][0]["message"]
    settle(server, "9h")
    assert mine.voices.retrieve(voice.id).status == "PROCESSING"  # 10 h on the engine's clock, not before
    settle(server, "2h")
    ready = mine.voices.retrieve(voice.id)
    assert ready.status == "READY" and ready.preview_url
    assert [v.status for v in mine.voices.list(limit=10)] == ["READY"]
    failed = mine.avatars.retrieve(avatar.id)
    assert failed.status == "FAILED" and "internal error" in failed.failure_reason
    assert mine.avatar_videos.create(**params).id  # the READY voice is accepted now
    with pytest.raises(runwayml.BadRequestError) as caught:
        mine.avatar_videos.create(**{**params, "avatar": {"type": "custom", "avatar_id": avatar.id}})
    assert caught.value.body["issues"][0]["path"] == ["avatar", "avatarId"]
    assert "failed processing" in caught.value.body["issues"][0]["message"]
    _assert_mp3(ready.preview_url, 6.0)


def _assert_mp3(url: str, seconds: float) -> bytes:
    reply = httpx.get(url, timeout=30)
    assert reply.status_code == 200 and reply.headers["content-type"] == "audio/mpeg"
    with av.open(io.BytesIO(reply.content)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name.startswith("mp3") and container.format.name == "mp3"
        samples = sum(frame.samples for frame in container.decode(stream))
        assert abs(samples / stream.codec_context.sample_rate - seconds) < 0.2
    return reply.content


def test_voice_preview(c, server):
    preview = c.voices.preview(model="eleven_ttv_v3", prompt="A bright, quick voice for a game announcer")
    assert preview.duration_secs == 6.0
    first = _assert_mp3(preview.url, preview.duration_secs)
    again = c.voices.preview(model="eleven_multilingual_ttv_v2", prompt="A bright, quick voice for a game host")
    assert _assert_mp3(again.url, again.duration_secs) != first  # two previews never share bytes
    assert httpx.get(preview.url.replace("sig=", "sig=0"), timeout=10).status_code == 403
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.voices.preview(model="eleven_ttv_v2", prompt="short")
    assert {tuple(i["path"]) for i in caught.value.body["issues"]} == {("model",), ("prompt",)}
    with pytest.raises(runwayml.AuthenticationError):
        client(server.url, key="bad").voices.preview(model="eleven_ttv_v3", prompt="x" * 30)
    settle(server, "25h")
    assert httpx.get(preview.url, timeout=10).status_code == 403  # "expires after 24 hours"


def test_documents_crud_and_avatars(c, server):
    doc = c.documents.create(name="FAQ", content="# Returns\nWithin 30 days.")
    assert doc.type == "text" and doc.used_by == [] and doc.content.startswith("# Returns")
    other = c.documents.create(name="Hours", content="9-5")
    avatar = c.avatars.create(name="Clerk", personality="Helpful", reference_image=IMAGE,
                              voice={"type": "runway-live-preset", "preset_id": "mia"}, document_ids=[doc.id])
    settle(server)
    used = c.documents.retrieve(doc.id).used_by
    assert [(u.id, u.name, u.image_url) for u in used] == [(avatar.id, "Clerk", IMAGE)]
    assert c.documents.update(doc.id, content="# Returns\nWithin 60 days.") is None
    assert c.documents.retrieve(doc.id).content.endswith("60 days.")
    listed = list(c.documents.list(limit=1, order="asc", sort="createdAt"))
    assert [d.name for d in listed] == ["FAQ", "Hours"] and not hasattr(listed[0], "content")
    assert [d.name for d in c.documents.list(limit=5, order="desc", sort="updatedAt")] == ["FAQ", "Hours"]
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.documents.update(doc.id)
    assert "At least one" in caught.value.body["issues"][0]["message"]
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.documents.list(limit=5, order="up", sort="name")
    assert {tuple(i["path"]) for i in caught.value.body["issues"]} == {("order",), ("sort",)}
    with pytest.raises(runwayml.BadRequestError) as caught:
        c.avatars.update(avatar.id, document_ids=[other.id, "nope"])
    assert [i["path"] for i in caught.value.body["issues"]] == [["documentIds", 1]]
    with pytest.raises(runwayml.NotFoundError):
        client(server.url, key="key_other").documents.retrieve(doc.id)
    c.documents.delete(doc.id)  # "also removes it from all avatars it was attached to"
    assert c.avatars.retrieve(avatar.id).document_ids == []
    with pytest.raises(runwayml.NotFoundError):
        c.documents.retrieve(doc.id)
