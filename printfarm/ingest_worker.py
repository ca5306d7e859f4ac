"""The MQTT ingest worker: a process of its own that parses and writes the batches the network thread hands over.

Why a process (bench/ingest.py measures it): paho spends about 12 µs of a core per received message
here, and parsing plus the database write about 8 µs more. On the network thread the write stalls
socket reads, and the broker, finding its socket full, spends several times more CPU per message
sending the backlog; on a second thread of the same process it convoys on the GIL. In a process of
its own it runs on the other core, and the network thread only pickles each batch (about 0.2 µs a
message) into a pipe.

Flow: the network thread writes batches to a one-way pipe and never waits for the worker. In the
worker a reader thread takes batches off the pipe into a backlog, and the main thread applies
everything in the backlog as one unit of work, so under load batches grow and coalesce more (one
UPDATE per printer per batch). Past ``max_backlog_messages`` the reader stops reading, the pipe
fills, submit() blocks the network thread, and TCP pushes back to the broker, which queues for the
persistent session. The worker answers each unit of work with an Ack on a second pipe (messages
committed so far, its counters since the last ack, and the domain events its commits raised, which
the parent publishes on its own event bus: dispatch and every other subscriber live there).

Failure: a worker that dies (a crash, a kill) is started again while batches wait for it (up to one
backlog); the messages it held are reported to ``on_lost``, which printfarm counts as dropped
``worker_lost`` and answers with a reconcile of every active job over REST, since a PrintDone may
have been among them. A worker whose parent dies reads end-of-file from its pipe and exits.
"""

from __future__ import annotations

import collections
import fcntl
import gc
import logging
import multiprocessing
import select
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from printfarm.errors import IngestWorkerFailed
from printfarm.events import Event, EventBus
from printfarm.settings import Settings
from printfarm.tracking.stats import IngestStats
from printfarm.wiring import build_tracking

log = logging.getLogger(__name__)

#: Control messages on the batch pipe (a batch is a list of (topic, payload, retained)).
_FORGET_TOPICS = "forget-topics"
_STOP = "stop"
#: The worker's first message on the ack pipe, once it has imported printfarm and opened the database.
_READY = "ready"
_READY_TIMEOUT_SECONDS = 60.0
_RESTART_PAUSE_SECONDS = 1.0
#: Linux pipes hold 64 KiB; a batch of 5,000 messages pickles to about 1 MiB.
_PIPE_BYTES = 1024 * 1024
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ from Python 3.10 on Linux; spelled out for type checkers


@dataclass(frozen=True, slots=True)
class Ack:
    """The worker's answer to one unit of work.

    ``committed_through``: messages handed to this worker so far, all of them applied or dropped;
    ``stats``: the worker's counters since its previous ack; ``events``: the domain events its
    commits raised since then, in order; ``committed_at``: wall-clock time of the commit.
    """

    committed_through: int
    stats: IngestStats
    events: tuple[Event, ...]
    committed_at: float


