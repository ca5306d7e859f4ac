"""The hospital role: a token bound to one hospital, created through the API and `printfarm token create`."""

from __future__ import annotations

from typer.testing import CliRunner

from printfarm.cli import app
from support.world import seed


def test_a_hospital_token_from_the_cli_acts_for_its_hospital_only(new_world, database_url, monkeypatch):
    world = seed(new_world())
    monkeypatch.setenv("PRINTFARM_DATABASE_URL", database_url)
    monkeypatch.setenv("PRINTFARM_DATA_DIR", str(world.services.settings.data_dir))
    runner = CliRunner()
    hospital = world.ids["hospital"]

    made = runner.invoke(app, ["token", "create", "--role", "hospital", "--hospital", str(hospital), "--name", "ward"])
    assert made.exit_code == 0, made.output
    token = made.stdout.splitlines()[0]
    assert token.startswith("pf_")
    headers = {"Authorization": f"Bearer {token}"}
    me = world.client.get("/api/me", headers=headers).json()
    assert (me["role"], me["hospital_id"], me["site_id"]) == ("hospital", hospital, None)
    mine = world.client.post("/api/requests", headers=headers,
                             json={"hospital_id": hospital, "part_id": world.ids["part"], "quantity": 50})
    assert mine.status_code == 201, mine.text
    assert mine.json()["delivery_address"] is None and mine.json()["hospital_name"] == "Sahlgrenska"

    missing = runner.invoke(app, ["token", "create", "--role", "hospital"])
    assert missing.exit_code == 1 and "a hospital token needs a hospital (--hospital)" in missing.output
    wrong = runner.invoke(app, ["token", "create", "--role", "viewer", "--hospital", str(hospital)])
    assert wrong.exit_code == 1 and "role viewer is not bound to a hospital" in wrong.output
    absent = runner.invoke(app, ["token", "create", "--role", "hospital", "--hospital", "999"])
    assert absent.exit_code == 1 and "hospital 999 does not exist" in absent.output
    assert "Traceback" not in missing.output + wrong.output + absent.output
