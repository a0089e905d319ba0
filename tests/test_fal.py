"""fal.ai with fal-client 1.0.3, unchanged, against `mockprovider serve` (plain HTTP beside --tls): submit, status
with queue positions and logs, iter_events, result, cancel, subscribe, the async client, sync run, uploads,
422s, in-job failures, signed webhooks verified with the JWKS, the SSE status stream, routing beside every other
provider, and the https-only configuration by environment variables alone."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import ssl
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import fal_client
import fal_client.client as fc
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fal_client import Completed, InProgress, Queued
from webhook_receiver import WebhookReceiver

from mockprovider.testing import MockServer, admin_call, free_port

KLING = "fal-ai/kling-video/v2.5-turbo/standard/image-to-video"  # 720p
LUMA = "fal-ai/luma-dream-machine/ray-2"  # 540p
IMAGE = "https://example.com/cat.png"
RUN = {"queue": "0s", "run": "200s"}  # 2 s of real time at the time scale below: robust on a busy machine


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    port, tls_port = free_port(), free_port()
    tls_dir = tmp_path_factory.mktemp("tls")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockprovider", "serve", "--port", str(port), "--tls", "--tls-port", str(tls_port),
         "--tls-dir", str(tls_dir), "--time-scale", "0.01", "--profile", "happy"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not (_up(base) and _up(f"https://127.0.0.1:{tls_port}", tls_dir / "ca.pem")):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read() if proc.poll() else ""
        time.sleep(0.1)
    yield {"base": base, "tls_port": tls_port, "ca": tls_dir / "ca.pem", "proc": proc}
    proc.terminate()
    proc.wait(10)


def _up(base: str, ca: Path | None = None) -> bool:
    try:
        verify = ssl.create_default_context(cafile=str(ca)) if ca is not None else True
        httpx.get(base + "/__mock/health", timeout=1, verify=verify)
        return True
    except (httpx.TransportError, OSError, ssl.SSLError):
        return False


@pytest.fixture(scope="module")
def patched(served):
    """fal.md 11.1: the module constants pointed at the plain-HTTP listener."""
    base = served["base"]
    saved = {name: getattr(fc, name) for name in ("QUEUE_URL_FORMAT", "RUN_URL_FORMAT", "REST_URL", "CDN_URL")}
    fc.QUEUE_URL_FORMAT, fc.RUN_URL_FORMAT = base + "/", base + "/run/"
    fc.REST_URL, fc.CDN_URL = base + "/fal-rest", base + "/fal-cdn"
    yield served
    for name, value in saved.items():
        setattr(fc, name, value)


def profile(served, key: str, **layers) -> None:
    """A profile for one API key (fal limits and plans are per key)."""
    reply = admin_call(served["base"], "PUT", f"/keys/{key}/profile", {"profile": {"extends": "happy", **layers}})
    assert reply.status_code == 200, reply.json()


def client(name: str) -> fal_client.SyncClient:
    return fal_client.SyncClient(key=f"{name}:secret")


def decode(data: bytes) -> tuple[int, int, float]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return stream.width, stream.height, round(container.duration / av.time_base, 1)


def test_submit_status_events_and_result_with_a_real_mp4(patched):
    profile(patched, "events:secret", jobs=RUN)
    c = client("events")
    handle = c.submit(KLING, arguments={"prompt": "a cat", "image_url": IMAGE, "duration": "10"})
    assert handle.status_url.startswith(patched["base"] + "/fal-ai/kling-video/requests/")
    assert "/standard/" not in handle.response_url  # status, result and cancel URLs drop the sub-path
    events = list(handle.iter_events(with_logs=True, interval=0.05))
    assert any(isinstance(e, InProgress) and e.logs for e in events)
    done = events[-1]
    assert isinstance(done, Completed) and done.error is None and done.metrics["inference_time"] == pytest.approx(200)
    assert done.logs[0]["message"] == "Starting generation"
    assert c.status(KLING, handle.request_id, with_logs=False).logs is None
    result = handle.get()
    video = result["video"]
    data = httpx.get(video["url"], timeout=20).content
    assert video["content_type"] == "video/mp4" and video["file_size"] == len(data)
    assert decode(data) == (1280, 720, 10.0)
    assert c.result(KLING, handle.request_id) == result


def test_an_in_progress_poll_is_the_same_body_with_or_without_a_logs_query(patched):
    """IN_PROGRESS without logs is kept encoded between polls: the same bytes (orjson's) and headers whether the
    query is absent, logs=false (fal-client's) or logs=0; logs=1 and logs=true still carry the logs."""
    profile(patched, "polls:secret", jobs={"queue": "0s", "run": "1h"})
    handle = client("polls").submit(LUMA, arguments={"prompt": "a cat"})
    headers = {"Authorization": "Key polls:secret"}
    with httpx.Client(timeout=10) as http:
        plain = [http.get(handle.status_url + query, headers=headers) for query in ("", "?logs=false", "?logs=0", "")]
        logged = [http.get(handle.status_url + query, headers=headers) for query in ("?logs=1", "?logs=true")]
        other = http.get(handle.status_url.replace("/luma-dream-machine/", "/kling-video/"), headers=headers)
    for reply in plain:
        assert reply.status_code == 202 and reply.content == plain[0].content
        assert reply.headers["x-fal-request-id"] == handle.request_id
        assert reply.headers["content-type"] == "application/json"
    body = plain[0].json()
    assert plain[0].content == json.dumps(body, separators=(",", ":")).encode()
    assert body == {"request_id": handle.request_id, "response_url": handle.response_url,
                    "status_url": handle.status_url, "cancel_url": handle.cancel_url, "status": "IN_PROGRESS",
                    "logs": None}
    for reply in logged:
        assert reply.status_code == 202 and reply.json()["logs"][0]["message"] == "Starting generation"
    assert other.status_code == 404 and other.json()["detail"] == "Request not found"


def test_queue_positions_count_down_under_the_concurrency_limit(patched):
    profile(patched, "queue:secret", jobs=RUN, limits={"concurrent_jobs": 1})
    c = client("queue")
    handles = [c.submit(LUMA, arguments={"prompt": f"shot {n}"}) for n in range(3)]
    first, second, third = (c.status(LUMA, h.request_id) for h in handles)
    assert isinstance(first, InProgress)
    assert (second, third) == (Queued(position=0), Queued(position=1))
    seen = [e.position for e in handles[2].iter_events(interval=0.05) if isinstance(e, Queued)]
    assert seen[0] == 1 and seen[-1] == 0 and seen == sorted(seen, reverse=True)
    assert decode(httpx.get(handles[2].get()["video"]["url"]).content) == (960, 540, 5.0)


def test_subscribe_reports_queue_updates(patched):
    profile(patched, "subscribe:secret", jobs=RUN, limits={"concurrent_jobs": 1})
    c = client("subscribe")
    blocker = c.submit(LUMA, arguments={"prompt": "first"})
    updates, enqueued = [], []
    result = c.subscribe(LUMA, arguments={"prompt": "second", "duration": "9s", "aspect_ratio": "9:16"},
                         with_logs=True, interval=0.05, on_enqueue=enqueued.append, on_queue_update=updates.append)
    kinds = [type(u).__name__ for u in updates]
    assert kinds[0] == "Queued" and "InProgress" in kinds and kinds[-1] == "Completed"
    assert len(enqueued) == 1 and isinstance(c.status(LUMA, blocker.request_id), Completed)
    assert decode(httpx.get(result["video"]["url"]).content) == (540, 960, 9.0)


def test_cancel_answers_for_each_state(patched):
    profile(patched, "cancel:secret", jobs={"queue": "0s", "run": "3000s"}, limits={"concurrent_jobs": 1})
    c = client("cancel")
    running = c.submit(LUMA, arguments={"prompt": "running"})
    waiting = c.submit(LUMA, arguments={"prompt": "waiting"})
    waiting.cancel()  # removed from the queue
    status = waiting.status()
    assert isinstance(status, Completed) and status.error_type == "client_cancelled"
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        waiting.get()
    assert err.value.status_code == 499 and err.value.error_type == "client_cancelled"
    running.cancel()  # a cancellation signal to the runner
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        running.cancel()
    assert err.value.status_code == 400 and "ALREADY_COMPLETED" in str(err.value)
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        c.status(LUMA, "00000000-0000-4000-8000-000000000000")
    assert err.value.status_code == 404
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        c.status("fal-ai/veo3", running.request_id)  # another app's request
    assert err.value.status_code == 404


def test_a_request_that_does_not_start_in_time_ends_with_a_504(patched):
    profile(patched, "deadline:secret", jobs={"queue": "0s", "run": "1000s"}, limits={"concurrent_jobs": 1})
    c = client("deadline")
    blocker = c.submit(LUMA, arguments={"prompt": "long"})
    late = c.submit(LUMA, arguments={"prompt": "late"}, start_timeout=1.2)  # real seconds, X-Fal-Request-Timeout
    started = time.monotonic()
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        late.get(interval=0.05)
    assert time.monotonic() - started >= 1.0
    assert err.value.status_code == 504 and err.value.error_type == "request_timeout"
    assert err.value.response_headers["x-fal-request-timeout-type"] == "user"
    blocker.cancel()


def test_the_async_client(patched):
    profile(patched, "async:secret", jobs=RUN, limits={"concurrent_jobs": 1})

    async def main() -> tuple:
        c = fal_client.AsyncClient(key="async:secret")
        first = await c.submit(LUMA, arguments={"prompt": "one"})
        second = await c.submit(LUMA, arguments={"prompt": "two"})
        queued = await second.status()
        await second.cancel()
        events = [e async for e in first.iter_events(with_logs=True, interval=0.05)]
        result = await first.get()
        updates: list = []
        subscribed = await c.subscribe(LUMA, arguments={"prompt": "three"}, interval=0.05,
                                       on_queue_update=updates.append)
        return queued, await second.status(), events, result, subscribed, updates

    queued, cancelled, events, result, subscribed, updates = asyncio.run(main())
    assert queued == Queued(position=0) and cancelled.error_type == "client_cancelled"
    assert isinstance(events[-1], Completed) and result["video"]["url"] != subscribed["video"]["url"]
    assert isinstance(updates[-1], Completed)


def test_invalid_input_is_queued_then_422_and_run_answers_422(patched):
    c = client("invalid")
    handle = c.submit(KLING, arguments={"prompt": "a cat", "image_url": IMAGE, "duration": 7})
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        handle.get(interval=0.02)
    assert err.value.status_code == 422
    [problem] = err.value.message
    assert problem["loc"] == ["body", "duration"] and problem["type"] == "literal_error"
    assert err.value.response_headers["x-fal-billable-units"] == "0"
    assert c.status(KLING, handle.request_id).error_type == "literal_error"
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        c.run(KLING, arguments={"image_url": IMAGE})
    assert err.value.status_code == 422 and err.value.message[0]["loc"] == ["body", "prompt"]
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        c.submit("fal-ai/no-such-app", arguments={"prompt": "x"})
    assert err.value.status_code == 404


def test_sync_run_returns_the_output(patched):
    result = client("run").run("fal-ai/veo3/fast", arguments={"prompt": "a cat", "duration": "4s"})
    assert decode(httpx.get(result["video"]["url"]).content) == (1280, 720, 4.0)


def test_failures_auth_and_the_balance(patched):
    profile(patched, "broken:secret", jobs={"failure_rate": {"internal": 1.0}})
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        client("broken").subscribe(LUMA, arguments={"prompt": "x"}, interval=0.02)
    assert err.value.status_code == 500 and err.value.error_type == "runner_server_error"
    assert err.value.response_headers["x-fal-error-type"] == "runner_server_error"
    profile(patched, "policy:secret", jobs={"failure_rate": {"content_policy": 1.0}})
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        client("policy").subscribe(LUMA, arguments={"prompt": "x"}, interval=0.02)
    assert err.value.status_code == 422 and err.value.message[0]["type"] == "content_policy_violation"
    profile(patched, "poor:secret", limits={"credits": 4.0})
    c = client("poor")
    c.submit("fal-ai/veo3", arguments={"prompt": "x"})  # $3.20 of $4
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        c.submit("fal-ai/veo3", arguments={"prompt": "x"})
    assert err.value.status_code == 403 and "Exhausted balance" in str(err.value)
    profile(patched, "locked:secret", providers={"fal": {"auth": {"keys": ["only:this"]}}})
    with pytest.raises(fal_client.FalClientHTTPError) as err:
        client("locked").submit(LUMA, arguments={"prompt": "x"})
    assert err.value.status_code == 401 and str(err.value) == "No user found for Key ID and Secret"


def _verify(jwks: dict, headers: dict[str, str], body: bytes) -> None:
    """fal's documented verification, written from the docs (not from the server's code)."""
    message = "\n".join([headers["x-fal-webhook-request-id"], headers["x-fal-webhook-user-id"],
                         headers["x-fal-webhook-timestamp"], hashlib.sha256(body).hexdigest()]).encode()
    assert abs(int(headers["x-fal-webhook-timestamp"]) - time.time()) <= 300
    keys = [Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["x"])) for k in jwks["keys"]
            if k["kty"] == "OKP" and k["crv"] == "Ed25519"]
    signature = bytes.fromhex(headers["x-fal-webhook-signature"])
    assert len(signature) == 64
    for key in keys:
        try:
            key.verify(signature, message)
            return
        except Exception:
            continue
    raise AssertionError("no JWKS key verifies the webhook")


