"""Printer states, what "online" writes, and the backoff for printers that do not answer.

A printer's ``connection`` says whether printfarm can print on it now, with ``connection_reason``
saying why (OctoPrint's own words where it gave them) and ``connection_changed_at`` since when:

    unknown   registered or migrated, not heard from yet
    online    its server answered or reported a working board (Connected, Operational, Printing...)
    offline   a call to it failed, its MQTT last will came, OctoPrint lost its board (Disconnected,
              Offline / Error / Closed): asked again by the health task, with backoff
    fault     the printer stopped itself (a firmware emergency: thermal runaway, kill(), MINTEMP /
              MAXTEMP, heating failed; or a print failed with reason ``error``). Nothing printfarm
              hears moves it out of fault: only an operator of its site acknowledging it does
              (then it is offline until the next health check finds it).

Dispatch starts plates only on online printers, so never on one in fault; and the only call that
opens a printer's serial port (PrinterClient.ensure_connected) is made by dispatch starting a plate.
"""

from __future__ import annotations

import datetime as dt
import enum

#: Seconds before asking a printer again, by how many attempts failed in a row.
BACKOFF_SECONDS = (15, 30, 60, 120, 240)


class ConnectionState(enum.StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"
    FAULT = "fault"  # held for a person: see the module docstring


def online_columns(now: dt.datetime) -> dict[str, object]:
    """A printer's columns once it answered: online, seen now, no failed checks, no wait."""
    return {"connection": ConnectionState.ONLINE, "offline_checks": 0, "retry_after": None, "last_seen_at": now}


def retry_delay(failed_attempts: int) -> dt.timedelta:
    """Backoff for a printer that failed to answer (or to start) attempts in a row: 15, 30, 60, 120, then 240 s."""
    index = min(max(failed_attempts, 1), len(BACKOFF_SECONDS)) - 1
    return dt.timedelta(seconds=BACKOFF_SECONDS[index])


def slug(text: str) -> str:
    """A name as one MQTT topic level (and a site's broker username): lower case, letters, digits, - and _."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text.lower()).strip("-") or "x"


def suggested_base_topic(site_name: str, printer_name: str) -> str:
    return f"printfarm/{slug(site_name)}/{slug(printer_name)}/"


#: The base URL scheme of a printer reached through its site's gateway (kind "gateway").
GATEWAY_SCHEME = "gateway://"


def gateway_base_url(site_name: str, printer_name: str) -> str:
    """gateway://<site-slug>/<printer name>: where a gateway printer is, without its LAN address or key."""
    return f"{GATEWAY_SCHEME}{slug(site_name)}/{printer_name}"

