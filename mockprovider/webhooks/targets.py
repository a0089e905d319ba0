"""Where deliveries may go. Never the server's own listeners (its admin API) or the chaos proxy's API, never a
link-local address (cloud metadata endpoints live there); with an allow-list, only what it names. Private and
loopback addresses stay allowed: the platform under test usually lives on one.

Names are checked after they resolve, by the resolver the delivery session connects with, so a name that
resolves to a refused address is refused too."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
METADATA = (ipaddress.ip_address("fd00:ec2::254"),)


class Refused(OSError):
    """A delivery target the rules refuse (never retried)."""


def _address(text: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _local_addresses() -> set[Address]:
    found: set[Address] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            ip = _address(str(info[4][0]))
            if ip is not None:
                found.add(ip)
    except OSError:
        pass
    return found


class AllowEntry:
    """``host``, ``.suffix`` (any name under it), ``host:port``, an IP or a CIDR network."""

    def __init__(self, text: str) -> None:
        text = text.strip().lower()
        if not text:
            raise ValueError("empty allow-list entry")
        self.text = text
        self.port: int | None = None
        self.network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
        self.name: str | None = None
        if "/" in text:
            self.network = ipaddress.ip_network(text, strict=False)
            return
        host = text
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest.startswith(":"):
                self.port = _port(rest[1:], text)
        elif text.count(":") == 1:
            host, _, port = text.partition(":")
            self.port = _port(port, text)
        ip = _address(host)
        if ip is not None:
            self.network = ipaddress.ip_network(ip)
        else:
            self.name = host

    def matches(self, name: str, ip: Address | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip is not None and ip in self.network
        assert self.name is not None
        name = name.lower().rstrip(".")
        return name == self.name or (self.name.startswith(".") and name.endswith(self.name))


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad port in allow-list entry {entry!r}")
    return int(text)


class TargetRules:
    """``own`` are (host, port) pairs of this process's listeners and APIs a delivery must never reach (the
    server's ports, the chaos proxy's API); ``allow`` entries restrict targets further when given."""

    def __init__(self, own: Iterable[tuple[str, int]] = (), allow: Iterable[str] = ()) -> None:
        self.own: list[tuple[str, int]] = [(h, int(p)) for h, p in own]
        self.allow = [AllowEntry(a) for a in allow]
        self._locals: set[Address] | None = None

    def add_own(self, host: str, port: int) -> None:
        self.own.append((host, int(port)))

    def _is_local(self, ip: Address) -> bool:
        if ip.is_loopback or ip.is_unspecified:
            return True
        if self._locals is None:
            self._locals = _local_addresses()
        return ip in self._locals

    def problem(self, name: str, ip: Address | None, port: int) -> str | None:
        """Why a connection to ``ip`` (resolved from ``name``) on ``port`` is refused, or None."""
        if ip is not None and (any(ip in net for net in LINK_LOCAL) or ip in METADATA):
            return f"refused: {ip} is a link-local (metadata) address"
        if any(port == own_port and self._reaches(host, name, ip) for host, own_port in self.own):
            return f"refused: {name}:{port} is mockprovider's own server or chaos proxy API"
        if self.allow and not any(entry.matches(name, ip, port) for entry in self.allow):
            return f"refused: {name}:{port} is not in the webhook allow-list"
        return None

    def _reaches(self, own_host: str, name: str, ip: Address | None) -> bool:
        """Whether a connection to ``ip``/``name`` could reach a listener bound at ``own_host``."""
        if own_host.lower().rstrip(".") == name.lower().rstrip("."):
            return True
        if ip is None:
            return False
        own_ip = _address(own_host)
        if own_ip is None:  # another name was compared above; localhost is whatever is local
            return own_host.lower() == "localhost" and self._is_local(ip)
        if own_ip.is_unspecified:  # bound to every interface
            return self._is_local(ip)
        if own_ip.is_loopback:
            return ip.is_loopback or ip.is_unspecified
        return ip == own_ip

    def check_url(self, url: str) -> str | None:
        """What can be said before connecting: the scheme, and every rule for a literal IP host (aiohttp does not
        resolve those, so the resolver never sees them). Names are checked by ``GuardedResolver``."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return "refused: not a valid URL"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "refused: only http(s) URLs with a host are delivered to"
        ip = _address(parts.hostname)
        return self.problem(parts.hostname, ip, port) if ip is not None else None

    def resolver(self) -> GuardedResolver:
        return GuardedResolver(self)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver with every resolved address checked against the rules."""

    def __init__(self, rules: TargetRules) -> None:
        self.rules = rules
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            problem = self.rules.problem(host, _address(result["host"]), port)
            if problem is not None:
                raise Refused(problem)  # one refused address refuses the name
        return results

    async def close(self) -> None:
        await self._inner.close()
