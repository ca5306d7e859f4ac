"""The MQTT ingest worker: a process of its own that parses and writes the batches the network thread hands over.

Why a process (bench/ingest.py measures it): paho spends about 40 µs of one core per received
message here, and parsing plus the database write about 10-15 µs more. On the network thread the
write stalls socket reads; on a second thread of the same process it convoys on the GIL. In a
process of its own it runs on the other core while the network thread only pickles each batch
(about 0.3 µs a message) and writes it to a pipe.

Flow control: one batch is in the worker at a time. What arrives meanwhile is merged into the next
batch, so under load batches grow and coalesce more (one UPDATE per printer per batch); past
``max_pending_messages`` submit() blocks the network thread, and TCP pushes back to the broker,
which queues for the persistent session. The worker answers each batch with an Ack (messages
committed so far, its counters since the last ack, whether a printer became ready for a plate).

Failure: a worker that dies (a crash, a kill) is started again; the batch it held is counted as
dropped ``worker_lost``, and the reconcile on start-up and the REST poll of silent printers settle
what it would have moved. A worker whose parent dies reads end-of-file from its pipe and exits.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from printfarm.errors import IngestWorkerFailed
from printfarm.settings import Settings
from printfarm.tracking.service import IngestStats

log = logging.getLogger(__name__)

#: Control messages on the pipe (a batch is a list of (topic, payload, retained)).
_FORGET_TOPICS = "forget-topics"
_STOP = "stop"
_READY = "ready"
_READY_TIMEOUT_SECONDS = 60.0
_RESTART_PAUSE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Ack:
    """The worker's answer to one batch.

    ``committed_through``: messages handed to this worker so far, all of them applied or dropped;
    ``stats``: the worker's counters since its previous ack; ``is_printer_ready``: a printer became
    free for a plate (the dispatcher should run); ``committed_at``: wall-clock time of the commit.
    """

    committed_through: int
    stats: IngestStats
    is_printer_ready: bool
    committed_at: float


class IngestWorker:
    """Hands MQTT batches to a worker process; submit() is called by the network thread only."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_ack: Callable[[Ack], None],
        on_lost: Callable[[int], None] = lambda count: None,
        max_pending_messages: int = 100_000,
    ) -> None:
        self._settings = settings
        self._on_ack = on_ack
        self._on_lost = on_lost
        self._max_pending_messages = max_pending_messages
        self._context = multiprocessing.get_context("spawn")  # fork would copy the server's threads' locks
        self._lock = threading.Condition()
        self._pending: list[tuple[str, bytes, bool]] = []  # waiting for the worker, guarded by _lock
        self._in_flight = 0  # messages the worker holds now, guarded by _lock
        self._submitted = 0  # messages handed to the current worker, guarded by _lock
        self._stopping = False
        self._connection: Connection | None = None
        self._process: Any = None
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the worker and wait until it is ready (its database open); raises IngestWorkerFailed if it is not."""
        self._spawn()
        self._reader = threading.Thread(target=self._read_acks, name="mqtt-ingest-acks", daemon=True)
        self._reader.start()

    def submit(self, batch: Sequence[tuple[str, bytes, bool]]) -> None:
        """Send batch to the worker now if it is idle, else merge it into the next one."""
        with self._lock:
            self._pending.extend(batch)
            while len(self._pending) >= self._max_pending_messages and self._in_flight and not self._stopping:
                self._lock.wait(0.5)  # back-pressure: the worker is behind
            if not self._in_flight:
                self._send_pending()

    def forget_topics(self) -> None:
        """A printer was registered or changed its base topic: the worker reads the topics again."""
        with self._lock:
            self._send(_FORGET_TOPICS)

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Hand over what is pending, let the worker finish it, and end the worker."""
        with self._lock:
            deadline = time.monotonic() + timeout_seconds
            while (self._in_flight or self._pending) and time.monotonic() < deadline and self._process.is_alive():
                if not self._in_flight:
                    self._send_pending()
                self._lock.wait(0.1)
            self._stopping = True
            self._send(_STOP)
        self._process.join(timeout_seconds)
        if self._process.is_alive():
            log.warning("MQTT ingest worker (pid %s) did not stop in %s s; terminating it", self._process.pid, timeout_seconds)
            self._process.terminate()
            self._process.join(5)
        if self._reader is not None:
            self._reader.join(timeout_seconds)
        if self._connection is not None:
            self._connection.close()

    # -- parent side internals (hold _lock) -------------------------------------------------------

    def _send_pending(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._in_flight = len(batch)
        self._submitted += len(batch)
        self._send(batch)

    def _send(self, message: object) -> None:
        try:
            assert self._connection is not None
            self._connection.send(message)
        except (OSError, ValueError):  # the worker died; the reader thread restarts it
            pass

    def _spawn(self) -> None:
        parent_end, child_end = self._context.Pipe(duplex=True)
        self._process = self._context.Process(
            target=run_worker, args=(self._settings, child_end, logging.getLogger().getEffectiveLevel()),
            name="printfarm-mqtt-ingest", daemon=True,
        )
        self._process.start()
        child_end.close()  # only the child holds it now: its end-of-file tells us it died
        self._connection = parent_end
        self._submitted = 0
        # Batches wait until the worker has imported printfarm and opened the database (about a second).
        ready = parent_end.poll(_READY_TIMEOUT_SECONDS) and _recv_or_none(parent_end) == _READY
        if not ready:
            self._process.terminate()
            raise IngestWorkerFailed(
                f"the MQTT ingest worker (pid {self._process.pid}) was not ready within {_READY_TIMEOUT_SECONDS} s "
                f"(exit code {self._process.exitcode}); its log lines above say why"
            )
        log.info("MQTT ingest worker started (pid %s)", self._process.pid)

    def _read_acks(self) -> None:
        while True:
            connection = self._connection
            assert connection is not None
            try:
                ack = connection.recv()
            except (EOFError, OSError):
                with self._lock:
                    if self._stopping:
                        return
                    lost, self._in_flight = self._in_flight, 0
                    log.error("MQTT ingest worker (pid %s) died with exit code %s; %d messages it held are lost; "
                              "starting a new one", self._process.pid, self._process.exitcode, lost)
                    connection.close()
                    self._process.join(1)
                time.sleep(_RESTART_PAUSE_SECONDS)
                with self._lock:
                    if self._stopping:
                        return
                    self._spawn()
                    self._send_pending()
                    self._lock.notify_all()
                if lost:
                    self._on_lost(lost)
                continue
            try:
                self._on_ack(ack)
            except Exception:
                log.exception("MQTT ingest: handling the worker's ack failed")
            with self._lock:
                self._in_flight = 0
                self._send_pending()
                self._lock.notify_all()


def _recv_or_none(connection: Connection) -> object:
    try:
        return connection.recv()
    except (EOFError, OSError):
        return None


# -- the worker process ---------------------------------------------------------------------------


def run_worker(settings: Settings, connection: Connection, log_level: int) -> None:
    """The worker process: apply each batch in one unit of work and answer with an Ack."""
    from printfarm.app import build_services  # here: the parent imports this module before the app
    from printfarm.tasks import Hook

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent stops us
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s [ingest worker]: %(message)s")
    is_printer_ready = False

    def printer_ready() -> None:
        nonlocal is_printer_ready
        is_printer_ready = True

    wake = Hook()
    wake.connect(printer_ready)
    services = build_services(settings, wake_dispatch=wake)
    tracking = services.tracking
    # What start-up made (modules, the mapper, the engine) lives as long as the worker: kept out of
    # the collector's full passes, which otherwise took ~70 ms of every eighth batch here.
    gc.freeze()
    committed_through = 0
    try:
        connection.send(_READY)
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                return  # the parent is gone
            if message == _STOP:
                return
            if message == _FORGET_TOPICS:
                tracking.forget_topics()
                continue
            try:
                tracking.apply_raw(message)
            except Exception:  # counted as batch_failed by apply(); the worker goes on
                log.exception("MQTT ingest worker: a batch of %d messages failed", len(message))
            committed_through += len(message)
            ack = Ack(committed_through, tracking.take_stats(), is_printer_ready, time.time())
            is_printer_ready = False
            try:
                connection.send(ack)
            except OSError:
                return
    finally:
        services.db.dispose()
