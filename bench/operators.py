"""Benchmark: operators told by a notification against operators who look at the dashboard now and then.

A farm of two sites with --printers printers each runs for --hours of simulated time (a FrozenClock
moved from one event to the next, so days take seconds) on printfarm's real services and a SQLite
file: dispatch starts plates on in-process fake printers, each plate prints for a random time in
--print-hours, its PrintDone goes through TrackingService.apply_raw as the MQTT ingest hands it over,
and someone clears its bed (OutputService.clear_bed, 4 good units), after which dispatch runs (the
runtime wakes it on a bed clear) and the printer starts its next plate.

Who clears a bed, and when, is the only difference between the sites, on one seed:

- "told": the site's operators act only when told. The site has a channel; PlateFinished is recorded
  by the NotificationService's bus subscriber and sent by send_due() once the site's delay
  (--delay-minutes, the site's setting; a reminder --reminder-minutes later) has passed, through an
  in-process channel (a Notifier that stands for the operator's phone). The operator reads the printer
  from the message's title and clears that bed a random --handle-minutes later.
- "looking": the site has no channel; its operators look at the printers list (the service the
  dashboard's page reads) every --poll-minutes, starting at a random minute, and clear each bed they
  see waiting a random --handle-minutes later.

Each printer of one site draws the same print times as its twin at the other (per-printer random
streams from one seed), and the two sites' handling times come from equal streams, so the
difference is how people learn of a finished plate. Printed per site: good units per printer-hour,
and the idle gap from a plate's PrintDone to its bed cleared (median, p90), then the ratios; the
same-run baseline is the looking site. Nights, breaks and missed messages are not modelled.

Why a farm of its own rather than bench/dispatch.py's: that one runs on the wall clock with plates of
seconds and an operator who clears at once, to measure dispatch; a 30-minute look at the dashboard
needs hours of farm time, so here time is simulated and the services' own clock is moved.

    .venv/bin/python bench/operators.py [--printers 10] [--hours 72] [--poll-minutes 30] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import heapq
import itertools
import json
import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.adapters.secrets import new_key
from printfarm.auth.rules import SYSTEM
from printfarm.batches.schemas import BatchCreate
from printfarm.clock import FrozenClock
from printfarm.db.migrate import upgrade
from printfarm.db.tables import Notification, Printer, PrintJob
from printfarm.demo.gcode import plate_gcode
from printfarm.jobs.rules import JobState
from printfarm.notifications.rules import NotificationState
from printfarm.notifications.schemas import ChannelCreate, SiteNotifySettings
from printfarm.printers.schemas import PrinterCreate
from printfarm.registry.schemas import HospitalCreate, SiteCreate
from printfarm.services import Services
from printfarm.settings import Settings
from printfarm.wiring import build_services

START = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
UNITS_PER_PLATE = 4
SITES = ("told", "looking")
PROFILE = "prusa-mk3s-0.4"


def load_average() -> str:
    return "%.2f" % os.getloadavg()[0]


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


@dataclass
class Pager:
    """The told site's channel: a Notifier whose send() is the message reaching the operator's phone."""

    on_message: Callable[[str], None] = lambda title: None
    sent: int = 0

    def describe(self, url: str) -> str:
        return "json://phone.invalid"

    def send(self, url: str, title: str, body: str, timeout_seconds: float) -> None:
        self.sent += 1
        self.on_message(title)


@dataclass
class SiteFigures:
    printers: int
    gaps_minutes: list[float] = field(default_factory=list)
    good_units: int = 0


class Farm:
    """The simulated farm: an event queue in simulated time over printfarm's services."""

    def __init__(self, services: Services, clock: FrozenClock, fleet: FakePrinterFleet, args: argparse.Namespace,
                 pager: Pager) -> None:
        self.services, self.clock, self.fleet, self.args = services, clock, fleet, args
        self._queue: list[tuple[dt.datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._sender_ticks: set[dt.datetime] = set()
        self.site_of: dict[int, str] = {}  # printer id -> "told" / "looking"
        self.printer_by_label: dict[str, int] = {}
        self.url_of: dict[int, str] = {}
        self.topic_of: dict[int, str] = {}
        self.print_rng: dict[int, random.Random] = {}
        self.handle_rng = {site: random.Random(f"{args.seed}-handle") for site in SITES}
        self.finished_at: dict[int, dt.datetime] = {}  # printer id -> when its plate finished (bed waiting)
        self.clear_planned: set[int] = set()
        self.printing: set[int] = set()  # job ids whose finish is scheduled
        self.figures = {site: SiteFigures(args.printers) for site in SITES}
        pager.on_message = self._told

    # -- the queue ---------------------------------------------------------------------------

    def at(self, when: dt.datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (when, next(self._order), action))

    def run(self, until: dt.datetime) -> None:
        self._dispatch()
        while self._queue and self._queue[0][0] <= until:
            when, _, action = heapq.heappop(self._queue)
            if when > self.clock.now():
                self.clock.advance((when - self.clock.now()).total_seconds())
            action()
            self.services.notifications.send_due()  # the runtime's sender, woken and on its tick
            self._wake_sender_when_due()

    def _wake_sender_when_due(self) -> None:
        """The runtime's sender ticks every 10 s: here, a tick at the next pending notification's due time."""
        with self.services.db.unit_of_work() as session:
            due = session.scalar(sa.select(sa.func.min(Notification.due_at))
                                 .where(Notification.state == NotificationState.PENDING))
        if due is None:
            return
        due = due if due.tzinfo else due.replace(tzinfo=dt.UTC)  # SQLite returns a naive min()
        if due > self.clock.now() and due not in self._sender_ticks:
            self._sender_ticks.add(due)
            self.at(due, lambda: None)

    # -- printers ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        self.services.dispatch.run_pass()
        with self.services.db.unit_of_work() as session:
            rows = session.execute(
                sa.select(PrintJob.id, PrintJob.printer_id, PrintJob.remote_filename)
                .where(PrintJob.state == JobState.PRINTING)
            ).all()
        low, high = self.args.print_hours
        for job_id, printer_id, filename in rows:
            if job_id in self.printing or filename is None:
                continue
            self.printing.add(job_id)
            hours = self.print_rng[printer_id].uniform(low, high)
            self.at(self.clock.now() + dt.timedelta(hours=hours), functools.partial(self._finish, printer_id, filename))

    def _finish(self, printer_id: int, filename: str) -> None:
        self.fleet.printers[self.url_of[printer_id]].finish_print()
        done = {"name": filename, "path": filename, "origin": "local", "_timestamp": 1}
        self.services.tracking.apply_raw([(self.topic_of[printer_id] + "event/PrintDone", json.dumps(done).encode())])
        self.finished_at[printer_id] = self.clock.now()

    def _plan_clear(self, printer_id: int) -> None:
        if printer_id in self.clear_planned or printer_id not in self.finished_at:
            return
        self.clear_planned.add(printer_id)
        low, high = self.args.handle_minutes
        minutes = self.handle_rng[self.site_of[printer_id]].uniform(low, high)
        self.at(self.clock.now() + dt.timedelta(minutes=minutes), lambda: self._clear(printer_id))

    def _clear(self, printer_id: int) -> None:
        with self.services.db.unit_of_work() as session:
            self.services.output.clear_bed(session, SYSTEM, printer_id, UNITS_PER_PLATE, 0)
        figures = self.figures[self.site_of[printer_id]]
        figures.gaps_minutes.append((self.clock.now() - self.finished_at.pop(printer_id)).total_seconds() / 60)
        figures.good_units += UNITS_PER_PLATE
        self.clear_planned.discard(printer_id)
        self._dispatch()  # the runtime wakes dispatch on a bed clear

    # -- operators ---------------------------------------------------------------------------

    def _told(self, title: str) -> None:
        """A bed-waiting notice (or its reminder) reached the told site's operator."""
        label = title.split(":", 1)[0]
        self._plan_clear(self.printer_by_label[label])

    def look(self, site_id: int, site: str) -> None:
        """A looking operator opens the printers list and goes to every bed waiting there."""
        with self.services.db.unit_of_work() as session:
            waiting = [p.id for p in self.services.printers.list(session, SYSTEM, site_id) if not p.is_bed_clear]
        for printer_id in waiting:
            self._plan_clear(printer_id)
        self.at(self.clock.now() + dt.timedelta(minutes=self.args.poll_minutes), lambda: self.look(site_id, site))


def build(data_dir: Path, args: argparse.Namespace) -> tuple[Farm, dict[str, int]]:
    clock, fleet, pager = FrozenClock(START), FakePrinterFleet(), Pager()
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'bench.db'}", secret_key=new_key(),
                        log_level="WARNING")
    services = build_services(settings, clock=clock, printer_clients=fleet, notifier=pager)
    upgrade(services.db.engine)
    farm = Farm(services, clock, fleet, args, pager)
    site_ids: dict[str, int] = {}
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        for n, site in enumerate(SITES):
            site_ids[site] = services.registry.create_site(session, SYSTEM, SiteCreate(name=site)).id
            for i in range(args.printers):
                name, url = f"p{i + 1}", f"http://{site}-{i + 1}.printers.invalid"
                fleet.add(url, "bench-key")
                printer = services.printers.register(session, SYSTEM, PrinterCreate.model_validate(
                    {"site_id": site_ids[site], "name": name, "base_url": url, "api_key": "bench-key",
                     "profile": PROFILE}))
                farm.site_of[printer.id], farm.url_of[printer.id] = site, url
                farm.topic_of[printer.id] = printer.mqtt_base_topic
                farm.printer_by_label[f"{site}/{name}"] = printer.id
                farm.print_rng[printer.id] = random.Random(f"{args.seed}-print-{i}")  # the twins draw alike
        hospital = services.registry.create_hospital(session, SYSTEM, HospitalCreate(name="hospital"))
        part = services.parts.create(session, SYSTEM, name="RC3 headband")
        services.parts.add_print_file(session, SYSTEM, part.id, profile_name=PROFILE,
                                      gcode=plate_gcode(units=UNITS_PER_PLATE), filename="rc3-x4.gcode",
                                      units_per_print=UNITS_PER_PLATE)
        services.parts.approve(session, SYSTEM, part.id)
        plates = int(2 * args.printers * args.hours / args.print_hours[0]) + 2 * args.printers
        services.batches.create(session, SYSTEM, BatchCreate(part_id=part.id, hospital_id=hospital.id,
                                                             quantity=plates * UNITS_PER_PLATE))
        services.notifications.add_channel(session, SYSTEM, ChannelCreate.model_validate({
            "audience": "site", "site_id": site_ids["told"], "url": "json://phone.invalid/told",
            "kinds": ["bed_waiting", "bed_reminder"]}))
        services.notifications.set_site_settings(session, SYSTEM, site_ids["told"], SiteNotifySettings(
            bed_wait_delay_seconds=int(args.delay_minutes * 60), bed_reminder_seconds=int(args.reminder_minutes * 60),
            bed_reminders=1))
        assert session.scalar(sa.select(sa.func.count()).select_from(Printer)) == 2 * args.printers
    looker = random.Random(f"{args.seed}-poll")
    farm.at(START + dt.timedelta(minutes=looker.uniform(0, args.poll_minutes)),
            lambda: farm.look(site_ids["looking"], "looking"))
    return farm, site_ids


