"""Settings are read once and validated; a bad value stops start-up with a message naming it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli.support import run_printfarm
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
        (
            "PRINTFARM_MQTT_URL", "http://broker",
            r"^invalid settings: mqtt_url: must start with mqtt://, mqtts:// or tcp:// \(got \*\*\*\)$",
        ),
        (  # the URL may carry the broker password: the message names the fault, never the value
            "PRINTFARM_MQTT_URL", "mqtt://central:s3cret@broker:99999",
            r"^invalid settings: mqtt_url: port of broker: Port out of range 0-65535 \(got \*\*\*\)$",
        ),
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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PRINTFARM_MQTT_URL", "notaurl", "mqtt_url: must start with mqtt://, mqtts:// or tcp:// (got ***)"),
        ("PRINTFARM_HTTP_PORT", "99999", "http_port: Input should be less than or equal to 65535 (got '99999')"),
        (
            "PRINTFARM_PRINTER_ALLOWED_NETWORKS", "10.0.0.0/33",
            "printer_allowed_networks: '10.0.0.0/33' is not a network in CIDR form (e.g. 10.20.0.0/16): "
            "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network",
        ),
    ],
)
def test_a_bad_value_is_named_once_with_no_pydantic_prefix(tmp_path, name, value, message):
    result = run_printfarm("db", "upgrade", cwd=tmp_path, **{name: value})
    assert (result.returncode, result.stderr) == (2, f"printfarm: invalid settings: {message}\n")


def test_a_secret_setting_is_never_repeated_in_the_message(monkeypatch, tmp_path):
    config = tmp_path / "printfarm.toml"
    config.write_text("database_url = 5\nsecret_key = 7\n")
    monkeypatch.setenv("PRINTFARM_CONFIG", str(config))
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value) == (
        "invalid settings: database_url: Input should be a valid string (got ***); "
        "secret_key: Input should be a valid string (got ***)"
    )


def test_the_data_dir_is_per_user_not_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("PRINTFARM_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_settings().data_dir == tmp_path / ".local" / "share" / "printfarm"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert load_settings().data_dir == tmp_path / "xdg" / "printfarm"


def test_the_example_config_is_valid(monkeypatch):
    from conftest import REPO

    monkeypatch.setenv("PRINTFARM_CONFIG", str(REPO / "config" / "printfarm.example.toml"))
    assert load_settings().dispatch_interval_seconds == 2.0


def test_public_url_is_an_http_address_without_a_trailing_slash(tmp_path):
    assert load_settings(data_dir=tmp_path, public_url="https://farm.example.org/").public_url == "https://farm.example.org"
    assert load_settings(data_dir=tmp_path, public_url="").public_url is None
    with pytest.raises(ConfigError, match=r"^invalid settings: public_url: must start with http:// or https:// \(got 'farm.example.org'\)$"):
        load_settings(data_dir=tmp_path, public_url="farm.example.org")
