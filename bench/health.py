"""Benchmark: how soon printfarm shows a dead printer, how soon it settles the plate once the printer
is back, and what the health checks of a 10,000-printer fleet cost.

Part 1 (real parts): a real OctoPrint 1.11.8 (Virtual Printer) reporting through the real
OctoPrint-MQTT plugin to Mosquitto on 127.0.0.1:1883, printfarm's runtime over SQLite. A kill trial
waits for a plate to print, SIGKILLs the OctoPrint process, and times "killed → offline in the API";
then starts OctoPrint again on a fresh basedir (same port and key) and times "serving again → its
plate reconciled in the API". A partition trial cuts the printer's REST and MQTT paths (TCP proxies
of the test support) mid-print, times "cut → offline", lets the plate finish behind the cut, restores
the paths and times "restored → plate reconciled finished". Medians and p95 over the trials, beside
the intervals in force.
The OctoPrint launcher is the test support's (tests/support/octoprint_server.py): CI installs it.

Part 2 (fake printers, in process): 10,000 printers, a share of them offline, the health task and
the silent-printer poll run tick after tick on an injected clock; their CPU time per wall-clock
second of farm time is the figure (target ≤ 5 % of a core). The baseline, measured in the same run,
asks every printer each tick, as a poller without backoff would.

    python bench/health.py --trials 5
    python bench/health.py --skip-octoprint --fleet 10000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test support's real-OctoPrint launcher

from fastapi.testclient import TestClient  # noqa: E402

from printfarm.adapters.octoprint.fake import FakePrinterFleet  # noqa: E402
from printfarm.app import create_app  # noqa: E402
from printfarm.auth.rules import SYSTEM, Role  # noqa: E402
from printfarm.clock import FrozenClock  # noqa: E402
from printfarm.db.migrate import upgrade  # noqa: E402
from printfarm.db.tables import Printer, PrinterProfile, Site  # noqa: E402
from printfarm.demo.gcode import plate_gcode  # noqa: E402
from printfarm.printers.rules import ConnectionState  # noqa: E402
from printfarm.runtime import HEALTH_INTERVAL_SECONDS  # noqa: E402
from printfarm.settings import Settings  # noqa: E402
from printfarm.wiring import build_services  # noqa: E402

MOSQUITTO = "mqtt://127.0.0.1:1883"
#: Job states in which the plate is still (as far as printfarm knows) on its way.
SETTLING = ("printing", "paused", "uploading", "assigned")
#: About 30 s of printing on the Virtual Printer (G4 sleeps real time): a trial kills it mid-print.
GCODE = plate_gcode(units=2, layers=2, width_mm=40, depth_mm=30) + b"G4 P500\n" * 60


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def wait_for(what: str, predicate: Callable[[], Any], timeout_seconds: float, poll_seconds: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_seconds)
    raise SystemExit(f"bench/health.py: {what} did not happen within {timeout_seconds} s")


def load_average() -> str:
    return "%.2f" % os.getloadavg()[0]


# -- part 1: a real OctoPrint killed and restarted, or cut off by a partition ------------------------


@dataclass
class Farm:
    """One real OctoPrint registered in a running printfarm, with a batch waiting for its plates."""

    ok: Callable[..., Any]
    printer_id: int
    octoprint: Any  # support.octoprint_server.OctoPrintInstance, the one running now
    restart: Callable[[], Any]  # a fresh basedir on the same port and key
    stop: Callable[[], None]
    rest: Any | None  # TcpProxy in front of its REST API (partition trials)
    mqtt: Any | None  # TcpProxy in front of the broker, for its MQTT client

    def shown(self) -> dict[str, Any]:
        return dict(self.ok("GET", f"/api/printers/{self.printer_id}"))

    def printing_job(self) -> dict[str, Any]:
        return dict(wait_for("a plate printing",
                             lambda: (j := self.shown()["current_job"]) and j["state"] == "printing" and j, 90))

    def job_state(self, job_id: int) -> str:
        return str(self.ok("GET", f"/api/jobs/{job_id}")["state"])


@contextlib.contextmanager
def one_printer_farm(data_dir: Path, plates: int, *, via_proxies: bool) -> Iterator[Farm]:
    from support.octoprint_server import free_port, running_octoprint
    from support.tcp_proxy import TcpProxy

    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'bench.db'}", mqtt_url=MOSQUITTO,
                        mqtt_client_id=f"printfarm-bench-health-{secrets.token_hex(3)}", dispatch_interval_seconds=1.0)
    app = create_app(settings)
    services = app.state.services
    upgrade(services.db.engine)
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        admin, _ = services.tokens.create(session, SYSTEM, role=Role.ADMIN, name="bench")
    port, key, topic = free_port(), secrets.token_hex(16).upper(), f"bench-health/{secrets.token_hex(4)}/"
    with contextlib.ExitStack() as stack, contextlib.ExitStack() as octoprints, TestClient(app) as client:
        rest = stack.enter_context(TcpProxy("127.0.0.1", port)) if via_proxies else None
        mqtt = stack.enter_context(TcpProxy("127.0.0.1", 1883)) if via_proxies else None

        def start() -> Any:
            return octoprints.enter_context(running_octoprint(
                base_topic=topic, port=port, api_key=key, mqtt_port=mqtt.port if mqtt else 1883))

        def ok(method: str, path: str, **kwargs: Any) -> Any:
            response = client.request(method, path, headers={"Authorization": f"Bearer {admin}"}, **kwargs)
            if response.status_code >= 300:
                raise SystemExit(f"bench/health.py: {method} {path}: {response.status_code} {response.text}")
            return response.json()

        octoprint = start()
        site = ok("POST", "/api/sites", json={"name": "bench"})["id"]
        printer = ok("POST", "/api/printers", json={
            "site_id": site, "name": "virtual", "base_url": f"http://127.0.0.1:{rest.port}" if rest else octoprint.base_url,
            "api_key": key, "profile": "prusa-mk3s-0.4", "mqtt_base_topic": topic,
        })["id"]
        hospital = ok("POST", "/api/hospitals", json={"name": "bench"})["id"]
        part = ok("POST", "/api/parts", data={"name": "RC3 headband"})["id"]
        ok("POST", f"/api/parts/{part}/approve")
        ok("POST", f"/api/parts/{part}/print-files", data={"profile": "prusa-mk3s-0.4", "units_per_print": "2"},
           files={"gcode": ("rc3.gcode", GCODE, "text/plain")})
        ok("POST", "/api/batches", json={"part_id": part, "hospital_id": hospital, "quantity": 2 * plates})

        def restart() -> Any:
            octoprints.close()  # reap the dead process and its basedir
            return start()

        yield Farm(ok, printer, octoprint, restart, octoprints.close, rest, mqtt)


def summary(what: str, values: list[float], target: str) -> None:
    print(f"{what}: p50 {statistics.median(values):.2f} s, p95 {p95(values):.2f} s over {len(values)} trials ({target})")


def kill_trials(trials: int, data_dir: Path) -> None:
    """SIGKILL the OctoPrint mid-print, then start it again on a fresh basedir."""
    offline_seconds: list[float] = []
    reconciled_seconds: list[float] = []
    with one_printer_farm(data_dir, trials + 1, via_proxies=False) as farm:
        for trial in range(1, trials + 1):
            job = farm.printing_job()
            time.sleep(1.0)  # mid-print
            os.kill(farm.octoprint.pid, signal.SIGKILL)
            killed = time.monotonic()
            wait_for("offline in the API", lambda: farm.shown()["connection"] == "offline", 60)
            offline_seconds.append(time.monotonic() - killed)
            farm.octoprint = farm.restart()
            serving = time.monotonic()
            wait_for("the plate reconciled", lambda: farm.job_state(job["id"]) not in SETTLING, 120)
            reconciled_seconds.append(time.monotonic() - serving)
            print(f"  kill {trial}: offline shown {offline_seconds[-1]:.2f} s after the kill; plate "
                  f"{farm.job_state(job['id'])} {reconciled_seconds[-1]:.2f} s after OctoPrint served again "
                  f"(load {load_average()})")
            farm.ok("POST", f"/api/printers/{farm.printer_id}/clear-bed", json={"good_units": 0})
    summary("killed → offline in the API", offline_seconds, "target p95 ≤ 10 s")
    summary("served again → plate reconciled", reconciled_seconds, "target ≤ 5 s")


def partition_trials(trials: int, data_dir: Path) -> None:
    """Cut the printer's REST and MQTT paths mid-print; restore them once it finished behind the cut."""
    import requests

    offline_seconds: list[float] = []
    reconciled_seconds: list[float] = []
    with one_printer_farm(data_dir, trials + 1, via_proxies=True) as farm:
        assert farm.rest is not None and farm.mqtt is not None
        octoprint = farm.octoprint

        def finished_behind_the_cut() -> bool:
            response = requests.get(f"{octoprint.base_url}/api/job", headers={"X-Api-Key": octoprint.api_key},
                                    timeout=5)
            job = response.json()
            return bool(job["state"] == "Operational" and (job["progress"]["completion"] or 0) >= 100)

        for trial in range(1, trials + 1):
            job = farm.printing_job()
            time.sleep(1.0)
            farm.rest.cut()
            farm.mqtt.cut()
            cut = time.monotonic()
            wait_for("offline in the API", lambda: farm.shown()["connection"] == "offline", 60)
            offline_seconds.append(time.monotonic() - cut)
            wait_for("the plate finished behind the partition", finished_behind_the_cut, 120, poll_seconds=0.5)
            farm.rest.restore()
            farm.mqtt.restore()
            restored = time.monotonic()
            wait_for("the plate reconciled", lambda: farm.job_state(job["id"]) not in SETTLING, 120)
            reconciled_seconds.append(time.monotonic() - restored)
            print(f"  partition {trial}: offline shown {offline_seconds[-1]:.2f} s after the cut; plate "
                  f"{farm.job_state(job['id'])} {reconciled_seconds[-1]:.2f} s after the restore (load {load_average()})")
            farm.ok("POST", f"/api/printers/{farm.printer_id}/clear-bed", json={"good_units": 2})
    summary("cut → offline in the API", offline_seconds, "target p95 ≤ 10 s")
    summary("restored → plate reconciled", reconciled_seconds, "target ≤ 5 s")


