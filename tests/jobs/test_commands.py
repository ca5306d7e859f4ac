"""Commands on plates, printers and sites: cancel, pause, resume, maintenance, drain, dispatch settings.

Each through the API with its audit event, each refusal leaving state unchanged, and through the CLI.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from printfarm.cli import _register_optional_commands, app
from support.world import World, seed


def jobs_of(world: World, key: str) -> list[dict]:
    return world.ok("admin", "GET", "/api/jobs", params={"printer_id": world.ids[key]})


def audit(world: World, action: str) -> list[dict]:
    return [e for e in world.ok("admin", "GET", "/api/audit", params={"limit": 500}) if e["action"] == action]


def device(world: World, site: str, name: str = "mk3-1"):
    return world.fleet.printers[f"http://{site}-{name}.printers.invalid"]


def finish_and_clear(world: World, key: str, site: str, name: str = "mk3-1") -> None:
    [job] = [j for j in jobs_of(world, key) if j["state"] == "printing"]
    device(world, site, name).finish_print()
    done = {"name": job["remote_filename"], "path": job["remote_filename"], "origin": "local", "_timestamp": 1}
    world.publish(world.ids[key], "event/PrintDone", done)
    world.ok(f"operator_{site}", "POST", f"/api/printers/{world.ids[key]}/clear-bed",
             json={"good_units": job["units_per_print"], "rejected_units": 0})


def test_cancel_pause_resume_a_plate_with_audit_events(new_world):
    world = seed(new_world())
    world.dispatch()
    [job] = jobs_of(world, "acme/mk3-1")
    path = f"/api/jobs/{job['id']}"

    assert world.ok("operator_acme", "POST", f"{path}/pause")["state"] == "paused"
    assert device(world, "acme").state_text == "Paused"
    assert world.ok("operator_acme", "POST", f"{path}/resume")["state"] == "printing"
    assert device(world, "acme").state_text == "Printing"
    cancelled = world.ok("operator_acme", "POST", f"{path}/cancel")
    assert cancelled["state"] == "cancelled" and cancelled["failure_reason"].startswith("cancelled by")
    assert device(world, "acme").state_text == "Operational"
    assert [e["object_id"] for e in audit(world, "job.pause")] == [job["id"]]
    assert [e["object_id"] for e in audit(world, "job.resume")] == [job["id"]]
    assert [e["detail"]["was"] for e in audit(world, "job.cancel")] == ["printing"]
    # the cancelled plate's units are back in the queue; the bed must be cleared before the next plate
    assert world.ok("admin", "GET", f"/api/batches/{world.ids['batch']}")["in_production_units"] == 4
    assert world.dispatch().claimed == 0
    world.ok("operator_acme", "POST", f"/api/printers/{world.ids['acme/mk3-1']}/clear-bed", json={"good_units": 0})
    assert world.dispatch().started == 1


def test_an_operator_cannot_command_another_sites_plate_and_nothing_changes(new_world):
    world = seed(new_world())
    world.dispatch()
    [job] = jobs_of(world, "uni/mk3-1")
    for command in ("pause", "cancel"):
        response = world.call("operator_acme", "POST", f"/api/jobs/{job['id']}/{command}")
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"
    assert jobs_of(world, "uni/mk3-1")[0]["state"] == "printing"
    assert device(world, "uni").state_text == "Printing"
    assert audit(world, "job.cancel") == [] and audit(world, "job.pause") == []


def test_resuming_a_printing_plate_is_a_conflict(new_world):
    world = seed(new_world())
    world.dispatch()
    [job] = jobs_of(world, "acme/mk3-1")
    response = world.call("operator_acme", "POST", f"/api/jobs/{job['id']}/resume")
    assert response.status_code == 409 and response.json()["error"] == "InvalidTransition"


def test_maintenance_finishes_the_plate_and_gives_the_printer_no_new_one(new_world):
    world = seed(new_world(), units=40)
    world.dispatch()
    printer_id = world.ids["acme/mk3-1"]
    body = {"is_enabled": False, "disabled_reason": "nozzle swap"}
    assert world.ok("operator_acme", "PATCH", f"/api/printers/{printer_id}", json=body)["is_enabled"] is False
    assert jobs_of(world, "acme/mk3-1")[0]["state"] == "printing"  # the plate on it carries on
    finish_and_clear(world, "acme/mk3-1", "acme")
    world.dispatch()
    assert [j["state"] for j in jobs_of(world, "acme/mk3-1")] == ["completed"]
    [event] = audit(world, "printer.update")
    assert event["object_id"] == printer_id and event["detail"] == body
    world.ok("operator_acme", "PATCH", f"/api/printers/{printer_id}", json={"is_enabled": True})
    assert world.dispatch().started == 1


def test_a_drained_site_finishes_its_plates_and_starts_no_new_ones(new_world):
    world = seed(new_world(), units=40)
    world.dispatch()
    site = world.ids["acme"]
    assert world.ok("operator_acme", "POST", f"/api/sites/{site}/drain")["is_paused"] is True
    finish_and_clear(world, "acme/mk3-1", "acme")
    finish_and_clear(world, "uni/mk3-1", "uni")
    assert world.dispatch().started == 1
    assert [j["state"] for j in jobs_of(world, "acme/mk3-1")] == ["completed"]
    assert len(audit(world, "site.drain")) == 1
    assert world.call("operator_uni", "POST", f"/api/sites/{site}/resume").status_code == 403
    world.ok("operator_acme", "POST", f"/api/sites/{site}/resume")
    assert world.dispatch().started == 1


# -- dispatch settings of a site --------------------------------------------------------------------


def test_site_dispatch_settings_steer_dispatch(new_world):
    world = seed(new_world(), units=40)
    site = world.ids["acme"]
    other_part = world.ok("coordinator", "POST", "/api/parts", data={"name": "Bottom reinforcement"})["id"]
    settings = {"allowed_part_ids": [other_part]}
    read = world.ok("operator_acme", "PUT", f"/api/sites/{site}/dispatch-settings", json=settings)
    assert read["allowed_part_ids"] == [other_part] and read["timezone"] == "UTC"
    world.dispatch()
    assert jobs_of(world, "acme/mk3-1") == []  # acme does not print the headband
    assert len(jobs_of(world, "uni/mk3-1")) == 1
    [event] = audit(world, "site.dispatch_settings")
    assert event["detail"]["after"]["allowed_part_ids"] == [other_part]

    # closed at this hour: a window that ends one minute ago (in UTC)
    now = dt.datetime.now(dt.UTC)
    hours = {"work_starts_at": (now - dt.timedelta(hours=2)).strftime("%H:%M"),
             "work_ends_at": (now - dt.timedelta(minutes=1)).strftime("%H:%M")}
    world.ok("operator_acme", "PUT", f"/api/sites/{site}/dispatch-settings", json=hours)
    world.dispatch()
    assert jobs_of(world, "acme/mk3-1") == []
    world.ok("operator_acme", "PUT", f"/api/sites/{site}/dispatch-settings", json={"heatup_max_starts": 1, "heatup_window_seconds": 600})
    for i in range(3):
        world.add_printer("acme", f"mk3-{i + 2}")
    assert world.dispatch().started == 1  # four idle printers at acme, one heat-up allowed


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"work_starts_at": "07:00"}, "work_starts_at and work_ends_at go together"),
        ({"heatup_max_starts": 2}, "heatup_max_starts and heatup_window_seconds go together"),
        ({"heatup_max_starts": 0, "heatup_window_seconds": 60}, "greater than or equal to 1"),
        ({"allowed_part_ids": [999]}, "allowed_part_ids: part 999 does not exist"),
        ({"paused": True}, "Extra inputs are not permitted"),
    ],
)
def test_bad_site_settings_are_refused_and_change_nothing(new_world, body, problem):
    world = seed(new_world())
    site = world.ids["acme"]
    before = world.ok("admin", "GET", f"/api/sites/{site}")
    response = world.call("operator_acme", "PUT", f"/api/sites/{site}/dispatch-settings", json=body)
    assert response.status_code == 422
    assert problem in response.text
    assert world.ok("admin", "GET", f"/api/sites/{site}") == before
    assert audit(world, "site.dispatch_settings") == []


def test_an_operator_cannot_change_another_sites_settings(new_world):
    world = seed(new_world())
    response = world.call("operator_uni", "PUT", f"/api/sites/{world.ids['acme']}/dispatch-settings", json={})
    assert response.status_code == 403


# -- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli(new_world, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    world = seed(new_world())
    monkeypatch.setenv("PRINTFARM_DATABASE_URL", database_url)
    monkeypatch.setenv("PRINTFARM_DATA_DIR", str(world.services.settings.data_dir))
    _register_optional_commands()
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args))

    return world, run


def test_cli_drains_a_site_sets_maintenance_and_cancels_a_claimed_plate(cli):
    world, run = cli
    site = world.ids["acme"]
    result = run("sites", "drain", str(site))
    assert result.exit_code == 0, result.output
    assert world.ok("admin", "GET", f"/api/sites/{site}")["is_paused"] is True
    assert audit(world, "site.drain")[0]["actor"].startswith("cli:")
    run("sites", "resume", str(site))

    uni = world.ids["uni/mk3-1"]
    assert run("printers", "maintenance", str(uni), "--reason", "belt").exit_code == 0
    assert world.ok("admin", "GET", f"/api/printers/{uni}")["disabled_reason"] == "belt"
    [claim] = world.services.dispatch.claim()
    assert claim.printer_id == world.ids["acme/mk3-1"]
    result = run("jobs", "cancel", str(claim.job_id))
    assert result.exit_code == 0, result.output
    assert f"job {claim.job_id}: cancelled" in result.output
    assert world.ok("admin", "GET", f"/api/jobs/{claim.job_id}")["state"] == "cancelled"
    assert device(world, "acme").uploads == {}

    result = run("sites", "settings", str(site), "--hours", "07:00-19:00", "--timezone", "Europe/Stockholm",
                 "--stagger", "2/120")
    assert result.exit_code == 0, result.output
    read = world.ok("admin", "GET", f"/api/sites/{site}")
    assert (read["work_starts_at"], read["timezone"], read["heatup_max_starts"]) == ("07:00:00", "Europe/Stockholm", 2)


def test_cli_refusals_name_the_problem_and_change_nothing(cli):
    world, run = cli
    site = world.ids["acme"]
    result = run("sites", "settings", str(site), "--stagger", "two")
    assert result.exit_code == 2 and "see --help for the formats" in result.output
    result = run("sites", "settings", str(site), "--timezone", "Nowhere/Town")
    assert result.exit_code == 2 and "unknown time zone 'Nowhere/Town'" in result.output
    result = run("jobs", "pause", "9999")
    assert result.exit_code == 1 and "NotFound: print job 9999 does not exist" in result.output
    assert world.ok("admin", "GET", f"/api/sites/{site}")["timezone"] == "UTC"
    assert audit(world, "site.dispatch_settings") == []
