"""A real OctoPrint 1.11.8 (Virtual Printer) for tests: a fresh basedir, started and stopped by PID.

By default it reports over MQTT through the real OctoPrint-MQTT plugin (0.8.16, installed into
.venv-octoprint by scripts/test from ../shared/octoprint/OctoPrint-MQTT), configured per printer with
its base topic: events, progress, temperatures and the `<base>mqtt` last will. ``feed="shim"``
instead publishes a few job events through an event subscription that runs mosquitto_pub (no last
will, nothing while the broker is away), for a test that needs a printer without the plugin.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SHARED_OCTOPRINT = REPO.parent / "shared" / "octoprint"
OCTOPRINT_VENV = REPO / ".venv-octoprint"
OCTOPRINT_EXE = OCTOPRINT_VENV / "bin" / "octoprint"
INSTALL_HINT = (
    'run the install step: python3 -m venv .venv-octoprint && .venv-octoprint/bin/pip install "octoprint==1.11.8"'
)
PLUGIN_HINT = "the OctoPrint-MQTT plugin is missing from .venv-octoprint: run scripts/test (it installs it)"
PUBLISHED_EVENTS = ["PrintStarted", "PrintDone", "PrintFailed", "PrintCancelled", "PrintPaused", "PrintResumed"]


class OctoPrintInstance(NamedTuple):
    base_url: str
    api_key: str
    base_topic: str
    pid: int = 0  # the `octoprint serve` process (a test may SIGKILL it)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _publish_command(mqtt_host: str, mqtt_port: int, base_topic: str) -> str:
    """The shell command of the event subscription (OctoPrint formats it with str.format).

    {__json} is the bare event payload (name, path, origin, size, time, reason...); sed prepends
    `_event` and an integer `_timestamp`, as the OctoPrint-MQTT plugin does. With `shell: true`
    OctoPrint shlex-quotes every placeholder, so file names cannot break out of the command.
    """
    mosquitto_pub = shutil.which("mosquitto_pub") or "mosquitto_pub"
    add_fields = 's/^{{/{{"_event": "{__eventname}", "_timestamp": '"'$(date +%s)'"', /'
    drop_trailing_comma = "s/, }}$/}}/"
    payload = f"$(printf '%s' {{__json}} | sed -e '{add_fields}' -e '{drop_trailing_comma}')"
    return (
        f"{mosquitto_pub} -h {mqtt_host} -p {mqtt_port} -q 1"
        f' -t {base_topic}event/{{__eventname}} -m "{payload}"'
    )


def render_config(
    port: int, basedir: Path, *, mqtt_host: str, mqtt_port: int, base_topic: str, feed: str = "plugin",
    mqtt_login: tuple[str, str] | None = None,
) -> str:
    """config.yaml from the shared template: the MQTT plugin (or the event shim), no G-code analysis."""
    template = (SHARED_OCTOPRINT / "config.yaml.tmpl").read_text()
    text = template.replace("@PORT@", str(port)).replace("@GKEY@", secrets.token_hex(16))
    text = text.replace("@BASEDIR@", str(basedir))
    shim = {"event": PUBLISHED_EVENTS, "type": "system", "shell": True,
            "command": _publish_command(mqtt_host, mqtt_port, base_topic)}
    events = {"enabled": True, "subscriptions": [shim] if feed == "shim" else []}
    if feed == "plugin":
        # The plugin's client id must be unique on the broker, or two printers keep evicting each other.
        mqtt = {"broker": {"url": mqtt_host, "port": mqtt_port, "keepalive": 10},
                "publish": {"baseTopic": base_topic}, "client": {"client_id": f"octoprint-{secrets.token_hex(6)}"}}
        if mqtt_login is not None:  # a broker that lets only its users in (config/mosquitto-sites.conf)
            mqtt["broker"]["username"], mqtt["broker"]["password"] = mqtt_login
        text, count = re.subn(r"(?m)^plugins:\n", "plugins:\n  mqtt: " + json.dumps(mqtt) + "\n", text)
        if count != 1:
            raise RuntimeError(f"{SHARED_OCTOPRINT / 'config.yaml.tmpl'}: no plugins block")
    elif feed == "none":  # no events at all from the printer itself (a gateway bridges them)
        text, count = re.subn(r"(?m)^plugins:\n  _disabled:\n", "plugins:\n  _disabled:\n  - mqtt\n", text)
        if count != 1:
            raise RuntimeError(f"{SHARED_OCTOPRINT / 'config.yaml.tmpl'}: no plugins._disabled list")
    # YAML reads JSON, so the replaced blocks need no YAML library.
    text, count = re.subn(r"(?ms)^events:\n.*?(?=^\S)", "events: " + json.dumps(events) + "\n", text)
    if count != 1:
        raise RuntimeError(f"{SHARED_OCTOPRINT / 'config.yaml.tmpl'}: no events block to replace")
    # Pause and cancel wait for the board's M114 answer, which the Virtual Printer sometimes never
    # sends: the print then stays "Pausing" for positionLogWait (10 s by default).
    text = text.replace("  timeout:\n", "  timeout:\n    positionLogWait: 1.0\n", 1)
    # One G-code analysis subprocess per upload costs about 1 s of CPU; tests never need it.
    text = re.sub(r"(?m)^# gcodeAnalysis:\n#   runAt: never.*$", 'gcodeAnalysis: {"runAt": "never"}', text)
    return text


def _wait_until_serving(base_url: str, api_key: str, process: subprocess.Popen[bytes], timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"octoprint serve exited with {process.returncode}")
        try:
            response = requests.get(f"{base_url}/api/version", headers={"X-Api-Key": api_key}, timeout=2)
            if response.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base_url} did not answer /api/version within {timeout_seconds} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _log_tail(basedir: Path) -> str:
    parts = []
    for name in ("serve.log", "logs/octoprint.log"):
        path = basedir / name
        if path.exists():
            parts.append(f"--- {name} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-30:]))
    return "\n".join(parts)


@contextmanager
def running_octoprint(
    *,
    mqtt_host: str = "127.0.0.1",
    mqtt_port: int = 1883,
    base_topic: str | None = None,
    startup_timeout_seconds: float = 60.0,
    feed: str = "plugin",
    port: int | None = None,
    api_key: str | None = None,
    host: str = "127.0.0.1",
    mqtt_login: tuple[str, str] | None = None,
) -> Iterator[OctoPrintInstance]:
    """Start a fresh OctoPrint with the Virtual Printer; yield (base_url, api_key, base_topic, pid).

    feed: "plugin" (OctoPrint-MQTT), "shim" (an event subscription running mosquitto_pub) or "none"
    (the plugin disabled: nothing published). host: the loopback address it listens on (127.0.0.2, say).
    mqtt_login: the plugin's broker user and password, for a broker that refuses anonymous clients.
    port, api_key: where it listens and the key it takes (a restart on a fresh basedir keeps them).
    Fails (never skips) when .venv-octoprint or the plugin is missing: CI installs them.
    """
    if not OCTOPRINT_EXE.exists():
        pytest.fail(f"{OCTOPRINT_EXE} is missing: {INSTALL_HINT}", pytrace=False)
    if feed == "plugin" and not list(OCTOPRINT_VENV.glob("lib/python3*/site-packages/octoprint_mqtt")):
        pytest.fail(PLUGIN_HINT, pytrace=False)
    topic = base_topic or f"printfarm-test/{secrets.token_hex(4)}/octoprint/"
    basedir = Path(tempfile.mkdtemp(prefix="printfarm-octoprint-"))
    port = port or free_port()
    api_key = api_key or secrets.token_hex(16).upper()
    base_url = f"http://{host}:{port}"
    process: subprocess.Popen[bytes] | None = None
    try:
        (basedir / "config.yaml").write_text(
            render_config(port, basedir, mqtt_host=mqtt_host, mqtt_port=mqtt_port, base_topic=topic, feed=feed,
                          mqtt_login=mqtt_login)
        )
        subprocess.run(
            [str(OCTOPRINT_EXE), "--basedir", str(basedir), "user", "add", "admin", "--password", "admin", "--admin"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        appkeys = basedir / "data" / "appkeys"
        appkeys.mkdir(parents=True, exist_ok=True)
        (appkeys / "keys.yaml").write_text(json.dumps({"admin": [{"api_key": api_key, "app_id": "tests"}]}))
        with open(basedir / "serve.log", "wb") as log:
            process = subprocess.Popen(
                [str(OCTOPRINT_EXE), "serve", "--iknowwhatimdoing", "--host", host, "--port", str(port),
                 "--basedir", str(basedir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            _wait_until_serving(base_url, api_key, process, startup_timeout_seconds)
        except RuntimeError as err:
            pytest.fail(f"OctoPrint did not start: {err}\n{_log_tail(basedir)}", pytrace=False)
        yield OctoPrintInstance(base_url, api_key, topic, process.pid)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(basedir, ignore_errors=True)


class MqttRecorder:
    """Records every message under a topic filter; tests wait on what they expect, never sleep.

    The paho callback only appends (under a condition); the test thread does the matching.
    """

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.topic_filter = topic_filter
        self.messages: list[tuple[str, bytes, bool]] = []  # (topic, payload, retained)
        self._condition = threading.Condition()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"printfarm-test-{secrets.token_hex(4)}")
        self._client.on_connect = lambda client, *_: client.subscribe(topic_filter, qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._host, self._port = host, port

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._condition:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self._condition.notify_all()

    def __enter__(self) -> MqttRecorder:
        self._client.connect(self._host, self._port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            self.__exit__()
            pytest.fail(f"MQTT broker {self._host}:{self._port}: no SUBACK for {self.topic_filter} within 10 s")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(timeout=5)

    def wait_for(self, predicate: Callable[[str, bytes], bool], timeout_seconds: float = 10.0) -> tuple[str, bytes]:
        """The first message (topic, payload) that satisfies predicate, waiting up to timeout_seconds."""
        deadline = time.monotonic() + timeout_seconds
        with self._condition:
            while True:
                for topic, payload, _ in self.messages:
                    if predicate(topic, payload):
                        return topic, payload
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [topic for topic, _, _ in self.messages]
                    raise AssertionError(f"no matching message under {self.topic_filter} in {timeout_seconds} s; saw {seen}")
                self._condition.wait(remaining)

    def events(self, base_topic: str) -> list[tuple[str, dict[str, Any]]]:
        """(event name, JSON payload) of every `<base_topic>event/<Event>` message so far, in order."""
        with self._condition:
            return [
                (topic.removeprefix(base_topic + "event/"), json.loads(payload))
                for topic, payload, _ in self.messages
                if topic.startswith(base_topic + "event/")
            ]
