"""Two printfarm replicas over one PostgreSQL database: each notification reaches its channel once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from conftest import _truncate_all
from support.world import World, seed

from notifications.parts import Webhook
from printfarm.clock import FrozenClock
from printfarm.events import PrinterFault, raise_event

FAULTS = 30


@pytest.fixture
def database_url(postgres_migrated: str) -> str:
    """Replicas share a PostgreSQL database (SQLite serves one machine)."""
    _truncate_all(postgres_migrated)
    return postgres_migrated


def test_two_replicas_sending_at_once_send_each_notification_once(
    notify_worlds: Callable[..., World], webhook: Webhook, clock: FrozenClock,
) -> None:
    one = seed(notify_worlds())
    two = notify_worlds()  # a second replica: its own services, bus and senders, the same database and key
    one.ok("coordinator", "POST", "/api/notifications/channels",
           json={"audience": "coordinators", "url": webhook.url("/coordinators")})
    for n in range(FAULTS):  # events of replica one's commits, published on its bus only
        with one.services.db.unit_of_work() as session:
            raise_event(session, PrinterFault(clock.now(), one.ids["acme/mk3-1"], f"fault {n}"))
        clock.advance(1)
    webhook.fail_next = 3  # some attempts fail and are retried, by whichever replica claims them next

    start = threading.Barrier(2)
    errors: list[BaseException] = []
    sent: list[int] = []

    def sender(world: World) -> None:
        try:
            start.wait(10)
            for _ in range(4):
                sent.append(world.services.notifications.send_due(batch_size=4).sent)
        except BaseException as err:  # pragma: no cover - shown by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=sender, args=(w,)) for w in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    clock.advance(3600)
    for world in (two, one, two):
        sent.append(world.services.notifications.send_due().sent)
    assert sum(sent) == FAULTS

    reasons = [body["message"].rsplit(": ", 1)[1] for _, body in webhook.posts]
    assert sorted(reasons) == sorted(f"fault {n}" for n in range(FAULTS))  # every one, none twice
    assert webhook.refused == 3
    record = one.ok("admin", "GET", "/api/notifications", params={"limit": 1000})
    assert {n["state"] for n in record} == {"sent"} and len(record) == FAULTS
