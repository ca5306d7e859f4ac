"""Mosquitto password files: the `$7$` lines printfarm writes are mosquitto_passwd's, users are replaced in place."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from printfarm.adapters.mqtt.address import BrokerAddress
from printfarm.adapters.mqtt.passwords import hashed_line, matches, set_password, users
from printfarm.errors import ConfigError


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd (Debian mosquitto)")
def test_a_line_of_mosquitto_passwd_checks_with_our_hash_and_ours_has_its_shape(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "acme-ab", "s3cret"], check=True)
    theirs = path.read_text().strip()
    assert matches(theirs, "acme-ab", "s3cret")
    assert not matches(theirs, "acme-ab", "s3cret!") and not matches(theirs, "uni", "s3cret")
    salt = bytes(range(12))
    ours = hashed_line("acme-ab", "s3cret", salt=salt)
    name, _, kind, iterations, salt_b64, digest_b64 = ours.replace(":", "$", 1).split("$")
    assert (name, kind, iterations, salt_b64, len(digest_b64)) == ("acme-ab", "7", "101", "AAECAwQFBgcICQoL", 88)
    assert theirs.split("$")[:3] == ours.split("$")[:3]  # user:, $7$, 101 iterations: Mosquitto 2's default


def test_setting_a_password_replaces_only_that_users_line_and_keeps_the_file_private(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    assert set_password(path, "acme-ab", "one") is False
    assert set_password(path, "printfarm.central", "two") is False
    path.chmod(0o640)
    assert set_password(path, "acme-ab", "three") is True
    lines = path.read_text().splitlines()
    assert users(path) == ["printfarm.central", "acme-ab"]
    assert matches(lines[1], "acme-ab", "three") and matches(lines[0], "printfarm.central", "two")
    assert path.stat().st_mode & 0o777 == 0o640  # the broker's group may still read it
    assert [p.name for p in tmp_path.iterdir()] == ["passwd"]  # no temporary file left


@pytest.mark.parametrize("username", ["", "a:b", "a/b", "a+b", "a#b"])
def test_a_username_that_would_break_the_file_or_the_acl_pattern_is_refused(tmp_path: Path, username: str) -> None:
    with pytest.raises(ConfigError, match="broker username"):
        set_password(tmp_path / "passwd", username, "x")
    assert not (tmp_path / "passwd").exists()


def test_a_password_file_in_a_missing_directory_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"^password file {tmp_path}/nowhere/passwd: cannot write beside it"):
        set_password(tmp_path / "nowhere" / "passwd", "acme-ab", "x")


def test_a_broker_url_gives_its_login_and_hides_the_password() -> None:
    address = BrokerAddress.from_url("mqtts://printfarm.central:p%40ss%3Aw@broker.example.org")
    assert (address.host, address.port, address.is_tls) == ("broker.example.org", 8883, True)
    assert (address.username, address.password) == ("printfarm.central", "p@ss:w")
    assert address.public_url == "mqtts://broker.example.org:8883" and "p@ss" not in repr(address)
    assert BrokerAddress.from_url(address.url_with("printfarm.central", "p@ss:w")) == address
    assert BrokerAddress.from_url("mqtt://127.0.0.1").port == 1883
    with pytest.raises(ValueError, match="must start with"):
        BrokerAddress.from_url("https://broker")
