"""A site gateway's status, as its printers' connection: its last will marks every printer behind it offline."""

from __future__ import annotations

import logging

from printfarm.clock import Clock
from printfarm.db.session import Database
from printfarm.printers.health import mark_offline
from printfarm.printers.repository import gateway_printer_ids, locked_printers
from printfarm.printers.rules import GATEWAY_SCHEME

log = logging.getLogger(__name__)


def gateway_went_offline(db: Database, clock: Clock, site_slug: str) -> int:
    """Mark the printers behind site_slug's gateway offline (printers/health.py); how many changed.

    They come back through the health task, whose checks go through the gateway once it is back.
    """
    with db.unit_of_work() as session:
        ids = gateway_printer_ids(session, f"{GATEWAY_SCHEME}{site_slug}/")
        if not ids:
            return 0
        now = clock.now()
        reason = f"the gateway of site {site_slug} is offline (its last will): its printers cannot be reached"
        changed = sum(mark_offline(session, printer, now, reason) for printer in locked_printers(session, ids).values())
    log.info("gateway of site %s is offline: %d of its %d printers marked offline", site_slug, changed, len(ids))
    return changed
