"""Two `printfarm serve` replicas on one PostgreSQL and one Mosquitto, 200 simulated printers, 2,000 units.

No plate started twice, no printer given two plates at once, good units exact. The witness is an
MQTT subscriber of the test's own, so the printers' word is checked, not printfarm's.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from printfarm.db.base import Base
from printfarm.db.session import make_engine
from printfarm.sim import SimulatedFarm
from support.farm_run import MQTT_HOST, MQTT_PORT, Operator, ServeProcess, Witness, job_rows, seed_farm, wait_until

SITES, PRINTERS_PER_SITE = 10, 20
UNITS = 2_000
PLATES = UNITS // 4


@pytest.fixture
def postgres_url(postgres_migrated: str) -> Iterator[str]:
    engine = make_engine(postgres_migrated)
    with engine.begin() as connection:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield postgres_migrated


def test_two_replicas_print_2000_units_on_200_printers_exactly_once(postgres_url: str, tmp_path: Path):
    prefix = f"pf-replicas-{secrets.token_hex(4)}/"
    farm = SimulatedFarm(
        MQTT_HOST, MQTT_PORT, {f"site-{i}": PRINTERS_PER_SITE for i in range(1, SITES + 1)},
        time_scale=3600, topic_prefix=prefix, is_connected=True, fail_probability=0.02, seed=5,
    )
    with farm, Witness(MQTT_HOST, MQTT_PORT, f"{prefix}+/+/event/#") as witness:
        data_dir = tmp_path / "data"
        token = seed_farm(postgres_url, data_dir, farm, UNITS)
        replicas = [ServeProcess(postgres_url, data_dir, token, f"replica-{i}") for i in (1, 2)]
        operator = Operator(replicas)
        try:
            for replica in replicas:
                replica.start()
            operator.start()
            began = time.monotonic()
            wait_until(
                f"{UNITS} good units",
                lambda: replicas[0].get("/api/stats/totals").json()["good_units"] >= UNITS, 300, poll_seconds=1,
            )
            elapsed = time.monotonic() - began
            # nothing else runs or waits once the batch is met
            wait_until("the farm to fall idle", lambda: not any(
                state in ("assigned", "uploading", "printing", "paused", "finished")
                for _, _, state, _ in job_rows(postgres_url)
            ), 60)
        finally:
            operator.stop()
            for replica in replicas:
                replica.stop()

        jobs = job_rows(postgres_url)  # the replicas are stopped: the database is read directly
        completed = [job_id for job_id, _, state, _ in jobs if state == "completed"]
        starts = witness.starts()
        started_ids = [job_id for _, job_id in starts]
        assert len(started_ids) == len(set(started_ids)), "a plate was started twice"
        witness.check_one_plate_at_a_time()
        assert len(completed) == PLATES
        failed_on_printer = {job_id for job_id, _, state, _ in jobs if state == "failed"}
        assert set(started_ids) == set(completed) | (failed_on_printer & set(started_ids))
        engine = make_engine(postgres_url)
        with engine.connect() as connection:
            good = connection.execute(sa.text("SELECT COALESCE(SUM(good_units), 0) FROM outputs")).scalar_one()
            per_printer = connection.execute(sa.text(
                "SELECT COUNT(*) FROM (SELECT printer_id FROM print_jobs WHERE state IN "
                "('assigned','uploading','printing','paused','finished') GROUP BY printer_id HAVING COUNT(*) > 1) x"
            )).scalar_one()
        engine.dispose()
        assert good == UNITS
        assert per_printer == 0
        for replica in replicas:  # both replicas did dispatch work
            assert "dispatch claimed" in replica.log(), replica.name
        assert operator.errors == []
        print(f"\n{UNITS} units, {PLATES} plates, {len(starts)} starts ({len(starts) - PLATES} failed prints) "
              f"on {SITES * PRINTERS_PER_SITE} printers by 2 replicas in {elapsed:.1f} s")
