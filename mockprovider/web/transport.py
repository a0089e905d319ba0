"""Faults below HTTP: resetting a connection or cutting a response short.

ASGI gives no access to the socket; uvicorn's ``send`` is a bound method of an object that holds the transport.
A provider endpoint is called with that ``send`` itself (nothing wraps it on the fast path); for requests that go
through Starlette's middleware, which wraps it, the app keeps the server's own ``send`` in the scope.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import weakref
from typing import Any

from starlette.types import Scope

RAW_SEND = "mockprovider.raw_send"


def keep_raw_send(scope: Scope, send: Any) -> None:
    """Remember the server's own ``send`` weakly: a strong reference would tie the scope and uvicorn's
    request cycle (which holds the scope) into a reference cycle, garbage that only a full GC sweep frees."""
    if hasattr(send, "__self__"):
        scope[RAW_SEND] = weakref.WeakMethod(send)


def transport_of(scope: Scope, send: Any = None) -> Any | None:
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        return transport
    ref = scope.get(RAW_SEND)
    send = ref() if ref is not None else None
    return getattr(getattr(send, "__self__", None), "transport", None)


def reset_connection(scope: Scope, send: Any = None) -> bool:
    """Close the client's connection with a TCP RST. False if the server gives no way to."""
    transport = transport_of(scope, send)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


def close_connection(scope: Scope, send: Any = None) -> bool:
    transport = transport_of(scope, send)
    if transport is None:
        return False
    transport.abort()
    return True
