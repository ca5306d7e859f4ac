"""An MQTT broker inside the printfarm process (amqtt), for one machine with nothing installed."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

from printfarm.errors import BrokerError

log = logging.getLogger(__name__)

#: Disconnected persistent sessions are forgotten after this long, so departed clients don't pile up.
SESSION_EXPIRY_SECONDS = 24 * 3600


class OpenAccessPlugin(BaseAuthPlugin):
    """Lets every client in, without marking its session anonymous.

    amqtt's AnonymousAuthPlugin marks sessions anonymous, and amqtt then drops an anonymous
    session one second after it disconnects and queues nothing for it, so a persistent
    (clean_session=False) subscriber would lose the QoS 1 messages sent while it reconnects.
    """

    async def authenticate(self, *, session: Session) -> bool | None:
        return True


class _FixedBroker(Broker):
    """amqtt 0.12's broker with two of its faults mended (amqtt is pinned to 0.12.*).

    - On every CONNECT it replays retained messages for the filters of *all* sessions to the
      connecting client, so a client received other clients' retained topics (seen in tests:
      one printer's last will reached an ingest watching another base).
    - At shutdown it leaves a connection that never completed its CONNECT open, and on Python
      3.11 asyncio.Server.close() does not close accepted connections, so sockets leaked.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_writers: set[asyncio.StreamWriter] = set()

    async def stream_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str) -> None:
        self.open_writers.add(writer)
        try:
            await super().stream_connected(reader, writer, listener_name)
        finally:
            self.open_writers.discard(writer)
            writer.close()

    async def _publish_retained_messages_for_subscription(self, subscription: tuple[str, int], session: Session) -> None:
        subscribers = self.subscriptions.get(subscription[0], [])
        if any(subscriber is session for subscriber, _qos in subscribers):
            await super()._publish_retained_messages_for_subscription(subscription, session)

    async def close_connections(self) -> None:
        writers = list(self.open_writers)
        for writer in writers:
            writer.close()
        for writer in writers:
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, asyncio.TimeoutError):
                pass


class EmbeddedBroker:
    """amqtt's broker on its own asyncio loop in a daemon thread; TCP only, anonymous access.

    It speaks MQTT 3.1.1 (amqtt has no MQTT 5, so no shared subscriptions) with QoS 0-2,
    retained messages, last wills and persistent sessions. Everything is in memory: a restart
    of printfarm forgets retained messages and sessions (start-up reconciliation covers that).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, start_timeout_seconds: float = 10.0) -> None:
        self.host = host
        self.port = port
        self._start_timeout_seconds = start_timeout_seconds
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def start(self) -> int:
        """Start listening; returns the bound port (a free one when the port given was 0).

        Raises BrokerError when the broker cannot bind or start.
        """
        if self._thread is not None:
            raise BrokerError(f"embedded MQTT broker on {self.host}:{self.port} is already started")
        _quieten_amqtt()
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(target=self._run, name="mqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._start_timeout_seconds):
            raise BrokerError(
                f"embedded MQTT broker on {self.host}:{self.port} did not start in {self._start_timeout_seconds} s"
            )
        if self._failure is not None:
            self._thread.join(self._start_timeout_seconds)
            self._thread = None
            raise BrokerError(f"embedded MQTT broker on {self.host}:{self.port} failed to start: {self._failure}") from (
                self._failure
            )
        log.info("embedded MQTT broker listening on %s:%s", self.host, self.port)
        return self.port

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Close every connection and the listener; idempotent."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop closed between the check and the call
                pass
        thread.join(timeout_seconds)
        if thread.is_alive():
            log.warning("embedded MQTT broker on %s:%s did not stop in %s s", self.host, self.port, timeout_seconds)
        self._thread = None
        log.info("embedded MQTT broker on %s:%s stopped", self.host, self.port)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # noqa: BLE001 - reported to start() or logged; the thread ends either way
            if not self._ready.is_set():
                self._failure = err
                self._ready.set()
            else:
                log.exception("embedded MQTT broker on %s:%s crashed", self.host, self.port)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        broker = _FixedBroker(self._config(), loop=self._loop)
        await broker.start()
        try:
            server = broker._servers["default"].instance  # amqtt keeps no public handle on the bound socket
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()
        finally:
            await broker.shutdown()
            await broker.close_connections()

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "session_expiry_interval": SESSION_EXPIRY_SECONDS,
            # No event/packet loggers and no $SYS publisher: quiet, and nothing to pay per packet.
            "plugins": {f"{__name__}.OpenAccessPlugin": {}},
        }


def _quieten_amqtt() -> None:
    """amqtt (and its state machine library) log every connection and state at INFO; keep them
    at WARNING unless someone configured them."""
    for name in ("amqtt", "transitions"):
        library_log = logging.getLogger(name)
        if library_log.level == logging.NOTSET:
            library_log.setLevel(logging.WARNING)
