"""A printfarm process SIGKILLed while it sends: the notification is sent by the next sender, once it may."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from support.world import World, seed

from notifications.parts import Webhook
from printfarm.clock import FrozenClock
from printfarm.events import PrinterFault, raise_event
from printfarm.notifications.rules import CLAIM_LEASE_SECONDS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock() -> FrozenClock:
    """Today: the killed process claims on the system clock, this test's senders on this one."""
    return FrozenClock(dt.datetime.now(dt.UTC))


def test_a_sender_killed_mid_send_leaves_its_notification_to_the_next_after_the_lease(
    notify_worlds: Callable[..., World], webhook: Webhook, clock: FrozenClock,
) -> None:
    world = seed(notify_worlds())
    world.ok("coordinator", "POST", "/api/notifications/channels",
             json={"audience": "coordinators", "url": webhook.url("/coordinators")})
    with world.services.db.unit_of_work() as session:
        raise_event(session, PrinterFault(clock.now(), world.ids["acme/mk3-1"], "thermal runaway"))

    settings = world.services.settings
    env = {**os.environ, "PRINTFARM_DATABASE_URL": settings.effective_database_url,
           "PRINTFARM_DATA_DIR": str(settings.data_dir), "PRINTFARM_SECRET_KEY": settings.secret_key or "",
           "PYTHONPATH": str(REPO)}
    webhook.stall = in_flight = threading.Event()
    sender = subprocess.Popen([sys.executable, "-m", "printfarm", "notify", "send"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert in_flight.wait(60), sender.stderr.read().decode() if sender.poll() is not None else "no post"
    finally:
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait(30)
        assert sender.stderr is not None
        sender.stderr.close()
    webhook.release.set()

    notifications = world.services.notifications
    assert notifications.send_due().sent == 0  # the dead sender's claim holds until its lease runs out
    [held] = world.ok("admin", "GET", "/api/notifications")
    assert (held["state"], held["attempts"]) == ("sending", 1)
    clock.advance(CLAIM_LEASE_SECONDS + 120)
    assert notifications.send_due().sent == 1
    assert notifications.send_due().sent == 0
    assert webhook.titles_at("/coordinators") == ["acme/mk3-1: in fault, waiting for a person"]
    [sent] = world.ok("admin", "GET", "/api/notifications")
    assert (sent["state"], sent["attempts"]) == ("sent", 2)