class IngestWorker:
    """Hands MQTT batches to a worker process; submit() is called by the network thread only."""

    def __init__(
        self,
        settings: Settings,
        *,
        bus: EventBus,
        on_ack: Callable[[Ack], None],
        on_lost: Callable[[int], None] = lambda count: None,
        max_backlog_messages: int = 100_000,
    ) -> None:
        self._settings = settings
        self._bus = bus  # the worker's events are published here, in this (the parent) process
        self._on_ack = on_ack
        self._on_lost = on_lost
        self._max_backlog_messages = max_backlog_messages
        self._context = multiprocessing.get_context("spawn")  # fork would copy the server's threads' locks
        self._lock = threading.Lock()  # one writer on the batch pipe at a time; guards what follows
        self._batches: Connection | None = None  # parent -> worker
        self._acks: Connection | None = None  # worker -> parent
        self._process: Any = None
        self._submitted = 0  # messages handed to the current worker
        self._committed = 0  # of those, acknowledged
        self._is_down = False  # the worker died and is being replaced: batches wait in _waiting
        self._waiting: list[tuple[str, bytes, bool]] = []
        self._stopping = False
        self._ack_reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the worker and wait until it is ready; raises IngestWorkerFailed if it is not."""
        spawned = self._spawn()
        with self._lock:
            self._install(*spawned)
        self._ack_reader = threading.Thread(target=self._read_acks, name="mqtt-ingest-acks", daemon=True)
        self._ack_reader.start()

    def submit(self, batch: Sequence[tuple[str, bytes, bool]]) -> None:
        """Write batch to the worker's pipe; blocks only while the worker is a whole backlog behind."""
        with self._lock:
            if self._is_down:
                dropped = self._hold(batch)
            else:
                dropped = self._send(batch if isinstance(batch, list) else list(batch))
        if dropped:
            self._on_lost(dropped)

    def forget_topics(self) -> None:
        """A printer was registered or changed its base topic: the worker reads the topics again."""
        with self._lock:
            if not self._is_down:
                self._send(_FORGET_TOPICS)
            # else: a new worker reads the topics afresh anyway

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Let the worker apply what it was given, then end it; what it could not apply is counted lost."""
        left = 0
        if self._lock.acquire(timeout=timeout_seconds):
            try:
                self._stopping = True
                if not self._is_down and self._batches is not None and _is_writable(self._batches, timeout_seconds):
                    self._send(_STOP)
                left, self._waiting = len(self._waiting), []
            finally:
                self._lock.release()
        else:  # the network thread is stuck writing to a worker that does not read: terminate it below
            self._stopping = True
        if self._process is not None:
            self._process.join(timeout_seconds)
            if self._process.is_alive():
                log.warning("MQTT ingest worker (pid %s) did not stop in %s s; terminating it",
                            self._process.pid, timeout_seconds)
                self._process.terminate()
                self._process.join(5)
        if self._ack_reader is not None:
            self._ack_reader.join(timeout_seconds)
        left += self._submitted - self._committed
        if left:
            log.warning("MQTT ingest worker stopped with %d messages not applied", left)
            self._on_lost(left)
        for connection in (self._batches, self._acks):
            if connection is not None:
                connection.close()

    # -- parent side internals -----------------------------------------------------------------

    def _send(self, message: object) -> int:
        """Write to the batch pipe (hold _lock); returns the messages dropped (see _hold).

        A dead worker is noticed and replaced by the ack reader; its replacement gets the batch.
        """
        assert self._batches is not None
        try:
            self._batches.send(message)
        except OSError:
            return self._hold(message) if isinstance(message, list) else 0
        if isinstance(message, list):
            self._submitted += len(message)
        return 0

    def _hold(self, batch: Sequence[tuple[str, bytes, bool]]) -> int:
        """Keep batch for the next worker, up to one backlog (hold _lock); returns the messages that did not fit."""
        room = max(0, self._max_backlog_messages - len(self._waiting))
        self._waiting.extend(batch[:room])
        return max(0, len(batch) - room)

    def _spawn(self) -> tuple[Any, Connection, Connection]:
        """Start a worker process and wait for its ready message: (process, batch pipe, ack pipe)."""
        batches_out, batches_in = self._context.Pipe(duplex=False)  # (reader, writer)
        acks_out, acks_in = self._context.Pipe(duplex=False)
        for connection in (batches_out, batches_in):
            _widen_pipe(connection)
        process = self._context.Process(
            target=run_worker,
            args=(self._settings, batches_out, acks_in, self._max_backlog_messages, logging.getLogger().getEffectiveLevel()),
            name="printfarm-mqtt-ingest", daemon=True,
        )
        process.start()
        batches_out.close()  # only the child holds these ends now: end-of-file on them means it died
        acks_in.close()
        ready = acks_out.poll(_READY_TIMEOUT_SECONDS) and _recv_or_none(acks_out) == _READY
        if not ready:
            process.terminate()
            process.join(5)
            batches_in.close()
            acks_out.close()
            raise IngestWorkerFailed(
                f"the MQTT ingest worker (pid {process.pid}) was not ready within {_READY_TIMEOUT_SECONDS} s "
                f"(exit code {process.exitcode}); its log lines above say why"
            )
        log.info("MQTT ingest worker started (pid %s)", process.pid)
        return process, batches_in, acks_out

    def _install(self, process: Any, batches: Connection, acks: Connection) -> None:
        """Make a started worker the current one (hold _lock)."""
        self._process, self._batches, self._acks = process, batches, acks
        self._submitted = self._committed = 0

    def _read_acks(self) -> None:
        while True:
            connection = self._acks
            assert connection is not None
            try:
                ack = connection.recv()
            except (EOFError, OSError):
                if not self._replace_dead_worker():
                    return
                continue
            except Exception:  # an ack that does not unpickle: this worker cannot be trusted
                log.exception("MQTT ingest: unreadable ack from the worker (pid %s); replacing it", self.pid)
                self._process.kill()
                if not self._replace_dead_worker():
                    return
                continue
            self._committed = ack.committed_through
            self._bus.publish(ack.events)  # a failing subscriber is logged by the bus
            try:
                self._on_ack(ack)
            except Exception:
                log.exception("MQTT ingest: handling the worker's ack failed")

    def _replace_dead_worker(self) -> bool:
        """Start a new worker after one died; False when stopping instead.

        The new one starts while batches wait in _waiting: the network thread is never held up by it.
        """
        with self._lock:
            if self._stopping:
                return False
            self._is_down = True
            lost = self._submitted - self._committed
            self._submitted = self._committed = 0
        self._process.join(1)
        log.error("MQTT ingest worker (pid %s) died with exit code %s; %d messages it held are lost; "
                  "starting a new one", self._process.pid, self._process.exitcode, lost)
        if lost:
            self._on_lost(lost)
        while True:
            time.sleep(_RESTART_PAUSE_SECONDS)
            if self._stopping:
                return False
            try:
                spawned = self._spawn()
            except Exception:  # e.g. out of file descriptors or memory: keep trying
                log.exception("MQTT ingest: a new worker did not start; trying again")
                continue
            with self._lock:
                if self._stopping:
                    spawned[0].terminate()
                    return False
                self._install(*spawned)
                self._is_down = False
                waiting, self._waiting = self._waiting, []
                dropped = self._send(waiting) if waiting else 0
            if dropped:
                self._on_lost(dropped)
            return True


def _is_writable(connection: Connection, timeout_seconds: float) -> bool:
    """True when a small message can be written to the pipe within the timeout."""
    try:
        return bool(select.select([], [connection.fileno()], [], timeout_seconds)[1])
    except (OSError, ValueError):
        return False


def _widen_pipe(connection: Connection) -> None:
    """Let the pipe hold a whole batch, so a write does not wait for the reader (Linux; elsewhere a no-op)."""
    try:
        fcntl.fcntl(connection.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
    except OSError:
        pass  # pipe-max-size is smaller here: the default size only costs more wake-ups


def _recv_or_none(connection: Connection) -> object:
    try:
        return connection.recv()
    except (EOFError, OSError):
        return None


# -- the worker process ---------------------------------------------------------------------------


class _Backlog:
    """What the worker's reader thread took off the pipe and the main thread has not applied yet."""

    def __init__(self, max_messages: int) -> None:
        self._items: collections.deque[object] = collections.deque()
        self._messages = 0
        self._max_messages = max_messages
        self._changed = threading.Condition()

    def put(self, item: object) -> None:
        """Add a batch or a control message; waits while the backlog is full (back-pressure)."""
        with self._changed:
            while self._messages >= self._max_messages:
                self._changed.wait()
            self._items.append(item)
            if isinstance(item, list):
                self._messages += len(item)
            self._changed.notify_all()

    def take(self) -> tuple[list[tuple[str, bytes, bool]], list[str]]:
        """Wait for work; then every batch up to the first control message, merged, and the controls after it."""
        with self._changed:
            while not self._items:
                self._changed.wait()
            merged: list[tuple[str, bytes, bool]] = []
            controls: list[str] = []
            while self._items and not controls:
                item = self._items.popleft()
                if isinstance(item, list):
                    merged.extend(item)
                else:
                    controls.append(str(item))
            self._messages -= len(merged)
            self._changed.notify_all()
            return merged, controls


