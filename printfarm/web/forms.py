"""Dashboard forms that set up the farm: sites, hospitals, tokens, printers, parts, print files, batches.

Each form posts to a route here that parses the fields and calls the service the API calls; the
service checks the role and site exactly as for the API. Success redirects (POST-redirect-GET). A
refusal re-renders the form with the service's reason and its 4xx status after undoing the unit of
work, so nothing is saved; a refused role gets the 403 page. A form is shown only to a role that
may use it (auth.rules.may), which is display only: the decision on a submission is the service's.

Cross-site requests: the dashboard cookie is SameSite=Strict, so no other site's page makes the
browser send it; and every POST here must carry an Origin (or, lacking one, a Referer) naming this
host, so a form posted from elsewhere is refused even by a browser that ignores SameSite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from printfarm import __version__
from printfarm.api.deps import ServicesDep, SessionDep, get_actor
from printfarm.api.errors import status_for
from printfarm.auth.rules import Action, Actor, Role, may, require
from printfarm.auth.schemas import TokenCreate
from printfarm.batches.schemas import BatchCreate
from printfarm.db.session import AFTER_COMMIT
from printfarm.errors import AuthError, Forbidden, InputError, PrintfarmError, TooManyBadTokens
from printfarm.events import EVENTS_KEY
from printfarm.notifications.rules import manages_some
from printfarm.parts.api import read_upload
from printfarm.printers.schemas import ClearBed, PrinterCreate, PrinterUpdate
from printfarm.registry.schemas import HospitalCreate, SiteCreate
from printfarm.services import Services
from printfarm.web.templating import templates

#: What a successful form says on the page it redirects to (a code in the address, never free text).
#: The newest entries of a printer's timeline on its page (the API pages through all of them).
TIMELINE_ENTRIES = 30

DONE = {
    "printer": "Printer registered: it answered with this key.",
    "maintenance": "Printer in maintenance: it finishes its plate and gets no new ones.",
    "enabled": "Printer enabled: it takes plates again.",
    "cleared": "Bed cleared: QC recorded, the printer is free for the next plate.",
    "acknowledged": "Fault acknowledged: the printer takes plates again once it answers.",
    "fault-reported": "Fault reported: no plate starts here until someone acknowledges it.",
    "part": "Part added.",
    "print-file": "Print file attached.",
    "approved": "Part approved for hospital batches.",
    "channel-added": "Channel added: its URL is stored encrypted and never shown again.",
    "channel-removed": "Channel removed: it is told nothing more.",
    "site-settings": "Bed-wait delays saved: they apply to plates that finish from now on.",
}
#: The forms a role may see, in the order the setup page lists them.
SETUP_ACTIONS = (Action.MANAGE_SITES, Action.MANAGE_PRINTERS, Action.OPERATE_PRINTER, Action.MANAGE_PARTS,
                 Action.MANAGE_BATCHES)


def same_origin(request: Request) -> None:
    """Refuse a POST whose Origin (or Referer) is not this host: the second guard after SameSite=Strict."""
    if request.method in ("GET", "HEAD"):
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    if not source or source == "null" or urlsplit(source).netloc != host:
        raise Forbidden(f"form post from {source or 'a page that did not say where it was'} refused: "
                        f"the setup forms accept posts from this site ({host}) only")


router = APIRouter(prefix="/setup", include_in_schema=False, dependencies=[Depends(same_origin)])
Text = Annotated[str, Form(max_length=5000)]
Secret = Annotated[str, Form(max_length=500)]


def has_setup_forms(actor: Actor) -> bool:
    """Whether the nav shows Setup: the actor may use at least one form here."""
    return any(may(actor, action, actor.site_id) for action in SETUP_ACTIONS) or manages_some(actor)


templates.env.globals["has_setup_forms"] = has_setup_forms
templates.env.globals["manages_notifications"] = manages_some


@dataclass(frozen=True)
class View:
    """A page with a form: its template, title, what it needs to be shown, and what its selects list."""

    template: str
    title: str
    needs: Action = Action.READ  # on the actor's own site for an operator
    options: Callable[[Services, Session, Actor], dict[str, Any]] = field(default=lambda svc, session, actor: {})


Submit = Callable[[Actor], "str | Response"]


def _undo(session: Session) -> None:
    """Roll back what a refused submission did, with the events and callbacks it would have published."""
    session.rollback()
    session.info.pop(EVENTS_KEY, None)
    session.info.pop(AFTER_COMMIT, None)


def _problems(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg'].removeprefix('Value error, ')}" for e in err.errors()
    )


def _filled(**values: str) -> dict[str, str]:
    """The fields a person filled in: a blank field is left to the schema's default (or its 'required')."""
    return {key: value.strip() for key, value in values.items() if value.strip()}


