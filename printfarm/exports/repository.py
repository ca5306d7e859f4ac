"""Export queries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from printfarm.db.tables import Output, Part, Site


def output_per_site_day(session: Session) -> list[tuple[dt.date, int, str, int, str, int, int, int]]:
    """(day, site id, site name, part id, part name, plates, good units, rejected units), by day then site."""
    rows = session.execute(
        select(
            Output.day, Site.id, Site.name, Part.id, Part.name, func.count(Output.id),
            func.sum(Output.good_units), func.sum(Output.rejected_units),
        )
        .join(Site, Site.id == Output.site_id)
        .join(Part, Part.id == Output.part_id)
        .group_by(Output.day, Site.id, Site.name, Part.id, Part.name)
        .order_by(Output.day, Site.id, Part.id)
    )
    return [(d, si, sn, pi, pn, int(n), int(g or 0), int(r or 0)) for d, si, sn, pi, pn, n, g, r in rows]
