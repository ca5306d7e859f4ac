"""A printer's own page, made for a phone at the printer (its QR label opens it): what is on the bed,
for which batch and hospital, and three big actions: all good, record rejects, report a fault.

Its forms post here and call the services the API calls (output.clear_bed, printers.report_fault,
printers.acknowledge_fault) through the setup forms' machinery (web/forms.py): the same Origin check
and SameSite cookie; a refusal shows the page again with the service's reason and changes nothing;
signed out, the page sends the phone to sign in and back. An operator of another site gets the 403
page; a viewer sees the page without actions.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from printfarm.api.deps import ServicesDep, SessionDep
from printfarm.auth.rules import Actor
from printfarm.errors import InputError
from printfarm.printers.service import FAULT_REPORT_CHARS
from printfarm.services import Services
from printfarm.web.forms import Text, View, _filled, _form, _whole_number, same_origin

router = APIRouter(prefix="/m", include_in_schema=False, dependencies=[Depends(same_origin)])

#: Quick reasons a gloved hand can pick instead of typing (the text stays editable).
FAULT_CHOICES = ("Nozzle clogged", "Print came loose from the bed", "Filament ran out or tangled",
                 "Strange noise or smell", "Screen shows an error")


def phone_url(printer_id: int) -> str:
    """The printer's own page (its QR label encodes this path after the site's address)."""
    return f"/m/printers/{printer_id}"


def _view(printer_id: int) -> View:
    def options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
        card = svc.dashboard.printer_card(session, actor, printer_id)
        return {"p": card, "fault_chars": FAULT_REPORT_CHARS, "fault_choices": FAULT_CHOICES}

    return View("phone.html", f"Printer {printer_id}", options=options)


@router.get("/printers/{printer_id}", response_class=HTMLResponse)
def printer_phone_page(printer_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    return _form(request, svc, session, _view(printer_id))


@router.post("/printers/{printer_id}/clear-bed", response_class=HTMLResponse)
def phone_clear_bed(
    printer_id: int, request: Request, svc: ServicesDep, session: SessionDep,
    units: Text = "", rejected_units: Text = "",
) -> Response:
    """The plate's units as the page showed them, and how many of them were rejected: the rest are good.

    A plate that changed since the page was drawn is refused by the service (its units differ).
    """
    values = _filled(rejected_units=rejected_units)

    def submit(actor: Actor) -> str:
        plate = _whole_number(units.strip() or "0", "units")
        rejected = _whole_number(rejected_units.strip() or "0", "rejected_units")
        if not 0 <= rejected <= plate:
            raise InputError(f"printer {printer_id}: {rejected} rejected of a {plate}-unit plate")
        svc.output.clear_bed(session, actor, printer_id, plate - rejected, rejected)
        return f"{phone_url(printer_id)}?done=cleared"

    return _form(request, svc, session, _view(printer_id), submit=submit, values=values)


@router.post("/printers/{printer_id}/report-fault", response_class=HTMLResponse)
def phone_report_fault(
    printer_id: int, request: Request, svc: ServicesDep, session: SessionDep, reason: Text = "",
) -> Response:
    def submit(actor: Actor) -> str:
        svc.printers.report_fault(session, actor, printer_id, reason)
        return f"{phone_url(printer_id)}?done=fault-reported"

    return _form(request, svc, session, _view(printer_id), submit=submit, values=_filled(reason=reason))


@router.post("/printers/{printer_id}/acknowledge-fault", response_class=HTMLResponse)
def phone_acknowledge_fault(printer_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def submit(actor: Actor) -> str:
        svc.printers.acknowledge_fault(session, actor, printer_id)
        return f"{phone_url(printer_id)}?done=acknowledged"

    return _form(request, svc, session, _view(printer_id), submit=submit)
