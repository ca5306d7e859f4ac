"""Server time of the overview and printers pages with 500 sites, 10,000 printers and 1,000,000 jobs.

    .venv/bin/python bench/dashboard.py [--jobs 1000000] [--requests 60] [--postgres URL] [--only sqlite|postgresql]

Rows are bulk-inserted with SQL (INSERT ... SELECT over a generated sequence), not through the API;
the dashboard rollups are then rebuilt from the Output rows as the migration does. Each page is
requested through the ASGI app (TestClient, no network) signed in as a viewer, with the start-up
objects frozen out of garbage collection as `printfarm serve` freezes them; the figures are the
server's time per request (p50, p95), this process's CPU time per request (client and server side,
not PostgreSQL's: a figure the load of a shared machine moves far less) and the load average.
The baseline, timed in the same run, is what the old /api/dashboard did on every poll: sum every
Output row per site, list every batch with progress and every printer with its job.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.cli import freeze_startup_objects
from printfarm.db.migrate import upgrade
from printfarm.db.session import make_engine
from printfarm.output.repository import rebuild_rollups
from printfarm.metrics.service import PRINTERS_PER_PAGE
from printfarm.settings import Settings

SITES, PRINTERS_PER_SITE, BATCHES, HOSPITALS, DAYS = 500, 20, 2_000, 50, 90
OPEN_BATCHES = 40  # the newest batches are still in production
NOW = "2026-11-27 12:00:00"


def _seq(dialect: str, count: int) -> str:
    """A subquery of rows n = 1..count."""
    if dialect == "postgresql":
        return f"(SELECT generate_series(CAST(1 AS BIGINT), {count}) AS n) AS seq"
    return f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) SELECT n FROM s) AS seq"


def _at(dialect: str, minutes_before: str) -> str:
    """A timestamp `minutes_before` minutes before NOW, as each database stores UtcDateTime."""
    if dialect == "postgresql":
        return f"(TIMESTAMPTZ '{NOW}+00' - ({minutes_before}) * INTERVAL '1 minute')"
    return f"strftime('%Y-%m-%d %H:%M:%f000', '{NOW}', (-({minutes_before})) || ' minutes')"


def _day(dialect: str) -> str:
    """The UTC day of the job's QC record."""
    if dialect == "postgresql":
        return "CAST(j.completed_at AT TIME ZONE 'UTC' AS DATE)"
    return "date(j.completed_at)"


