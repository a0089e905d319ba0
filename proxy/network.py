"""Addresses the way Go's ``net`` package spells them: ``host:port`` parsing, resolution, listening."""

from __future__ import annotations

import asyncio
import errno
import os
import socket

from .errors import ApiError


def split_host_port(address: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort`` with its error texts."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise ValueError(f"address {address}: missing ']' in address")
        rest = address[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError(f"address {address}: missing port in address")
        return address[1:end], rest[1:]
    if ":" not in address:
        raise ValueError(f"address {address}: missing port in address")
    host, _, port = address.rpartition(":")
    if ":" in host:
        raise ValueError(f"address {address}: too many colons in address")
    return host, port


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _port(address: str, port: str) -> int:
    if port == "":
        return 0
    try:
        value = int(port, 10)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise ValueError(f"address {address}: invalid port")
    return value


async def resolve(address: str) -> tuple[socket.AddressFamily, str, int]:
    """(family, ip, port) for a listen or dial address; IPv4 first, as Go does for ``localhost``."""
    host, port_text = split_host_port(address or ":0")
    port = _port(address, port_text)
    if host == "":
        return socket.AF_INET6, "::", port
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ValueError(f"lookup {host}: no such host") from None
    infos.sort(key=lambda i: i[0] != socket.AF_INET)
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr[0], port


async def canonical(address: str) -> str:
    """``net.ResolveTCPAddr(address).String()``."""
    _family, ip, port = await resolve(address)
    if address.split(":")[0] == "" and ip == "::":
        return f":{port}"
    return join_host_port(ip, port)


async def listen(address: str, backlog: int = 1024) -> tuple[socket.socket, str]:
    """Bind like ``net.Listen("tcp", address)``; return the socket and the real address."""
    try:
        family, ip, port = await resolve(address)
    except ValueError as exc:
        raise ApiError(500, f"listen tcp: {exc}") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and ip == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((ip, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            reason = reason.lower()
        raise ApiError(500, f"listen tcp {join_host_port(ip, port)}: bind: {reason}") from None
    bound = sock.getsockname()
    return sock, join_host_port("::" if family == socket.AF_INET6 and ip == "::" else bound[0], bound[1])


async def dial(address: str) -> socket.socket:
    """Connect a non-blocking TCP socket to ``address``; raises OSError or ValueError."""
    family, ip, port = await resolve(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.get_running_loop().sock_connect(sock, (ip, port))
    except BaseException:
        sock.close()
        raise
    return sock
