"""The README's claims, checked the way a user would: `mockprovider serve` started as a separate process, and
every `# readme:` snippet run unchanged but for the port, with the official clients."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from genai2_env import genai2_python_or_skip

from mockprovider.engine.profile import ProfileLibrary
from mockprovider.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SNIPPETS = dict(re.findall(r"```python\n# readme: (\S+)\n(.*?)```", README, re.S))


@pytest.fixture(scope="module")
def served():
    port, proxy_port = free_port(), free_port()
    env = {**os.environ, "MOCKPROVIDER_PORT": str(port), "MOCKPROVIDER_TIME_SCALE": "0.02"}
    proc = subprocess.Popen([sys.executable, "-m", "mockprovider", "serve", "--proxy", "--proxy-port",
                             str(proxy_port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    banner = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__mock/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError(proc.stdout.read())
    for _ in range(40):
        line = proc.stdout.readline()
        banner.append(line)
        if "toxiproxy API" in line:
            break
    # the rest of its output is read and dropped: a full pipe would block the server's logging, and so the server
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    yield port, proxy_port, "".join(banner)
    proc.terminate()
    proc.wait(10)


def test_the_banner_prints_each_base_url(served):
    port, proxy_port, banner = served
    for provider in ("runway", "veo", "kling", "luma", "minimax", "seedance", "wan", "replicate", "fal", "admin"):
        assert re.search(rf"{provider}\s.*http://127\.0\.0\.1:{port}", banner), banner
    assert f"http://127.0.0.1:{proxy_port}" in banner
    assert f"http://127.0.0.1:{port}/__mock/ui" in banner


def test_snippets_are_all_found():
    assert set(SNIPPETS) == {"runway", "runway-upload", "runway-router", "runway-workflow", "runway-formats",
                             "veo-vertex", "veo-gemini", "kling", "kling-omni", "toxiproxy", "luma", "minimax",
                             "minimax-v2", "seedance", "wan", "wan-upload", "replicate", "fal"}


@pytest.fixture(scope="module")
def fast_runway_polling_env(tmp_path_factory) -> dict[str, str]:
    """The environment a snippet that uses runwayml runs in: a ``sitecustomize`` that sets the SDK's poll interval
    to 0.05 s, as the autouse fixture in tests/conftest.py does in process. ``wait_for_task_output`` sleeps
    4.5-7.5 s before each poll (the README says so); the served time scale makes the jobs short, and each
    Runway snippet would otherwise spend those seconds asleep. The snippet's code is still run unchanged."""
    site = tmp_path_factory.mktemp("runway-site")
    (site / "sitecustomize.py").write_text("import runwayml.lib.polling as polling\n\n"
                                           "polling.POLL_TIME, polling.POLL_JITTER = 0.05, 0\n")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def run_snippet(name: str, port: int, proxy_port: int, runway_env: dict[str, str]) -> subprocess.CompletedProcess:
    code = SNIPPETS[name].replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace(
        '"127.0.0.1", 8474', f'"127.0.0.1", {proxy_port}')
    free = free_port()
    code = code.replace("127.0.0.1:18000", f"127.0.0.1:{free}")
    python = str(genai2_python_or_skip()) if name == "veo-gemini" else sys.executable
    env = runway_env if "from runwayml import" in code else None
    return subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120, env=env)


def interleaved(names: list[str]) -> list[str]:
    """Each provider's first snippet, then each one's second, ...: the two that run at once are mostly of two
    providers (five Runway snippets in a row would queue on one key's concurrency)."""
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        groups.setdefault(name.split("-")[0], []).append(name)
    rank = {name: i for group in groups.values() for i, name in enumerate(group)}
    return sorted(names, key=lambda name: (rank[name], name))


@pytest.fixture(scope="module")
def snippet_runs(request, served, fast_runway_polling_env):
    """The selected snippets, each a client process of its own, run two at a time from the first test on (one
    core waits on a snippet's SDK import while the other runs one): each test waits for its own run."""
    port, proxy_port, _ = served
    selected = [item.callspec.params["name"] for item in request.session.items
                if item.module is request.module and item.originalname == "test_readme_snippet_runs_unchanged"]
    pool = ThreadPoolExecutor(2, thread_name_prefix="readme-snippet")
    runs = {name: pool.submit(run_snippet, name, port, proxy_port, fast_runway_polling_env)
            for name in interleaved(selected)}
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_readme_snippet_runs_unchanged(snippet_runs, name):
    result = snippet_runs[name].result()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    if name == "runway":
        assert out.startswith("SUCCEEDED ")
    elif name == "runway-upload":
        assert out.split() == ["SUCCEEDED", "image/png", "2"]
    elif name == "runway-router":
        assert out.split() == ["veo3.1", "SUCCEEDED", "video/mp4", "True"]
    elif name == "runway-formats":
        assert out.split() == ["48", "frame_00001.png", "6.0", "audio/mpeg"]  # 2 s at 24 fps
    elif name == "runway-workflow":
        assert out.split() == ["SUCCEEDED", "['video']", "READY", "True"]
    elif name == "kling-omni":
        assert out.split() == ["succeed", "5.6", "7"]  # kling-v3-omni pro (the default), 0.8 units/s
    elif name == "veo-vertex":
        assert out.split()[1] == "video/mp4" and int(out.split()[0]) > 1000
    elif name == "veo-gemini":
        assert int(out) > 1000
    elif name == "kling":
        assert out.startswith("succeed http")
    elif name == "luma":
        state, size, still, image, balance = out.split()
        assert state == still == "completed" and int(size) > 1000 and int(image) > 1000 and float(balance) > 0
    elif name == "minimax":
        assert out.split() == ["Success", "1366", "768", "True"]
    elif name == "minimax-v2":
        assert out.split() == ["succeeded", "True"]
    elif name == "seedance":
        status, tokens, size = out.split()
        assert status == "succeeded" and int(tokens) == 1248 * 704 * 121 // 1024 and int(size) > 1000
    elif name == "wan":
        status, seconds, size = out.split()
        assert (status, seconds) == ("SUCCEEDED", "5") and int(size) > 1000
    elif name == "wan-upload":
        assert out.split() == ["SUCCEEDED", "True"]
    elif name == "toxiproxy":
        assert "provider" in out
    elif name == "replicate":
        status, percentage, size = out.split()
        assert (status, float(percentage)) == ("succeeded", 1.0) and int(size) > 1000
    elif name == "fal":
        lines = out.split()
        assert lines[-2:] == ["Completed", "True"] and set(lines[:-1]) <= {"Queued", "InProgress", "Completed"}


def test_profile_readme_examples_are_valid_profiles():
    text = (ROOT / "profiles" / "README.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "..." not in b]
    assert len(blocks) == 4  # latency, faults, callbacks, network
    library = ProfileLibrary()
    for block in blocks:
        library.load_inline(yaml.safe_load(block))


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_command 1" in ci and "readme_command 2" in ci
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)[:2]
    assert commands == ["pip install -e '.[dev]' && mockprovider serve", "python -m pytest"]
