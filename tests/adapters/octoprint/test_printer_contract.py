"""One PrinterClient contract, run against the fake, the adapter on a SimulatedPrinter and on a real OctoPrint,
and the gateway kind (a request over Mosquitto to an in-process site gateway driving the SimulatedPrinter)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.octoprint_server import MqttRecorder, OctoPrintInstance, free_port, running_octoprint

from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.adapters.octoprint.octorest_client import OctorestPrinterClient, make_octorest_client_factory
from printfarm.errors import PrinterAuthRejected, PrinterCommandFailed, PrinterUnreachable
from printfarm.printers.port import PrinterClient, PrinterSnapshot
from printfarm.sim import PrintTiming, SimulatedPrinter

MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
TIMEOUT_SECONDS = 2.0
PRINT_DEADLINE_SECONDS = 30.0

# The Virtual Printer sleeps on G4 for real; the simulator reads the slicer estimate (600x faster).
SHORT_GCODE = b"; estimated printing time (normal mode) = 15m\nG90\n" + b"G4 P200\n" * 5 + b"G1 X10 Y10 F6000\nG1 X0 Y0\n"
LONG_GCODE = b"; estimated printing time (normal mode) = 5h 0m 0s\nG90\n" + b"G4 P200\n" * 150 + b"G1 X10 Y10 F6000\n"


@dataclass
class Backend:
    """One implementation of the port, with what the suite needs to drive it."""

    name: str
    client: Callable[..., PrinterClient]  # client(api_key=None): a client, with the right key by default
    unreachable_client: Callable[[], PrinterClient]
    let_print_finish: Callable[[], None]  # the fake finishes only when told; the others finish on their own


def _octorest_backend(name: str, base_url: str, api_key: str, clients: list[OctorestPrinterClient]) -> Backend:
    def client(api_key_override: str | None = None) -> PrinterClient:
        made = OctorestPrinterClient(base_url, api_key_override or api_key, timeout_seconds=TIMEOUT_SECONDS)
        clients.append(made)
        return made

    def unreachable() -> PrinterClient:
        return client_for(f"http://127.0.0.1:{free_port()}")

    def client_for(url: str) -> PrinterClient:
        made = OctorestPrinterClient(url, api_key, timeout_seconds=TIMEOUT_SECONDS)
        clients.append(made)
        return made

    return Backend(name, client, unreachable, lambda: None)


@pytest.fixture(scope="module")
def simulated_printer() -> Iterator[SimulatedPrinter]:
    with SimulatedPrinter(
        "contract", site="tests", mqtt_host=MQTT_HOST, mqtt_port=MQTT_PORT,
        base_topic=f"printfarm-test/{secrets.token_hex(4)}/sim/", timing=PrintTiming(time_scale=600.0),
    ) as printer:
        yield printer


@pytest.fixture(scope="module")
def real_octoprint() -> Iterator[OctoPrintInstance]:
    # the event-subscription shim: test_real_octoprint_publishes_print_events_to_the_broker checks what
    # it publishes (the plugin's own events are in tests/e2e)
    with running_octoprint(mqtt_host=MQTT_HOST, mqtt_port=MQTT_PORT, feed="shim") as instance:
        yield instance


def _gateway_backend(sim: SimulatedPrinter, tmp_path: Path, stack: contextlib.ExitStack) -> Backend:
    """Each client is a gateway printer whose site gateway (in-process, started per key) holds the sim's URL."""
    from printfarm.adapters.gateway.client import GatewayPrinterClient
    from printfarm.adapters.gateway.credentials import PlateCredentials
    from printfarm.adapters.gateway.link import BrokerEndpoint, GatewayRequester
    from printfarm.gateway import Gateway, GatewayConfig, GatewayPrinter

    credentials = PlateCredentials(secrets.token_hex(8))
    requester = GatewayRequester(BrokerEndpoint(MQTT_HOST, MQTT_PORT))
    stack.callback(requester.stop)
    plates: dict[str, bytes] = {}

    def fetch(file_name: str, credential: str, sha256: str) -> bytes:
        credentials.verify(credential, file_name, time.time())
        return plates[sha256]

    class Client(GatewayPrinterClient):
        def start_print(self, filename: str, gcode: bytes) -> None:
            plates[hashlib.sha256(gcode).hexdigest()] = gcode  # what the central service would serve
            super().start_print(filename, gcode)

    def client_at(url: str, api_key: str) -> PrinterClient:
        site = f"contract-{secrets.token_hex(4)}"
        config = GatewayConfig(site=site, mqtt_url=f"mqtt://{MQTT_HOST}:{MQTT_PORT}", central_url="http://c.invalid",
                               state_dir=tmp_path / site, printer_timeout_seconds=TIMEOUT_SECONDS,
                               printers=[GatewayPrinter(name="sim", url=url, api_key=api_key)])
        gateway = Gateway(config, fetch=fetch)
        stack.callback(gateway.stop)
        assert gateway.start(wait_connected_seconds=10)
        return Client(requester, f"gateway://{site}/sim", credentials, timeout_seconds=TIMEOUT_SECONDS + 3,
                      upload_timeout_seconds=30)

    return Backend(
        "gateway", lambda api_key=None: client_at(sim.base_url, api_key or sim.api_key),
        lambda: client_at(f"http://127.0.0.1:{free_port()}", sim.api_key), lambda: None,
    )