def run_worker(
    settings: Settings, batches: Connection, acks: Connection, max_backlog_messages: int, log_level: int
) -> None:
    """The worker process: apply what the backlog holds in one unit of work, then answer with an Ack."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent stops us
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s [ingest worker]: %(message)s")
    raised: list[Event] = []  # published by the parent, which subscribers live in
    bus = EventBus()
    bus.subscribe(Event, raised.append)
    services = build_tracking(settings, bus=bus)
    tracking = services.tracking
    backlog = _Backlog(max_backlog_messages)

    def read_batches() -> None:
        while True:
            try:
                item = batches.recv()
            except (EOFError, OSError):
                item = _STOP  # the parent is gone: apply what came, then exit
            backlog.put(item)
            if item == _STOP:
                return

    # What start-up made (modules, the mapper, the engine) lives as long as the worker: kept out of
    # the collector's full passes, which otherwise took ~70 ms of every eighth batch here.
    gc.freeze()
    threading.Thread(target=read_batches, name="ingest-worker-reader", daemon=True).start()
    committed_through = 0
    try:
        acks.send(_READY)
        while True:
            batch, controls = backlog.take()
            if batch:
                try:
                    tracking.apply_raw(batch)
                except Exception:  # counted as batch_failed by apply(); the worker goes on
                    log.exception("MQTT ingest worker: a batch of %d messages failed", len(batch))
                committed_through += len(batch)
                ack = Ack(committed_through, tracking.take_stats(), tuple(raised), time.time())
                raised.clear()
                acks.send(ack)
            for control in controls:
                if control == _FORGET_TOPICS:
                    tracking.forget_topics()
                elif control == _STOP:
                    return
    except OSError:
        return  # the ack pipe is closed: the parent is gone
    finally:
        services.db.dispose()
