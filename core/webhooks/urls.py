"""Where a webhook may go: an ``https`` URL at a public address, or an allow-listed host.

A callback URL names a host; the host resolves to addresses. Every address must be
public (not private, loopback, link-local, shared, reserved or multicast), unless the
host is in ``LIFEBOAT_WEBHOOK_ALLOWED_HOSTS``, which also lets it use plain ``http``.
The web checks a URL when a job is submitted (422 naming ``callback_url``); the delivery
checks it again and connects to the very address it checked, so a name that resolves
elsewhere later (DNS rebinding) cannot reach an internal service.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.settings import Settings

# characters of a callback URL: at most 3,000 bytes percent-encoded in a query string,
# which leaves room in a request line (8 KiB) for the other parameters
MAX_URL = 1_000
# absolute http(s), visible ASCII only (an IDN host in its xn-- form, a path percent-encoded)
URL_PATTERN = r"^[hH][tT][tT][pP][sS]?://[!-~]+$"
DEFAULT_PORTS = {"http": 80, "https": 443}


class CallbackRefused(ValueError):
    """A callback URL that a webhook may not be sent to; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked callback URL: where to connect (``address``) and what to call it."""

    url: str
    scheme: str
    host: str  # as the URL names it: the Host header and the TLS server name
    port: int
    address: str  # the resolved, checked IP address the delivery connects to


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """``LIFEBOAT_WEBHOOK_ALLOWED_HOSTS`` as lower-case host names."""
    return frozenset(
        h.strip().lower() for h in settings.webhook_allowed_hosts.split(",") if h.strip()
    )


def check(url: str, allowed: Collection[str]) -> Target:
    """The URL's target, resolved and checked; :class:`CallbackRefused` saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"is not a valid URL: {exc}") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        raise CallbackRefused("must be an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("must not carry a user name or password")
    listed = host in allowed
    if scheme != "https" and not listed:
        raise CallbackRefused("must use https (or name a host in LIFEBOAT_WEBHOOK_ALLOWED_HOSTS)")
    port = port or DEFAULT_PORTS[scheme]
    addresses = resolve(host, port)
    if not listed:
        for address in addresses:
            if not is_public(address):
                raise CallbackRefused(
                    f"resolves to {address}, a private, loopback, link-local or reserved "
                    "address (allow its host with LIFEBOAT_WEBHOOK_ALLOWED_HOSTS)"
                )
    return Target(url, scheme, host, port, addresses[0])


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal: itself)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise CallbackRefused(f"its host {host!r} does not resolve") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise CallbackRefused(f"its host {host!r} does not resolve")
    return addresses


def is_public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 one judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
