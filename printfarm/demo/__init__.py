"""`printfarm demo`: the whole chain on embedded defaults, with a simulated farm.

Hospitals ask for face-shield frames; printfarm dispatches plates to simulated OctoPrint printers
at several sites, follows them over MQTT (an embedded broker), and simulated operators clear each
bed and record QC. Everything runs on free ports in a temporary directory. By default the
hospitals keep asking (see demo.crew) until Ctrl-C; with exit_when_done one batch is printed,
delivered and reported, and the process exits.
"""

from __future__ import annotations

import queue
import random
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

import uvicorn

from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.db.migrate import upgrade
from printfarm.adapters.mqtt.mosquitto import PrivateMosquitto
from printfarm.demo.crew import Hospitals, Receipt, ask, clear_beds, deliver
from printfarm.demo.gateway_site import gateway_site_name, start_gateway
from printfarm.demo.seed import DemoFarm, SignIn, seed, sign_ins, site_name, slug
from printfarm.errors import BrokerError, PrintfarmError
from printfarm.gateway import Gateway
from printfarm.events import BatchDone
from printfarm.services import Services
from printfarm.settings import Settings
from printfarm.sim import SimulatedFarm

STALL_SECONDS = 60.0
ROUND_SECONDS = 0.25
DEMO_API_KEY = "demo-octoprint-key"


@dataclass(frozen=True)
class DemoOptions:
    units: int = 96
    exit_when_done: bool = False
    sites: int = 3
    printers_per_site: int = 3
    time_scale: float = 900.0
    reject_rate: float = 0.0
    timeout_seconds: float = 600.0  # with exit_when_done only; otherwise the demo runs until stopped
    speedup: float = 1.0  # for tests: the printers and the demo's own clock both run this much faster
    operator_wait_seconds: float = 0.0  # until Ctrl-C: how long a finished plate waits for a person
    gateway_site: bool = False  # one site's printers only through an in-process site gateway (demo/gateway_site.py)


class DemoClock:
    """The demo's time: real time times speedup, so a test can live through demo-minutes in seconds."""

    def __init__(self, speedup: float = 1.0) -> None:
        self.speedup = speedup
        self._start = time.monotonic()

    def seconds(self) -> float:
        """Demo seconds since the clock was made."""
        return (time.monotonic() - self._start) * self.speedup

    def wait(self, stop: threading.Event, demo_seconds: float) -> bool:
        """Wait up to demo_seconds; True when stop was set."""
        return stop.wait(demo_seconds / self.speedup)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerDidNotStart(RuntimeError):
    """The demo's HTTP server did not answer within its start-up time."""


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the demo's own loop handles Ctrl-C
        pass


