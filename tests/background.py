"""One-off preparations (an install into a venv of its own, mostly waiting on pip and the disk) started in a
thread as the session begins, so that they overlap with the tests that run before the first one needing them.

A test module lists its preparations in ``PREPARE_IN_BACKGROUND`` (functions of no arguments); tests/conftest.py
starts those of every collected module, and a fixture takes the value with ``result(fn)``, which waits for it,
raises what it raised (a ``pytest.skip`` or ``pytest.fail`` included), and runs it there and then if nothing
started it (a module imported some other way)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

_started: dict[Callable[[], Any], Future] = {}
_lock = threading.Lock()


def _run(fn: Callable[[], Any], done: Future) -> None:
    try:
        done.set_result(fn())
    except BaseException as exc:  # pytest's Skipped and Failed are BaseExceptions: raised again in the fixture
        done.set_exception(exc)


def start(fn: Callable[[], Any]) -> None:
    """Run ``fn`` in a thread of its own, once a session (a session that ends sooner waits for it at exit
    rather than leave an install half done)."""
    with _lock:
        if fn in _started:
            return
        _started[fn] = done = Future()
    threading.Thread(target=_run, args=(fn, done), name=f"prepare-{fn.__name__}").start()


def result(fn: Callable[[], Any]) -> Any:
    start(fn)
    return _started[fn].result()
