"""A broker of the test's own run from the shipped config/mosquitto-sites.conf and .acl, with logins the CLI issued.

`issue_logins` runs `printfarm sites add`, `printfarm sites gateway-config` and `printfarm sites
central-broker-user` as an admin would (in-process: a command's start-up costs seconds here), into one
password file; `Login` is an MQTT 5 connection as one broker user that reports the
broker's reason codes (CONNACK, PUBACK, SUBACK) and what it received.
"""

from __future__ import annotations

import threading
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from adapters.mqtt.mqtt_support import wait_until
from paho.mqtt.enums import CallbackAPIVersion
from support.mosquitto_server import REPO, MosquittoServer
from typer.testing import CliRunner

from printfarm.adapters.mqtt.address import BrokerAddress
from printfarm.cli import _register_optional_commands, app

SITES_CONFIG = REPO / "config" / "mosquitto-sites.conf"
SITES_ACL = REPO / "config" / "mosquitto-sites.acl"
NOT_AUTHORIZED = 135  # MQTT 5 reason code "Not authorized" (PUBACK, SUBACK, CONNACK)


@dataclass(frozen=True)
class SiteLogin:
    name: str
    username: str
    password: str
    config: dict[str, Any]  # the gateway TOML the CLI wrote
    path: Path  # where it wrote it


@dataclass(frozen=True)
class Logins:
    sites: dict[str, SiteLogin]  # by site name
    central_url: str  # PRINTFARM_MQTT_URL the CLI wrote (with the login)
    password_file: Path


def issue_logins(
    work_dir: Path, site_names: list[str], broker_url: str, central_url: str = "https://printfarm.example.org"
) -> Logins:
    """Sites added and given gateway logins, and the central user, all through the CLI; fails on any refusal."""
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {"PRINTFARM_DATA_DIR": str(work_dir / "data"), "PRINTFARM_DATABASE_URL": "", "PRINTFARM_MQTT_URL": "",
           "PRINTFARM_CONFIG": ""}
    password_file = work_dir / "printfarm.passwd"
    _register_optional_commands()

    def cli(*args: str) -> str:
        done = CliRunner().invoke(app, list(args), env=env)
        assert done.exit_code == 0, (args, done.output)
        return done.output

    sites = {}
    for name in site_names:
        cli("sites", "add", name)
        out = work_dir / f"{uuid.uuid4().hex[:8]}.toml"
        printed = cli("sites", "gateway-config", name, "--broker-url", broker_url, "--central-url",
                      central_url, "--password-file", str(password_file), "-o", str(out))
        config = tomllib.loads(out.read_text())
        assert config["mqtt_password"] not in printed, "the CLI printed a password"
        sites[name] = SiteLogin(name, config["mqtt_username"], config["mqtt_password"], config, out)
    env_file = work_dir / "central.env"
    printed = cli("sites", "central-broker-user", "--broker-url", broker_url, "--password-file", str(password_file),
                  "-o", str(env_file))
    central_url = env_file.read_text().strip().removeprefix("PRINTFARM_MQTT_URL=")
    assert BrokerAddress.from_url(central_url).password not in printed, "the CLI printed a password"
    return Logins(sites, central_url, password_file)


def sites_broker(data_dir: Path, password_file: Path, port: int | None = None) -> MosquittoServer:
    """The shipped sites configuration and ACL, on 127.0.0.1 (a free port by default) with the test's password file."""
    return MosquittoServer(data_dir, port, template=SITES_CONFIG, password_file=password_file, acl_file=SITES_ACL)


class Login:
    """One MQTT 5 connection as a broker user, recording the broker's answers and the messages it gets."""

    def __init__(self, port: int, username: str | None, password: str | None) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pf-acl-{uuid.uuid4().hex[:10]}",
                                  protocol=mqtt.MQTTv5)
        self.answers: dict[int, int] = {}  # message id -> reason code of its PUBACK or (first) SUBACK
        self.received: list[tuple[str, bytes]] = []
        self.connack: int | None = None
        self._lock = threading.Lock()
        self._answered = threading.Event()
        self.client.on_connect = self._connected
        self.client.on_connect_fail = lambda _client, _userdata: self._answered.set()
        self.client.on_publish = self._acked
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p: self._acked(_c, _u, mid, codes[0], _p)
        self.client.on_message = self._message
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._answered.wait(10):
            raise AssertionError(f"no CONNACK for {username!r} in 10 s")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Publish with QoS 1 and return the reason code of the broker's PUBACK."""
        return self._wait_answer(self.client.publish(topic, payload, qos=1, retain=retain).mid, f"PUBACK of {topic}")

    def subscribe(self, topic_filter: str) -> int:
        """Subscribe with QoS 1 and return the reason code the broker's SUBACK gives the filter."""
        _, mid = self.client.subscribe(topic_filter, qos=1)
        return self._wait_answer(mid, f"SUBACK of {topic_filter}")

    def topics_received(self) -> list[str]:
        with self._lock:
            return [topic for topic, _ in self.received]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _wait_answer(self, mid: int, what: str) -> int:
        wait_until(lambda: mid in self.answers, 10, what)
        return self.answers[mid]

    def _connected(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        if self.connack is None:
            self.connack = reason.value
        if reason.is_failure:
            self.client.disconnect()  # paho would retry a refused login for ever
        self._answered.set()

    def _acked(self, _client: Any, _userdata: Any, mid: int, reason: Any, _properties: Any) -> None:
        self.answers[mid] = reason.value

    def _message(self, _client: Any, _userdata: Any, message: Any) -> None:
        with self._lock:
            self.received.append((message.topic, message.payload))
