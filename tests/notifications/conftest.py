"""Fixtures of the notification tests: worlds sharing one secret key, a frozen clock, real channels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from notifications.parts import START, SmtpServer, Webhook, make_notify_world, smtp_server, webhook_receiver
from printfarm.adapters.notify import Notifier
from printfarm.adapters.secrets import new_key
from printfarm.clock import FrozenClock
from support.world import World


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def notify_worlds(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Callable[..., World]]:
    """make(notifier=None) -> a world over this test's database (None: Apprise); all share the secret key."""
    worlds: list[World] = []
    key = new_key()

    def make(notifier: Notifier | None = None) -> World:
        world = make_notify_world(database_url, tmp_path / f"world-{len(worlds)}", clock, notifier, key)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with webhook_receiver() as hook:
        yield hook
