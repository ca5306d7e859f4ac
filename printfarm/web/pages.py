"""Dashboard pages, server-rendered: overview, printers, sites, batches, hospitals, audit, login.

A page signs in with the `printfarm_token` cookie (set by /login, or by `?token=` once). Each page's
live part is re-rendered on its own when the page's script asks with `X-Fragment: 1`; a viewer gets
the same page without buttons, an operator buttons only on its site's printers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from printfarm import __version__
from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.api.errors import status_for
from printfarm.audit.service import list_events
from printfarm.auth.rules import Action, Actor, may
from printfarm.errors import AuthError, InputError, PrintfarmError, TooManyBadTokens
from printfarm.metrics.schemas import Overview
from printfarm.services import Services
from printfarm.web.charts import bar_chart, line_chart
from printfarm.web.templating import templates

HERE = Path(__file__).parent
COOKIE = "printfarm_token"
COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600
router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["stats"])

PageInt = Annotated[int, Query(ge=1, le=1_000_000)]
PrinterIdQuery = Annotated[int | None, Query(ge=1, le=2_147_483_647)]  # a keyset link's printer


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


def _signed_in(request: Request, svc: Services, session: Session, token: str | None) -> Actor | None:
    """The actor of a token, or None; bad tokens count against the client's address like the API's."""
    if not token:
        return None
    address = request.client.host if request.client else "unknown"
    try:
        return svc.tokens.authenticate_from(session, token, address)
    except TooManyBadTokens:
        raise
    except AuthError:
        return None


def _safe_next(path: str | None) -> str:
    """Only a path on this site (never //host or a scheme) may follow a sign-in."""
    # A control character too: browsers drop tabs and newlines from an address ("/\t/host" is "//host").
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or any(c < " " for c in path):
        return "/"
    return path


def _page(
    request: Request, svc: Services, session: Session, name: str, title: str,
    build: Callable[[Actor], dict[str, Any]], *, layout: str = "layout.html",
) -> Response:
    token = request.query_params.get("token")
    if token:  # a link with ?token= (the demo prints one): keep it in the cookie, drop it from the address
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        response: Response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), status_code=303)
        if _signed_in(request, svc, session, token) is not None:
            _set_cookie(response, token)
        return response
    fragment = request.headers.get("x-fragment") == "1"
    context: dict[str, Any] = {"version": __version__}
    actor: Actor | None = None
    try:
        # The request's one unit of work signs in and builds the page: a live page polls every second,
        # and on PostgreSQL a second transaction is two more round trips (BEGIN, COMMIT) per poll.
        actor = _signed_in(request, svc, session, request.cookies.get(COOKIE))
        if actor is not None:
            context.update(actor=actor, may_audit=may(actor, Action.READ_AUDIT))
            context.update(build(actor))
    except TooManyBadTokens:
        raise
    except PrintfarmError as err:
        session.rollback()  # answered with a page instead of raised: undo the build as a raise would
        return templates.TemplateResponse(
            request, "error.html", {**context, "title": title, "page": name, "error": err}, status_code=status_for(err)
        )
    if actor is None:
        if fragment:
            return Response("sign in again", status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    if fragment:
        return templates.TemplateResponse(request, f"{name}.html", context)
    return templates.TemplateResponse(request, layout, {**context, "title": title, "page": name})


def _set_cookie(response: Response, token: str) -> None:
    # SameSite=Strict: no other site's page can make the browser send it (the API accepts it too).
    response.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE_SECONDS, httponly=True, samesite="strict", path="/")


# -- sign in -------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None, "version": __version__})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, svc: ServicesDep, session: SessionDep, token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    token = token.strip()
    if _signed_in(request, svc, session, token) is None:
        context = {"next": _safe_next(next), "error": "That token is unknown, revoked or expired.", "version": __version__}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(response, token)
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# -- pages ---------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def build(actor: Actor) -> dict[str, Any]:
        overview = svc.dashboard.overview(session, actor)
        return {
            "o": overview,
            "site_chart": bar_chart([(s.site_id, s.site_name, s.good_units) for s in overview.sites]),
            "day_chart": line_chart(
                [d.day for d in overview.days],
                {"good": [d.good_units for d in overview.days], "rejected": [d.rejected_units for d in overview.days]},
            ),
        }

    return _page(request, svc, session, "overview", "Overview", build)


@router.get("/printers", response_class=HTMLResponse)
def printers_page(
    request: Request, svc: ServicesDep, session: SessionDep, site: Annotated[str | None, Query(max_length=12)] = None,
    attention: bool = False, page: PageInt = 1, after: PrinterIdQuery = None, before: PrinterIdQuery = None,
) -> Response:
    def build(actor: Actor) -> dict[str, Any]:
        # No site in the address: an operator starts at its own site; `site=` (empty) means all sites.
        if site is None:
            site_id = actor.site_id
        elif site == "":
            site_id = None
        elif site.isdigit() and int(site) > 0:
            site_id = int(site)
        else:
            raise InputError(f"site must be a site id or empty for all sites (got {site!r})")
        wall = svc.dashboard.printer_wall(
            session, actor, site_id=site_id, needs_attention=attention, page=page, after=after, before=before
        )
        return {"wall": wall}

    return _page(request, svc, session, "printers", "Printers", build)


@router.get("/sites", response_class=HTMLResponse)
def sites_page(request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    return _page(request, svc, session, "sites", "Sites", lambda actor: {"sites": svc.dashboard.sites(session, actor)})


@router.get("/batches", response_class=HTMLResponse)
def batches_page(
    request: Request, svc: ServicesDep, session: SessionDep, all: bool = False, page: PageInt = 1
) -> Response:
    def build(actor: Actor) -> dict[str, Any]:
        return {"batches": svc.dashboard.batches(session, actor, open_only=not all, page=page)}

    return _page(request, svc, session, "batches", "Batches", build)


@router.get("/hospitals", response_class=HTMLResponse)
def hospitals_page(request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def build(actor: Actor) -> dict[str, Any]:
        return {"hospitals": svc.dashboard.hospitals(session, actor)}

    return _page(request, svc, session, "hospitals", "Hospitals", build)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, svc: ServicesDep, session: SessionDep, before: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    def build(actor: Actor) -> dict[str, Any]:
        events = list_events(session, actor, 100, before)
        return {"events": events, "before": before}

    return _page(request, svc, session, "audit", "Audit log", build)


# -- JSON ----------------------------------------------------------------------------------------


@api_router.get("/api/dashboard", summary="What the overview page shows: totals, top sites, units per day, open batches")
def dashboard(actor: ActorDep, svc: ServicesDep, session: SessionDep) -> Overview:
    return svc.dashboard.overview(session, actor)
