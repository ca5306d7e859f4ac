"""Requests due soon and at risk: a periodic check over frozen time, told once to the hospital and coordinators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from support.world import World, seed

from printfarm.adapters.notify.fake import FakeNotifier
from printfarm.clock import FrozenClock
from printfarm.notifications.rules import RequestStanding, request_at_risk, units_missing

NEEDED = dt.date(2026, 3, 4)  # due 34 h after the test's start (2026-03-02 14:00 UTC); the window is 48 h


def standing(requested: int, delivered: int = 0, qc_good: int = 0, in_production: int = 0,
             needed_by: dt.date = NEEDED) -> RequestStanding:
    return RequestStanding(1, 5, "Sahlgrenska", "RC3 headband", requested, needed_by, delivered, qc_good,
                           in_production)


def test_the_rule_at_risk_means_due_within_the_window_and_more_missing_than_printing() -> None:
    now, window = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC), dt.timedelta(hours=48)
    assert units_missing(standing(12, delivered=2, qc_good=6)) == 6  # delivered units are among the QC-good
    assert units_missing(standing(12, delivered=8, qc_good=6)) == 4  # (or came from stock)
    assert request_at_risk(standing(12, qc_good=6, in_production=4), now, window)
    assert not request_at_risk(standing(12, qc_good=8, in_production=4), now, window)  # the plates will do
    assert not request_at_risk(standing(12, needed_by=dt.date(2026, 3, 5)), now, window)  # due in 58 h
    assert request_at_risk(standing(12, needed_by=dt.date(2026, 3, 1)), now, window)  # overdue
    assert not request_at_risk(standing(12, delivered=12, needed_by=dt.date(2026, 3, 1)), now, window)


def test_a_request_at_risk_is_told_once_to_its_hospital_and_the_coordinators(
    notify_worlds: Callable[..., World], clock: FrozenClock,
) -> None:
    notifier = FakeNotifier()
    world = seed(notify_worlds(notifier), units=4)
    hospital, part = world.ids["hospital"], world.ids["part"]
    world.ok("hospital", "POST", "/api/notifications/channels",
             json={"audience": "hospital", "hospital_id": hospital, "url": "json://h.test/h"})
    world.ok("coordinator", "POST", "/api/notifications/channels", json={"audience": "coordinators",
                                                                          "url": "json://h.test/c"})
    world.ok("operator_acme", "POST", "/api/notifications/channels",
             json={"audience": "site", "site_id": world.ids["acme"], "url": "json://h.test/a"})

    def request(quantity: int, needed_by: dt.date, batch: int = 0, priority: int = 0) -> int:
        made = world.ok("hospital", "POST", "/api/requests", json={
            "hospital_id": hospital, "part_id": part, "quantity": quantity, "needed_by": needed_by.isoformat()})
        if batch:
            world.ok("coordinator", "POST", "/api/batches", json={
                "part_id": part, "hospital_id": hospital, "quantity": batch, "priority": priority,
                "request_id": made["id"]})
        return int(made["id"])

    short = request(12, NEEDED, batch=4, priority=9)  # one plate of 4 printing: 8 units have no plate
    covered = request(4, NEEDED, batch=4, priority=8)  # its one plate of 4 will do
    later = request(20, dt.date(2026, 3, 10))  # nothing printing, but due in a week
    closed = request(6, dt.date(2026, 3, 1))
    world.ok("coordinator", "POST", f"/api/requests/{closed}/close")
    world.dispatch()
    printing = {r["id"]: r["in_production_units"] for r in world.ok("admin", "GET", "/api/requests")}
    assert (printing[short], printing[covered]) == (4, 4)

    check = world.services.notifications.check_requests_at_risk
    assert check() == 2  # `short`, to the hospital and the coordinators; not the site's operators
    assert check() == 0
    clock.advance(dt.timedelta(hours=5).total_seconds())
    assert check() == 0  # still at risk: told once
    assert world.services.notifications.send_due().sent == 2
    body = (f"Request {short}: 12 units of RC3 headband for Sahlgrenska, due 2026-03-04. 12 units are still "
            "missing and the plates in progress hold 4: 8 units have no plate yet.")
    assert sorted((url, title, text) for url, title, text in notifier.sent) == [
        (url, f"Request {short} (RC3 headband for Sahlgrenska) at risk", body)
        for url in ("json://h.test/c", "json://h.test/h")]

    clock.advance((dt.datetime(2026, 3, 8, 1, 0, tzinfo=dt.UTC) - clock.now()).total_seconds())  # `later`: due in 47 h
    assert check() == 2
    world.services.notifications.send_due()
    titles = [title for _, title, _ in notifier.sent]
    assert titles.count(f"Request {later} (RC3 headband for Sahlgrenska) at risk") == 2
    assert not any(f"Request {covered} " in t or f"Request {closed} " in t for t in titles)
    [hospital_record] = [n for n in world.ok("hospital", "GET", "/api/notifications")
                         if n["title"].startswith(f"Request {short} ")]
    assert (hospital_record["kind"], hospital_record["state"]) == ("request_at_risk", "sent")
