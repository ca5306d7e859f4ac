"""Printable labels: a printer's name, site and a QR code of its own page (web/phone.py), nothing secret.

One label on 62 mm continuous tape (Brother QL printers take it), or an A4 sheet of all a site's
printers' labels. The QR encodes the absolute address: the `public_url` setting when there is one,
else the address this request came to.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from printfarm.api.deps import ServicesDep, SessionDep
from printfarm.auth.rules import Actor
from printfarm.metrics.schemas import PrinterCard
from printfarm.services import Services
from printfarm.web.forms import View, _form
from printfarm.web.phone import phone_url
from printfarm.web.qr import qr_svg

router = APIRouter(include_in_schema=False)


def public_base(request: Request) -> str:
    """Where people reach printfarm: the public_url setting, else this request's base address."""
    configured: str | None = getattr(request.app.state, "public_url", None)
    return configured or str(request.base_url).rstrip("/")


def _label(base: str, card: PrinterCard) -> dict[str, Any]:
    url = base + phone_url(card.id)
    return {"id": card.id, "name": card.name, "site_name": card.site_name, "url": url, "qr": qr_svg(url)}


@router.get("/printers/{printer_id}/label", response_class=HTMLResponse)
def printer_label(printer_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
        card = svc.dashboard.printer_card(session, actor, printer_id)
        return {"labels": [_label(public_base(request), card)], "sheet": False}

    return _form(request, svc, session, View("printer_labels.html", f"Label of printer {printer_id}", options=options))


@router.get("/sites/{site_id}/labels", response_class=HTMLResponse)
def site_labels(site_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
        wall = svc.dashboard.site_wall(session, actor, site_id)
        cards = sorted(wall.printers, key=lambda card: card.name)
        return {"labels": [_label(public_base(request), card) for card in cards], "sheet": True,
                "site_name": wall.site_name}

    return _form(request, svc, session, View("printer_labels.html", f"Labels of site {site_id}", options=options))
