"""Which printer addresses printfarm may call: pure checks over resolved IP addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(networks: Sequence[str]) -> list[IpNetwork]:
    """CIDR strings as networks; ValueError naming the first bad one."""
    parsed = []
    for text in networks:
        try:
            parsed.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as err:
            raise ValueError(f"{text!r} is not a network in CIDR form (e.g. 10.20.0.0/16): {err}") from err
    return parsed


def url_host(base_url: str) -> str:
    """The host part of a printer's base URL; ValueError when it has none."""
    try:
        host = urlsplit(base_url).hostname
    except ValueError as err:
        raise ValueError(f"{base_url!r} is not a URL: {err}") from err
    if not host:
        raise ValueError(f"{base_url!r} names no host")
    return host


def address_problem(host: str, addresses: Sequence[str], networks: Sequence[IpNetwork]) -> str | None:
    """Why a host may not be called, or None: every address it resolves to must lie in a listed network.

    Every address, not any: a name resolving to one allowed and one outside address could be
    reached through the outside one.
    """
    if not addresses:
        return f"{host} resolves to no address"
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone index
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not any(address in network for network in networks):
            allowed = ", ".join(str(n) for n in networks) or "none"
            return f"{host} resolves to {address}, outside the allowed printer networks ({allowed})"
    return None
