"""The one real webhook receiver on 127.0.0.1 for tests: records every POST (path with query, headers, raw and
parsed body, the status answered and when it came), answers 200 or the statuses it is told to, and may reply with
a body of its own (a MiniMax challenge echo)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


class WebhookReceiver:
    """``statuses`` are answered in turn, then 200; ``fail_first`` POSTs get 500, or all with ``always_fail``.
    ``reply(body)`` gives the response body (None: ``ok``). ``delays`` are seconds each POST in turn is held
    before its answer (a slow receiver)."""

    def __init__(self, statuses: list[int] | None = None, *, fail_first: int = 0, always_fail: bool = False,
                 reply: Callable[[Any], bytes | None] | None = None, path: str = "/hook",
                 delays: list[float] | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.fail_first = fail_first
        self.always_fail = always_fail
        self.path = path
        self.delays = list(delays or [])
        self.arrivals = 0  # POSTs whose body was read (a held one counts before it is answered)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = _parsed(raw)
                with receiver.lock:
                    receiver.arrivals += 1
                    hold = receiver.delays.pop(0) if receiver.delays else 0.0
                if hold:
                    time.sleep(hold)
                with receiver.lock:
                    status = receiver._next_status()
                    receiver.received.append({"path": self.path, "headers": {k.lower(): v for k, v in
                                                                               self.headers.items()},
                                              "content_type": self.headers.get("Content-Type"), "raw": raw,
                                              "body": body, "status": status, "at": time.monotonic()})
                answer = (reply(body) if reply is not None else None) or b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _next_status(self) -> int:
        if self.always_fail or len(self.received) < self.fail_first:
            return 500
        return self.statuses.pop(0) if self.statuses else 200

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str | None = None) -> str:
        return f"http://127.0.0.1:{self.port}{path or self.path}"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, accepted_only: bool = False) -> list[Any]:
        """The parsed bodies received (only those answered 200 with ``accepted_only``)."""
        with self.lock:
            return [r["body"] for r in self.received if r["status"] == 200 or not accepted_only]

    def accepted(self) -> list[Any]:
        return self.bodies(accepted_only=True)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Every record, once at least ``count`` POSTs came."""
        self.wait_until(lambda: len(self.received) >= count, timeout)
        with self.lock:
            return list(self.received)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"webhooks so far: {self.received}"
            time.sleep(0.01)
