"""runwayml 5.24.0's voices and avatars, unchanged, against a served mock: create/retrieve/update/list/delete,
Zod-style issues for bad bodies, a bound per organization, other keys' ids unseen; a custom avatar and voice made
through them are accepted by avatar_videos, whose output decodes (PyAV), and refused once deleted."""

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


def test_voice_crud_and_bad_bodies(c, server):
    made = c.voices.create(name="Narrator", from_={"type": "text", "model": "eleven_ttv_v3",
                                                   "prompt": "A warm, low voice with a slight rasp"})
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


def test_avatar_crud_and_bound(c):
    voice = c.voices.create(name="Host", from_={"type": "audio", "audio": "https://example.com/me.mp3"})
    avatar = c.avatars.create(name="Ava", personality="Cheerful guide", reference_image=IMAGE,
                              voice={"type": "custom", "id": voice.id}, start_script="Hi!")
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


def test_custom_avatar_and_voice_drive_avatar_videos(c):
    voice = c.voices.create(name="Host", from_={"type": "audio", "audio": "https://example.com/me.mp3"})
    avatar = c.avatars.create(name="Ava", personality="Cheerful", reference_image=IMAGE,
                              voice={"type": "custom", "id": voice.id})
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
