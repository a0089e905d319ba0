"""Files a caller uploads to MiniMax (``POST /v1/files/upload``, multipart ``purpose`` + ``file``): the purposes and
formats MiniMax's file-management docs list, each file's metadata and bytes kept in two state tables (shared by
replicas), bounded in count and bytes, oldest evicted first."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

# purpose -> the file extensions MiniMax accepts for it [DOC file management]
UPLOAD_FORMATS: dict[str, tuple[str, ...]] = {
    "voice_clone": ("mp3", "m4a", "wav"),
    "prompt_audio": ("mp3", "m4a", "wav"),
    "t2a_async_input": ("txt", "zip"),
    "video_understanding": ("mp4", "avi", "mov", "mkv"),
}
AUDIO_MAX_BYTES = 20 * 10**6  # voice_clone / prompt_audio: "no larger than 20 MB" [DOC voice cloning]
MAX_FILE_BYTES = 64 * 2**20  # the mock's bound for the other purposes (MiniMax allows up to 512 MB)
MAX_FILES = 10_000
MAX_TOTAL_BYTES = 1 * 2**30
MAX_FILENAME = 255
FILE_IDS = (10**18, 2 * 10**18)  # apart from the ids of generated videos' files
CONTENT_TYPES = {"mp3": "audio/mpeg", "m4a": "audio/mp4", "wav": "audio/wav", "txt": "text/plain",
                 "zip": "application/zip", "mp4": "video/mp4", "avi": "video/x-msvideo", "mov": "video/quicktime",
                 "mkv": "video/x-matroska"}


@dataclass(frozen=True)
class Uploaded:
    file_id: int
    account: str
    purpose: str
    filename: str
    size: int
    created_at: int  # Unix seconds

    def to_value(self) -> dict[str, Any]:
        return {"a": self.account, "p": self.purpose, "n": self.filename, "b": self.size, "t": self.created_at}

    @classmethod
    def from_value(cls, file_id: int, value: dict[str, Any]) -> Uploaded:
        return cls(file_id, value["a"], value["p"], value["n"], value["b"], value["t"])

    @property
    def extension(self) -> str:
        return self.filename.rpartition(".")[2].lower()

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.extension, "application/octet-stream")

    def wire(self, download_url: str) -> dict[str, Any]:
        return {"file_id": self.file_id, "bytes": self.size, "created_at": self.created_at,
                "filename": self.filename, "purpose": self.purpose, "download_url": download_url}


def max_bytes(purpose: str) -> int:
    return AUDIO_MAX_BYTES if purpose in ("voice_clone", "prompt_audio") else MAX_FILE_BYTES


def check_upload(purpose: str | None, filename: str | None) -> str | None:
    """Why MiniMax would refuse this purpose and file name (the 2013 message), or None."""
    if purpose not in UPLOAD_FORMATS:
        return "invalid params, purpose must be one of " + ", ".join(UPLOAD_FORMATS)
    if filename is None:
        return "invalid params, file is required"
    name = posixpath.basename(filename.replace("\\", "/"))
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in UPLOAD_FORMATS[purpose]:
        return f"invalid params, {purpose} files must be " + ", ".join(UPLOAD_FORMATS[purpose])
    return None


def clean_name(filename: str) -> str:
    name = posixpath.basename(filename.replace("\\", "/"))
    return "".join(c for c in name if ord(c) >= 32)[-MAX_FILENAME:] or "file"
