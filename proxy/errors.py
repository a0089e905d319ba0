"""The one error type the API layer turns into Toxiproxy's `{"error": ..., "status": ...}` bodies."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found_proxy() -> ApiError:
    return ApiError(404, "proxy not found")


def not_found_toxic() -> ApiError:
    return ApiError(404, "toxic not found")
