"""Routes for notification channels, sites' bed-wait delays and the record of notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from printfarm.api.deps import ActorDep, ServicesDep, SessionDep
from printfarm.notifications.rules import NotificationState
from printfarm.notifications.schemas import (
    ChannelCreate,
    ChannelRead,
    NotificationRead,
    SiteNotifySettings,
    SiteNotifySettingsRead,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.post("/channels", status_code=status.HTTP_201_CREATED,
             summary="Tell a site's operators, a hospital or the coordinators through an Apprise URL")
def add_channel(data: ChannelCreate, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> ChannelRead:
    return svc.notifications.add_channel(session, actor, data)


@router.get("/channels", summary="The channels the token may manage (never their URLs)")
def list_channels(
    actor: ActorDep, svc: ServicesDep, session: SessionDep, site_id: int | None = None, hospital_id: int | None = None,
) -> list[ChannelRead]:
    return svc.notifications.list_channels(session, actor, site_id=site_id, hospital_id=hospital_id)


@router.delete("/channels/{channel_id}", summary="Stop a channel; its pending notifications are cancelled")
def remove_channel(channel_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> ChannelRead:
    return svc.notifications.remove_channel(session, actor, channel_id)


@router.get("/sites/{site_id}", summary="When the site's operators hear of a plate waiting on its bed")
def site_settings(site_id: int, actor: ActorDep, svc: ServicesDep, session: SessionDep) -> SiteNotifySettingsRead:
    return svc.notifications.site_settings(session, actor, site_id)


@router.put("/sites/{site_id}", summary="Set the site's bed-wait delay and reminders")
def set_site_settings(
    site_id: int, data: SiteNotifySettings, actor: ActorDep, svc: ServicesDep, session: SessionDep,
) -> SiteNotifySettingsRead:
    return svc.notifications.set_site_settings(session, actor, site_id, data)


@router.get("", summary="Notifications sent, waiting or failed (and why), newest first")
def list_notifications(
    actor: ActorDep, svc: ServicesDep, session: SessionDep, state: NotificationState | None = None,
    channel_id: int | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[NotificationRead]:
    return svc.notifications.list_notifications(session, actor, state=state, channel_id=channel_id, limit=limit)
