"""CSV exports; their numbers come from the same queries and read models as the API's."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from printfarm.auth.rules import Action, Actor, require
from printfarm.deliveries.service import DeliveryService
from printfarm.exports import repository
from printfarm.hospital_requests.service import RequestService

OUTPUT_COLUMNS = ("day", "site_id", "site", "part_id", "part", "plates", "good_units", "rejected_units")
DELIVERY_COLUMNS = (
    "delivery_id", "state", "hospital_id", "hospital", "part_id", "part", "design_version", "request_id",
    "delivery_units", "units_received", "created_at", "shipped_at", "received_at",
    "site_id", "site", "printer_id", "printer", "job_id", "batch_id", "printed_day", "material", "units",
)
REQUEST_COLUMNS = (
    "request_id", "hospital_id", "hospital", "part_id", "part", "needed_by", "urgency", "is_closed",
    "requested_units", "batched_units", "in_production_units", "qc_passed_units", "planned_units",
    "shipped_units", "delivered_units", "outstanding_units",
)


def _cell(value: object) -> object:
    if value is None:
        return ""
    # a name like "=HYPERLINK(...)" must stay text when the file is opened in a spreadsheet
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


class ExportService:
    def __init__(self, deliveries: DeliveryService, requests: RequestService) -> None:
        self._deliveries = deliveries
        self._requests = requests

    def output_csv(self, session: Session, actor: Actor) -> str:
        """One row per day, site and part: plates QC-recorded, good and rejected units."""
        require(actor, Action.READ)
        return _csv(OUTPUT_COLUMNS, repository.output_per_site_day(session))

    def deliveries_csv(self, session: Session, actor: Actor) -> str:
        """One row per plate a delivery's units came from; units sum to the delivery's units."""
        rows = []
        for d in self._deliveries.list(session, actor):
            head = [d.id, d.state.value, d.hospital_id, d.hospital_name, d.part_id, d.part_name, d.design_version,
                    d.request_id, d.units, d.units_received, d.created_at.isoformat(),
                    d.shipped_at.isoformat() if d.shipped_at else None,
                    d.received_at.isoformat() if d.received_at else None]
            for line in d.sources:
                rows.append([*head, line.site_id, line.site_name, line.printer_id, line.printer_name, line.job_id,
                             line.batch_id, line.day.isoformat(), line.material, line.units])
        return _csv(DELIVERY_COLUMNS, rows)

    def requests_csv(self, session: Session, actor: Actor) -> str:
        """One row per hospital request with its fulfilment, as GET /api/requests shows it."""
        rows = [
            [r.id, r.hospital_id, r.hospital_name, r.part_id, r.part_name,
             r.needed_by.isoformat() if r.needed_by else None, r.urgency, r.is_closed, r.requested_units,
             r.batched_units, r.in_production_units, r.qc_passed_units, r.planned_units, r.shipped_units,
             r.delivered_units, r.outstanding_units]
            for r in self._requests.list(session, actor)
        ]
        return _csv(REQUEST_COLUMNS, rows)