def span(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--printers", type=int, default=10, help="printers per site")
    parser.add_argument("--hours", type=float, default=72.0, help="simulated hours")
    parser.add_argument("--print-hours", type=span, default=(1.5, 4.0), help="a plate's print time, e.g. 1.5-4")
    parser.add_argument("--handle-minutes", type=span, default=(2.0, 8.0),
                        help="from knowing of a waiting bed to its clearing, e.g. 2-8")
    parser.add_argument("--delay-minutes", type=float, default=10.0, help="the told site's bed-wait delay")
    parser.add_argument("--reminder-minutes", type=float, default=30.0)
    parser.add_argument("--poll-minutes", type=float, default=30.0, help="how often the looking site looks")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("printfarm").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="pf-bench-operators-") as tmp:
        began, cpu = time.perf_counter(), time.process_time()
        farm, _ = build(Path(tmp), args)
        farm.run(START + dt.timedelta(hours=args.hours))
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        sent = farm.services.notifications.list_notifications
        with farm.services.db.unit_of_work() as session:
            record = sent(session, SYSTEM, limit=100_000)
        farm.services.db.dispose()

    print(f"operators: {args.printers} printers per site, {args.hours:g} simulated hours, plates of "
          f"{args.print_hours[0]:g}-{args.print_hours[1]:g} h, handling {args.handle_minutes[0]:g}-"
          f"{args.handle_minutes[1]:g} min, seed {args.seed}")
    print(f"told: bed-wait notice after {args.delay_minutes:g} min (reminder {args.reminder_minutes:g} min later); "
          f"looking: the printers list every {args.poll_minutes:g} min")
    results = {}
    for site in SITES:
        f = farm.figures[site]
        rate = f.good_units / (f.printers * args.hours)
        results[site] = (rate, statistics.median(f.gaps_minutes), p90(f.gaps_minutes))
        print(f"  {site:8} {rate:6.3f} units/printer-hour  idle finished->cleared: median {results[site][1]:5.1f} min, "
              f"p90 {results[site][2]:5.1f} min  ({len(f.gaps_minutes)} plates)")
    told, looking = results["told"], results["looking"]
    print(f"  ratio told/looking: units/printer-hour x{told[0] / looking[0]:.3f}, median idle gap "
          f"x{told[1] / looking[1]:.2f}, p90 x{told[2] / looking[2]:.2f}")
    states: dict[str, int] = {}
    for n in record:
        states[f"{n.kind.value}:{n.state.value}"] = states.get(f"{n.kind.value}:{n.state.value}", 0) + 1
    print(f"  notifications: {dict(sorted(states.items()))}")
    print(f"  ran in {wall:.1f} s wall, {cpu:.1f} s CPU; load average {load_average()}")


if __name__ == "__main__":
    main()