class Demo:
    """The demo's server, farm and database; `with Demo(options) as demo: demo.run(stop)`.

    The HTTP access log goes to the `uvicorn.access` logger (quiet unless a handler asks for INFO).
    """

    def __init__(self, options: DemoOptions, out: TextIO | None = None) -> None:
        self.options = options
        self.out = out or sys.stdout
        self.clock = DemoClock(options.speedup)
        self._done_batches: queue.SimpleQueue[BatchDone] = queue.SimpleQueue()
        self._dir = tempfile.TemporaryDirectory(prefix="printfarm-demo-")
        self.settings = Settings(
            data_dir=Path(self._dir.name), http_port=_free_port(), dispatch_interval_seconds=1.0, log_level="WARNING"
        )
        self._broker: PrivateMosquitto | None = None
        self._gateway: Gateway | None = None
        if options.gateway_site and self.settings.mqtt_url is None:  # the embedded broker speaks no MQTT 5
            self._broker = PrivateMosquitto(Path(self._dir.name) / "mosquitto")
            try:
                port = self._broker.start()
            except BrokerError:
                self._dir.cleanup()
                raise
            self.settings = self.settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{port}"})
        self.url = f"http://127.0.0.1:{self.settings.http_port}"
        app = create_app(self.settings)
        self.services: Services = app.state.services
        self._runtime = app.state.runtime
        # log_config=None: uvicorn leaves logging as the process set it up; the access log stays on.
        self._server = _Server(uvicorn.Config(app, host="127.0.0.1", port=self.settings.http_port, log_config=None))
        self._thread = threading.Thread(target=self._server.run, name="printfarm-http", daemon=True)
        self._farm: SimulatedFarm | None = None
        self.farm: DemoFarm | None = None
        self.sign_ins: list[SignIn] = []

    def __enter__(self) -> Demo:
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stop()

    def _start(self) -> None:
        upgrade(self.services.db.engine)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise ServerDidNotStart("printfarm demo: the HTTP server did not start")
            time.sleep(0.05)
        site_names = [site_name(i) for i in range(self.options.sites)]
        self._farm = SimulatedFarm(
            self._runtime.mqtt_host,
            self._runtime.mqtt_port,
            {slug(name): self.options.printers_per_site for name in site_names},
            time_scale=self.options.time_scale * self.options.speedup,
            min_print_seconds=1.0 / self.options.speedup,
            api_key=DEMO_API_KEY,
            topic_prefix="demo/",
        )
        self._farm.start()
        behind_gateway = None
        if self.options.gateway_site:
            behind_gateway = gateway_site_name(site_names)
            assert self.settings.mqtt_url is not None
            self._gateway = start_gateway(self._farm, slug(behind_gateway), behind_gateway, self.settings.mqtt_url,
                                          self.url, Path(self._dir.name) / "gateway")
        self.farm = seed(self.services, self._farm, site_names, behind_gateway)
        self.sign_ins = sign_ins(self.services, self.farm)
        # A subscriber must be quick: it only hands the event to the demo's loop.
        self.services.db.bus.subscribe(BatchDone, self._done_batches.put)
        self.clock = DemoClock(self.options.speedup)  # demo time starts when the farm is ready

    def _stop(self) -> None:
        if self._gateway is not None:
            self._gateway.stop()
        if self._farm is not None:
            self._farm.stop()
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(timeout=15)
        if self._broker is not None:
            self._broker.stop()
        self._dir.cleanup()

    # -- the loop ------------------------------------------------------------------------------

    def say(self, line: str = "", end: str = "\n") -> None:
        print(line, end=end, file=self.out, flush=True)

    def run(self, stop: threading.Event) -> int:
        """The demo until stop is set (or, with exit_when_done, until its batch is delivered); the exit code."""
        assert self.farm is not None, "run() inside `with Demo(...)`"
        printers = self.options.sites * self.options.printers_per_site
        self.say(f"printfarm demo: {self.options.sites} sites x {self.options.printers_per_site} simulated printers, "
                 f"{self.options.units} face-shield frames for {self.farm.hospital_names[self.farm.hospital_ids[0]]}")
        if self.farm.gateway_site_id is not None and self.settings.mqtt_address is not None:
            self.say(f"{self.farm.site_names[self.farm.gateway_site_id]}: printers reached only through its site gateway "
                     f"(kind gateway; the gateway connects out to {self.settings.mqtt_address.public_url})")
        self._print_sign_ins()
        batch = ask(self.services, self.farm, self.farm.hospital_ids[0], self.options.units)
        rng = random.Random(2020)
        if self.options.exit_when_done:
            return self._until_done(stop, batch.id, rng)
        hospitals = Hospitals(self.services, self.farm, printers, random.Random(13))
        hospitals.track(batch.id)
        return self._until_stopped(stop, hospitals, rng)

    def _print_sign_ins(self) -> None:
        self.say("sign in — open a link; the token after '#' stays in the browser, the server never sees it in an address:")
        width = max(len(link.label) for link in self.sign_ins)
        for link in self.sign_ins:
            self.say(f"  {link.label:<{width}}  {self.url}/login?next={link.landing_path}#token={link.token}")
        admin = next(link.token for link in self.sign_ins if link.role is Role.ADMIN)
        self.say(f"API docs: {self.url}/docs  (Authorize with the admin token {admin})")
        if self.options.operator_wait_seconds and not self.options.exit_when_done:
            self.say(f"a finished plate waits {self.options.operator_wait_seconds:.0f} s for you (signed in as an operator: "
                     "the Printers page, Bed cleared · record QC) before the simulated operators take it off")

    def _until_stopped(self, stop: threading.Event, hospitals: Hospitals, rng: random.Random) -> int:
        self.say("the hospitals keep asking until you stop the demo: press Ctrl-C")
        batches = good_units = 0
        while not stop.is_set():
            clear_beds(self.services, self.options.reject_rate, rng, self.options.operator_wait_seconds)
            for done in self._drain():
                hospitals.done(done.batch_id)
                batches, good_units = batches + 1, good_units + done.good_units
                so_far = f" · so far {good_units} good units, {_batches(batches)}"
                try:
                    receipt = deliver(self.services, done.batch_id)
                except PrintfarmError as err:  # one refused delivery must not end a demo left running
                    self.say(f"batch {done.batch_id} done: {done.good_units} good units, not delivered "
                             f"({type(err).__name__}: {err})" + so_far)
                    continue
                self.say(self._done_line(done, receipt) + so_far)
            queued = hospitals.top_up()
            if queued is not None:
                self.say(f"{self._hospital(queued.hospital_id)} asks for {queued.quantity} frames: batch {queued.id} queued")
            self.clock.wait(stop, ROUND_SECONDS)
        self.say(f"\nprintfarm demo: stopped after {_batches(batches)} ({good_units} good units).")
        return 0

    def _until_done(self, stop: threading.Event, batch_id: int, rng: random.Random) -> int:
        started = last_change = self.clock.seconds()
        last_good = -1
        while not stop.is_set():
            clear_beds(self.services, self.options.reject_rate, rng)
            with self.services.db.unit_of_work() as session:
                batch = self.services.batches.get(session, SYSTEM, batch_id)
            if batch.good_units != last_good:
                last_good, last_change = batch.good_units, self.clock.seconds()
                self.say(_progress_line(batch.good_units, batch.quantity), end="")
            for done in self._drain():
                if done.batch_id == batch_id:
                    self.say()
                    receipt = deliver(self.services, batch_id)
                    self.say(self._done_line(done, receipt))
                    self._print_receipt(receipt)
                    return self._report()
            now = self.clock.seconds()
            if now - last_change > STALL_SECONDS:
                print(f"\nprintfarm demo: stalled — no unit counted for {STALL_SECONDS:.0f} s "
                      f"({batch.in_production_units} units in production)", file=sys.stderr)
                return 1
            if now - started > self.options.timeout_seconds:
                print(f"\nprintfarm demo: timed out after {self.options.timeout_seconds:.0f} s", file=sys.stderr)
                return 1
            self.clock.wait(stop, ROUND_SECONDS)
        self.say("\nprintfarm demo: stopped.")
        return 0

    def _drain(self) -> list[BatchDone]:
        events = []
        while True:
            try:
                events.append(self._done_batches.get_nowait())
            except queue.Empty:
                return events

    def _hospital(self, hospital_id: int) -> str:
        assert self.farm is not None
        return self.farm.hospital_names.get(hospital_id, f"hospital {hospital_id}")

    def _done_line(self, done: BatchDone, receipt: Receipt) -> str:
        delivery = receipt.delivery
        return (f"batch {done.batch_id} done: {done.good_units} good units for {self._hospital(delivery.hospital_id)}, "
                f"delivery {delivery.id} {delivery.state.value} ({len(delivery.sources)} plates from "
                f"{len(delivery.sites)} sites)")

    def _print_receipt(self, receipt: Receipt) -> None:
        received, request = receipt.delivery, receipt.request
        self.say(f"delivery {received.id}: {received.units} units from {len(received.sites)} sites "
                 f"({len(received.sources)} plates traced), {received.state.value} by {received.hospital_name}: "
                 f"{received.units_received} units")
        self.say(f"hospital request {request.id}: {request.requested_units} requested, {request.qc_passed_units} "
                 f"QC-passed, {request.delivered_units} delivered, {request.outstanding_units} outstanding")

    def _report(self) -> int:
        with self.services.db.unit_of_work() as session:
            rows = self.services.output.units_per_site(session, SYSTEM)
        self.say("good units per site:")
        for row in rows:
            self.say(f"  {row.site_name:<28} {row.good_units:>5}  (rejected {row.rejected_units})")
        self.say(f"  {'total':<28} {sum(r.good_units for r in rows):>5}")
        return 0


def _batches(count: int) -> str:
    return f"{count} batch" if count == 1 else f"{count} batches"


def _progress_line(good: int, wanted: int, width: int = 40) -> str:
    done = min(width, int(width * good / max(1, wanted)))
    return f"\r[{'#' * done}{'.' * (width - done)}] {good}/{wanted} good units"


def run_demo(options: DemoOptions) -> int:
    """Run the demo until Ctrl-C (or its batch is done, with exit_when_done); the process exit code."""
    stop = threading.Event()

    def on_sigint(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C does not wait

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with Demo(options) as demo:
            return demo.run(stop)
    except KeyboardInterrupt:
        print("\nprintfarm demo: stopped.")
        return 0
    except ServerDidNotStart as err:
        print(err, file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
