"""The ingest worker process: batches are applied there; counters and ready printers come back in acks.

A worker that dies is replaced and the messages it held are counted as lost; a worker whose parent
dies exits by itself. (The fault tests in test_counts_across_faults.py run printfarm with the worker,
its default arrangement.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest
from support.world import seed

from printfarm.auth.rules import SYSTEM
from printfarm.events import DISPATCH_WAKERS, BedCleared
from printfarm.ingest_worker import Ack, IngestWorker

pytestmark = pytest.mark.slow


class Acks:
    """Collects the worker's acks and what the parent does with them."""

    def __init__(self, tracking: Any) -> None:
        self.tracking = tracking
        self.acks: list[Ack] = []
        self.lost: list[int] = []
        self.committed_before_loss: int | None = None  # the dead worker's last ack, when the first loss came
        self._changed = threading.Condition()

    def acked(self, ack: Ack) -> None:
        self.tracking.absorb(ack.stats)
        with self._changed:
            self.acks.append(ack)
            self._changed.notify_all()

    def lost_messages(self, count: int) -> None:
        with self._changed:
            if self.committed_before_loss is None:
                self.committed_before_loss = self.acks[-1].committed_through if self.acks else 0
            self.lost.append(count)
            self._changed.notify_all()

    def wait_through(self, count: int, timeout_seconds: float = 30) -> Ack:
        deadline = time.monotonic() + timeout_seconds
        with self._changed:
            while not (self.acks and self.acks[-1].committed_through >= count):
                left = deadline - time.monotonic()
                assert left > 0, f"no ack through message {count}; acks: {self.acks}"
                self._changed.wait(left)
            return self.acks[-1]


@pytest.fixture
def world(new_world):
    world = seed(new_world(), units=8)
    assert world.dispatch().started == 2
    return world


def message(world, printer_id: int, suffix: str, payload: Any) -> tuple[str, bytes, bool]:
    base = world.ok("admin", "GET", f"/api/printers/{printer_id}")["mqtt_base_topic"]
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base + suffix, body, False


def test_the_worker_applies_batches_and_reports_counters_and_a_printer_made_ready(world):
    printer = world.ids["acme/mk3-1"]
    job = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer})[0]
    name = job["remote_filename"]
    with world.services.db.unit_of_work() as session:  # the site counts finished plates as QC-passed
        world.services.registry.get_site(session, SYSTEM, world.ids["acme"]).auto_accept_qc = True
    acks = Acks(world.services.tracking)
    worker = IngestWorker(world.services.settings, bus=world.services.db.bus, on_ack=acks.acked, on_lost=acks.lost_messages)
    worker.start()
    try:
        worker.submit([
            message(world, printer, "progress/printing", {"path": name, "progress": 40}),
            message(world, printer, "temperature/bed", {"actual": 59.5, "target": 60}),
            message(world, printer, "event/PrintDone", b"not json"),
        ])
        first = acks.wait_through(3)
        assert not [e for e in first.events if isinstance(e, DISPATCH_WAKERS)]
        assert world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["progress_percent"] == 40
        assert world.ok("viewer", "GET", f"/api/printers/{printer}")["bed_temp_c"] == 59.5

        worker.submit([message(world, printer, "event/PrintDone", {"name": name, "path": name})])
        done = acks.wait_through(4)
        assert [type(e) for e in done.events if isinstance(e, DISPATCH_WAKERS)] == [BedCleared], \
            "a plate counted automatically frees the printer: the dispatcher should run"
        assert world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["state"] == "completed"
    finally:
        worker.stop()
    stats = world.services.tracking.stats_snapshot()
    assert (stats["received"], stats["applied"], stats["dropped"]) == (4, 3, {"not_json": 1})
    assert acks.lost == []


def test_a_killed_worker_is_replaced_and_every_message_is_applied_or_counted_lost(world):
    printer = world.ids["acme/mk3-1"]
    job = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer})[0]
    name = job["remote_filename"]
    acks = Acks(world.services.tracking)
    worker = IngestWorker(world.services.settings, bus=world.services.db.bus, on_ack=acks.acked, on_lost=acks.lost_messages)
    worker.start()
    try:
        first_pid = worker.pid
        assert first_pid is not None
        # a big batch keeps the worker busy for a while: killed now, it holds messages not committed
        topic, _, _ = message(world, printer, "temperature/bed", {})
        held = [(topic, json.dumps({"actual": 50 + i % 10}).encode(), False) for i in range(50_000)]
        worker.submit(held)
        os.kill(first_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        meanwhile = 0
        while worker.pid == first_pid and time.monotonic() < deadline:
            # held for the next worker, unless written before the dead one's pipe closed (then lost)
            worker.submit([message(world, printer, "progress/printing", {"path": name, "progress": 70})])
            meanwhile += 1
            time.sleep(0.05)
        assert worker.pid != first_pid, "no new worker was started"
        worker.submit([message(world, printer, "progress/printing", {"path": name, "progress": 75})])
        wait_until_true(lambda: world.ok("viewer", "GET", f"/api/jobs/{job['id']}")["progress_percent"] == 75)
    finally:
        worker.stop()
    assert acks.committed_before_loss is not None, "no messages were reported lost"
    accounted = acks.committed_before_loss + sum(acks.lost)
    assert len(held) <= accounted <= len(held) + meanwhile, (acks.committed_before_loss, acks.lost, meanwhile)


def wait_until_true(condition, timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_worker_exits_when_its_parent_is_killed(world, tmp_path):
    """A printfarm killed with SIGKILL leaves no ingest worker behind to write after a restart."""
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(world.services.settings.model_dump_json())
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from printfarm.events import EventBus
            from printfarm.ingest_worker import IngestWorker
            from printfarm.settings import Settings

            if __name__ == "__main__":
                settings = Settings.model_validate_json(Path({str(settings_file)!r}).read_text())
                worker = IngestWorker(settings, bus=EventBus(), on_ack=print)
                worker.start()
                print(worker.pid, flush=True)
                time.sleep(600)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert parent.stdout is not None
        worker_pid = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _is_running(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _is_running(worker_pid), f"the worker (pid {worker_pid}) outlived its parent"
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def _is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