def _whole_number(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InputError(f"{name} must be a whole number (got {value!r})") from None


def _error_page(request: Request, actor: Actor | None, title: str, err: PrintfarmError) -> Response:
    context = {"version": __version__, "title": title, "error": err, "actor": actor}
    return templates.TemplateResponse(request, "error.html", context, status_code=status_for(err))


def _form(
    request: Request, svc: Services, session: Session, view: View, *,
    submit: Submit | None = None, values: dict[str, str] | None = None,
) -> Response:
    """Show the view's form; with submit, run it first: redirect on success, the form with the reason on refusal."""
    try:
        actor = get_actor(request, None, session)
    except TooManyBadTokens:
        raise
    except AuthError:
        target = request.url.path if submit is not None else str(request.url.path) + (
            f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    error: str | None = None
    status = 200
    if submit is not None:
        try:
            outcome = submit(actor)
            return RedirectResponse(outcome, status_code=303) if isinstance(outcome, str) else outcome
        except ValidationError as err:
            error, status = _problems(err), 422
        except Forbidden as err:
            _undo(session)
            return _error_page(request, actor, view.title, err)
        except PrintfarmError as err:
            error, status = str(err), status_for(err)
        _undo(session)
    try:
        require(actor, view.needs, actor.site_id)
        context = view.options(svc, session, actor)
    except PrintfarmError as err:
        _undo(session)
        return _error_page(request, actor, view.title, err)
    done = DONE.get(request.query_params.get("done", "")) if submit is None else None
    context.update(
        version=__version__, title=view.title, actor=actor, error=error, done=done, v=values or {},
        may=lambda action, site_id=None: may(actor, action, site_id),
    )
    return templates.TemplateResponse(request, view.template, context, status_code=status)


# -- the setup page ------------------------------------------------------------------------------


def _index_options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
    printers = [p for p in svc.printers.list(session, actor, actor.site_id)
                if may(actor, Action.OPERATE_PRINTER, p.site_id) or may(actor, Action.MANAGE_PRINTERS, p.site_id)]
    parts = svc.parts.list(session, actor) if may(actor, Action.MANAGE_PARTS) else []
    return {"printers": printers, "parts": parts, "Action": Action}


@router.get("", response_class=HTMLResponse)
def setup_page(request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    return _form(request, svc, session, View("forms/index.html", "Setup", options=_index_options))


# -- admin: sites, hospitals, tokens -------------------------------------------------------------

SITE = View("forms/site.html", "Add a site", Action.MANAGE_SITES)
HOSPITAL = View("forms/hospital.html", "Add a hospital", Action.MANAGE_SITES)


@router.post("/sites", response_class=HTMLResponse)
def add_site(
    request: Request, svc: ServicesDep, session: SessionDep, name: Text = "", city: Text = "",
    latitude: Text = "", longitude: Text = "", auto_accept_qc: Text = "",
) -> Response:
    values = _filled(name=name, city=city, latitude=latitude, longitude=longitude, auto_accept_qc=auto_accept_qc)

    def submit(actor: Actor) -> str:
        svc.registry.create_site(session, actor, SiteCreate.model_validate(values))
        return "/sites"

    return _form(request, svc, session, SITE, submit=submit, values=values)


@router.post("/hospitals", response_class=HTMLResponse)
def add_hospital(
    request: Request, svc: ServicesDep, session: SessionDep, name: Text = "", city: Text = "",
    address: Text = "", contact: Text = "",
) -> Response:
    values = _filled(name=name, city=city, address=address, contact=contact)

    def submit(actor: Actor) -> str:
        svc.registry.create_hospital(session, actor, HospitalCreate.model_validate(values))
        return "/hospitals"

    return _form(request, svc, session, HOSPITAL, submit=submit, values=values)


def _sites_and_hospitals(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
    return {"sites": svc.registry.list_sites(session, actor), "hospitals": svc.registry.list_hospitals(session, actor),
            "roles": list(Role)}


TOKEN = View("forms/token.html", "Create a token", Action.MANAGE_TOKENS, options=_sites_and_hospitals)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, svc: ServicesDep, session: SessionDep, name: Text = "", role: Text = "",
    site_id: Text = "", hospital_id: Text = "", expires_in_days: Text = "",
) -> Response:
    values = _filled(name=name, role=role, site_id=site_id, hospital_id=hospital_id, expires_in_days=expires_in_days)

    def submit(actor: Actor) -> Response:
        # Not redirected: the clear token is shown once, on this answer, and must not travel in an address.
        data = TokenCreate.model_validate(values)
        plain, row = svc.tokens.create(
            session, actor, role=data.role, name=data.name, site_id=data.site_id,
            expires_in_days=data.expires_in_days, hospital_id=data.hospital_id,
        )
        context = {"version": __version__, "title": "Token created", "actor": actor, "token": plain, "row": row}
        response = templates.TemplateResponse(request, "forms/token_created.html", context, status_code=201)
        response.headers["Cache-Control"] = "no-store"
        return response

    return _form(request, svc, session, TOKEN, submit=submit, values=values)


# -- operators: printers -------------------------------------------------------------------------


def _printer_options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
    sites = [s for s in svc.registry.list_sites(session, actor) if may(actor, Action.MANAGE_PRINTERS, s.id)]
    return {"sites": sites, "profiles": svc.profiles.list(session, actor)}


PRINTER = View("forms/printer_new.html", "Add a printer", Action.MANAGE_PRINTERS, options=_printer_options)


@router.post("/printers", response_class=HTMLResponse)
def add_printer(
    request: Request, svc: ServicesDep, session: SessionDep, site_id: Text = "", name: Text = "",
    base_url: Text = "", api_key: Secret = "", profile: Text = "", mqtt_base_topic: Text = "",
    loaded_material: Text = "",
) -> Response:
    values = _filled(site_id=site_id, name=name, base_url=base_url, profile=profile, mqtt_base_topic=mqtt_base_topic,
                     loaded_material=loaded_material)

    def submit(actor: Actor) -> str:
        # register() calls the printer first: unreachable, or a refused key, saves nothing.
        data = PrinterCreate.model_validate({**values, **_filled(api_key=api_key)})
        printer = svc.printers.register(session, actor, data)
        return f"/setup/printers/{printer.id}?done=printer"

    return _form(request, svc, session, PRINTER, submit=submit, values=values)  # never the key back


def _printer_view(printer_id: int) -> View:
    def options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
        printer = svc.printers.read_models(session, [svc.printers.get(session, actor, printer_id)])[0]
        timeline = svc.printers.timeline(session, actor, printer_id, None, TIMELINE_ENTRIES)
        return {"printer": printer, "timeline": timeline, "Action": Action}

    return View("forms/printer.html", f"Printer {printer_id}", options=options)


@router.get("/printers/{printer_id}", response_class=HTMLResponse)
def printer_page(printer_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    return _form(request, svc, session, _printer_view(printer_id))


@router.post("/printers/{printer_id}/maintenance", response_class=HTMLResponse)
def printer_maintenance(
    printer_id: int, request: Request, svc: ServicesDep, session: SessionDep, reason: Text = "",
) -> Response:
    def submit(actor: Actor) -> str:
        update = PrinterUpdate(is_enabled=False, disabled_reason=reason.strip() or "maintenance")
        svc.printers.update(session, actor, printer_id, update)
        return f"/setup/printers/{printer_id}?done=maintenance"

    return _form(request, svc, session, _printer_view(printer_id), submit=submit, values=_filled(reason=reason))


@router.post("/printers/{printer_id}/enable", response_class=HTMLResponse)
def printer_enable(printer_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def submit(actor: Actor) -> str:
        svc.printers.update(session, actor, printer_id, PrinterUpdate(is_enabled=True))
        return f"/setup/printers/{printer_id}?done=enabled"

    return _form(request, svc, session, _printer_view(printer_id), submit=submit)


@router.post("/printers/{printer_id}/acknowledge-fault", response_class=HTMLResponse)
def printer_acknowledge_fault(printer_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def submit(actor: Actor) -> str:
        svc.printers.acknowledge_fault(session, actor, printer_id)
        return f"/setup/printers/{printer_id}?done=acknowledged"

    return _form(request, svc, session, _printer_view(printer_id), submit=submit)


@router.post("/printers/{printer_id}/clear-bed", response_class=HTMLResponse)
def printer_clear_bed(
    printer_id: int, request: Request, svc: ServicesDep, session: SessionDep,
    good_units: Text = "", rejected_units: Text = "",
) -> Response:
    values = _filled(good_units=good_units, rejected_units=rejected_units)

    def submit(actor: Actor) -> str:
        qc = ClearBed.model_validate(values)
        svc.output.clear_bed(session, actor, printer_id, qc.good_units, qc.rejected_units)
        return f"/setup/printers/{printer_id}?done=cleared"

    return _form(request, svc, session, _printer_view(printer_id), submit=submit, values=values)


# -- coordinators: parts, print files, batches ---------------------------------------------------

PART = View("forms/part_new.html", "Add a part", Action.MANAGE_PARTS)


@router.post("/parts", response_class=HTMLResponse)
def add_part(
    request: Request, svc: ServicesDep, session: SessionDep, name: Text = "", description: Text = "",
    design_version: Text = "", stl: Annotated[UploadFile | None, File()] = None,
) -> Response:
    values = _filled(name=name, description=description, design_version=design_version)

    def submit(actor: Actor) -> str:
        has_stl = stl is not None and bool(stl.filename)  # a browser sends an empty file field when none is chosen
        part = svc.parts.create(
            session, actor, name=values.get("name", ""), description=values.get("description"),
            design_version=values.get("design_version"),
            stl=read_upload(stl, svc.settings.stl_max_bytes, "STL") if stl is not None and has_stl else None,
            stl_filename=stl.filename if stl is not None and has_stl else None,
        )
        return f"/setup/parts/{part.id}?done=part"

    return _form(request, svc, session, PART, submit=submit, values=values)


def _part_view(part_id: int) -> View:
    def options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
        return {"part": svc.parts.get(session, actor, part_id), "profiles": svc.profiles.list(session, actor),
                "print_files": svc.parts.list_print_files(session, actor, part_id), "Action": Action}

    return View("forms/part.html", f"Part {part_id}", options=options)


@router.get("/parts/{part_id}", response_class=HTMLResponse)
def part_page(part_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    return _form(request, svc, session, _part_view(part_id))


@router.post("/parts/{part_id}/print-files", response_class=HTMLResponse)
def attach_print_file(
    part_id: int, request: Request, svc: ServicesDep, session: SessionDep, profile: Text = "",
    units_per_print: Text = "", material: Text = "", gcode: Annotated[UploadFile | None, File()] = None,
) -> Response:
    values = _filled(profile=profile, units_per_print=units_per_print, material=material)

    def submit(actor: Actor) -> str:
        if gcode is None or not gcode.filename:
            raise InputError("choose the G-code file to attach")
        svc.parts.add_print_file(
            session, actor, part_id, profile_name=values.get("profile", ""),
            gcode=read_upload(gcode, svc.settings.gcode_max_bytes, "G-code"), filename=gcode.filename,
            units_per_print=_whole_number(values.get("units_per_print", ""), "units_per_print"),
            material=values.get("material"),
        )
        return f"/setup/parts/{part_id}?done=print-file"

    return _form(request, svc, session, _part_view(part_id), submit=submit, values=values)


@router.post("/parts/{part_id}/approve", response_class=HTMLResponse)
def approve_part(part_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def submit(actor: Actor) -> str:
        svc.parts.approve(session, actor, part_id)
        return f"/setup/parts/{part_id}?done=approved"

    return _form(request, svc, session, _part_view(part_id), submit=submit)


def _batch_options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
    return {"parts": [p for p in svc.parts.list(session, actor) if p.is_approved],
            "hospitals": svc.registry.list_hospitals(session, actor)}


BATCH = View("forms/batch.html", "Queue a batch", Action.MANAGE_BATCHES, options=_batch_options)


@router.post("/batches", response_class=HTMLResponse)
def queue_batch(
    request: Request, svc: ServicesDep, session: SessionDep, part_id: Text = "", hospital_id: Text = "",
    quantity: Text = "", priority: Text = "", due_at: Text = "",
) -> Response:
    values = _filled(part_id=part_id, hospital_id=hospital_id, quantity=quantity, priority=priority, due_at=due_at)

    def submit(actor: Actor) -> str:
        svc.batches.create(session, actor, BatchCreate.model_validate(values))
        return "/batches"

    return _form(request, svc, session, BATCH, submit=submit, values=values)


def _show(view: View) -> Callable[..., Response]:
    def show(request: Request, svc: ServicesDep, session: SessionDep) -> Response:
        return _form(request, svc, session, view)

    return show


for _path, _view in (("/sites", SITE), ("/hospitals", HOSPITAL), ("/tokens", TOKEN), ("/printers", PRINTER),
                     ("/parts", PART), ("/batches", BATCH)):
    router.get(_path, response_class=HTMLResponse)(_show(_view))
