"""Notifications over a fake notifier: who may set channels, secrets kept, retries, claims, deliveries."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pytest
from sqlalchemy import select
from support.drive import finish_printing_plates
from support.world import World, seed
from typer.testing import CliRunner

from printfarm.adapters.notify.fake import FakeNotifier
from printfarm.adapters.secrets import SecretBox, new_key
from printfarm.auth.rules import SYSTEM
from printfarm.cli import _register_optional_commands
from printfarm.cli import app as cli_app
from printfarm.clock import FrozenClock
from printfarm.db.tables import Notification, NotificationChannel
from printfarm.events import PrinterFault, raise_event
from printfarm.notifications import repository
from printfarm.notifications.rules import CLAIM_LEASE_SECONDS, MAX_ATTEMPTS, RETRY_DELAYS_SECONDS

SECRET_URL = "json://hooks.example.org/very-secret-token-4711?pass=hunter2hunter2"

_register_optional_commands()


@pytest.fixture
def notifier() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def world(notify_worlds: Callable[..., World], notifier: FakeNotifier) -> World:
    return seed(notify_worlds(notifier), units=8)


def add(world: World, who: str, **body: object) -> object:
    return world.call(who, "POST", "/api/notifications/channels", json=body)


def fault(world: World, clock: FrozenClock, reason: str = "nozzle clogged") -> None:
    with world.services.db.unit_of_work() as session:
        raise_event(session, PrinterFault(clock.now(), world.ids["acme/mk3-1"], reason))


def test_a_channel_url_is_stored_encrypted_and_never_shown_or_logged(
    world: World, notifier: FakeNotifier, clock: FrozenClock, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    created = add(world, "coordinator", audience="coordinators", url=SECRET_URL, label="ops")
    assert created.status_code == 201
    assert created.json()["display"] == "json://hooks.example.org"
    listed = world.call("admin", "GET", "/api/notifications/channels")
    notifier.failures[SECRET_URL] = 1
    fault(world, clock)
    world.services.notifications.send_due()
    record = world.call("admin", "GET", "/api/notifications")
    for text in (created.text, listed.text, record.text, caplog.text):
        assert "very-secret-token" not in text and "hunter2" not in text
    with world.services.db.unit_of_work() as session:
        stored = session.scalars(select(NotificationChannel.url_encrypted)).one()
    assert b"very-secret-token" not in stored and b"hooks.example.org" not in stored


def test_who_may_set_which_channels(world: World) -> None:
    acme, uni, hospital = world.ids["acme"], world.ids["uni"], world.ids["hospital"]
    refused = add(world, "operator_acme", audience="site", site_id=uni, url="json://h.test/x")
    assert refused.status_code == 403
    assert refused.json() == {"error": "Forbidden", "detail": f"operator of site {acme} may not manage "
                                                              f"notifications of site {uni}"}
    assert add(world, "operator_acme", audience="coordinators", url="json://h.test/x").status_code == 403
    assert add(world, "hospital", audience="site", site_id=acme, url="json://h.test/x").status_code == 403
    assert add(world, "viewer", audience="site", site_id=acme, url="json://h.test/x").status_code == 403
    assert add(world, "operator_acme", audience="site", site_id=acme, url="json://h.test/a").status_code == 201
    assert add(world, "hospital", audience="hospital", hospital_id=hospital, url="json://h.test/h").status_code == 201
    assert add(world, "coordinator", audience="site", site_id=uni, url="json://h.test/u").status_code == 201
    assert add(world, "admin", audience="coordinators", url="json://h.test/c").status_code == 201

    def audiences(who: str) -> list[tuple[str, int | None]]:
        rows = world.ok(who, "GET", "/api/notifications/channels")
        return [(c["audience"], c["site_id"] or c["hospital_id"]) for c in rows]

    assert audiences("operator_acme") == [("site", acme)]
    assert audiences("hospital") == [("hospital", hospital)]
    assert len(audiences("coordinator")) == 4
    assert world.call("operator_acme", "GET", "/api/notifications/channels",
                      params={"site_id": uni}).status_code == 403
    assert world.call("viewer", "GET", "/api/notifications/channels").status_code == 403
    assert world.call("operator_uni", "PUT", f"/api/notifications/sites/{acme}", json={
        "bed_wait_delay_seconds": 60, "bed_reminder_seconds": 600, "bed_reminders": 2}).status_code == 403


def test_an_unusable_url_or_audience_is_refused_with_the_reason(world: World) -> None:
    bad = add(world, "admin", audience="coordinators", url="no-scheme-here-secret")
    assert bad.status_code == 422
    assert "no-scheme-here-secret" not in bad.text
    mixed = add(world, "admin", audience="coordinators", site_id=world.ids["acme"], url="json://h.test/x")
    assert mixed.status_code == 422
    assert "audience coordinators: give neither site_id nor hospital_id" in mixed.text
    unheard = add(world, "admin", audience="hospital", hospital_id=world.ids["hospital"], url="json://h.test/x",
                  kinds=["bed_waiting"])
    assert unheard.status_code == 422
    assert "audience hospital is not told of bed_waiting" in unheard.text


def test_a_channel_that_keeps_failing_is_given_up_after_the_last_retry_with_its_reason(
    world: World, notifier: FakeNotifier, clock: FrozenClock,
) -> None:
    add(world, "admin", audience="coordinators", url="json://h.test/down")
    notifier.failures["json://h.test/down"] = MAX_ATTEMPTS
    fault(world, clock)
    for delay in RETRY_DELAYS_SECONDS:
        assert world.services.notifications.send_due().retrying == 1
        clock.advance(delay)
    assert world.services.notifications.send_due().failed == 1
    [row] = world.ok("admin", "GET", "/api/notifications")
    assert (row["state"], row["attempts"], row["last_error"]) == ("failed", MAX_ATTEMPTS, "fake: refused")
    clock.advance(86_400)
    assert world.services.notifications.send_due().sent == 0
    assert notifier.sent == []


def test_a_sender_that_died_holding_a_claim_loses_it_when_the_lease_runs_out(
    world: World, notifier: FakeNotifier, clock: FrozenClock,
) -> None:
    add(world, "admin", audience="coordinators", url="json://h.test/c")
    fault(world, clock)
    with world.services.db.unit_of_work() as session:  # a sender claims, then is SIGKILLed before it sends
        [(claimed, _)] = repository.claim_due(session, clock.now(), 10, dt.timedelta(seconds=CLAIM_LEASE_SECONDS))
    assert world.services.notifications.send_due().sent == 0  # held by the dead sender
    clock.advance(CLAIM_LEASE_SECONDS + 1)
    assert world.services.notifications.send_due().sent == 1
    assert len(notifier.sent) == 1
    with world.services.db.unit_of_work() as session:  # the dead sender's late settle changes nothing
        assert not repository.settle(session, claimed.id, 1, last_error="late")


def test_an_event_recorded_twice_still_makes_one_notification_per_channel(
    world: World, notifier: FakeNotifier, clock: FrozenClock,
) -> None:
    add(world, "admin", audience="coordinators", url="json://h.test/c")
    add(world, "operator_acme", audience="site", site_id=world.ids["acme"], url="json://h.test/a")
    event = PrinterFault(clock.now(), world.ids["acme/mk3-1"], "jam")
    for _ in range(2):  # as a second replica would, were it handed the same event
        world.services.notifications.on_event(event)
    assert world.services.notifications.send_due().sent == 2
    assert sorted(url for url, _, _ in notifier.sent) == ["json://h.test/a", "json://h.test/c"]


def test_a_removed_channel_gets_nothing_more(world: World, notifier: FakeNotifier, clock: FrozenClock) -> None:
    channel = world.ok("admin", "POST", "/api/notifications/channels",
                       json={"audience": "coordinators", "url": "json://h.test/c"})
    fault(world, clock)
    world.ok("admin", "DELETE", f"/api/notifications/channels/{channel['id']}")
    fault(world, clock, "again")
    assert world.services.notifications.send_due().sent == 0
    assert [n["state"] for n in world.ok("admin", "GET", "/api/notifications")] == ["cancelled"]


def test_deliveries_shipped_and_received_reach_their_hospital_and_the_coordinators(
    world: World, notifier: FakeNotifier,
) -> None:
    world.ok("hospital", "POST", "/api/notifications/channels",
             json={"audience": "hospital", "hospital_id": world.ids["hospital"], "url": "json://h.test/h"})
    world.ok("coordinator", "POST", "/api/notifications/channels",
             json={"audience": "coordinators", "url": "json://h.test/c", "kinds": ["delivery_received"]})
    finish_printing_plates(world, {})
    delivery = world.ok("coordinator", "POST", "/api/deliveries", json={
        "hospital_id": world.ids["hospital"], "part_id": world.ids["part"],
        "sources": [{"site_id": world.ids["acme"], "units": 4}]})
    world.ok("coordinator", "POST", f"/api/deliveries/{delivery['id']}/ship")
    world.ok("hospital", "POST", f"/api/deliveries/{delivery['id']}/receive", json={"units_received": 3})
    world.services.notifications.send_due()
    told = [(url.rsplit("/", 1)[1], body) for url, _, body in notifier.sent]
    d = delivery["id"]
    assert ("h", f"Delivery {d}: 4 units of RC3 headband shipped to Sahlgrenska.") in told
    assert ("h", f"Delivery {d}: Sahlgrenska received 3 units of RC3 headband.") in told
    assert ("c", f"Delivery {d}: Sahlgrenska received 3 units of RC3 headband.") in told
    assert [n for n, _ in told].count("c") == 1  # the coordinators asked for receipts only (and batch done isn't)


def test_the_cli_adds_a_site_channel_in_one_command(world: World, notifier: FakeNotifier) -> None:
    settings = world.services.settings
    env = {"PRINTFARM_DATABASE_URL": settings.effective_database_url, "PRINTFARM_DATA_DIR": str(settings.data_dir),
           "PRINTFARM_SECRET_KEY": settings.secret_key or ""}
    acme = world.ids["acme"]
    done = CliRunner().invoke(cli_app, ["notify", "add", "--site", str(acme),
                                        "mailto://ops:pa55word@smtp.acme.test?to=workshop@acme.test"], env=env)
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"channel 1: mailto://smtp.acme.test tells site {acme}"
    listed = CliRunner().invoke(cli_app, ["notify", "list"], env=env)
    assert "pa55word" not in listed.output and "mailto://smtp.acme.test" in listed.output
    [channel] = world.ok("operator_acme", "GET", "/api/notifications/channels")
    assert (channel["audience"], channel["site_id"]) == ("site", acme)
    with world.services.db.unit_of_work() as session:
        assert session.scalars(select(Notification)).all() == []


def test_secrets_rotate_re_encrypts_channel_urls_under_the_new_key(world: World, notifier: FakeNotifier,
                                                                    clock: FrozenClock) -> None:
    add(world, "admin", audience="coordinators", url=SECRET_URL)
    old = world.services.settings.secret_key or ""
    fresh = new_key()
    with world.services.db.unit_of_work() as session:
        assert world.services.notifications.reencrypt_urls(session, SYSTEM, SecretBox(f"{fresh},{old}")) == 1
    with world.services.db.unit_of_work() as session:
        stored = session.scalars(select(NotificationChannel.url_encrypted)).one()
    assert SecretBox(fresh).decrypt(stored) == SECRET_URL
