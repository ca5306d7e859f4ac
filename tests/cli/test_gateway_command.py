"""`printfarm gateway`: its help teaches the config file; a bad config is one line and exit 2, never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.support import run_printfarm
from printfarm.errors import ConfigError
from printfarm.gateway import load_gateway_config

CONFIG = '''site = "utp-bydgoszcz"
mqtt_url = "mqtts://broker.example.org:8883"
mqtt_username = "utp-bydgoszcz"
mqtt_password = "broker-secret"
central_url = "https://printfarm.example.org/"

[[printers]]
name = "mk3s-1"
url = "http://192.168.1.20"
api_key = "LAN-KEY-1"

[[printers]]
name = "mk3s-2"
url = "http://192.168.1.21/"
api_key = "LAN-KEY-2"
has_mqtt_plugin = false
'''


def test_help_says_what_it_is_and_shows_every_key_of_the_config_file(tmp_path: Path) -> None:
    result = run_printfarm("gateway", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for text in ("outbound connections only", "site =", "mqtt_url =", "mqtt_username =", "mqtt_password =",
                 "central_url =", "mqtt_ca_file =", "[[printers]]", "name =", "url =", "api_key =",
                 "has_mqtt_plugin =", "PRINTFARM_GATEWAY_KEY", "--gateway"):
        assert text in result.stdout, text


def test_the_config_file_is_read_and_the_environment_overrides_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("PRINTFARM_GATEWAY_MQTT_PASSWORD", "from-env")
    config = load_gateway_config(path)
    assert (config.site, config.central_url, config.mqtt_password.get_secret_value()) == (
        "utp-bydgoszcz", "https://printfarm.example.org", "from-env")
    assert [(p.name, p.url, p.has_mqtt_plugin) for p in config.printers] == [
        ("mk3s-1", "http://192.168.1.20", True), ("mk3s-2", "http://192.168.1.21", False)]


def test_a_bad_config_is_one_line_naming_the_key_and_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(CONFIG.replace("mqtts://", "http://").replace('name = "mk3s-2"', 'name = "mk3s-1"'))
    with pytest.raises(ConfigError) as caught:
        load_gateway_config(path)
    message = str(caught.value)
    assert "mqtt_url: Value error, must start with mqtt:// or mqtts://" in message
    assert "printer names must be unique (twice: mk3s-1)" in message
    assert "broker-secret" not in message and "LAN-KEY" not in message
    result = run_printfarm("gateway", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    missing = run_printfarm("gateway", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == f"printfarm gateway: gateway config {tmp_path / 'nope.toml'}: no such file\n"
