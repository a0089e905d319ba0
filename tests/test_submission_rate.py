"""A per-account submissions-per-second limit (the engine's ``limits.submissions_per_second``): a sliding 1 s window
of admitted jobs, per account; over it, Wan answers DashScope's 429 ``Throttling`` through dashscope unchanged.
The server's clock is slowed right down and moved by the admin API, so the window never depends on wall time."""

from __future__ import annotations

import dashscope
import pytest
from dashscope import VideoSynthesis

from mockprovider.engine.behaviour import Limits
from mockprovider.engine.limits import LimitBook
from mockprovider.testing import MockServer


def test_window_counts_admitted_submissions_per_account():
    book = LimitBook()
    limits = Limits(submissions_per_second=2)
    a, b = book.scope("p", "a"), book.scope("p", "b")
    assert book.take_submission(a, limits, 10.0) is None
    assert book.take_submission(a, limits, 10.4) is None
    over = book.take_submission(a, limits, 10.9)
    assert over is not None and over.limit == "submission_rate" and over.allowed == 2
    assert over.retry_after(10.9) == pytest.approx(0.1)
    assert book.take_submission(b, limits, 10.9) is None  # another account has its own window
    assert book.take_submission(a, limits, 11.0) is None  # the first has left the window
    assert book.take_submission(a, limits, 11.1) is not None
    assert book.take_submission(a, Limits(), 11.1) is None and not a.submissions  # no limit, nothing kept
    with pytest.raises(ValueError):
        Limits(submissions_per_second=-1)


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=1e6, seed=3) as s:
        yield s


def test_wan_over_the_submission_rate_gets_throttling(server, monkeypatch):
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{server.url}/api/v1")
    profile = {"limits": {"submissions_per_second": 2}, "jobs": {"queue": "0s", "run": "1000s"}}
    assert server.admin("PUT", "/profile", json={"profile": profile}).status_code == 200

    def submit(key: str):
        return VideoSynthesis.async_call(model="wan2.6-t2v", prompt="a cat", api_key=key)

    assert [submit("sk-rate-a").status_code for _ in range(2)] == [200, 200]
    refused = submit("sk-rate-a")
    assert refused.status_code == 429 and refused.code == "Throttling", refused
    assert refused.message == "Requests throttling triggered." and refused.request_id
    assert submit("sk-rate-b").status_code == 200  # per account
    invalid = VideoSynthesis.async_call(model="no-such-model", prompt="x", api_key="sk-rate-c")
    assert invalid.status_code == 400  # refused before the limit: it does not use the window
    assert [submit("sk-rate-c").status_code for _ in range(2)] == [200, 200]
    assert server.admin("POST", "/clock", json={"advance": "1s"}).status_code == 200
    assert submit("sk-rate-a").status_code == 200


def test_realistic_profile_limits_wan21_submissions_only(server, monkeypatch):
    """``realistic`` carries wan2.1's published 2 submissions a second; newer models publish none, so none."""
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{server.url}/api/v1")
    assert server.admin("PUT", "/profile", json={"profile": {"extends": "realistic"}}).status_code == 200

    def submit(model: str, key: str):
        rsp = VideoSynthesis.async_call(model=model, prompt="a cat", api_key=key)
        return rsp.status_code, rsp.code

    assert [submit("wanx2.1-t2v-turbo", "sk-real-a") for _ in range(3)] == [(200, "")] * 2 + [(429, "Throttling")]
    assert [submit("wan2.6-t2v", "sk-real-b") for _ in range(4)] == [(200, "")] * 4