def load(engine: sa.Engine, jobs: int) -> None:
    """The fleet, the history and the queue, in a few INSERT ... SELECT statements."""
    d = engine.dialect.name
    printers = SITES * PRINTERS_PER_SITE
    span = DAYS * 24 * 60  # minutes of history
    done_jobs = jobs - printers  # every printer holds one active job; the rest are history
    statements = [
        f"INSERT INTO sites (id, name, city, is_paused, auto_accept_qc, created_at) "
        f"SELECT n, 'site-' || n, 'city-' || (n % 40), false, false, {_at(d, str(span))} FROM {_seq(d, SITES)}",
        f"INSERT INTO printer_profiles (id, name, printer_model, nozzle_mm, build_x_mm, build_y_mm, build_z_mm) "
        f"VALUES (1, 'prusa-mk3s-0.4', 'MK3S', 0.4, 250, 210, 210)",
        f"INSERT INTO printers (id, site_id, profile_id, name, base_url, api_key_encrypted, mqtt_base_topic, loaded_material,"
        f" is_enabled, is_bed_clear, connection, tool_temp_c, bed_temp_c, consecutive_failures, offline_checks, created_at) "
        f"SELECT n, (n - 1) / {PRINTERS_PER_SITE} + 1, 1, 'printer-' || n, 'http://printer-' || n || '.invalid',"
        f" {'CAST(' if d == 'postgresql' else ''}'x'{' AS BYTEA)' if d == 'postgresql' else ''}, 'pf/' || n || '/', 'PLA',"
        f" true, n % 7 <> 0, CASE WHEN n % 50 = 0 THEN 'offline' ELSE 'online' END, 215.0, 60.0, 0, 0, {_at(d, str(span))}"
        f" FROM {_seq(d, printers)}",
        f"INSERT INTO parts (id, name, is_approved, created_at) VALUES (1, 'RC3 headband', true, {_at(d, str(span))})",
        f"INSERT INTO print_files (id, part_id, profile_id, sha256, filename, size_bytes, units_per_print, material, analysis,"
        f" created_at) VALUES (1, 1, 1, 'x', 'rc3.gcode', 1000, 4, 'PLA', '{{\"estimated_seconds\": 7200}}',"
        f" {_at(d, str(span))})",
        f"INSERT INTO hospitals (id, name, created_at) SELECT n, 'hospital-' || n, {_at(d, str(span))} FROM {_seq(d, HOSPITALS)}",
        f"INSERT INTO batches (id, part_id, hospital_id, quantity, priority, is_cancelled, created_at) "
        f"SELECT n, 1, n % {HOSPITALS} + 1, CASE WHEN n > {BATCHES - OPEN_BATCHES} THEN 400000 ELSE 2000 END, n % 5,"
        f" n % 97 = 0, {_at(d, f'{span} - n * {span // BATCHES}')} FROM {_seq(d, BATCHES)}",
        # History: jobs spread over the 90 days and every printer, 95 % completed, the rest failed.
        f"INSERT INTO print_jobs (id, batch_id, printer_id, print_file_id, units_per_print, state, progress_percent,"
        f" remote_filename, good_units, rejected_units, created_at, started_at, finished_at, completed_at, updated_at) "
        f"SELECT n, (n - 1) * {BATCHES} / {done_jobs} + 1, (n * 7919) % {printers} + 1, 1, 4,"
        f" CASE WHEN n % 20 = 0 THEN 'failed' ELSE 'completed' END, 100, 'pf-' || n || '-rc3.gcode',"
        f" CASE WHEN n % 20 = 0 THEN NULL WHEN n % 13 = 0 THEN 3 ELSE 4 END,"
        f" CASE WHEN n % 20 = 0 THEN NULL WHEN n % 13 = 0 THEN 1 ELSE 0 END,"
        f" {_at(d, f'{span} - n * {span} / {done_jobs}')}, {_at(d, f'{span} - n * {span} / {done_jobs}')},"
        f" {_at(d, f'{span} - n * {span} / {done_jobs} - 120')}, {_at(d, f'{span} - n * {span} / {done_jobs} - 130')},"
        f" {_at(d, f'{span} - n * {span} / {done_jobs} - 130')} FROM {_seq(d, done_jobs)}",
        f"INSERT INTO outputs (job_id, site_id, printer_id, part_id, batch_id, day, good_units, rejected_units, recorded_at) "
        f"SELECT j.id, p.site_id, j.printer_id, 1, j.batch_id, {_day(d)},"
        f" j.good_units, j.rejected_units, j.completed_at FROM print_jobs j JOIN printers p ON p.id = j.printer_id"
        f" WHERE j.state = 'completed'",
        # Now: one active job per printer on the open batches (printing, a few finished and waiting for QC).
        f"INSERT INTO print_jobs (id, batch_id, printer_id, print_file_id, units_per_print, state, progress_percent,"
        f" remote_filename, created_at, started_at, updated_at) "
        f"SELECT {done_jobs} + n, {BATCHES - OPEN_BATCHES} + n % {OPEN_BATCHES} + 1, n, 1, 4,"
        f" CASE WHEN n % 7 = 0 THEN 'finished' ELSE 'printing' END, CASE WHEN n % 7 = 0 THEN 100 ELSE n % 100 END,"
        f" 'pf-' || ({done_jobs} + n) || '-rc3.gcode', {_at(d, 'n % 100')}, {_at(d, 'n % 100')}, {_at(d, '0')}"
        f" FROM {_seq(d, printers)}",
        "UPDATE printers SET is_bed_clear = false WHERE id % 7 = 0",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
        if d == "postgresql":
            for table in ("sites", "printers", "batches", "hospitals", "print_jobs", "outputs", "parts", "print_files", "printer_profiles"):
                connection.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        rebuild_rollups(session)
    # Statistics and, on PostgreSQL, the visibility map, as autovacuum leaves them after a bulk load:
    # without VACUUM every index-only scan of the fresh rows would still visit the table.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE" if d == "postgresql" else "ANALYZE"))


def timings(call: Callable[[], object], requests: int, warmup: int = 3) -> tuple[list[float], float]:
    """Wall milliseconds of each call, and this process's CPU milliseconds per call (all its threads)."""
    for _ in range(warmup):
        call()
    result = []
    cpu_started = time.process_time()
    for _ in range(requests):
        started = time.perf_counter()
        call()
        result.append((time.perf_counter() - started) * 1000)
    return result, (time.process_time() - cpu_started) * 1000 / requests


def report(label: str, values: list[float], cpu_ms: float, baseline_ms: float | None = None) -> None:
    median = statistics.median(values)
    faster = f"({baseline_ms / median:5.0f}x faster than baseline)" if baseline_ms else ""
    print(f"  {label:48} p50 {median:8.1f} ms  p95 {p95(values):8.1f} ms  cpu {cpu_ms:6.1f} ms  {faster:29}"
          f"  load {os.getloadavg()[0]:.1f}")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def run(url: str, data_dir: Path, jobs: int, requests: int) -> None:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    upgrade(engine)
    started = time.perf_counter()
    load(engine, jobs)
    with engine.connect() as connection:
        counts = {t: connection.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in ("sites", "printers", "print_jobs", "outputs")}
    engine.dispose()
    print(f"\n{engine.dialect.name}: loaded {counts} in {time.perf_counter() - started:.0f} s")

    app = create_app(Settings(data_dir=data_dir, database_url=url), run_background=False)
    services = app.state.services
    with services.db.unit_of_work() as session:
        token, _ = services.tokens.create(session, SYSTEM, role=Role.VIEWER, name="bench")
    freeze_startup_objects()  # as `printfarm serve` does before it listens
    client = TestClient(app)
    client.cookies.set("printfarm_token", token)
    with services.db.unit_of_work() as session:  # page 99's last printer and page 100's first, as the pager's links carry them
        edge = "SELECT id FROM printers ORDER BY site_id, name LIMIT 1 OFFSET :n"
        after = session.scalar(sa.text(edge), {"n": 99 * PRINTERS_PER_PAGE - 1})
        before = session.scalar(sa.text(edge), {"n": 99 * PRINTERS_PER_PAGE})

    def page(path: str) -> Callable[[], object]:
        def get() -> object:
            response = client.get(path, headers={"X-Fragment": "1"})
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            return response

        return get

    def old_dashboard() -> object:
        with services.db.unit_of_work() as session:
            printers = services.printers.list(session, SYSTEM)
            # /api/stats/* read the rollups now; the old dashboard summed every Output row, as here.
            return (
                session.execute(sa.text("SELECT sum(good_units), sum(rejected_units) FROM outputs")).all(),
                session.execute(sa.text("SELECT site_id, sum(good_units), sum(rejected_units) FROM outputs GROUP BY site_id")).all(),
                services.batches.list(session, SYSTEM), services.printers.read_models(session, printers),
            )

    baseline, cpu = timings(old_dashboard, 3, warmup=1)
    base = statistics.median(baseline)
    report("baseline: old /api/dashboard (sums every row)", baseline, cpu)
    for label, path in (
        ("overview page", "/"),
        ("printers page, all sites", "/printers?site="),
        ("printers page, one site", "/printers?site=250"),
        ("printers page, needs attention", "/printers?site=&attention=true"),
        ("printers page 100 of 209", "/printers?site=&page=100"),
        ("printers page 100, by the next link of page 99", f"/printers?site=&page=100&after={after}"),
        ("printers page 99, by the previous link of 100", f"/printers?site=&page=99&before={before}"),
        ("sites page (500 rows)", "/sites"),
        ("batches page", "/batches"),
        ("hospitals page", "/hospitals"),
        ("/api/dashboard (JSON)", "/api/dashboard"),
    ):
        report(label, *timings(page(path), requests), base)
    metrics = timings(lambda: client.get("/metrics", headers={"Authorization": f"Bearer {token}"}), max(5, requests // 6))
    report("/metrics (jobs by state, units per site)", *metrics)
    client.close()
    services.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test_8",
                        help="a database this benchmark may empty (its public schema is dropped)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    if args.jobs < SITES * PRINTERS_PER_SITE * 2:
        parser.error(f"--jobs must be at least {SITES * PRINTERS_PER_SITE * 2}")
    print(f"{SITES} sites, {SITES * PRINTERS_PER_SITE} printers, {args.jobs} jobs, {BATCHES} batches; "
          f"{args.requests} requests per page; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="printfarm-bench-") as tmp:
        if args.only in (None, "sqlite"):
            run(f"sqlite:///{tmp}/bench.db", Path(tmp) / "sqlite", args.jobs, args.requests)
        if args.only in (None, "postgresql"):
            run(args.postgres, Path(tmp) / "pg", args.jobs, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
