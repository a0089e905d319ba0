"""A MiniMax video client written from MiniMax's API docs (there is no official Python SDK): create a task,
poll the query endpoint, resolve the file to its download URL, download. Like the docs' examples it raises
when ``base_resp.status_code`` is not 0 (after HTTP errors), and treats ``Fail`` as a failed task."""

from __future__ import annotations

import time
from typing import Any

import httpx

DONE = ("Success", "Fail")


class MiniMaxError(Exception):
    """A non-zero ``base_resp.status_code``."""

    def __init__(self, code: int, message: str, body: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.body = body


class MiniMaxAuthError(MiniMaxError):
    """1004 (no or bad Authorization) and 2049 (invalid api key)."""


class MiniMaxRateLimitError(MiniMaxError):
    """1002 (RPM) and 2045 (rate growth)."""


class MiniMaxTaskFailed(Exception):
    def __init__(self, task: dict[str, Any]) -> None:
        resp = task.get("base_resp") or {}
        super().__init__(f"task {task.get('task_id')} failed: {resp.get('status_code')} {resp.get('status_msg')}")
        self.task = task


def _raise_for(body: dict[str, Any]) -> dict[str, Any]:
    resp = body.get("base_resp") or {}
    code = resp.get("status_code", 0)
    if code:
        kind = {1004: MiniMaxAuthError, 2049: MiniMaxAuthError, 1002: MiniMaxRateLimitError,
                2045: MiniMaxRateLimitError}.get(code, MiniMaxError)
        raise kind(code, resp.get("status_msg", ""), body)
    return body


class MiniMax:
    def __init__(self, api_key: str, host: str = "https://api.minimax.io", *, timeout: float = 30.0,
                 header: str = "authorization") -> None:
        auth = {"Authorization": f"Bearer {api_key}"} if header == "authorization" else {"x-api-key": api_key}
        self.http = httpx.Client(base_url=host, timeout=timeout, headers=auth)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> MiniMax:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _checked(self, response: httpx.Response) -> dict[str, Any]:
        response.raise_for_status()
        return _raise_for(response.json())

    def create(self, model: str, prompt: str | None = None, **fields: Any) -> str:
        """``POST /v1/video_generation``; the task id."""
        body = {"model": model, **({"prompt": prompt} if prompt is not None else {}), **fields}
        return self._checked(self.http.post("/v1/video_generation", json=body))["task_id"]

    def query(self, task_id: str) -> dict[str, Any]:
        return self._checked(self.http.get("/v1/query/video_generation", params={"task_id": task_id}))

    def wait(self, task_id: str, interval: float = 0.05, timeout: float = 60.0) -> dict[str, Any]:
        """Poll until Success (the task) or Fail (raises MiniMaxTaskFailed)."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            response = self.http.get("/v1/query/video_generation", params={"task_id": task_id})
            response.raise_for_status()
            task = response.json()
            status = task.get("status")
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "Fail":
                raise MiniMaxTaskFailed(task)
            _raise_for(task)
            if status == "Success":
                task["_seen"] = seen
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} still {status}")
            time.sleep(interval)

    def retrieve(self, file_id: str | int) -> dict[str, Any]:
        """``GET /v1/files/retrieve``: the file object with its ``download_url``."""
        return self._checked(self.http.get("/v1/files/retrieve", params={"file_id": file_id}))["file"]

    def retrieve_content(self, file_id: str | int) -> bytes:
        response = self.http.get("/v1/files/retrieve_content", params={"file_id": file_id})
        response.raise_for_status()
        if response.headers.get("content-type", "").startswith("application/json"):
            _raise_for(response.json())
        return response.content

    def upload(self, purpose: str, filename: str, content: bytes) -> dict[str, Any]:
        """``POST /v1/files/upload`` (multipart ``purpose`` and ``file``): the file object."""
        return self._checked(self.http.post("/v1/files/upload", data={"purpose": purpose},
                                            files={"file": (filename, content)}))["file"]

    def list_files(self, purpose: str = "video_generation") -> list[dict[str, Any]]:
        return self._checked(self.http.get("/v1/files/list", params={"purpose": purpose}))["files"]

    def delete_file(self, file_id: int, purpose: str = "video_generation") -> dict[str, Any]:
        return self._checked(self.http.post("/v1/files/delete", json={"file_id": file_id, "purpose": purpose}))

    def remains(self) -> list[dict[str, Any]]:
        return self._checked(self.http.get("/v1/token_plan/remains"))["model_remains"]

    def download(self, url: str) -> bytes:
        """The CDN URL needs no Authorization."""
        response = httpx.get(url, timeout=30)
        response.raise_for_status()
        return response.content

    def generate(self, model: str, prompt: str | None = None, **fields: Any) -> tuple[dict[str, Any], bytes]:
        """Create, wait, retrieve and download: (the finished task, the MP4 bytes)."""
        task = self.wait(self.create(model, prompt, **fields))
        file = self.retrieve(task["file_id"])
        return task, self.download(file["download_url"])


V2_DONE = ("succeeded", "failed", "cancelled")


class MiniMaxV2TaskFailed(Exception):
    def __init__(self, task: dict[str, Any]) -> None:
        super().__init__(f"task {task.get('id')} {task.get('status')}: {task.get('error')}")
        self.task = task


class MiniMaxV2(MiniMax):
    """MiniMax's v2 video API (MiniMax-H3 / H3-Max), written from the OpenAPI fields third-party clients transcribe:
    ``POST /v2/video_generation`` with a ``content`` list, ``GET /v2/query/video_generation/{task_id}`` answering
    ``{"task": {...}}``, the video at ``task.content.url`` once ``succeeded``."""

    @staticmethod
    def item(kind: str, url: str, role: str | None = None) -> dict[str, Any]:
        """A media item: ``{"type": "image_url", "image_url": {"url": ...}, "role": ...}``."""
        return {"type": kind, kind: {"url": url}, **({"role": role} if role else {})}

    def create(self, model: str, prompt: str | None = None, *, media: list[dict[str, Any]] = (),  # type: ignore[override]
               **fields: Any) -> str:
        content = ([{"type": "text", "text": prompt}] if prompt is not None else []) + list(media)
        return self._checked(self.http.post("/v2/video_generation",
                                            json={"model": model, "content": content, **fields}))["task_id"]

    def query(self, task_id: str) -> dict[str, Any]:
        return self._checked(self.http.get(f"/v2/query/video_generation/{task_id}"))["task"]

    def cancel(self, task_id: str) -> dict[str, Any]:
        return self._checked(self.http.delete(f"/v2/video_generation/{task_id}"))

    def wait(self, task_id: str, interval: float = 0.05, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            task = self.query(task_id)
            if not seen or seen[-1] != task["status"]:
                seen.append(task["status"])
            if task["status"] in ("failed", "cancelled"):
                raise MiniMaxV2TaskFailed(task)
            if task["status"] == "succeeded":
                task["_seen"] = seen
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} still {task['status']}")
            time.sleep(interval)

    def generate(self, model: str, prompt: str | None = None, **fields: Any) -> tuple[dict[str, Any], bytes]:
        task = self.wait(self.create(model, prompt, **fields))
        return task, self.download(task["content"]["url"])
