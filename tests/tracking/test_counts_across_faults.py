"""Every PrintDone counted exactly once: simulated printers, a real Mosquitto, faults in between.

The broker is restarted in the middle of a run, printfarm is killed with SIGKILL and started again,
two replicas share the ingest: in each case the plates the simulated printers finished, the QC
records and the good units agree exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient
from support.mosquitto_server import MosquittoServer, free_port
from tracking.farm_support import UNITS_PER_PLATE, Ledger, operate_until, seed, start_farm

from printfarm.app import create_app
from printfarm.services import Services
from printfarm.settings import Settings

pytestmark = pytest.mark.slow

#: One Fernet key for every replica and restart: they read each other's encrypted printer API keys.
SECRET_KEY = "cHJpbnRmYXJtLWlzc3VlNi10ZXN0cy1rZXktMzJieXQ="


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(database_url)
    yield ledger
    ledger.close()


def settings_for(database_url: str, data_dir: Path, port: int, **extra: object) -> Settings:
    return Settings(
        data_dir=data_dir, database_url=database_url, mqtt_url=f"mqtt://127.0.0.1:{port}",
        mqtt_client_id=f"pf-test-{uuid.uuid4().hex[:10]}", dispatch_interval_seconds=0.3,
        printer_silence_seconds=2.0, log_level="INFO", secret_key=SECRET_KEY, **extra,  # type: ignore[arg-type]
    )


def assert_counted_exactly_once(
    ledger: Ledger, printed: list[str], plates: int, *, unstarted_claims_may_fail: bool = False
) -> None:
    """Every printed plate is one completed job and one output; nothing else completed.

    With unstarted_claims_may_fail (a kill mid-run), a plate claimed but not yet sent when the
    process died is settled on restart as failed "never started" and its units are re-queued:
    that is crash safety working, provided the printer never printed that file.
    """
    outputs = ledger.outputs()
    assert len(printed) == plates, f"the farm printed {len(printed)} plates for a batch of {plates}"
    assert len(set(printed)) == len(printed), "a simulated printer finished one file twice"
    assert ledger.completed_files() == sorted(printed), "completed jobs are exactly the plates printed"
    assert len(outputs) == plates
    assert sum(good for _, good, _ in outputs) == plates * UNITS_PER_PLATE
    if not unstarted_claims_may_fail:
        assert ledger.job_states() == {"completed": plates}
        return
    assert ledger.job_states()["completed"] == plates
    for state, name, reason in ledger.other_jobs():
        assert state == "failed" and reason is not None and reason.startswith("reconciled:"), (state, name, reason)
        assert name not in printed, f"{name} was printed yet its job is {state}"


def test_a_broker_restart_mid_run_loses_and_doubles_no_plate(
    database_url: str, tmp_path: Path, mosquitto_server: MosquittoServer, ledger: Ledger
) -> None:
    plates = 16
    settings = settings_for(database_url, tmp_path / "pf", mosquitto_server.port)
    farm, printed = start_farm(mosquitto_server.port, 3, f"pft/{uuid.uuid4().hex[:8]}/")
    try:
        with TestClient(create_app(settings)) as client:
            services: Services = client.app.state.services  # type: ignore[attr-defined]
            ids = seed(services, farm, plates)

            def clear_bed(printer_id: int, units: int) -> None:
                token = ids[f"token_{ids['printers'][printer_id]}"]
                response = client.post(f"/api/printers/{printer_id}/clear-bed", json={"good_units": units},
                                       headers={"Authorization": f"Bearer {token}"})
                assert response.status_code in (200, 409), response.text  # 409: cleared by a replay

            operate_until(ledger, clear_bed, lambda: len(printed) >= 5, 60, "5 plates before the restart")
            mosquitto_server.stop()
            time.sleep(1.5)  # printers finish plates while the broker is away; their PrintDone is lost
            mosquitto_server.start()
            before = len(printed)
            operate_until(ledger, clear_bed, lambda: len(ledger.outputs()) >= plates, 120, f"{plates} plates counted")
            time.sleep(1.0)  # late or replayed messages would double a count now
            operate_until(ledger, clear_bed, lambda: not ledger.finished_plates(), 10, "the last beds cleared")
            stats = services.tracking.stats_snapshot()
    finally:
        farm.stop()

    assert 5 <= before < plates, "the restart happened in the middle of the run"
    assert_counted_exactly_once(ledger, printed.names, plates)
    assert stats["batches_failed"] == 0


def _serve(database_url: str, data_dir: Path, mqtt_port: int, http_port: int, client_id: str) -> subprocess.Popen[str]:
    env = {
        **os.environ, "PRINTFARM_DATABASE_URL": database_url, "PRINTFARM_DATA_DIR": str(data_dir),
        "PRINTFARM_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}", "PRINTFARM_MQTT_CLIENT_ID": client_id,
        "PRINTFARM_HTTP_PORT": str(http_port), "PRINTFARM_DISPATCH_INTERVAL_SECONDS": "0.3",
        "PRINTFARM_PRINTER_SILENCE_SECONDS": "2", "PRINTFARM_LOG_LEVEL": "INFO", "PRINTFARM_SECRET_KEY": SECRET_KEY,
    }
    with (data_dir / "serve.log").open("a") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "printfarm", "serve"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, text=True)


def _wait_http(port: int, process: subprocess.Popen[str], log_file: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log_file.read_text()
        try:
            requests.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"printfarm serve did not answer in 60 s: {log_file.read_text()}")


def test_printfarm_killed_mid_stream_and_restarted_counts_every_plate_once(
    database_url: str, tmp_path: Path, mosquitto_server: MosquittoServer, ledger: Ledger
) -> None:
    plates = 16
    data_dir = tmp_path / "pf"
    data_dir.mkdir()
    http_port, client_id = free_port(), f"pf-kill-{uuid.uuid4().hex[:8]}"
    # seed through the services of the test's own (no runtime); the served process does the rest
    seeding = create_app(settings_for(database_url, data_dir, mosquitto_server.port), run_background=False)
    farm, printed = start_farm(mosquitto_server.port, 3, f"pft/{uuid.uuid4().hex[:8]}/")
    served: subprocess.Popen[str] | None = None
    try:
        ids = seed(seeding.state.services, farm, plates)
        seeding.state.services.db.dispose()

        def clear_bed(printer_id: int, units: int) -> None:
            token = ids[f"token_{ids['printers'][printer_id]}"]
            try:
                response = requests.post(
                    f"http://127.0.0.1:{http_port}/api/printers/{printer_id}/clear-bed", json={"good_units": units},
                    headers={"Authorization": f"Bearer {token}"}, timeout=10,
                )
            except requests.ConnectionError:
                return  # printfarm is down: the operator tries again in a moment
            assert response.status_code in (200, 409), response.text

        served = _serve(database_url, data_dir, mosquitto_server.port, http_port, client_id)
        _wait_http(http_port, served, data_dir / "serve.log")
        operate_until(ledger, clear_bed, lambda: len(ledger.outputs()) >= 4, 60, "4 plates before the kill")
        served.send_signal(signal.SIGKILL)
        served.wait(10)
        killed_at = len(printed)
        time.sleep(2.0)  # plates finish while printfarm is dead: the broker queues their messages
        served = _serve(database_url, data_dir, mosquitto_server.port, http_port, client_id)
        _wait_http(http_port, served, data_dir / "serve.log")
        operate_until(ledger, clear_bed, lambda: len(ledger.outputs()) >= plates, 120, f"{plates} plates counted")
        time.sleep(1.0)
        operate_until(ledger, clear_bed, lambda: not ledger.finished_plates(), 10, "the last beds cleared")
    finally:
        farm.stop()
        if served is not None and served.poll() is None:
            served.terminate()
            served.wait(20)

    assert 4 <= killed_at < plates, "the kill happened in the middle of the run"
    assert_counted_exactly_once(ledger, printed.names, plates, unstarted_claims_may_fail=True)


# Replicas share a PostgreSQL database (DESIGN.md); SQLite is for one process, so only PostgreSQL runs.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_replicas_sharing_the_ingest_count_every_plate_once(
    database_url: str, tmp_path: Path, mosquitto_server: MosquittoServer, ledger: Ledger
) -> None:
    plates = 16
    farm, printed = start_farm(mosquitto_server.port, 3, f"pft/{uuid.uuid4().hex[:8]}/")
    try:
        apps = [
            # one data directory: replicas share the file store (G-code) as they share the database
            create_app(settings_for(database_url, tmp_path / "pf", mosquitto_server.port, mqtt_shared_group="printfarm"))
            for _ in range(2)
        ]
        with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
            services = [app.state.services for app in apps]
            ids = seed(services[0], farm, plates)
            clients = [first, second]

            def clear_bed(printer_id: int, units: int) -> None:
                token = ids[f"token_{ids['printers'][printer_id]}"]
                response = clients[printer_id % 2].post(
                    f"/api/printers/{printer_id}/clear-bed", json={"good_units": units},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code in (200, 409), response.text

            operate_until(ledger, clear_bed, lambda: len(ledger.outputs()) >= plates, 120, f"{plates} plates counted")
            time.sleep(1.0)
            operate_until(ledger, clear_bed, lambda: not ledger.finished_plates(), 10, "the last beds cleared")
            stats = [s.tracking.stats_snapshot() for s in services]
    finally:
        farm.stop()

    assert all(s["applied"] > 0 for s in stats), f"both replicas ingested: {stats}"
    assert_counted_exactly_once(ledger, printed.names, plates)