def test_webhooks_are_signed_and_verify_with_the_jwks(patched):
    c = client("hooks")
    jwks = httpx.get(patched["base"] + "/fal-rest/.well-known/jwks.json").json()
    with WebhookReceiver() as receiver:
        ok = c.submit(LUMA, arguments={"prompt": "x"}, webhook_url=receiver.url("/fal/hook?tenant=7&x=a%20b"))
        bad = c.submit(LUMA, arguments={"prompt": "x", "duration": "6s"}, webhook_url=receiver.url("/fal/hook"))
        got = receiver.wait_for(2)
    by_id = {r["body"]["request_id"]: r for r in got}
    good, failed = by_id[ok.request_id], by_id[bad.request_id]
    assert good["path"] == "/fal/hook?tenant=7&x=a%20b"
    for delivery in (good, failed):
        _verify(jwks, delivery["headers"], delivery["raw"])
        assert delivery["headers"]["x-fal-webhook-request-id"] == delivery["body"]["request_id"]
    assert good["body"]["status"] == "OK" and good["body"]["error"] is None
    assert good["body"]["gateway_request_id"] == ok.request_id
    assert good["body"]["payload"] == ok.get()
    assert failed["body"]["status"] == "ERROR" and failed["body"]["error"] == "Invalid status code: 422"
    assert failed["body"]["payload"]["detail"][0]["loc"] == ["body", "duration"]
    tampered = {**good["headers"], "x-fal-webhook-timestamp": str(int(good["headers"]["x-fal-webhook-timestamp"]) + 1)}
    with pytest.raises(AssertionError):
        _verify(jwks, tampered, good["raw"])
    journal = admin_call(patched["base"], "GET", f"/webhooks?provider=fal&job={ok.request_id}").json()
    assert [a["outcome"] for a in journal["attempts"]] == ["delivered"]


