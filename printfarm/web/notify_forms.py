"""The dashboard's notification settings: channels (added, listed without their URLs, removed) and a
site's bed-wait delay and reminders.

The same services as /api/notifications decide (an operator its own site's, a hospital token its
hospital's, coordinators and admins all); the forms' machinery (Origin check, refusal re-rendered
with the reason and nothing saved, 403 page) is web/forms.py's. A channel's URL is never shown back,
not even in a refused form: only its scheme and host, as the API shows it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from printfarm.api.deps import ServicesDep, SessionDep
from printfarm.auth.rules import Actor, Role
from printfarm.notifications.rules import Audience, may_manage
from printfarm.notifications.schemas import ChannelCreate, SiteNotifySettings
from printfarm.services import Services
from printfarm.web.forms import Text, View, _filled, _form, _whole_number, same_origin

router = APIRouter(prefix="/setup/notifications", include_in_schema=False, dependencies=[Depends(same_origin)])
Url = Annotated[str, Form(max_length=2000)]
PAGE = "/setup/notifications"


def _options(svc: Services, session: Session, actor: Actor) -> dict[str, Any]:
    channels = svc.notifications.list_channels(session, actor)  # Forbidden for a role that manages none
    sites = [s for s in svc.registry.list_sites(session, actor) if may_manage(actor, Audience.SITE, s.id, None)]
    hospitals = ([h for h in svc.registry.list_hospitals(session, actor)
                  if may_manage(actor, Audience.HOSPITAL, None, h.id)]
                 if actor.role is not Role.OPERATOR else [])
    audiences = [a for a in Audience if a is not Audience.COORDINATORS or may_manage(actor, a, None, None)]
    audiences = [a for a in audiences if (a is not Audience.SITE or sites) and (a is not Audience.HOSPITAL or hospitals)]
    return {
        "channels": channels, "sites": sites, "hospitals": hospitals, "audiences": audiences,
        "site_names": {s.id: s.name for s in svc.registry.list_sites(session, actor)},
        "hospital_names": {h.id: h.name for h in hospitals},
        "site_settings": [svc.notifications.site_settings(session, actor, s.id) for s in sites],
    }


NOTIFICATIONS = View("forms/notifications.html", "Notifications", options=_options)


@router.get("", response_class=HTMLResponse)
def notifications_page(request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    return _form(request, svc, session, NOTIFICATIONS)


@router.post("/channels", response_class=HTMLResponse)
def add_channel(
    request: Request, svc: ServicesDep, session: SessionDep, url: Url = "", audience: Text = "",
    site_id: Text = "", hospital_id: Text = "", label: Text = "",
) -> Response:
    values = _filled(audience=audience, site_id=site_id, hospital_id=hospital_id, label=label)

    def submit(actor: Actor) -> str:
        # Both selects may be filled: the audience says which one counts.
        fields = {**values, **_filled(url=url)}
        if fields.get("audience") != Audience.SITE.value:
            fields.pop("site_id", None)
        if fields.get("audience") != Audience.HOSPITAL.value:
            fields.pop("hospital_id", None)
        svc.notifications.add_channel(session, actor, ChannelCreate.model_validate(fields))
        return f"{PAGE}?done=channel-added"

    return _form(request, svc, session, NOTIFICATIONS, submit=submit, values=values)  # never the URL back


@router.post("/channels/{channel_id}/remove", response_class=HTMLResponse)
def remove_channel(channel_id: int, request: Request, svc: ServicesDep, session: SessionDep) -> Response:
    def submit(actor: Actor) -> str:
        svc.notifications.remove_channel(session, actor, channel_id)
        return f"{PAGE}?done=channel-removed"

    return _form(request, svc, session, NOTIFICATIONS, submit=submit)


@router.post("/sites", response_class=HTMLResponse)
def set_site_settings(
    request: Request, svc: ServicesDep, session: SessionDep, site_id: Text = "", bed_wait_delay_seconds: Text = "",
    bed_reminder_seconds: Text = "", bed_reminders: Text = "",
) -> Response:
    values = _filled(site_id=site_id, bed_wait_delay_seconds=bed_wait_delay_seconds,
                     bed_reminder_seconds=bed_reminder_seconds, bed_reminders=bed_reminders)

    def submit(actor: Actor) -> str:
        site = _whole_number(values.get("site_id", ""), "site_id")
        data = SiteNotifySettings.model_validate({k: v for k, v in values.items() if k != "site_id"})
        svc.notifications.set_site_settings(session, actor, site, data)
        return f"{PAGE}?done=site-settings"

    return _form(request, svc, session, NOTIFICATIONS, submit=submit, values=values)
