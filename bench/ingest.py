"""Benchmark: MQTT ingest of 10,000 printers' OctoPrint-MQTT traffic into the database.

A test-owned Mosquitto (config/mosquitto.conf: persistence, unlimited queues, QoS 0 queued) gets
the traffic of 10,000 printer base topics: progress (with a job's file name), tool and bed
temperatures, and events (PrintStarted/PrintPaused/PrintResumed naming the printer's job), JSON of
about 150 bytes. A separate publisher process makes it (one paho client, no SimulatedPrinters).

1. Drain, flat out: --messages are queued for an offline persistent session, then the subscriber
   connects and drains them. Measured for a bare paho subscriber that only counts (MQTT 3.1.1
   and 5; QoS 0 and QoS 1 publishes) and for printfarm's ingest (MqttIngest + TrackingService
   writing every batch to a SQLite file, or PostgreSQL with --postgres) on 3.1.1 and 5, in each
   arrangement: batches handed to the ingest worker process (printfarm's default) or parsed and
   written on the network thread between reads.
   Printed: messages/s and the ingest's ratio to the bare subscriber of the same protocol and QoS,
   medians of --repeat runs made alternately (a shared machine's load comes and goes).
2. Realistic: --rate messages/s (10,000 printers at about one message a second) for --seconds
   into the running ingest; event-to-database latency (publish to commit) p50 and p99.

Every subscriber's persistent session is removed after its run: an offline session left behind
would have the broker queue every later message for it too, and slow the runs that follow.

Figures only; nothing here asserts on time.

    .venv/bin/python bench/ingest.py [--messages 200000] [--rate 10000] [--seconds 20] [--postgres URL]
        [--qos 0,1] [--protocols 3.1.1,5] [--repeat 3] [--arrangements process,thread]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from adapters.mqtt.mqtt_support import forget_session  # noqa: E402
from support.mosquitto_server import MosquittoServer  # noqa: E402

from printfarm.adapters.mqtt.ingest import MqttIngest, RawMessage  # noqa: E402
from printfarm.ingest_worker import Ack, IngestWorker  # noqa: E402
from printfarm.auth.rules import SYSTEM  # noqa: E402
from printfarm.batches.schemas import BatchCreate  # noqa: E402
from printfarm.db.migrate import upgrade  # noqa: E402
from printfarm.db.tables import Printer, PrinterProfile, PrintJob  # noqa: E402
from printfarm.demo.gcode import plate_gcode  # noqa: E402
from printfarm.jobs.rules import JobState  # noqa: E402
from printfarm.printers.rules import ConnectionState  # noqa: E402
from printfarm.registry.schemas import HospitalCreate, SiteCreate  # noqa: E402
from printfarm.settings import Settings  # noqa: E402
from printfarm.wiring import build_services  # noqa: E402

PRINTERS = 10_000
PREFIX = "bench/"
PROTOCOLS = {"3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}


# -- the publisher (its own process) ----------------------------------------------------------


def _message(i: int, sent: float) -> tuple[str, bytes]:
    """The i-th message of the stream: 4 in 10 progress, 5 in 10 temperatures, 1 in 10 events."""
    printer = i % PRINTERS + 1
    base, name = f"{PREFIX}{printer}/", f"pf-{printer}-rc3_headband.gcode"
    kind = (i // PRINTERS) % 10
    if kind < 4:
        body = {"location": "local", "path": name, "progress": min(99, i // PRINTERS % 100), "_timestamp": int(sent)}
        return base + "progress/printing", json.dumps(body).encode()
    if kind < 9:
        heater = "tool0" if kind % 2 else "bed"
        body = {"actual": 214.6 if heater == "tool0" else 59.8, "target": 215.0 if heater == "tool0" else 60.0,
                "_timestamp": int(sent)}
        return f"{base}temperature/{heater}", json.dumps(body).encode()
    event = ("PrintStarted", "PrintPaused", "PrintResumed")[i // (PRINTERS * 10) % 3]
    body = {"_event": event, "name": name, "path": name, "origin": "local", "size": 1_234_567,
            "_timestamp": int(sent), "_sent": sent}
    return f"{base}event/{event}", json.dumps(body).encode()


def publish(port: int, count: int, rate: float | None, qos: int) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.monotonic()
    last = None
    for i in range(count):
        if rate is not None:
            due = started + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        topic, payload = _message(i, time.time())
        last = client.publish(topic, payload, qos=qos)
        while last.rc == mqtt.MQTT_ERR_QUEUE_SIZE:  # QoS 1: wait for the broker's acks to free room
            time.sleep(0.001)
            last = client.publish(topic, payload, qos=qos)
    if last is not None:
        last.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def run_publisher(port: int, count: int, rate: float | None, qos: int, timeout: float = 600) -> None:
    """Publish in a process of its own (no GIL shared with the subscriber) and wait until it is done."""
    process = multiprocessing.get_context("spawn").Process(target=publish, args=(port, count, rate, qos), daemon=True)
    process.start()
    process.join(timeout)
    if process.exitcode != 0:
        raise RuntimeError(f"the publisher failed (exit code {process.exitcode})")


# -- subscribers ------------------------------------------------------------------------------


class BareSubscriber:
    """A paho client that only counts, on its own network thread (loop_forever)."""

    def __init__(self, port: int, protocol: str, client_id: str) -> None:
        self.count = 0
        self.first = self.last = 0.0
        kwargs = {"clean_session": False} if protocol == "3.1.1" else {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=PROTOCOLS[protocol], **kwargs)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(f"{PREFIX}#", qos=1)
        self._port, self._protocol = port, protocol

    def _on_message(self, _c: object, _u: object, _m: object) -> None:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now

    def connect(self) -> None:
        if self._protocol == "5":
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
            self.client.connect("127.0.0.1", self._port, clean_start=False, properties=props)
        else:
            self.client.connect("127.0.0.1", self._port)
        self.client.loop_start()

    def wait_subscribed(self) -> None:
        time.sleep(0.5)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def drain_rate(received: callable, first: callable, last: callable, expected: int, timeout: float = 600) -> float:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout
    while received() < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    n = received()
    return (n - 1) / (last() - first()) if n > 1 and last() > first() else float("nan")


def queue_for(port: int, client_id: str, protocol: str, count: int, qos: int) -> None:
    """Make the persistent session exist, go away, and publish count messages for it to queue."""
    bare = BareSubscriber(port, protocol, client_id)
    bare.connect()
    bare.wait_subscribed()
    bare.stop()
    run_publisher(port, count, None, qos)


def bench_bare(port: int, protocol: str, count: int, qos: int) -> float:
    client_id = f"bench-bare-{uuid.uuid4().hex[:8]}"
    queue_for(port, client_id, protocol, count, qos)
    bare = BareSubscriber(port, protocol, client_id)
    bare.connect()
    rate = drain_rate(lambda: bare.count, lambda: bare.first, lambda: bare.last, count)
    bare.stop()
    forget_session(port, client_id)
    return rate


class IngestUnderTest:
    """MqttIngest + TrackingService over a seeded database, arranged as printfarm runs it.

    ``process``: the network thread hands batches to the ingest worker process (printfarm's
    default); ``thread``: the network thread parses and writes each batch itself between reads.
    With ``track_latency`` the network thread notes each event's ``_sent`` time, and the commit
    that covers it gives its event-to-database latency.
    """

    def __init__(self, services, port: int, protocol: str, client_id: str, arrangement: str,  # type: ignore[no-untyped-def]
                 track_latency: bool = False) -> None:
        self.services = services
        self.count = 0
        self.first = self.last = 0.0
        self.latencies: list[float] = []
        self._track_latency = track_latency
        self._submitted = 0
        self._sent: list[tuple[int, float]] = []  # (index of the message, its _sent), in order
        self.worker = IngestWorker(services.settings, bus=services.db.bus, on_ack=self._acked) if arrangement == "process" else None
        self.ingest = MqttIngest(host="127.0.0.1", port=port, client_id=client_id, protocol=protocol,
                                 on_batch=self._submit if self.worker else self._apply)
        self.ingest.watch(f"{PREFIX}{i}/" for i in range(1, PRINTERS + 1))

    def start(self) -> None:
        if self.worker is not None:
            self.worker.start()
        self.ingest.start()

    def stop(self) -> None:
        self.ingest.stop()
        if self.worker is not None:
            self.worker.stop()

    def _note_sent(self, batch: list[RawMessage]) -> None:
        if self._track_latency:
            for index, (_, payload, _) in enumerate(batch, self._submitted):
                if b'"_sent"' in payload:
                    self._sent.append((index, json.loads(payload)["_sent"]))
        self._submitted += len(batch)

    def _submit(self, batch: list[RawMessage]) -> None:
        if not self._submitted:
            self.first = time.perf_counter()
        self._note_sent(batch)
        assert self.worker is not None
        self.worker.submit(batch)

    def _acked(self, ack: Ack) -> None:
        self.services.tracking.absorb(ack.stats)
        self._committed(ack.committed_through, ack.committed_at)

    def _apply(self, batch: list[RawMessage]) -> None:
        if not self._submitted:
            self.first = time.perf_counter()
        self._note_sent(batch)
        self.services.tracking.apply_raw(batch)
        self._committed(self._submitted, time.time())

    def _committed(self, through: int, committed_at: float) -> None:
        self.count = through
        self.last = time.perf_counter()
        done = 0
        while done < len(self._sent) and self._sent[done][0] < through:
            self.latencies.append(committed_at - self._sent[done][1])
            done += 1
        del self._sent[:done]


def seed(services) -> None:  # type: ignore[no-untyped-def]
    """A site, a part with a print file, a batch, 10,000 printers each printing a job (id = printer id)."""
    now = dt.datetime.now(dt.UTC)
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        site = services.registry.create_site(session, SYSTEM, SiteCreate(name="bench"))
        hospital = services.registry.create_hospital(session, SYSTEM, HospitalCreate(name="bench hospital"))
        part = services.parts.create(session, SYSTEM, name="RC3 headband")
        services.parts.approve(session, SYSTEM, part.id)
        print_file = services.parts.add_print_file(
            session, SYSTEM, part.id, profile_name="prusa-mk3s-0.4", gcode=plate_gcode(units=4),
            filename="rc3.gcode", units_per_print=4,
        )
        batch = services.batches.create(session, SYSTEM, BatchCreate(
            part_id=part.id, hospital_id=hospital.id, quantity=PRINTERS * 4, priority=5))
        profile_id = session.scalar(sa.select(PrinterProfile.id).where(PrinterProfile.name == "prusa-mk3s-0.4"))
        key = services.printers._secrets.encrypt("bench-key")
        session.execute(sa.insert(Printer), [
            {"id": i, "site_id": site.id, "profile_id": profile_id, "name": f"p{i}",
             "base_url": f"http://bench-{i}.invalid", "api_key_encrypted": key, "mqtt_base_topic": f"{PREFIX}{i}/",
             "loaded_material": "PLA", "is_enabled": True, "is_bed_clear": False,
             "connection": ConnectionState.ONLINE, "consecutive_failures": 0, "offline_checks": 0, "created_at": now}
            for i in range(1, PRINTERS + 1)
        ])
        session.execute(sa.insert(PrintJob), [
            {"id": i, "batch_id": batch.id, "printer_id": i, "print_file_id": print_file.id, "units_per_print": 4,
             "state": JobState.PRINTING, "progress_percent": 0, "remote_filename": f"pf-{i}-rc3_headband.gcode",
             "created_at": now, "updated_at": now, "started_at": now}
            for i in range(1, PRINTERS + 1)
        ])


def bench_ingest(services, port: int, protocol: str, count: int, qos: int, arrangement: str) -> float:  # type: ignore[no-untyped-def]
    client_id = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    first = IngestUnderTest(services, port, protocol, client_id, "thread")
    first.start()
    first.ingest.wait_connected(60)
    first.stop()
    run_publisher(port, count, None, qos)
    under_test = IngestUnderTest(services, port, protocol, client_id, arrangement)
    under_test.start()
    rate = drain_rate(lambda: under_test.count, lambda: under_test.first, lambda: under_test.last, count)
    under_test.stop()
    forget_session(port, client_id)
    return rate


def bench_latency(services, port: int, rate: float, seconds: float, arrangement: str) -> tuple[float, float, float, int]:  # type: ignore[no-untyped-def]
    client_id = f"bench-live-{uuid.uuid4().hex[:8]}"
    under_test = IngestUnderTest(services, port, "3.1.1", client_id, arrangement, track_latency=True)
    under_test.start()
    under_test.ingest.wait_connected(60)
    count = int(rate * seconds)
    started = time.perf_counter()
    run_publisher(port, count, rate, 0, timeout=seconds * 10 + 60)
    deadline = time.monotonic() + 60
    while under_test.count < count and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    under_test.stop()
    forget_session(port, client_id)
    values = sorted(under_test.latencies)
    p50 = statistics.median(values) if values else float("nan")
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))] if values else float("nan")
    return p50, p99, under_test.count / elapsed, len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--postgres", help="PostgreSQL URL (its schema is dropped and recreated)")
    parser.add_argument("--qos", default="0,1", help="publish QoS levels of the drain runs, e.g. 0 or 0,1")
    parser.add_argument("--protocols", default="3.1.1,5", help="MQTT versions of the drain runs, e.g. 3.1.1")
    parser.add_argument("--repeat", type=int, default=3,
                        help="drain runs of each subscriber, alternating bare and ingest; medians are printed")
    parser.add_argument("--arrangements", default="process,thread",
                        help="where ingest parses and writes: process (the worker process, printfarm's default), "
                             "thread (the network thread between reads)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pf-bench-ingest-") as tmp:
        broker = MosquittoServer(Path(tmp) / "mosquitto")
        port = broker.start()
        url = args.postgres or f"sqlite:///{tmp}/printfarm.db"
        services = build_services(Settings(data_dir=Path(tmp) / "pf", database_url=url))
        if args.postgres:
            with services.db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        upgrade(services.db.engine)
        seed(services)
        database = "PostgreSQL" if args.postgres else "SQLite (WAL file)"
        print(f"{PRINTERS} printers, {args.messages} messages per drain, database {database}, Mosquitto with persistence")
        arrangements = args.arrangements.split(",")
        try:
            for qos in (int(q) for q in args.qos.split(",")):
                for protocol in args.protocols.split(","):
                    # alternated, so a spell of load on a shared machine hits all about alike
                    bares: list[float] = []
                    ingests: dict[str, list[float]] = {arrangement: [] for arrangement in arrangements}
                    for _ in range(args.repeat):
                        bares.append(bench_bare(port, protocol, args.messages, qos))
                        for arrangement in arrangements:
                            ingests[arrangement].append(bench_ingest(services, port, protocol, args.messages, qos, arrangement))
                    bare = statistics.median(bares)
                    print(f"drain, publish QoS {qos}, MQTT {protocol}: bare paho {bare:,.0f} msg/s "
                          f"(runs {', '.join(f'{r:,.0f}' for r in bares)})")
                    for arrangement, rates in ingests.items():
                        ingest = statistics.median(rates)
                        print(f"    ingest+DB, batches in the {arrangement:7}: {ingest:9,.0f} msg/s   ratio {ingest / bare:.2f}"
                              f"   (median of {args.repeat}: {', '.join(f'{r:,.0f}' for r in rates)})")
            for arrangement in arrangements:
                p50, p99, achieved, n = bench_latency(services, port, args.rate, args.seconds, arrangement)
                print(f"realistic {args.rate:,.0f} msg/s for {args.seconds:.0f} s, batches in the {arrangement} "
                      f"(ingested {achieved:,.0f} msg/s): event-to-database latency p50 {p50 * 1000:.0f} ms, "
                      f"p99 {p99 * 1000:.0f} ms ({n} events)")
            stats = services.tracking.stats_snapshot()
            print(f"tracking counters: {stats}")
        finally:
            broker.stop()
            services.db.dispose()


if __name__ == "__main__":
    main()
