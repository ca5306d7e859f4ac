"""Notification test parts: a world with a chosen notifier, a real SMTP server, a webhook receiver."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from printfarm.adapters.notify import Notifier
from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.clock import FrozenClock
from printfarm.settings import Settings
from printfarm.wiring import build_services
from support.world import World

START = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def make_notify_world(database_url: str, data_dir: Path, clock: FrozenClock, notifier: Notifier | None,
                      secret_key: str) -> World:
    """support.world.make_world with a notifier (None: Apprise) and a secret key replicas share."""
    fleet = FakePrinterFleet()
    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key=secret_key)
    services = build_services(settings, clock=clock, printer_clients=fleet, notifier=notifier)
    app = create_app(settings, services=services, run_background=False)
    world = World(client=TestClient(app, raise_server_exceptions=False), services=services, fleet=fleet)
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
    world.token_for("admin", Role.ADMIN)
    return world


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmtpServer:
    """A real SMTP server (aiosmtpd) that keeps every message it accepted."""

    port: int
    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=printfarm@farm.test&to={to}&mode=insecure"

    def subjects_to(self, address: str) -> list[str]:
        return [str(m["Subject"]) for rcpt, m in self.messages if address in rcpt]


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    yield server
    controller.stop()


@dataclass
class Webhook:
    """A real HTTP receiver of Apprise's json:// posts; fail_next answers that many posts with HTTP 500."""

    port: int = 0
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_next: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: when set, the next post is held unanswered until `release` is set (its sender dies meanwhile)
    stall: threading.Event | None = None
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def titles_at(self, path: str) -> list[str]:
        return [str(body["title"]) for at, body in self.posts if at == path]


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stalled, hook.stall = hook.stall, None
            if stalled is not None:
                stalled.set()
                hook.release.wait(30)
                return  # never answered
            with hook.lock:
                failing = hook.fail_next > 0
                if failing:
                    hook.fail_next -= 1
                    hook.refused += 1
                else:
                    hook.posts.append((self.path, body))
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = False
    hook.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)