def octoprint_trials(trials: int, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    print(f"intervals in force: printer_silence_seconds {settings.printer_silence_seconds:.0f}, "
          f"printer_lost_after_seconds {settings.printer_lost_after_seconds:.0f}, health task every "
          f"{HEALTH_INTERVAL_SECONDS:.0f} s; MQTT last will by the OctoPrint-MQTT plugin")
    (data_dir / "kill").mkdir()
    kill_trials(trials, data_dir / "kill")
    (data_dir / "partition").mkdir()
    partition_trials(trials, data_dir / "partition")


# -- part 2: the health checks of a large fleet ------------------------------------------------------


def fleet_cost(printers: int, offline_share: float, ticks: int, data_dir: Path) -> None:
    clock = FrozenClock(dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC))
    fleet = FakePrinterFleet()
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'fleet.db'}")
    services = build_services(settings, clock=clock, printer_clients=fleet)
    upgrade(services.db.engine)
    key = services.printers._secrets.encrypt("bench-key")  # one key for all: the bench never shows it
    offline_every = max(1, round(1 / offline_share)) if offline_share else printers + 1
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        profile = session.scalar(sa.select(PrinterProfile.id).limit(1))
        session.execute(sa.insert(Site), [{"id": 1, "name": "fleet", "is_paused": False, "auto_accept_qc": False,
                                           "timezone": "UTC", "created_at": clock.now()}])
        rows = []
        for i in range(1, printers + 1):
            url = f"http://fleet-{i}.printers.invalid"
            is_offline = i % offline_every == 0
            rows.append({
                "id": i, "site_id": 1, "profile_id": profile, "name": f"printer-{i}", "base_url": url,
                "api_key_encrypted": key, "mqtt_base_topic": f"fleet/{i}/", "loaded_material": "PLA",
                "is_enabled": True, "is_bed_clear": True,
                "connection": ConnectionState.OFFLINE if is_offline else ConnectionState.ONLINE,
                "consecutive_failures": 0, "offline_checks": 0, "created_at": clock.now(),
                "last_seen_at": clock.now(),
            })
            if not is_offline:
                fleet.add(url, "bench-key", is_connected=True)  # the offline ones stay unreachable
        session.execute(sa.insert(Printer), rows)
    silence = settings.printer_silence_seconds
    offline = sum(1 for r in rows if r["connection"] is ConnectionState.OFFLINE)

    def ours() -> None:
        services.health.check_printers()
        services.tracking.poll_silent_printers(silence)

    def every_printer() -> None:
        with services.db.unit_of_work() as session:
            clients = [services.printers.client_for(p) for p in session.scalars(sa.select(Printer))]
        for client in clients:
            with contextlib.suppress(Exception):
                client.check()

    figures: dict[str, list[float]] = {"printfarm": [], "every printer each tick": []}
    for _ in range(ticks):  # alternated, so both meet the same machine
        for name, work in (("printfarm", ours), ("every printer each tick", every_printer)):
            clock.advance(HEALTH_INTERVAL_SECONDS)
            began = time.process_time()
            work()
            figures[name].append(time.process_time() - began)
    print(f"fleet of {printers:,} printers, {offline:,} offline, a health tick every {HEALTH_INTERVAL_SECONDS:.0f} s "
          f"(SQLite, fake printers answering at once), {ticks} ticks each, load {load_average()}:")
    ours_share = statistics.median(figures["printfarm"]) / HEALTH_INTERVAL_SECONDS
    naive_share = statistics.median(figures["every printer each tick"]) / HEALTH_INTERVAL_SECONDS
    for name, values in figures.items():
        share = statistics.median(values) / HEALTH_INTERVAL_SECONDS
        print(f"  {name:<24} {statistics.median(values) * 1000:8.1f} ms CPU a tick (p95 {p95(values) * 1000:.1f}) "
              f"= {share * 100:6.2f} % of a core")
    print(f"  ratio baseline / printfarm: {naive_share / ours_share:.1f}× (target: printfarm ≤ 5 % of a core)")
    services.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5, help="kill-and-restart trials of the real OctoPrint")
    parser.add_argument("--skip-octoprint", action="store_true", help="part 2 only")
    parser.add_argument("--fleet", type=int, default=10_000, help="printers in part 2")
    parser.add_argument("--offline-share", type=float, default=0.02, help="share of the fleet offline in part 2")
    parser.add_argument("--ticks", type=int, default=8, help="health ticks measured in part 2")
    args = parser.parse_args()
    print(f"bench/health.py, load average {load_average()} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="printfarm-bench-health-") as tmp:
        if not args.skip_octoprint:
            (Path(tmp) / "octoprint").mkdir()
            octoprint_trials(args.trials, Path(tmp) / "octoprint")
        (Path(tmp) / "fleet").mkdir()
        fleet_cost(args.fleet, args.offline_share, args.ticks, Path(tmp) / "fleet")


if __name__ == "__main__":
    main()
