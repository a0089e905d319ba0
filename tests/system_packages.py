"""Debian packages the tests need (chromium, redis-server), installed with apt-get when missing, the way the
project installs everything else its tests use."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pytest

_installing = threading.Lock()


def binary(names: tuple[str, ...], package: str) -> str:
    """The path of the first of ``names`` on PATH, installing Debian's ``package`` first if none is."""
    with _installing:
        for name in names:
            found = shutil.which(name)
            if found:
                return found
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
            if done.returncode != 0:
                pytest.fail(f"installing {package} failed: {' '.join(command)}: {done.stderr[-2000:]}")
        for name in names:
            found = shutil.which(name)
            if found:
                return found
        pytest.fail(f"apt-get installed {package} but none of {', '.join(names)} is on PATH")
