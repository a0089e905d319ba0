"""Veo through the Gemini API with google-genai 2.x, which cannot share an environment with the 3.x the rest of
the suite uses: the tests build a virtual environment once (cached under ``.cache/venvs/``, rebuilt when the
version stamp changes) and run ``veo_gemini_client.py`` in it against a live server.

Set ``MOCKPROVIDER_SKIP_GENAI2=1`` to skip these where PyPI cannot be reached."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from genai2_env import genai2_python_or_skip
from kling_client import Receiver
from veo_support import assign_all

from mockprovider.testing import MockServer

CLIENT = Path(__file__).resolve().parent / "veo_gemini_client.py"


@pytest.fixture(scope="module")
def genai2_python() -> Path:
    return genai2_python_or_skip()


@pytest.fixture(scope="module")
def results(genai2_python: Path) -> dict:
    with Receiver() as sink, MockServer(profile="happy", time_scale=0.01, seed=3) as server:
        assign_all(server)
        env = {**os.environ, "MOCK_WEBHOOK_SINK": sink.url}
        run = subprocess.run([str(genai2_python), str(CLIENT), server.url, "download", "filtered", "failed",
                              "bad_key", "invalid", "limited", "webhook", "vertex_edit"],
                             capture_output=True, text=True, timeout=120, env=env)
        time.sleep(0.2)  # a delivery (there should be none) would have left by now
        delivered = list(sink.received)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    out["webhook_deliveries"] = delivered
    assert out["version"] == "2.34.0"
    return out


def test_generate_poll_and_download(results: dict) -> None:
    got = results["download"]
    assert got["name"].startswith("models/veo-3.1-generate-preview/operations/")
    assert got["uri"].startswith("https://") and "/v1beta/files/" in got["uri"]
    assert (got["width"], got["height"]) == (720, 1280)
    assert got["duration"] == pytest.approx(6.0, abs=0.1)
    assert got["frames"] == 6 * 24
    assert got["audio"] is True  # Veo 3 always has sound on the Gemini API


def test_filtered_output_is_a_done_operation_without_samples(results: dict) -> None:
    got = results["filtered"]
    assert got["error"] is None
    assert got["generated_videos"] is None
    assert got["rai_media_filtered_count"] == 1
    assert len(got["rai_media_filtered_reasons"]) == 1


def test_failure_inside_the_operation(results: dict) -> None:
    got = results["failed"]
    assert got["done"] is True
    assert got["response"] is None
    assert got["error"]["code"] == 13 and got["error"]["message"]


def test_bad_key_is_400_api_key_invalid(results: dict) -> None:
    got = results["bad_key"]
    assert (got["class"], got["code"], got["status"]) == ("ClientError", 400, "INVALID_ARGUMENT")
    assert got["message"] == "API key not valid. Please pass a valid API key."
    assert got["details"]["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_invalid_duration_is_400(results: dict) -> None:
    got = results["invalid"]
    assert (got["class"], got["code"], got["status"]) == ("ClientError", 400, "INVALID_ARGUMENT")
    assert "durationSeconds" in got["message"]


def test_rate_limit_is_429_with_retry_info(results: dict) -> None:
    got = results["limited"]
    assert (got["class"], got["code"], got["status"]) == ("ClientError", 429, "RESOURCE_EXHAUSTED")
    delays = [d["retryDelay"] for d in got["details"]["error"]["details"] if d["@type"].endswith("RetryInfo")]
    # the real wait (time scale 0.01): at most 60 engine seconds, so at most 0.6 s
    assert len(delays) == 1 and delays[0].endswith("s") and 0 < float(delays[0][:-1]) <= 0.6


def test_webhook_config_is_accepted_and_ignored(results: dict) -> None:
    """The payload of a Veo webhook delivery is not documented, so the mock does what an API that takes the field
    and has nothing documented to send does: the request succeeds and nothing is delivered."""
    assert results["webhook"] == {"done": True, "error": None, "samples": 1}
    assert results["webhook_deliveries"] == []


def test_vertex_mask_editing_and_style_references_from_2_x(results: dict) -> None:
    """What test_veo_editing checks with 3.6.1, sent by 2.34.0 with its own enum members: the edit keeps the input's
    length, and a STYLE reference is accepted by veo-2.0-generate-exp."""
    got = results["vertex_edit"]
    assert "unexpected" not in got, got
    assert got["edit"]["duration"] == pytest.approx(6.0, abs=0.1) and got["style"] == 1
