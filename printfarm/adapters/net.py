"""Name resolution for the outbound-call rules (the one place printfarm asks DNS about a printer)."""

from __future__ import annotations

import socket

from printfarm.errors import PrinterUnreachable


def resolve_host(host: str) -> list[str]:
    """Every IP address host resolves to (an IP literal resolves to itself); PrinterUnreachable if none."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as err:
        raise PrinterUnreachable(f"{host}: cannot resolve the name ({err})") from err
    return sorted({str(info[4][0]) for info in infos})