def test_uploads_through_the_cdn_and_the_storage_fallback(patched, tmp_path):
    c = client("upload")
    url = c.upload(b"\x89PNG fake", "image/png", "cat.png")
    assert url.startswith(patched["base"] + "/fal-cdn/files/") and httpx.get(url).content == b"\x89PNG fake"
    fallback = c.upload(b"second", "text/plain", "notes.txt", repository="fal")
    reply = httpx.get(fallback)
    assert reply.text == "second" and reply.headers["content-type"].startswith("text/plain")
    path = tmp_path / "clip.bin"
    path.write_bytes(os.urandom(2048))
    assert httpx.get(c.upload_file(path)).content == path.read_bytes()
    result = c.subscribe(KLING, arguments={"prompt": "a cat", "image_url": url}, interval=0.02)
    assert result["video"]["url"]
    token = httpx.post(patched["base"] + "/fal-cdn/files/upload", content=b"x",
                       headers={"Authorization": "Bearer forged.1.sig"})
    assert token.status_code == 401


def test_the_status_stream_sends_each_change_and_closes_after_completed(patched):
    profile(patched, "stream:secret", jobs=RUN, limits={"concurrent_jobs": 1})
    c = client("stream")
    c.submit(LUMA, arguments={"prompt": "first"})
    handle = c.submit(LUMA, arguments={"prompt": "second"})
    events = []
    with httpx.stream("GET", handle.status_url + "/stream", params={"logs": "1"}, timeout=20,
                      headers={"Authorization": "Key stream:secret", "Accept": "text/event-stream"}) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        for line in reply.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    statuses = [e["status"] for e in events]
    assert statuses[0] == "IN_QUEUE" and statuses[-1] == "COMPLETED" and "IN_PROGRESS" in statuses
    assert events[0]["queue_position"] == 0 and all("response_url" in e for e in events)
    assert events[-1]["logs"] and events[-1]["metrics"]["inference_time"] == pytest.approx(200)


