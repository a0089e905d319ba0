"""The installed pytest plugin: the README's example run as a user would (a test file of their own, collected
by pytest with the plugin found through its entry point), a failing verify's message, and the fixtures used
directly in this session."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import runwayml
from runway_client import KEY

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = re.search(r"```python\n# readme-pytest: plugin\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def run_pytest(tmp_path: Path, code: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_user.py").write_text(code)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)


def test_the_readme_example_passes_with_the_installed_plugin(tmp_path):
    assert EXAMPLE, "README.md has no '# readme-pytest: plugin' example"
    result = run_pytest(tmp_path, EXAMPLE.group(1))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_wrong_expectation_fails_with_the_journal_in_the_message(tmp_path):
    code = EXAMPLE.group(1).replace('endpoint="create", count=1', 'endpoint="create", count=3')
    result = run_pytest(tmp_path, code)
    assert result.returncode == 1
    assert "expected exactly 3 request(s) matching provider='runway', endpoint='create', found 1" in result.stdout
    assert "POST /v1/image_to_video -> 200 (runway/create)" in result.stdout


@pytest.mark.mockprovider(profile="happy", time_scale=0.01, seed=3)
def test_fixtures_share_a_reset_server_per_settings(mockprovider_server, mockprovider_admin, mockprovider_report):
    client = runwayml.RunwayML(api_key=KEY, base_url=mockprovider_server.url, max_retries=0)
    client.organization.retrieve()
    assert mockprovider_admin.count(provider="runway") == 1
    assert mockprovider_report()["providers"]["runway"]["requests"] == 1
    with mockprovider_admin.use_profile("outage"), pytest.raises(runwayml.APIStatusError):
        client.organization.retrieve()
    assert mockprovider_admin.call("GET", "/profile")["name"] == "happy"
    with mockprovider_admin.use_profile({"limits": {"requests_per_minute": 0}}, key=KEY), \
            pytest.raises(runwayml.RateLimitError):
        client.organization.retrieve()
    client.organization.retrieve()
    mockprovider_admin.verify(status="5xx", at_least=1)
    mockprovider_admin.verify(status=429, count=1, key=KEY)
    with pytest.raises(AssertionError, match="expected at most 0"):
        mockprovider_admin.verify(provider="runway", at_most=0)


@pytest.mark.mockprovider(profile="happy", time_scale=0.01, seed=3)
def test_the_next_test_starts_from_a_clean_server(mockprovider_server, mockprovider_admin):
    assert mockprovider_admin.requests() == []
    assert mockprovider_admin.jobs() == []
    assert mockprovider_server.settings.seed == 3


def test_a_factory_server_of_ones_own(mockprovider_factory):
    server = mockprovider_factory(journal_size=0, admin_token="abc")
    assert server.admin("GET", "/requests").json()["size"] == 0
