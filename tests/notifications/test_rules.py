"""The pure rules: which event means which notice, when, to whom; backoff; who may manage channels."""

from __future__ import annotations

import datetime as dt

import pytest

from printfarm.auth.rules import Actor, Role
from printfarm.errors import Forbidden
from printfarm.events import BatchDone, BedCleared, PlateFinished, PrinterOffline
from printfarm.notifications.rules import (
    MAX_ATTEMPTS,
    Audience,
    BedWaitPolicy,
    Facts,
    NotificationKind,
    may_manage,
    notices_for,
    require_manage,
    retry_delay,
    wants,
)

AT = dt.datetime(2026, 3, 2, 16, 40, tzinfo=dt.UTC)
ACME = Facts(printer_name="mk3-1", site_id=1, site_name="acme", part_name="RC3 headband", hospital_id=5,
             hospital_name="Sahlgrenska")


def test_a_finished_plate_means_a_notice_after_the_sites_delay_then_its_reminders() -> None:
    notices = notices_for(PlateFinished(AT, 17, 3, 9), ACME, BedWaitPolicy(delay_seconds=300, reminder_seconds=900,
                                                                           reminders=2))
    assert [(n.kind, n.key, n.due_at - AT) for n in notices] == [
        (NotificationKind.BED_WAITING, "bed_waiting:job:17:0", dt.timedelta(minutes=5)),
        (NotificationKind.BED_REMINDER, "bed_reminder:job:17:1", dt.timedelta(minutes=20)),
        (NotificationKind.BED_REMINDER, "bed_reminder:job:17:2", dt.timedelta(minutes=35)),
    ]
    assert notices[0].title == "acme/mk3-1: plate waiting to be cleared"
    assert notices[2].body.startswith("Plate 17 of batch 9 (RC3 headband for Sahlgrenska) finished on acme/mk3-1 "
                                      "35 min ago")
    assert {(n.site_id, n.printer_id, n.job_id) for n in notices} == {(1, 3, 17)}


def test_events_nobody_is_told_of_mean_no_notice() -> None:
    assert notices_for(BedCleared(AT, 3, 17, 4, 0, False), ACME) == []


def test_a_batch_done_is_for_its_hospital_and_the_coordinators_not_the_sites() -> None:
    [notice] = notices_for(BatchDone(AT, 9, 96), Facts(part_name="RC3 headband", hospital_id=5,
                                                        hospital_name="Sahlgrenska"))
    assert notice.body == "Batch 9 (RC3 headband for Sahlgrenska) is done: 96 good units."
    assert wants(Audience.HOSPITAL, None, 5, None, notice)
    assert not wants(Audience.HOSPITAL, None, 6, None, notice)
    assert wants(Audience.COORDINATORS, None, None, None, notice)
    assert not wants(Audience.COORDINATORS, None, None, ["printer_fault"], notice)
    assert not wants(Audience.SITE, 1, None, None, notice)


def test_a_printer_offline_goes_to_its_site_and_the_coordinators() -> None:
    [notice] = notices_for(PrinterOffline(AT, 3, "connection refused"), ACME)
    assert (notice.title, notice.body) == ("acme/mk3-1: unreachable", "acme/mk3-1 is unreachable: connection refused")
    assert wants(Audience.SITE, 1, None, None, notice) and not wants(Audience.SITE, 2, None, None, notice)


def test_retries_back_off_then_stop() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert delays[-1] is None
    waits = [d.total_seconds() for d in delays[:-1] if d is not None]
    assert waits == sorted(waits) and waits[0] == 30


@pytest.mark.parametrize(("actor", "audience", "site_id", "hospital_id", "allowed"), [
    (Actor(Role.COORDINATOR), Audience.COORDINATORS, None, None, True),
    (Actor(Role.ADMIN), Audience.SITE, 2, None, True),
    (Actor(Role.OPERATOR, site_id=1), Audience.SITE, 1, None, True),
    (Actor(Role.OPERATOR, site_id=1), Audience.SITE, 2, None, False),
    (Actor(Role.OPERATOR, site_id=1), Audience.COORDINATORS, None, None, False),
    (Actor(Role.HOSPITAL, hospital_id=5), Audience.HOSPITAL, None, 5, True),
    (Actor(Role.HOSPITAL, hospital_id=5), Audience.HOSPITAL, None, 6, False),
    (Actor(Role.VIEWER), Audience.SITE, 1, None, False),
])
def test_who_may_manage_which_audience(actor: Actor, audience: Audience, site_id: int | None,
                                       hospital_id: int | None, allowed: bool) -> None:
    assert may_manage(actor, audience, site_id, hospital_id) is allowed
    if not allowed:
        with pytest.raises(Forbidden):
            require_manage(actor, audience, site_id, hospital_id)
