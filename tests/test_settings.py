"""Settings are read once and validated; a bad value stops start-up with a message naming it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from printfarm.errors import ConfigError
from printfarm.settings import load_settings


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("PRINTFARM_HTTP_PORT", "8123")
    monkeypatch.setenv("PRINTFARM_MQTT_URL", "mqtt://broker:1883")
    settings = load_settings()
    assert (settings.http_port, settings.mqtt_url) == (8123, "mqtt://broker:1883")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PRINTFARM_HTTP_PORT", "eighty", "http_port"),
        ("PRINTFARM_MQTT_URL", "http://broker", "mqtt_url: Value error, must start with mqtt://"),
        ("PRINTFARM_DISPATCH_INTERVAL_SECONDS", "0", "dispatch_interval_seconds"),
        ("PRINTFARM_MQTT_PROTOCOL", "4", "mqtt_protocol"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_a_toml_file_is_read_and_unknown_keys_are_refused(monkeypatch, tmp_path):
    config = tmp_path / "printfarm.toml"
    config.write_text('http_port = 9001\nlog_level = "DEBUG"\n')
    monkeypatch.setenv("PRINTFARM_CONFIG", str(config))
    assert load_settings().http_port == 9001
    config.write_text("http_prot = 9001\n")
    with pytest.raises(ConfigError, match="http_prot"):
        load_settings()


def test_the_cli_stops_with_exit_2_and_a_message_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "printfarm", "db", "upgrade"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PRINTFARM_HTTP_PORT": "eighty"},
    )
    assert result.returncode == 2
    assert "http_port" in result.stderr and "Traceback" not in result.stderr


def test_the_example_config_is_valid(monkeypatch):
    from conftest import REPO

    monkeypatch.setenv("PRINTFARM_CONFIG", str(REPO / "config" / "printfarm.example.toml"))
    assert load_settings().dispatch_interval_seconds == 2.0
