"""A cached virtual environment with google-genai 2.x (the last versions that offer Veo on the Gemini API),
which cannot share an environment with the 3.x the rest of the suite uses. Built once under
``.cache/venvs/genai2`` and rebuilt when the version stamp changes; ``MOCKPROVIDER_SKIP_GENAI2=1`` skips the
tests that need it where PyPI cannot be reached. A session whose tests need it starts the build in a thread as
it begins (tests/conftest.py), so a fresh clone's half-minute install overlaps with the tests before them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "venvs" / "genai2"
REQUIREMENTS = ["google-genai==2.34.0", "av>=12,<20"]
STAMP = json.dumps({"requirements": REQUIREMENTS, "python": sys.version_info[:2]})


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_venv() -> Path:
    stamp = VENV / "mockprovider-stamp.json"
    if stamp.is_file() and stamp.read_text() == STAMP and _python(VENV).exists():
        return _python(VENV)
    building = VENV.with_name(f"{VENV.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True, timeout=120)
    install = subprocess.run([str(_python(building)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              *REQUIREMENTS], capture_output=True, text=True, timeout=600)
    if install.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        pytest.fail(f"could not install {REQUIREMENTS} into a venv:\n{install.stderr[-2000:]}")
    (building / stamp.name).write_text(STAMP)
    shutil.rmtree(VENV, ignore_errors=True)
    building.rename(VENV)  # venvs tolerate a move as long as their python is run by path
    return _python(VENV)


_building: Future | None = None
_started = threading.Lock()


def _build_into(done: Future) -> None:
    try:
        done.set_result(build_venv())
    except BaseException as exc:  # pytest.fail's Failed included: raised again in the test that waits
        done.set_exception(exc)


def start_building() -> None:
    """Build (or find) the venv in a thread; the first test that needs it waits for it (and a session that ends
    sooner waits for the build at exit rather than leave pip half done)."""
    global _building
    with _started:
        if _building is not None or os.environ.get("MOCKPROVIDER_SKIP_GENAI2"):
            return
        _building = Future()
        threading.Thread(target=_build_into, args=(_building,), name="genai2-venv").start()


def needs_genai2(nodeid: str) -> bool:
    """Whether a collected test uses the venv (the README's veo-gemini snippet, test_veo_gemini.py)."""
    return "veo-gemini" in nodeid or "test_veo_gemini.py" in nodeid


def genai2_python_or_skip() -> Path:
    if os.environ.get("MOCKPROVIDER_SKIP_GENAI2"):
        pytest.skip("MOCKPROVIDER_SKIP_GENAI2 is set")
    start_building()
    return _building.result()
