"""Printer connection and backoff, written in one place: the rules and the mark_* functions on their own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from printfarm.db.tables import Printer
from printfarm.events import PrinterOffline, PrinterOnline, raised_events
from printfarm.printers.health import hold_off, mark_offline, mark_online, mark_seen, mark_unreachable
from printfarm.printers.rules import ConnectionState, retry_delay

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def printer(connection: ConnectionState, offline_checks: int = 0) -> Printer:
    return Printer(id=7, connection=connection, offline_checks=offline_checks, retry_after=None, last_seen_at=None)


def test_backoff_grows_then_caps():
    assert [retry_delay(n) for n in range(1, 8)] == [
        dt.timedelta(seconds=s) for s in (15, 30, 60, 120, 240, 240, 240)
    ]


def test_an_answer_puts_a_printer_online_clears_its_backoff_and_raises_online_once():
    session = Session()
    p = printer(ConnectionState.OFFLINE, offline_checks=3)
    p.retry_after = NOW + dt.timedelta(seconds=60)
    assert mark_online(session, p, NOW, "health check") is True
    assert (p.connection, p.offline_checks, p.retry_after, p.last_seen_at) == (ConnectionState.ONLINE, 0, None, NOW)
    later = NOW + dt.timedelta(seconds=5)
    assert mark_online(session, p, later, "mqtt") is False
    assert p.last_seen_at == later
    assert raised_events(session) == [PrinterOnline(NOW, 7, "health check")]


def test_each_failed_check_counts_and_backs_off_further_and_offline_is_raised_once():
    session = Session()
    p = printer(ConnectionState.ONLINE)
    assert mark_unreachable(session, p, NOW, "timed out") is True
    assert (p.connection, p.offline_checks, p.retry_after) == (ConnectionState.OFFLINE, 1, NOW + dt.timedelta(seconds=15))
    assert mark_unreachable(session, p, NOW, "timed out") is False
    assert (p.offline_checks, p.retry_after) == (2, NOW + dt.timedelta(seconds=30))
    assert raised_events(session) == [PrinterOffline(NOW, 7, "timed out")]
    assert mark_unreachable(session, printer(ConnectionState.UNKNOWN), NOW, "refused") is True


def test_a_printer_that_says_it_left_is_offline_without_a_failed_check_or_a_wait():
    session = Session()
    p = printer(ConnectionState.ONLINE, offline_checks=0)
    assert mark_offline(session, p, NOW, "its MQTT client disconnected") is True
    assert (p.connection, p.offline_checks, p.retry_after) == (ConnectionState.OFFLINE, 0, None)
    assert mark_offline(session, p, NOW, "its MQTT client disconnected") is False
    assert raised_events(session) == [PrinterOffline(NOW, 7, "its MQTT client disconnected")]


def test_a_refused_start_holds_the_printer_off_by_failures_in_a_row_and_a_poll_only_marks_it_seen():
    p = printer(ConnectionState.ONLINE)
    hold_off(p, NOW, 2)
    assert p.retry_after == NOW + dt.timedelta(seconds=30) and p.connection is ConnectionState.ONLINE
    mark_seen(p, NOW)
    assert (p.last_seen_at, p.connection, p.offline_checks) == (NOW, ConnectionState.ONLINE, 0)
