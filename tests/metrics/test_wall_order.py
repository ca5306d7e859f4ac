"""The wall's order as data: what waits for a person first, the longest waiting first, then the plates
done soonest, then by name; every status has its place and its rule within."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from printfarm.metrics.rules import WALL_ORDER, WALL_WITHIN, PrinterStatus, wall_order

T0 = dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Tile:
    name: str
    status: str
    waiting_since: dt.datetime | None = None
    time_left_seconds: int | None = None


def minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def test_every_status_has_a_place_and_a_rule_within_it() -> None:
    assert sorted(WALL_ORDER) == sorted(PrinterStatus) and len(set(WALL_ORDER)) == len(WALL_ORDER)
    assert set(WALL_WITHIN) == set(PrinterStatus) and set(WALL_WITHIN.values()) <= {"waiting", "time_left", "name"}
    assert WALL_ORDER[:3] == (PrinterStatus.FAULT, PrinterStatus.BED_NOT_CLEAR, PrinterStatus.OFFLINE)
    assert WALL_ORDER.index(PrinterStatus.PRINTING) < WALL_ORDER.index(PrinterStatus.IDLE)


def test_faults_then_beds_longest_waiting_then_offline_then_printing_soonest_done_then_idle() -> None:
    tiles = [
        Tile("idle-a", "idle"),
        Tile("print-long", "printing", time_left_seconds=3600),
        Tile("bed-new", "bed-not-clear", waiting_since=minutes(30)),
        Tile("off", "offline", waiting_since=minutes(1)),
        Tile("print-unknown", "printing"),
        Tile("bed-old", "bed-not-clear", waiting_since=minutes(5)),
        Tile("fault", "fault", waiting_since=minutes(50)),
        Tile("bed-failed-plate", "bed-not-clear"),  # no finished plate: since when is unknown
        Tile("print-soon", "printing", time_left_seconds=120),
        Tile("maint", "maintenance"),
        Tile("idle-b", "idle"),
    ]
    assert [t.name for t in wall_order(tiles)] == [
        "fault", "bed-old", "bed-new", "bed-failed-plate", "off", "print-soon", "print-long", "print-unknown",
        "idle-a", "idle-b", "maint",
    ]


def test_equal_waits_and_times_fall_back_to_the_name_and_the_input_is_not_changed() -> None:
    tiles = [Tile("b", "fault", minutes(0)), Tile("a", "fault", minutes(0)), Tile("d", "printing", None, 60),
             Tile("c", "printing", None, 60)]
    assert [t.name for t in wall_order(tiles)] == ["a", "b", "c", "d"]
    assert [t.name for t in tiles] == ["b", "a", "d", "c"]
