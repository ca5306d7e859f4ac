"""A server killed while its dispatcher hangs between claim and start, restarted: no plate lost or doubled."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from printfarm.sim import SimulatedFarm

from support.farm_run import MQTT_HOST, MQTT_PORT, Operator, ServeProcess, Witness, job_rows, seed_farm, wait_until

UNITS = 16  # four plates on three printers: one printer prints twice


@pytest.mark.parametrize("stall_at", ["after-claim", "after-start"])
def test_a_kill_between_claim_and_start_loses_and_doubles_nothing(database_url: str, tmp_path: Path, stall_at: str):
    prefix = f"pf-crash-{secrets.token_hex(4)}/"
    farm = SimulatedFarm(MQTT_HOST, MQTT_PORT, {"acme": 3}, time_scale=3600, topic_prefix=prefix, is_connected=True)
    with farm, Witness(MQTT_HOST, MQTT_PORT, f"{prefix}#") as witness:
        data_dir = tmp_path / "data"
        token = seed_farm(database_url, data_dir, farm, UNITS)

        doomed = ServeProcess(database_url, data_dir, token, "doomed", stall_at=stall_at).start()
        try:
            wait_until(f"the dispatcher to stall {stall_at}", lambda: f"stalling {stall_at}" in doomed.log(), 30)
        finally:
            doomed.kill()
        claimed = job_rows(database_url)
        assert len(claimed) == 3
        if stall_at == "after-claim":
            # Never sent. The doomed process's own start-up reconcile (MQTT connect) may have run after
            # the claim and settled some as never started; its start would then have moved nothing.
            never_started = ("failed", "reconciled: the printer never started this plate")
            assert all(state == "assigned" or (state, reason) == never_started for _, _, state, reason in claimed), claimed
            assert witness.starts() == []
        else:
            assert {state for _, _, state, _ in claimed} <= {"uploading", "printing", "finished"}
            wait_until("the three starts to be seen", lambda: len(witness.starts()) == 3, 10)

        survivor = ServeProcess(database_url, data_dir, token, "survivor").start()
        operator = Operator([survivor])
        operator.start()
        try:
            wait_until(
                f"{UNITS} good units", lambda: survivor.get("/api/stats/totals").json()["good_units"] >= UNITS, 90
            )
        finally:
            operator.stop()
            survivor.stop()

        jobs = job_rows(database_url)
        starts = witness.starts()
        started_ids = [job_id for _, job_id in starts]
        assert len(started_ids) == len(set(started_ids)), f"a plate started twice: {starts}"
        completed = [job_id for job_id, _, state, _ in jobs if state == "completed"]
        assert sorted(started_ids) == sorted(completed)  # every start became a counted plate, and only those
        assert len(completed) == UNITS // 4
        witness.check_one_plate_at_a_time()
        if stall_at == "after-claim":
            # the three claims were never sent: reconciliation put them back, new jobs printed them
            for job_id, _, state, reason in claimed:
                after = next(j for j in jobs if j[0] == job_id)
                assert after[2] == "failed" and after[3] == "reconciled: the printer never started this plate"
        else:
            # the three starts had reached the printers: the same jobs printed on, none was sent again
            assert {job_id for job_id, *_ in claimed} <= set(completed)
        assert operator.errors == []
