"""A private Mosquitto for one process (the demo's MQTT 5 broker): 127.0.0.1, a free port, nothing kept.

The embedded broker (amqtt) speaks MQTT 3.1.1 only; site gateways need MQTT 5 (response topics and
correlation data), so a demo with a gateway site runs the installed Mosquitto instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from printfarm.errors import BrokerError

_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto")


def mosquitto_executable() -> str | None:
    return next((found for name in _CANDIDATES if (found := shutil.which(name))), None)


def wait_listening(process: subprocess.Popen[bytes], port: int, timeout_seconds: float) -> bool:
    """Wait until 127.0.0.1:port accepts connections (True) or the time is up (False); BrokerError if it exits."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerError(f"mosquitto exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.02)
    return False


class PrivateMosquitto:
    """start() returns the port it listens on; stop() ends it. Anyone on 127.0.0.1 may connect."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, timeout_seconds: float = 10.0) -> int:
        """Raises BrokerError when Mosquitto is not installed or does not listen in time."""
        executable = mosquitto_executable()
        if executable is None:
            raise BrokerError("no mosquitto installed (Debian package mosquitto): a site gateway needs an MQTT 5 "
                              "broker; install it or set PRINTFARM_MQTT_URL")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._data_dir.mkdir(parents=True, exist_ok=True)
        config = self._data_dir / "mosquitto.conf"
        config.write_text("\n".join([
            f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence false",
            "set_tcp_nodelay true",  # as config/mosquitto.conf: without it a request and its reply wait ~40 ms each
            f"log_dest file {self._data_dir / 'mosquitto.log'}",
            "user root" if os.geteuid() == 0 else "",  # as root it would switch to user mosquitto
        ]) + "\n")
        self._process = subprocess.Popen([executable, "-c", str(config)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        try:
            is_listening = wait_listening(self._process, self.port, timeout_seconds)
        except BrokerError as err:
            raise BrokerError(f"{err} (log: {self._data_dir})") from err
        if not is_listening:
            self.stop()
            raise BrokerError(f"mosquitto did not listen on 127.0.0.1:{self.port} within {timeout_seconds:g} s")
        return self.port

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