@pytest.fixture(params=["fake", "sim", "gateway", pytest.param("octoprint", marks=pytest.mark.octoprint)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    clients: list[OctorestPrinterClient] = []
    if request.param == "gateway":
        with contextlib.ExitStack() as stack:
            chosen = _gateway_backend(request.getfixturevalue("simulated_printer"), tmp_path, stack)
            yield chosen
            _leave_idle(chosen.client())
        return
    if request.param == "fake":
        fleet = FakePrinterFleet()
        printer = fleet.add("http://fake-octoprint.invalid", "fake-key")

        def finish() -> None:
            if printer.state_text in ("Printing", "Paused"):
                printer.finish_print()

        yield Backend(
            "fake",
            lambda api_key=None: fleet("http://fake-octoprint.invalid", api_key or "fake-key"),
            lambda: fleet(f"http://127.0.0.1:{free_port()}", "fake-key"),
            finish,
        )
        return
    if request.param == "sim":
        sim: SimulatedPrinter = request.getfixturevalue("simulated_printer")
        chosen = _octorest_backend("sim", sim.base_url, sim.api_key, clients)
    else:
        real: OctoPrintInstance = request.getfixturevalue("real_octoprint")
        chosen = _octorest_backend("octoprint", real.base_url, real.api_key, clients)
    try:
        yield chosen
        _leave_idle(chosen.client())  # the module-scoped printer is shared by the next test
    finally:
        for client in clients:
            client.close()


def _leave_idle(client: PrinterClient) -> None:
    status = client.status()
    if status.is_printing or status.is_paused:
        client.cancel()
        wait_for_status(client, lambda s: not s.is_printing and not s.is_paused, "idle after cleanup")


def wait_for_status(
    client: PrinterClient, condition: Callable[[PrinterSnapshot], bool], what: str,
    timeout_seconds: float = PRINT_DEADLINE_SECONDS,
) -> PrinterSnapshot:
    """Poll the printer (a remote device: polling is how its state is learnt) until condition holds."""
    deadline = time.monotonic() + timeout_seconds
    status = client.status()
    while not condition(status):
        if time.monotonic() > deadline:
            raise AssertionError(f"printer not {what} within {timeout_seconds} s; last status {status}")
        time.sleep(0.1)
        status = client.status()
    return status


def _start(client: PrinterClient, gcode: bytes) -> str:
    name = f"pf-{secrets.token_hex(3)}-rc3-headband.gcode"
    client.ensure_connected()
    client.start_print(name, gcode)
    return name


# -- the contract ------------------------------------------------------------------------------


def test_check_returns_the_octoprint_version(backend: Backend) -> None:
    version = backend.client().check()
    assert version.split(".")[0].isdigit(), version


def test_a_wrong_api_key_is_rejected_without_naming_the_key(backend: Backend) -> None:
    wrong_key = "WRONG" + secrets.token_hex(8)
    with pytest.raises(PrinterAuthRejected) as raised:
        backend.client(wrong_key).check()
    assert wrong_key not in str(raised.value)


def test_a_closed_port_is_unreachable_within_the_timeout(backend: Backend) -> None:
    started = time.monotonic()
    with pytest.raises(PrinterUnreachable) as raised:
        backend.unreachable_client().status()
    assert time.monotonic() - started < TIMEOUT_SECONDS + 1.0
    assert "127.0.0.1" in str(raised.value)


def test_ensure_connected_leaves_the_printer_operational_and_idle(backend: Backend) -> None:
    client = backend.client()
    client.ensure_connected()
    client.ensure_connected()  # idempotent on a connected printer
    status = client.status()
    assert status.is_operational
    assert not status.is_printing and not status.is_paused


def test_a_started_print_reports_printing_with_its_file_then_finishes(backend: Backend) -> None:
    client = backend.client()
    name = _start(client, SHORT_GCODE)
    printing = wait_for_status(client, lambda s: s.is_printing or s.progress_percent == 100.0, "printing")
    assert printing.file_name == name
    backend.let_print_finish()
    done = wait_for_status(client, lambda s: not s.is_printing, "finished")
    assert done.is_operational and not done.is_paused
    assert done.file_name == name
    assert done.progress_percent == pytest.approx(100.0)


def test_cancel_stops_the_print(backend: Backend) -> None:
    client = backend.client()
    name = _start(client, LONG_GCODE)
    assert wait_for_status(client, lambda s: s.is_printing, "printing").file_name == name
    client.cancel()
    status = wait_for_status(client, lambda s: not s.is_printing, "stopped after cancel")
    assert status.is_operational and not status.is_paused
    assert status.progress_percent is None  # OctoPrint keeps a completion only for a finished print


def test_pause_then_resume_the_print(backend: Backend) -> None:
    client = backend.client()
    _start(client, LONG_GCODE)
    wait_for_status(client, lambda s: s.is_printing, "printing")
    client.pause()
    paused = wait_for_status(client, lambda s: s.is_paused, "paused")
    assert paused.state_text == "Paused"
    client.resume()
    # OctoPrint passes through "Resuming" (is_printing already true) on its way back to "Printing".
    resumed = wait_for_status(client, lambda s: s.state_text == "Printing", "printing again")
    assert resumed.is_printing and not resumed.is_paused


def test_commands_without_a_print_are_refused(backend: Backend) -> None:
    client = backend.client()
    client.ensure_connected()
    with pytest.raises(PrinterCommandFailed, match="409"):
        client.cancel()
    with pytest.raises(PrinterCommandFailed, match="409"):
        client.pause()


def test_starting_a_second_print_while_printing_is_refused(backend: Backend) -> None:
    client = backend.client()
    first = _start(client, LONG_GCODE)
    wait_for_status(client, lambda s: s.is_printing, "printing")
    with pytest.raises(PrinterCommandFailed):
        client.start_print(f"pf-{secrets.token_hex(3)}-second.gcode", SHORT_GCODE)
    assert client.status().file_name == first


# -- the real adapter only ---------------------------------------------------------------------


def test_a_silent_server_times_out_as_unreachable() -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with OctorestPrinterClient(url, "key", timeout_seconds=0.5) as client:
            started = time.monotonic()
            with pytest.raises(PrinterUnreachable, match="timed out"):
                client.check()
            assert time.monotonic() - started < 3.0


def test_the_factory_makes_clients_that_construct_without_io() -> None:
    factory = make_octorest_client_factory(timeout_seconds=1.0)
    client = factory(f"http://127.0.0.1:{free_port()}", "key")  # nothing listens: still no error here
    assert isinstance(client, OctorestPrinterClient)
    assert client.timeout_seconds == 1.0
    client.close()


@pytest.mark.octoprint
def test_real_octoprint_publishes_print_events_to_the_broker(real_octoprint: OctoPrintInstance) -> None:
    base = real_octoprint.base_topic
    with MqttRecorder(MQTT_HOST, MQTT_PORT, base + "event/#") as recorder, \
            OctorestPrinterClient(real_octoprint.base_url, real_octoprint.api_key) as client:
        name = _start(client, SHORT_GCODE)
        recorder.wait_for(lambda topic, payload: topic == base + "event/PrintDone", PRINT_DEADLINE_SECONDS)
        events = [(event, payload) for event, payload in recorder.events(base) if payload.get("name") == name]
    assert [event for event, _ in events] == ["PrintStarted", "PrintDone"]
    started, done = (payload for _, payload in events)
    assert started["_event"] == "PrintStarted" and isinstance(started["_timestamp"], int)
    assert started["path"] == name and started["origin"] == "local" and started["size"] == len(SHORT_GCODE)
    assert done["time"] > 0
    assert json.dumps(done)  # plain JSON all through
