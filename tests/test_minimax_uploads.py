"""MiniMax's file upload (``POST /v1/files/upload``) through a client written from MiniMax's docs: the file object,
then retrieve (a signed ``download_url``), retrieve_content, list by purpose and delete; per-purpose formats and
sizes refused with 2013 in ``base_resp``; files private to their key; the videos' own files unaffected."""

from __future__ import annotations

import httpx
import pytest
from minimax_client import MiniMax, MiniMaxAuthError, MiniMaxError

from mockprovider.testing import MockServer

KEY = "sk-api-upload-0123"
AUDIO = b"ID3\x04\x00" + bytes(range(256)) * 40


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=13) as s:
        yield s


@pytest.fixture
def mm(server):
    with MiniMax(KEY, server.url) as client:
        yield client


def test_upload_retrieve_download_list_delete(mm):
    uploaded = mm.upload("voice_clone", "my voice.mp3", AUDIO)
    assert set(uploaded) == {"file_id", "bytes", "created_at", "filename", "purpose"}
    assert uploaded["bytes"] == len(AUDIO) and uploaded["purpose"] == "voice_clone"
    assert uploaded["filename"] == "my voice.mp3" and isinstance(uploaded["file_id"], int)
    file = mm.retrieve(uploaded["file_id"])
    assert {k: file[k] for k in uploaded} == uploaded
    assert mm.download(file["download_url"]) == AUDIO  # no key needed, like the CDN's links
    assert mm.retrieve_content(uploaded["file_id"]) == AUDIO
    assert uploaded["file_id"] in [f["file_id"] for f in mm.list_files("voice_clone")]
    assert uploaded["file_id"] not in [f["file_id"] for f in mm.list_files("prompt_audio")]
    assert mm.delete_file(uploaded["file_id"], "voice_clone")["file_id"] == uploaded["file_id"]
    with pytest.raises(MiniMaxError) as info:
        mm.retrieve(uploaded["file_id"])
    assert info.value.code == 2013
    assert httpx.get(file["download_url"]).status_code == 404


def test_every_documented_purpose_with_its_formats(mm):
    for purpose, name in [("prompt_audio", "hint.wav"), ("t2a_async_input", "book.txt"),
                          ("video_understanding", "clip.mp4")]:
        assert mm.upload(purpose, name, b"data " * 10)["purpose"] == purpose


@pytest.mark.parametrize(("purpose", "name", "content", "text"), [
    ("voice_clone", "voice.txt", AUDIO, "voice_clone files must be mp3, m4a, wav"),
    ("fine-tune", "a.mp3", AUDIO, "purpose must be one of"),
    ("voice_clone", "noextension", AUDIO, "must be mp3"),
    ("prompt_audio", "big.mp3", b"\0" * (20 * 10**6 + 1), "exceeds 20MB"),
    ("voice_clone", "empty.mp3", b"", "file is empty"),
])
def test_refusals_are_2013_with_http_200(server, purpose, name, content, text):
    reply = httpx.post(f"{server.url}/v1/files/upload", headers={"Authorization": f"Bearer {KEY}"},
                       data={"purpose": purpose}, files={"file": (name, content)}, timeout=30)
    assert reply.status_code == 200
    assert reply.json()["base_resp"]["status_code"] == 2013 and text in reply.json()["base_resp"]["status_msg"]


def test_malformed_forms_and_auth(server):
    no_form = httpx.post(f"{server.url}/v1/files/upload", headers={"Authorization": f"Bearer {KEY}"},
                         content=b"{}", timeout=10)
    assert no_form.json()["base_resp"]["status_code"] == 2013
    no_file = httpx.post(f"{server.url}/v1/files/upload", headers={"Authorization": f"Bearer {KEY}"},
                         data={"purpose": "voice_clone"}, files={"other": ("a.mp3", AUDIO)}, timeout=10)
    assert "file is required" in no_file.json()["base_resp"]["status_msg"]
    with MiniMax("bad key", server.url) as anonymous, pytest.raises(MiniMaxAuthError):
        anonymous.upload("voice_clone", "a.mp3", AUDIO)


def test_files_are_private_and_links_signed(server, mm):
    uploaded = mm.upload("voice_clone", "mine.m4a", AUDIO)
    link = mm.retrieve(uploaded["file_id"])["download_url"]
    with MiniMax("sk-api-someone-else", server.url) as other:
        with pytest.raises(MiniMaxError):
            other.retrieve(uploaded["file_id"])
        with pytest.raises(MiniMaxError):
            other.delete_file(uploaded["file_id"], "voice_clone")
        assert uploaded["file_id"] not in [f["file_id"] for f in other.list_files("voice_clone")]
    assert httpx.get(link.replace("sig=", "sig=0")).status_code == 403
    assert server.admin("POST", "/clock", json={"advance": "30h"}).status_code == 200
    assert httpx.get(link).status_code == 403  # past the profile's url_ttl
    assert mm.retrieve_content(uploaded["file_id"]) == AUDIO  # the file itself stays until deleted
