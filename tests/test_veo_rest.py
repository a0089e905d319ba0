"""Veo on the wire for plain REST callers: auth forms, body handling, shapes the SDKs don't exercise, and
that Veo's routes sit beside Runway's and Kling's without shadowing them."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from mockprovider.testing import MockServer

GEMINI = "/v1beta/models/veo-3.1-generate-preview"
VERTEX = "/v1/projects/p/locations/us-central1/publishers/google/models/veo-3.1-generate-001"
KEY = {"x-goog-api-key": "k-rest"}
BODY = {"instances": [{"prompt": "a red kite"}]}


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=9) as server:
        yield server


@pytest.fixture(scope="module")
def http(server: MockServer):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def google_error(response: httpx.Response, code: int, status: str) -> str:
    assert response.status_code == code, response.text
    body = response.json()["error"]
    assert (body["code"], body["status"]) == (code, status)
    return body["message"]


def finish(http: httpx.Client, path: str, **kwargs) -> dict:
    deadline = time.monotonic() + 10
    while True:
        op = http.get(path, **kwargs).json()
        if op.get("done"):
            return op
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_gemini_query_key_pending_shape_and_string_duration(http: httpx.Client, server: MockServer) -> None:
    server.admin("POST", "/clock", json={"scale": 1.0})
    try:
        created = http.post(f"{GEMINI}:predictLongRunning", params={"key": "k-rest"},
                            json={**BODY, "parameters": {"durationSeconds": "4"}})
        assert created.status_code == 200, created.text
        name = created.json()["name"]
        assert set(created.json()) == {"name"}
        pending = http.get(f"/v1beta/{name}", params={"key": "k-rest"}).json()
        assert pending == {"name": name}  # proto3 JSON leaves done=false out
    finally:
        server.admin("POST", "/clock", json={"scale": 0.01})
    done = finish(http, f"/v1beta/{name}", headers=KEY)
    [sample] = done["response"]["generateVideoResponse"]["generatedSamples"]
    uri = sample["video"]["uri"]
    assert uri.startswith("https://") and uri.endswith(":download?alt=media")
    file_id = uri.split("/files/")[1].split(":")[0]
    video = http.get(f"/v1beta/files/{file_id}:download", params={"alt": "media"}, headers=KEY)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_gemini_extension_of_our_own_output_adds_seven_seconds(http: httpx.Client, server: MockServer) -> None:
    first = http.post(f"{GEMINI}:predictLongRunning", headers=KEY, json=BODY).json()
    uri = finish(http, f"/v1beta/{first['name']}", headers=KEY)["response"]["generateVideoResponse"][
        "generatedSamples"][0]["video"]["uri"]
    body = {"instances": [{"prompt": "keep going", "video": {"uri": uri}}], "parameters": {"durationSeconds": 8}}
    second = http.post(f"{GEMINI}:predictLongRunning", headers=KEY, json=body).json()
    job_id = second["name"].rsplit("/", 1)[1]
    finish(http, f"/v1beta/{second['name']}", headers=KEY)
    job = server.admin("GET", f"/jobs/{job_id}").json()
    assert job["model"] == "veo-3.1-generate-preview"
    assert server.call(server.app.ctx.engine.get, "veo", job_id).output.duration == 15.0


def test_gemini_auth_errors(http: httpx.Client) -> None:
    message = google_error(http.post(f"{GEMINI}:predictLongRunning", json=BODY), 403, "PERMISSION_DENIED")
    assert "unregistered callers" in message
    google_error(http.post(f"{GEMINI}:predictLongRunning", params={"key": " "}, json=BODY),
                 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(("body", "words"), [
    (b"{not json", "Invalid JSON payload received"),
    (b'{"instances": [{"prompt": "x"}], "extra": 1}', 'Unknown name "extra"'),
    (b'{"instances": []}', "instances"),
    (b'{"instances": [{"prompt": "x"}], "parameters": {"storageUri": "gs://b/o"}}', "storageUri"),
    (b'{"instances": [{"prompt": "x"}], "parameters": {"durationSeconds": true}}', "durationSeconds"),
    (b'{"instances": [{"prompt": "x"}], "parameters": {"resolution": "1080p", "durationSeconds": 4}}',
     "8 second"),
    (b'{"instances": [{"prompt": "x", "image": {"gcsUri": "gs://b/i.png", "mimeType": "image/png"}}]}', "gcsUri"),
    (b'{"instances": [{"prompt": "x", "image": {"bytesBase64Encoded": "@@@", "mimeType": "image/png"}}]}',
     "base64"),
    (b'{"instances": [{"prompt": "x"}], "parameters": {"personGeneration": "allow_adult"}}', "personGeneration"),
])
def test_gemini_invalid_bodies(http: httpx.Client, body: bytes, words: str) -> None:
    response = http.post(f"{GEMINI}:predictLongRunning", headers={**KEY, "content-type": "application/json"},
                         content=body)
    assert words in google_error(response, 400, "INVALID_ARGUMENT")


def test_gemini_image_to_video_and_reference_images(http: httpx.Client) -> None:
    png = {"bytesBase64Encoded": base64.b64encode(b"\x89PNG fake").decode(), "mimeType": "image/png"}
    ok = http.post(f"{GEMINI}:predictLongRunning", headers=KEY,
                   json={"instances": [{"prompt": "x", "image": png, "lastFrame": png}],
                         "parameters": {"personGeneration": "allow_adult"}})
    assert ok.status_code == 200, ok.text
    refs = [{"image": png, "referenceType": "ASSET"}] * 4
    too_many = http.post(f"{GEMINI}:predictLongRunning", headers=KEY,
                         json={"instances": [{"prompt": "x", "referenceImages": refs}]})
    assert "at most 3" in google_error(too_many, 400, "INVALID_ARGUMENT")


def test_oversized_body_is_400(server: MockServer, http: httpx.Client) -> None:
    big = b'{"instances": [{"prompt": "' + b"x" * (server.settings.max_body + 1) + b'"}]}'
    response = http.post(f"{GEMINI}:predictLongRunning", headers={**KEY, "content-type": "application/json"},
                         content=big)
    assert "payload size exceeds" in google_error(response, 400, "INVALID_ARGUMENT")


def test_gemini_unknown_model_operation_and_file(http: httpx.Client) -> None:
    message = google_error(http.post("/v1beta/models/veo-9:predictLongRunning", headers=KEY, json=BODY),
                           404, "NOT_FOUND")
    assert message.startswith("models/veo-9 is not found for API version v1beta")
    google_error(http.get(f"{GEMINI}/operations/nope", headers=KEY), 404, "NOT_FOUND")
    google_error(http.get("/v1beta/files/abc:download", params={"alt": "media"}, headers=KEY), 404, "NOT_FOUND")
    google_error(http.get("/v1beta/unrouted", headers=KEY), 404, "NOT_FOUND")


def test_vertex_v1_and_fetch_predict_operation(http: httpx.Client) -> None:
    headers = {"authorization": "Bearer tok"}
    name = http.post(f"{VERTEX}:predictLongRunning", headers=headers, json=BODY).json()["name"]
    assert name.startswith(VERTEX[len("/v1/"):] + "/operations/")
    deadline = time.monotonic() + 10
    while True:
        op = http.post(f"{VERTEX}:fetchPredictOperation", headers=headers, json={"operationName": name}).json()
        if op["done"]:
            break
        assert time.monotonic() < deadline
    assert op["response"]["@type"].endswith("GenerateVideoResponse")
    assert op["response"]["videos"][0]["bytesBase64Encoded"]
    other = VERTEX.replace("/p/", "/q/")
    google_error(http.post(f"{other}:fetchPredictOperation", headers=headers, json={"operationName": name}),
                 400, "INVALID_ARGUMENT")
    google_error(http.post(f"{VERTEX}:fetchPredictOperation", headers=headers,
                           json={"operationName": name[:-4] + "0000"}), 404, "NOT_FOUND")
    message = google_error(http.post(f"{VERTEX}:predictLongRunning", json=BODY), 401, "UNAUTHENTICATED")
    assert "missing required authentication credential" in message


def test_vertex_rejected_prompt_and_injected_faults(server: MockServer, http: httpx.Client) -> None:
    profile = {"extends": "happy", "jobs": {"reject_at_submit": 1.0},
               "faults": {"status": [{"kind": "error", "status": 503, "rate": 1.0, "message": "Overloaded."}]}}
    server.admin("PUT", "/keys/k-odd/profile", json={"profile": profile})
    headers = {"x-goog-api-key": "k-odd"}
    message = google_error(http.post(f"{VERTEX}:predictLongRunning", headers=headers, json=BODY),
                           400, "INVALID_ARGUMENT")
    assert "Responsible AI practices" in message
    fault = http.post(f"{VERTEX}:fetchPredictOperation", headers=headers, json={"operationName": "x"})
    assert google_error(fault, 503, "UNAVAILABLE") == "Overloaded."


def test_storage_errors_are_in_the_json_api_shape(http: httpx.Client) -> None:
    response = http.get("/storage/v1/b/bucket/o/some%2Fobject.mp4")
    assert response.status_code == 404
    assert response.json()["error"]["errors"][0]["reason"] == "notFound"


def test_other_providers_keep_their_routes(http: httpx.Client) -> None:
    runway = http.get("/v1/tasks/00000000-0000-4000-8000-000000000000").json()
    assert isinstance(runway["error"], str)  # Runway's shape, not Google's
    kling = http.get("/v1/videos/text2video/123").json()
    assert not isinstance(kling.get("error"), dict)


def test_wrong_method_is_a_google_404(http: httpx.Client) -> None:
    google_error(http.get(f"{GEMINI}:predictLongRunning", headers=KEY), 404, "NOT_FOUND")


def test_null_parameters_count_as_absent(http: httpx.Client) -> None:
    body = {**BODY, "parameters": {"durationSeconds": None, "aspectRatio": None, "sampleCount": None}}
    assert http.post(f"{GEMINI}:predictLongRunning", headers=KEY, json=body).status_code == 200


def test_vertex_resource_names_are_bounded(http: httpx.Client) -> None:
    path = VERTEX.replace("/p/", "/" + "p" * 200 + "/")
    google_error(http.post(f"{path}:predictLongRunning", headers=KEY, json=BODY), 400, "INVALID_ARGUMENT")
