"""The HTTPS listener: `serve --tls` beside plain HTTP on one app, a generated CA (reused) and certificate for
127.0.0.1, localhost and --tls-name names, the user's own certificate, https output URLs for requests that came
over TLS, and an https-only client trusting the CA through SSL_CERT_FILE alone."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from mockprovider.testing import MockServer, free_port
from mockprovider.tls import generate

RUNWAY_BODY = {"model": "gen4_turbo", "promptImage": "https://example.com/cat.png", "ratio": "1280:720",
               "duration": 5}
RUNWAY_HEADERS = {"Authorization": "Bearer key_test", "X-Runway-Version": "2024-11-06"}


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, tls=True, tls_names=["mock.internal", "10.9.8.7"]) as s:
        yield s


def finished_runway_task(base: str, verify) -> dict:
    with httpx.Client(base_url=base, verify=verify, timeout=20) as http:
        task = http.post("/v1/image_to_video", json=RUNWAY_BODY, headers=RUNWAY_HEADERS)
        assert task.status_code == 200, task.text
        deadline = time.monotonic() + 15
        while True:
            got = http.get(f"/v1/tasks/{task.json()['id']}", headers=RUNWAY_HEADERS).json()
            if got["status"] == "SUCCEEDED":
                return got
            assert time.monotonic() < deadline, got
            time.sleep(0.02)


def test_one_app_on_both_listeners_with_https_urls_for_tls_requests(server):
    context = ssl.create_default_context(cafile=str(server.ca_file))
    plain = finished_runway_task(server.url, True)
    secure = finished_runway_task(server.tls_url, context)
    assert plain["output"][0].startswith(server.url + "/")
    assert secure["output"][0].startswith(server.tls_url + "/")
    mp4 = httpx.get(secure["output"][0], verify=context, timeout=20).content
    assert mp4[4:8] == b"ftyp"
    jobs = httpx.get(server.tls_url + "/__mock/jobs", verify=context).json()["total"]
    assert jobs == httpx.get(server.url + "/__mock/jobs").json()["total"] >= 2  # one engine behind both
    with pytest.raises(httpx.ConnectError):  # not trusted without the CA
        httpx.get(server.tls_url + "/__mock/health", verify=True)


def test_the_certificate_names_the_defaults_and_the_extra_names(server):
    cert = x509.load_pem_x509_certificate(server.tls.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "mock.internal"}
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1", "10.9.8.7"}
    context = ssl.create_default_context(cafile=str(server.ca_file))
    assert httpx.get(f"https://localhost:{server.settings.tls_port}/__mock/health", verify=context).status_code == 200


def test_gemini_file_uris_are_fetchable_over_tls(server):
    context = ssl.create_default_context(cafile=str(server.ca_file))
    key = {"x-goog-api-key": "test-key"}
    with httpx.Client(base_url=server.tls_url, verify=context, timeout=20) as http:
        op = http.post("/v1beta/models/veo-3.0-generate-001:predictLongRunning",
                       json={"instances": [{"prompt": "a cat"}]}, headers=key).json()
        deadline = time.monotonic() + 15
        while not op.get("done"):
            assert time.monotonic() < deadline, op
            time.sleep(0.05)
            op = http.get(f"/v1beta/{op['name']}", headers=key).json()
        uri = op["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        assert uri.startswith(server.tls_url + "/v1beta/files/")
        video = http.get(uri, headers=key, follow_redirects=True)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_the_ca_is_kept_and_reused_and_a_users_own_certificate_works(tmp_path):
    first = generate(tmp_path / "ca", ["a.test"])
    second = generate(tmp_path / "ca", ["b.test"])
    assert first.ca.read_bytes() == second.ca.read_bytes()
    assert oct((tmp_path / "ca" / "ca-key.pem").stat().st_mode & 0o777) == "0o600"
    with MockServer(profile="happy", tls=True, tls_cert=second.cert, tls_key=second.key) as s:
        assert s.ca_file is None
        context = ssl.create_default_context(cafile=str(second.ca))
        assert httpx.get(s.tls_url + "/__mock/health", verify=context).status_code == 200


def _serve(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mockprovider", "serve", *args], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_serve_tls_prints_the_ca_and_an_https_only_client_trusts_it_by_environment(tmp_path):
    port, tls_port = free_port(), free_port()
    proc = _serve(["--tls-name", "mock.internal"], {
        "MOCKPROVIDER_PORT": str(port), "MOCKPROVIDER_TLS": "1", "MOCKPROVIDER_TLS_PORT": str(tls_port),
        "MOCKPROVIDER_TLS_DIR": str(tmp_path), "MOCKPROVIDER_TIME_SCALE": "0.01", "MOCKPROVIDER_PROFILE": "happy"})
    try:
        banner = ""
        deadline = time.monotonic() + 30
        while "CA to trust" not in banner:
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, banner
            banner += line
        ca = Path(re.search(r"CA to trust\s+(\S+)", banner).group(1))
        assert ca == tmp_path / "ca.pem" and f"https://127.0.0.1:{tls_port}" in banner
        script = textwrap.dedent(f"""
            from runwayml import RunwayML
            client = RunwayML(api_key="key_test", base_url="https://127.0.0.1:{tls_port}")
            task = client.image_to_video.create(model="gen4_turbo", prompt_image="https://example.com/cat.png",
                                                prompt_text="a cat", ratio="1280:720", duration=5)
            print(client.tasks.retrieve(task.id).status)
        """)
        trusted = ssl.create_default_context(cafile=str(ca))
        for _ in range(100):  # the listener may still be starting
            try:
                httpx.get(f"https://127.0.0.1:{tls_port}/__mock/health", verify=trusted)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        run = subprocess.run([sys.executable, "-c", script], env={**os.environ, "SSL_CERT_FILE": str(ca)},
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() in ("PENDING", "RUNNING", "SUCCEEDED")
        untrusted = subprocess.run([sys.executable, "-c", script], env={
            k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")},
            capture_output=True, text=True, timeout=60)
        assert untrusted.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    finally:
        proc.terminate()
        assert proc.wait(10) is not None


@pytest.mark.parametrize("args", [["--tls", "--tls-name", "bad name!"], ["--tls", "--tls-cert", "x.pem"],
                                  ["--tls", "--tls-port", "0"]])
def test_bad_tls_flags_are_argparse_errors(args):
    run = subprocess.run([sys.executable, "-m", "mockprovider", "serve", "--port", str(free_port()), *args],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr


def test_a_certificate_that_does_not_load_is_a_clear_error(tmp_path):
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    run = subprocess.run([sys.executable, "-m", "mockprovider", "serve", "--port", str(free_port()), "--tls",
                          "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "cannot start TLS" in run.stderr and "Traceback" not in run.stderr


def test_an_idle_tls_keep_alive_connection_does_not_hold_up_shutdown():
    """A TLS close waits for the client's close_notify; an idle keep-alive client never sends one, so the
    server must not wait for it (it used to sit out the whole graceful-shutdown timeout)."""
    import http.client

    server = MockServer(tls=True).start()
    try:
        idle = http.client.HTTPSConnection("127.0.0.1", server.settings.tls_port,
                                           context=ssl.create_default_context(cafile=str(server.ca_file)))
        idle.request("GET", "/__mock/health")
        reply = idle.getresponse()
        assert reply.status == 200 and reply.read()
    finally:
        server._server.should_exit = True
        server._thread.join(timeout=4)  # under the 5 s graceful-shutdown timeout
    assert not server._thread.is_alive()
    idle.close()
