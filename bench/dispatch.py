"""Benchmark: dispatch at fleet scale — 10,000 printers at 200 sites, 100,000 queued units.

On SQLite (a temporary file) and on PostgreSQL (--postgres URL; its schema is dropped and
recreated) it prints:

1. a dispatch pass with 1,000 idle printers (9,000 busy), median and p95 over --passes passes:
   the claim phase (its reads, match() and the claim transaction, committed: what the issue's
   ≤ 250 ms pass target is held against, since nothing in it waits on a printer), the start
   phase (plates moved to uploading, uploads/starts on the fake printers on 8 threads, outcomes
   recorded) and the whole pass (both); claims per second of the claim phase, and the same
   1,000 claims made one per transaction in the same run as the baseline (ratio);
2. the farm running for --farm-seconds: 9,000 printers hold long plates while 1,000 cycle through
   plates of --print-seconds (±50 %); a finisher reports
   PrintDone through TrackingService.apply_raw (as the MQTT ingest would, in batches), a simulated
   operator clears each bed through OutputService.clear_bed, and dispatch runs on the runtime's
   TaskScheduler (a 2 s tick, woken by every bed clear). Printed: the idle gap from bed clear to the
   printer's next start (median, p95), plates per second, the process's CPU use and peak memory.

Printers are in-process fakes (printfarm.adapters.octoprint.fake.FakePrinterFleet, wrapped to
time each start), not HTTP servers: 10,000 OctoPrint HTTP servers in one process would measure the
simulator. MQTT is not in the loop (the finisher calls tracking directly). The CPU and memory
figures include the fakes, the finisher and the operator, so printfarm's own share is lower.
Figures only; nothing here asserts on time.

    .venv/bin/python bench/dispatch.py [--postgres URL] [--passes 15] [--farm-seconds 90]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from printfarm.adapters.gcode import analyse_gcode
from printfarm.adapters.octoprint.fake import FakePrinterClient, FakePrinterFleet
from printfarm.printers.port import PrinterClient
from printfarm.auth.rules import SYSTEM
from printfarm.db.migrate import upgrade
from printfarm.db.tables import Batch, Hospital, Part, Printer, PrinterProfile, PrintFile, PrintJob, Site
from printfarm.demo.gcode import plate_gcode
from printfarm.jobs.rules import ACTIVE, JobState
from printfarm.printers.rules import ConnectionState
from printfarm.services import Services
from printfarm.settings import Settings
from printfarm.events import DISPATCH_WAKERS
from printfarm.tasks import TaskScheduler
from printfarm.wiring import build_services

SITES, PRINTERS, UNITS, BATCHES, PARTS, HOSPITALS = 200, 10_000, 100_000, 500, 5, 20
IDLE = 1_000
START_WORKERS = 8  # DispatchService's default start_workers
UNITS_PER_PLATE = 4


class TimedFleet(FakePrinterFleet):
    """FakePrinterFleet that notes when each printer was last told to start, and what."""

    def __init__(self) -> None:
        super().__init__()
        self.started_at: dict[str, float] = {}
        self.started_file: dict[str, str] = {}
        self.start_times: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def __call__(self, base_url: str, api_key: str) -> PrinterClient:
        return _TimedClient(base_url, api_key, printer=self.printers[base_url], fleet=self)


class _TimedClient(FakePrinterClient):
    # one class for all clients (a class made per call cost the pass ~0.1 ms a printer)
    def __init__(self, base_url: str, api_key: str, *, printer: Any, fleet: TimedFleet) -> None:
        super().__init__(base_url, api_key, printer=printer)
        self._fleet = fleet

    def start_print(self, filename: str, gcode: bytes) -> None:
        super().start_print(filename, gcode)
        fleet = self._fleet
        with fleet._lock:
            fleet.started_at[self.base_url] = time.monotonic()
            fleet.started_file[self.base_url] = filename
            fleet.start_times.setdefault(self.base_url, []).append(fleet.started_at[self.base_url])


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def seed(services: Services, fleet: TimedFleet) -> dict[int, str]:
    """Sites, hospitals, parts with a print file per profile, printers, batches. Returns {printer id: url}."""
    rng = random.Random(5)
    now = dt.datetime.now(dt.UTC)
    models = {"prusa-mk3s-0.4": "MK3S", "prusa-mini-0.4": "MINI", "creality-ender3-0.4": "ENDER3"}
    gcodes = {name: plate_gcode(units=UNITS_PER_PLATE, printer_model=model) for name, model in models.items()}
    shas = {name: services.store.put(gcode) for name, gcode in gcodes.items()}
    analyses = {name: analyse_gcode(gcode).to_dict() for name, gcode in gcodes.items()}
    key = services.printers._secrets.encrypt("bench-key")  # one key for all: the bench never shows it
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        profiles = {p.name: p.id for p in session.scalars(sa.select(PrinterProfile))}
        mk3 = profiles["prusa-mk3s-0.4"]
        session.execute(sa.insert(Site), [
            {"id": i, "name": f"site-{i}", "latitude": 55 + rng.random() * 10, "longitude": 11 + rng.random() * 10,
             "is_paused": False, "auto_accept_qc": False, "timezone": "UTC", "created_at": now,
             "heatup_max_starts": 20 if i % 10 == 0 else None, "heatup_window_seconds": 60 if i % 10 == 0 else None}
            for i in range(1, SITES + 1)
        ])
        session.execute(sa.insert(Hospital), [
            {"id": i, "name": f"hospital-{i}", "latitude": 55 + rng.random() * 10, "longitude": 11 + rng.random() * 10,
             "created_at": now}
            for i in range(1, HOSPITALS + 1)
        ])
        session.execute(sa.insert(Part), [
            {"id": i, "name": f"part-{i}", "is_approved": True, "created_at": now} for i in range(1, PARTS + 1)
        ])
        session.execute(sa.insert(PrintFile), [
            {"part_id": part, "profile_id": profiles[name], "sha256": shas[name], "filename": f"p{part}-{name}.gcode",
             "size_bytes": len(gcodes[name]), "units_per_print": UNITS_PER_PLATE, "material": "PLA",
             "analysis": analyses[name], "created_at": now}
            for part in range(1, PARTS + 1) for name in models
        ])
        rows = []
        for i in range(1, PRINTERS + 1):
            url = f"http://bench-{i}.printers.invalid"
            rows.append({
                "id": i, "site_id": (i - 1) % SITES + 1, "profile_id": mk3 if i % 5 else profiles["prusa-mini-0.4"],
                "name": f"printer-{i}", "base_url": url, "api_key_encrypted": key, "mqtt_base_topic": f"bench/{i}/",
                "loaded_material": "PLA", "is_enabled": True, "is_bed_clear": True, "connection": ConnectionState.ONLINE,
                "consecutive_failures": 0, "offline_checks": 0, "created_at": now,
            })
            fleet.add(url, "bench-key", is_connected=True)
        session.execute(sa.insert(Printer), rows)
        session.execute(sa.insert(Batch), [
            {"part_id": i % PARTS + 1, "hospital_id": i % HOSPITALS + 1, "quantity": UNITS // BATCHES,
             "priority": i % 3, "due_at": now + dt.timedelta(days=1 + i % 7), "is_cancelled": False,
             "created_at": now + dt.timedelta(seconds=i)}
            for i in range(BATCHES)
        ])
    if services.db.is_postgresql:
        with services.db.engine.begin() as connection:
            for table in ("sites", "hospitals", "parts", "printers"):
                connection.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    return {i: f"http://bench-{i}.printers.invalid" for i in range(1, PRINTERS + 1)}


def occupy(services: Services, printer_ids: list[int], job_state: JobState) -> None:
    """Give these printers a job in job_state (PRINTING: busy) of batch 1, without any printer call."""
    now = dt.datetime.now(dt.UTC)
    with services.db.unit_of_work() as session:
        file_id = session.scalar(sa.select(PrintFile.id).limit(1))
        session.execute(sa.insert(PrintJob), [
            {"batch_id": 1, "printer_id": pid, "print_file_id": file_id, "units_per_print": UNITS_PER_PLATE,
             "state": job_state, "progress_percent": 0, "created_at": now - dt.timedelta(hours=1),
             "updated_at": now, "started_at": now}
            for pid in printer_ids
        ])
        session.execute(sa.update(Printer).where(Printer.id.in_(printer_ids)).values(is_bed_clear=False))


def free(services: Services, fleet: TimedFleet, urls: dict[int, str], printer_ids: list[int]) -> None:
    """End the active jobs of these printers (no output: their units stay queued) and clear their beds."""
    with services.db.unit_of_work() as session:
        session.execute(
            sa.update(PrintJob).where(PrintJob.printer_id.in_(printer_ids), PrintJob.state.in_(ACTIVE))
            .values(state=JobState.CANCELLED)
        )
        session.execute(sa.update(Printer).where(Printer.id.in_(printer_ids)).values(is_bed_clear=True))
    for pid in printer_ids:
        device = fleet.printers[urls[pid]]
        device.state_text, device.file_name, device.progress_percent = "Operational", None, None


def claims_one_per_transaction(services: Services, printer_ids: list[int]) -> float:
    """The baseline: the same number of claims, each its own INSERT and commit."""
    now = dt.datetime.now(dt.UTC)
    with services.db.unit_of_work() as session:
        file_id = session.scalar(sa.select(PrintFile.id).limit(1))
    began = time.perf_counter()
    for pid in printer_ids:
        with services.db.unit_of_work() as session:
            session.add(PrintJob(batch_id=2, printer_id=pid, print_file_id=file_id, units_per_print=UNITS_PER_PLATE,
                                 state=JobState.ASSIGNED, progress_percent=0, created_at=now, updated_at=now))
    return time.perf_counter() - began


def measure_passes(services: Services, fleet: TimedFleet, urls: dict[int, str], passes: int) -> dict[str, Any]:
    rng = random.Random(7)
    busy = rng.sample(sorted(urls), PRINTERS - IDLE)
    occupy(services, busy, JobState.PRINTING)
    idle = sorted(set(urls) - set(busy))
    claim, start, whole, claimed = [], [], [], []
    for _ in range(passes):
        began = time.perf_counter()
        result = services.dispatch.run_pass()
        whole.append(time.perf_counter() - began)
        claim.append(result.claim_seconds)
        start.append(result.start_seconds)
        claimed.append(result.claimed)
        free(services, fleet, urls, idle)
    baseline = claims_one_per_transaction(services, idle)
    free(services, fleet, urls, idle)
    free(services, fleet, urls, busy)
    claims_per_second = statistics.median(c / s for c, s in zip(claimed, claim))
    return {
        "claimed_per_pass": statistics.median(claimed),
        "claim_ms_median": statistics.median(claim) * 1000, "claim_ms_p95": p95(claim) * 1000,
        "start_ms_median": statistics.median(start) * 1000, "start_ms_p95": p95(start) * 1000,
        "pass_ms_median": statistics.median(whole) * 1000, "pass_ms_p95": p95(whole) * 1000,
        "claims_per_second": claims_per_second,
        "baseline_claims_per_second": len(idle) / baseline,
    }


def run_farm(services: Services, fleet: TimedFleet, urls: dict[int, str], seconds: float, print_seconds: float,
             ) -> dict[str, Any]:
    """The farm at work: 9,000 printers hold long plates, 1,000 cycle through short ones.

    Returns the idle gaps (each bed clear to that printer's next start) and throughput.
    """
    rng = random.Random(11)
    busy = rng.sample(sorted(urls), PRINTERS - IDLE)
    occupy(services, busy, JobState.PRINTING)
    topic = {url: f"bench/{pid}/" for pid, url in urls.items()}
    pid_of = {url: pid for pid, url in urls.items()}
    fleet.started_at.clear()
    fleet.start_times.clear()
    due: dict[str, float] = {}
    seen_start: dict[str, float] = {}
    clear_times: dict[str, list[float]] = {}
    scheduler = TaskScheduler()
    scheduler.every("dispatch", 2.0, services.dispatch.run_pass)
    services.db.bus.subscribe(DISPATCH_WAKERS, lambda event: scheduler.wake("dispatch"))
    usage_before, wall_before = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    scheduler.start()
    scheduler.wake("dispatch")
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            with fleet._lock:
                started = dict(fleet.started_at)
            for url, at in started.items():
                if seen_start.get(url) != at:
                    seen_start[url] = at
                    due[url] = at + print_seconds * rng.uniform(0.5, 1.5)
            now = time.monotonic()
            done = [url for url, at in due.items() if at <= now][:50]  # then look for new starts again
            if done:
                messages = []
                for url in done:
                    del due[url]
                    fleet.printers[url].finish_print()
                    name = fleet.started_file[url]
                    body = {"name": name, "path": name, "origin": "local", "_timestamp": int(time.time())}
                    messages.append((topic[url] + "event/PrintDone", json.dumps(body).encode()))
                services.tracking.apply_raw(messages)  # one batch, as the MQTT ingest hands them over
                for url in done:  # the operator: one bed, one unit of work, as through the API
                    with services.db.unit_of_work() as session:
                        services.output.clear_bed(session, SYSTEM, pid_of[url], UNITS_PER_PLATE, 0)
                    clear_times.setdefault(url, []).append(time.monotonic())
            else:
                time.sleep(0.02)
    finally:
        scheduler.stop()
    usage, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - wall_before
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    gaps = []
    for url, clears in clear_times.items():
        starts = fleet.start_times.get(url, [])
        for cleared in clears:
            following = [t for t in starts if t >= cleared]
            if following:
                gaps.append(following[0] - cleared)
    plates = sum(len(c) for c in clear_times.values())
    free(services, fleet, urls, sorted(urls))
    return {
        "plates": plates, "plates_per_second": plates / wall,
        "gap_ms_median": statistics.median(gaps) * 1000 if gaps else float("nan"),
        "gap_ms_p95": p95(gaps) * 1000 if gaps else float("nan"), "gaps": len(gaps),
        "cores": cpu / wall, "peak_rss_mib": usage.ru_maxrss / 1024,
    }


def bench(url: str, label: str, data_dir: Path, args: argparse.Namespace) -> None:
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    fleet = TimedFleet()
    services = build_services(Settings(data_dir=data_dir, database_url=url), printer_clients=fleet)
    began = time.perf_counter()
    urls = seed(services, fleet)
    print(f"\n{label}: seeded {PRINTERS} printers, {SITES} sites, {BATCHES} batches = {UNITS} units "
          f"in {time.perf_counter() - began:.1f} s (printers: in-process FakePrinterFleet); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    passes = measure_passes(services, fleet, urls, args.passes)
    print(f"  pass with {IDLE} idle printers ({passes['claimed_per_pass']:.0f} claimed each), over {args.passes} passes:")
    print(f"    claim phase: reads + match + the claim transaction, committed   median {passes['claim_ms_median']:7.1f} ms   "
          f"p95 {passes['claim_ms_p95']:7.1f} ms   (the pass of the ≤ 250 ms target)")
    print(f"    start phase: move to uploading, {START_WORKERS} threads calling the fake printers, outcomes "
          f"median {passes['start_ms_median']:7.1f} ms   p95 {passes['start_ms_p95']:7.1f} ms")
    print(f"    whole pass (run_pass: claim phase + start phase)                median {passes['pass_ms_median']:7.1f} ms   "
          f"p95 {passes['pass_ms_p95']:7.1f} ms   (real printers add upload time)")
    print(f"    claims/s {passes['claims_per_second']:9.0f}   baseline one claim per transaction "
          f"{passes['baseline_claims_per_second']:7.0f}/s   ratio {passes['claims_per_second'] / passes['baseline_claims_per_second']:.1f}x")
    farm = run_farm(services, fleet, urls, args.farm_seconds, args.print_seconds)
    print(f"  farm for {args.farm_seconds:.0f} s, {PRINTERS - IDLE} printers on long plates, {IDLE} cycling through "
          f"{args.print_seconds:.0f} s ±50 % plates: {farm['plates']} plates cleared ({farm['plates_per_second']:.0f}/s)")
    print(f"    idle gap bed clear → next start ({farm['gaps']} gaps)  median {farm['gap_ms_median']:7.1f} ms   "
          f"p95 {farm['gap_ms_p95']:7.1f} ms   (target median ≤ 1000 ms)")
    print(f"    process: {farm['cores']:.2f} cores busy, peak RSS {farm['peak_rss_mib']:.0f} MiB "
          f"(includes the fakes, finisher and operator)")
    services.db.dispose()


def postgres_problem(url: str) -> str | None:
    """Why the benchmark cannot use the PostgreSQL database at `url`, or None if it can connect."""
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as err:
        return f"--postgres {url!r} is not a usable SQLAlchemy URL ({err})"
    try:
        with engine.connect():
            return None
    except sa.exc.DBAPIError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig is not None else str(err)
        database = engine.url.database
        return (
            f"cannot connect to PostgreSQL {engine.url.render_as_string(hide_password=True)}: {reason}\n"
            f"The benchmark drops and recreates that database's public schema, so give it one of its own: "
            f"create it (createdb -h {engine.url.host or 'localhost'} -U {engine.url.username or 'postgres'} {database}), "
            "pass --postgres URL of a database it may wipe, or --postgres '' to run on SQLite only."
        )
    finally:
        engine.dispose()


def main() -> None:
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: max instances" while a pass runs
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test_5",
                        help="PostgreSQL URL whose schema is dropped and recreated ('' to skip)")
    parser.add_argument("--passes", type=int, default=15)
    parser.add_argument("--farm-seconds", type=float, default=90.0)
    parser.add_argument("--print-seconds", type=float, default=30.0)
    args = parser.parse_args()
    problem = postgres_problem(args.postgres) if args.postgres else None
    if problem:  # before the SQLite run, not after it
        parser.exit(2, f"bench/dispatch.py: {problem}\n")
    with tempfile.TemporaryDirectory(prefix="printfarm-bench-") as tmp:
        bench(f"sqlite:///{tmp}/bench.db", "SQLite", Path(tmp) / "sqlite", args)
        if args.postgres:
            bench(args.postgres, "PostgreSQL", Path(tmp) / "postgres", args)


if __name__ == "__main__":
    main()
