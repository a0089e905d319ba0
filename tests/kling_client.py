"""A small Kling client written from Kling's documented API (PyJWT + httpx), independent of the server's code,
and a real callback receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib
from typing import Any

import av
import httpx
import jwt
from webhook_receiver import WebhookReceiver

ACCESS_KEY = "ak_test"  # the documented default pair
SECRET_KEY = "sk_test"


def token(ak: str = ACCESS_KEY, sk: str = SECRET_KEY, *, exp: float | None = None, nbf: float | None = None,
          **extra: Any) -> str:
    now = int(time.time())
    payload = {"iss": ak, "exp": now + 1800 if exp is None else exp, "nbf": now - 5 if nbf is None else nbf, **extra}
    return jwt.encode(payload, sk, algorithm="HS256", headers={"alg": "HS256", "typ": "JWT"})


class Kling:
    def __init__(self, base: str, ak: str = ACCESS_KEY, sk: str = SECRET_KEY) -> None:
        self.base = base.rstrip("/")
        self.ak, self.sk = ak, sk
        self.http = httpx.Client(base_url=self.base, timeout=20)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(self.ak, self.sk)}", "Content-Type": "application/json"}

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, headers=self.headers(), json=body)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(), params=params)

    @staticmethod
    def path(kind: str) -> str:
        """Where a task family lives: /v1/videos/<kind>, except image generation under /v1/images/."""
        return "/v1/images/generations" if kind == "generations" else f"/v1/videos/{kind}"

    def create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(self.path(kind), body)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["code"] == 0 and answer["message"] == "SUCCEED", answer
        return answer["data"]

    def query(self, kind: str, task_id: str) -> dict[str, Any]:
        r = self.get(f"{self.path(kind)}/{task_id}")
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def wait(self, kind: str, task_id: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            task = self.query(kind, task_id)
            if not seen or seen[-1] != task["task_status"]:
                seen.append(task["task_status"])
            if task["task_status"] in ("succeed", "failed"):
                task["_seen"] = seen
                return task
            assert time.monotonic() < deadline, f"task {task_id} stuck in {task['task_status']}"
            time.sleep(0.02)

    def close(self) -> None:
        self.http.close()


def probe_mp4(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        return {"width": video.width, "height": video.height, "frames": frames,
                "duration": container.duration / av.time_base, "audio": bool(container.streams.audio)}


def png_base64(width: int, height: int) -> str:
    """A real (grey) PNG of the given size, raw base64 as Kling wants it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


class Receiver(WebhookReceiver):
    """The shared receiver as Kling's tests use it: ``url`` an attribute (``/kling/callback``), ``wait_for`` a
    predicate; 500 to the first ``fail_first`` POSTs, or to all with ``always_fail``."""

    def __init__(self, fail_first: int = 0, always_fail: bool = False) -> None:
        super().__init__(fail_first=fail_first, always_fail=always_fail, path="/kling/callback")

    @property  # type: ignore[override]
    def url(self) -> str:
        return WebhookReceiver.url(self)

    def wait_for(self, predicate, timeout: float = 15.0) -> None:  # type: ignore[override]
        self.wait_until(predicate, timeout)
