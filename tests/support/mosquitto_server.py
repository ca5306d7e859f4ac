"""A test-owned Mosquitto: config/mosquitto.conf on a free port with its own persistence directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from printfarm.adapters.mqtt.mosquitto import wait_listening
from printfarm.errors import BrokerError

REPO = Path(__file__).resolve().parents[2]
CONFIG_TEMPLATE = REPO / "config" / "mosquitto.conf"
MOSQUITTO = "/usr/sbin/mosquitto"

#: Directives of the deployment config that the test broker replaces: where it listens, who may
#: connect, and where it writes. Everything else (queues, persistence, QoS 0 queueing) is kept.
_REPLACED = {"listener", "allow_anonymous", "password_file", "acl_file", "persistence_location",
             "pid_file", "log_dest", "user", "certfile", "keyfile", "cafile"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def derived_config(
    template: str, *, port: int, data_dir: Path, password_file: Path | None = None, acl_file: Path | None = None
) -> str:
    """The deployment config with the listener, access and paths replaced for a test.

    Without a password file anyone may connect; with one, only its users, as the ACL file allows.
    """
    access = ["allow_anonymous true"] if password_file is None else [
        "allow_anonymous false", f"password_file {password_file}", *([f"acl_file {acl_file}"] if acl_file else []),
    ]
    kept = [
        line for line in template.splitlines()
        if not line.strip() or line.lstrip().startswith("#") or line.split()[0] not in _REPLACED
    ]
    kept += [
        "",
        "# --- replaced for a test-owned broker ---",
        f"listener {port} 127.0.0.1",
        *access,
        f"persistence_location {data_dir}/",
        f"log_dest file {data_dir}/mosquitto.log",
        # As root, Mosquitto would switch to user "mosquitto", which cannot write the temp dir.
        "user root" if os.geteuid() == 0 else "",
    ]
    return "\n".join(kept) + "\n"


class MosquittoServer:
    """Starts, stops and restarts /usr/sbin/mosquitto; the port and persistence survive a restart."""

    def __init__(
        self, data_dir: Path, port: int | None = None, template: Path = CONFIG_TEMPLATE, *,
        password_file: Path | None = None, acl_file: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.password_file, self.acl_file = password_file, acl_file
        self.port = port or free_port()
        self.config_path = data_dir / "mosquitto.conf"
        self._template = template
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_seconds: float = 10.0) -> int:
        """Start and wait until the port accepts connections; returns the port."""
        if self.is_running:
            return self.port
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            derived_config(self._template.read_text(), port=self.port, data_dir=self.data_dir,
                           password_file=self.password_file, acl_file=self.acl_file)
        )
        self._process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            if wait_listening(self._process, self.port, timeout_seconds):
                return self.port
        except BrokerError as err:
            raise RuntimeError(f"{err}: {self.log_tail()}") from err
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout_seconds} s: {self.log_tail()}")

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """SIGTERM (Mosquitto then writes its persistence file) and wait; SIGKILL if it hangs."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout_seconds)

    def restart(self, timeout_seconds: float = 10.0) -> int:
        self.stop(timeout_seconds)
        return self.start(timeout_seconds)

    def log_tail(self, lines: int = 20) -> str:
        log_file = self.data_dir / "mosquitto.log"
        if not log_file.exists():
            return "(no log)"
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
