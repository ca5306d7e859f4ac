"""`printfarm sites gateway-config` and `central-broker-user`: refusals are one line and change nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from printfarm.adapters.mqtt.passwords import matches, users
from printfarm.audit.service import list_events
from printfarm.auth.rules import SYSTEM
from printfarm.cli import _register_optional_commands, app
from printfarm.settings import Settings
from printfarm.wiring import build_services


@pytest.fixture
def run(tmp_path: Path):
    env = {"PRINTFARM_DATA_DIR": str(tmp_path / "data"), "PRINTFARM_DATABASE_URL": "", "PRINTFARM_MQTT_URL": "",
           "PRINTFARM_CONFIG": ""}
    _register_optional_commands()

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args), env=env)

    assert invoke("sites", "add", "Acme AB").exit_code == 0
    return invoke


def test_refusals_say_why_in_one_line_and_write_nothing(run, tmp_path: Path) -> None:
    passwd, out = tmp_path / "passwd", tmp_path / "gw.toml"
    common = ["--broker-url", "mqtts://broker.example.org", "--password-file", str(passwd), "-o", str(out)]

    unknown = run("sites", "gateway-config", "nope", "--central-url", "https://pf.example.org", *common)
    assert (unknown.exit_code, unknown.output) == (
        1, "printfarm: NotFound: site 'nope' does not exist (by id, name or slug)\n")
    no_central = run("sites", "gateway-config", "1", *common)
    assert no_central.exit_code == 2 and no_central.output.startswith("printfarm: --central-url: ")
    bad_broker = run("sites", "gateway-config", "1", "--central-url", "https://pf.example.org",
                     "--broker-url", "http://broker", "--password-file", str(passwd))
    assert (bad_broker.exit_code, bad_broker.output) == (
        2, "printfarm: --broker-url: must start with mqtt://, mqtts:// or tcp://\n")
    assert not passwd.exists() and not out.exists()

    assert run("sites", "add", "ACME-ab").exit_code == 0  # the same slug as Acme AB
    twins = run("sites", "gateway-config", "Acme AB", "--central-url", "https://pf.example.org", *common)
    assert (twins.exit_code, twins.output) == (
        1, "printfarm: Conflict: site 1: its slug 'acme-ab' is also site 2's; rename one of them first\n")
    assert not passwd.exists() and not out.exists()


def test_a_site_by_slug_gets_its_config_and_a_second_issue_needs_force_and_replaces_the_password(
    run, tmp_path: Path
) -> None:
    passwd, out = tmp_path / "passwd", tmp_path / "gw.toml"
    args = ["sites", "gateway-config", "acme-ab", "--central-url", "https://pf.example.org",
            "--broker-url", "mqtts://broker.example.org", "--password-file", str(passwd), "-o", str(out)]
    first = run(*args)
    assert first.exit_code == 0, first.output
    config = tomllib.loads(out.read_text())
    assert config["mqtt_password"] not in first.output
    assert (config["site"], config["mqtt_username"], config["mqtt_url"]) == (
        "acme-ab", "acme-ab", "mqtts://broker.example.org:8883")
    assert out.stat().st_mode & 0o777 == 0o600

    again = run(*args)
    assert again.exit_code == 2 and "exists: give --force" in again.output
    assert tomllib.loads(out.read_text()) == config
    assert run(*args, "--force").exit_code == 0
    renewed = tomllib.loads(out.read_text())["mqtt_password"]
    [line] = passwd.read_text().splitlines()
    assert matches(line, "acme-ab", renewed) and not matches(line, "acme-ab", config["mqtt_password"])

    central = run("sites", "central-broker-user", "--broker-url", "mqtt://127.0.0.1:1883",
                  "--password-file", str(passwd), "-o", str(tmp_path / "mqtt.env"))
    assert central.exit_code == 0, central.output
    assert users(passwd) == ["acme-ab", "printfarm.central"]
    settings = Settings(data_dir=tmp_path / "data")
    services = build_services(settings)
    try:
        with services.db.unit_of_work() as session:
            events = [(e.action, e.actor.startswith("cli:"), e.detail) for e in list_events(session, SYSTEM)]
    finally:
        services.db.dispose()
    assert ("site.gateway_credentials", True, {"username": "acme-ab", "password_file": str(passwd)}) in events
    assert ("broker.central_user", True, {"username": "printfarm.central", "password_file": str(passwd)}) in events
    assert renewed not in str(events)