def test_the_stream_keeps_the_connection_alive(monkeypatch):
    from mockprovider.dialects.fal import dialect

    monkeypatch.setattr(dialect, "KEEPALIVE", 0.05)
    with MockServer(profile="happy", time_scale=0.01) as server:
        admin_call(server.url, "PUT", "/profile", {"profile": {"extends": "happy", "jobs": {"run": "300s"}}})
        submitted = httpx.post(server.url + "/" + LUMA, json={"prompt": "x"},
                               headers={"Authorization": "Key k:s"}).json()
        with httpx.stream("GET", submitted["status_url"] + "/stream", headers={"Authorization": "Key k:s"},
                          timeout=20) as reply:
            lines = list(reply.iter_lines())
    data = [json.loads(x[6:]) for x in lines if x.startswith("data: ")]
    assert ": ping" in lines and data[-1]["status"] == "COMPLETED", lines


def test_fal_routes_never_shadow_the_other_providers_and_the_reverse(patched):
    base = patched["base"]
    runway = {"Authorization": "Bearer key_test", "X-Runway-Version": "2024-11-06"}
    created = httpx.post(base + "/v1/image_to_video", headers=runway, json={
        "model": "gen4_turbo", "promptImage": IMAGE, "ratio": "1280:720", "duration": 5})
    assert created.status_code == 200 and "id" in created.json()
    assert httpx.get(base + "/v1/tasks/nope", headers=runway).json() != {"detail": "Not Found"}
    assert httpx.put(base + f"/v1/tasks/{created.json()['id']}", headers=runway).status_code == 405
    assert "detail" not in httpx.post(base + "/v1/no-such-endpoint", json={}).json()
    gemini = httpx.post(base + "/v1beta/models/veo-3.0-generate-001:predictLongRunning",
                        headers={"x-goog-api-key": "k"}, json={"instances": [{"prompt": "x"}]})
    assert gemini.status_code == 200 and gemini.json()["name"].startswith("models/")
    assert httpx.get(base + "/__mock/health").json()["status"] == "ok"
    assert httpx.post(base + "/__mock/no-such-admin-route").status_code == 404
    fal = {"Authorization": "Key route:secret"}
    assert httpx.post(base + "/fal-ai/veo3", headers=fal, json={"prompt": "x"}).json()["status"] == "IN_QUEUE"
    missing = httpx.get(base + "/fal-ai/veo3/requests/nope/status", headers=fal)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Request not found"})
    assert httpx.delete(base + "/fal-ai/veo3/requests/nope", headers=fal).json() == {"detail": "Method Not Allowed"}
    assert httpx.get(base + "/fal-ai/veo3/anything", headers=fal).status_code == 405  # a submit path
    unknown = httpx.post(base + "/fal-ai/veo3/no/such/endpoint", headers=fal, json={"prompt": "x"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not Found"})


def test_fal_routes_come_after_every_other_route():
    from mockprovider.web.routing import OpenRoute

    with MockServer(profile="happy") as server:
        routes = server.app.router.routes
        first_open = next(i for i, r in enumerate(routes) if isinstance(r, OpenRoute))
        assert all(isinstance(r, OpenRoute) for r in routes[first_open:])
        reserved = routes[first_open].reserved
        assert {"v1", "v1beta", "__mock", "__media", "run", "fal-rest", "fal-cdn"} <= reserved


def test_https_only_configuration_by_environment(served, tmp_path):
    """fal.md 11.2: nothing patched; FAL_QUEUE_RUN_HOST, FAL_RUN_HOST, SSL_CERT_FILE and FAL_KEY only."""
    script = textwrap.dedent(f"""
        import json, sys, httpx, fal_client
        updates = []
        result = fal_client.subscribe({LUMA!r}, arguments={{"prompt": "tls"}}, on_queue_update=updates.append,
                                      interval=0.05)
        ran = fal_client.run("fal-ai/veo3/fast", arguments={{"prompt": "tls", "duration": "4s"}})
        handle = fal_client.submit({LUMA!r}, arguments={{"prompt": "tls"}})
        status = fal_client.status({LUMA!r}, handle.request_id)
        open(sys.argv[1], "wb").write(httpx.get(result["video"]["url"]).content)
        print(json.dumps({{"url": result["video"]["url"], "ran": ran["video"]["url"],
                          "updates": [type(u).__name__ for u in updates], "status_url": handle.status_url,
                          "status": type(status).__name__}}))
    """)
    host = f"127.0.0.1:{served['tls_port']}"
    env = {**os.environ, "FAL_QUEUE_RUN_HOST": host, "FAL_RUN_HOST": host + "/run", "SSL_CERT_FILE": str(served["ca"]),
           "FAL_KEY": "tls-key-id:tls-key-secret"}
    mp4 = tmp_path / "out.mp4"
    run = subprocess.run([sys.executable, "-c", script, str(mp4)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["url"].startswith(f"https://{host}/") and out["ran"].startswith(f"https://{host}/")
    assert out["status_url"].startswith(f"https://{host}/fal-ai/luma-dream-machine/requests/")
    assert out["updates"][-1] == "Completed" and out["status"] in ("Queued", "InProgress", "Completed")
    assert decode(Path(mp4).read_bytes()) == (960, 540, 5.0)
