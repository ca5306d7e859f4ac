"""The simulated printer's MQTT output (OctoPrint-MQTT topics on Mosquitto), knobs and farm."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.octoprint_server import MqttRecorder

from printfarm.adapters.octoprint.mqtt_feed import OCTOPRINT_MQTT_FEED
from printfarm.adapters.octoprint.octorest_client import OctorestPrinterClient
from printfarm.errors import PrinterUnreachable
from printfarm.printers.feed import MessageKind
from printfarm.sim import PrinterSpec, PrintTiming, SimulatedFarm, SimulatedPrinter, estimated_print_seconds

MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
TWENTY_MINUTES = b"; estimated printing time (normal mode) = 20m 0s\nG1 X1 Y1\n"  # 2 s at 600x
FIVE_HOURS = b"; estimated printing time (normal mode) = 5h\nG1 X1 Y1\n"  # 30 s at 600x


@pytest.fixture
def base_topic() -> str:
    return f"printfarm-test/{secrets.token_hex(4)}/sim/"


@pytest.fixture
def printer(base_topic: str) -> Iterator[SimulatedPrinter]:
    with SimulatedPrinter("p1", site="tests", mqtt_host=MQTT_HOST, mqtt_port=MQTT_PORT, base_topic=base_topic,
                          timing=PrintTiming(time_scale=600.0)) as simulated:
        yield simulated


@pytest.fixture
def client(printer: SimulatedPrinter) -> Iterator[OctorestPrinterClient]:
    with OctorestPrinterClient(printer.base_url, printer.api_key, timeout_seconds=2.0) as made:
        made.ensure_connected()
        yield made


@pytest.fixture
def recorder(base_topic: str) -> Iterator[MqttRecorder]:
    with MqttRecorder(MQTT_HOST, MQTT_PORT, base_topic + "#") as recording:
        yield recording


def _is(base: str, suffix: str, **fields: object) -> Callable[[str, bytes], bool]:
    def matches(topic: str, payload: bytes) -> bool:
        if topic != base + suffix:
            return False
        body = json.loads(payload) if payload.startswith(b"{") else {}
        return all(body.get(key) == value for key, value in fields.items())

    return matches


def _print_messages(recorder: MqttRecorder, base: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    """(topic suffix, payload) of the messages about file `name`, in arrival order."""
    found = []
    for topic, payload, _ in list(recorder.messages):
        if payload.startswith(b"{"):
            body = json.loads(payload)
            if body.get("name") == name or body.get("path") == name:
                found.append((topic.removeprefix(base), body))
    return found


def test_a_print_publishes_started_progress_and_done_in_order(
    printer: SimulatedPrinter, client: OctorestPrinterClient, recorder: MqttRecorder, base_topic: str
) -> None:
    client.start_print("pf-7-headband.gcode", TWENTY_MINUTES)
    recorder.wait_for(_is(base_topic, "event/PrintDone", name="pf-7-headband.gcode"))
    messages = [(topic, body) for topic, body in _print_messages(recorder, base_topic, "pf-7-headband.gcode")
                if topic != "event/Upload"]
    topics = [topic for topic, _ in messages]
    assert topics[0] == "event/PrintStarted" and topics[-1] == "event/PrintDone"
    progress = [body["progress"] for topic, body in messages if topic == "progress/printing"]
    assert progress == sorted(set(progress)) and progress[-1] == 100 and 0 not in progress
    assert len(progress) >= 5  # every 10 % of a 20-minute plate
    started, done = messages[0][1], messages[-1][1]
    assert started == {"_event": "PrintStarted", "name": "pf-7-headband.gcode", "path": "pf-7-headband.gcode",
                       "origin": "local", "size": len(TWENTY_MINUTES), "_timestamp": started["_timestamp"]}
    assert isinstance(started["_timestamp"], int) and abs(started["_timestamp"] - time.time()) < 60
    assert done["time"] == pytest.approx(1200.0, rel=0.05)  # sim seconds, from the slicer estimate


def test_everything_the_simulator_publishes_is_in_the_octoprint_kinds_feed(
    printer: SimulatedPrinter, client: OctorestPrinterClient, recorder: MqttRecorder, base_topic: str
) -> None:
    client.start_print("pf-9-headband.gcode", TWENTY_MINUTES)
    recorder.wait_for(_is(base_topic, "event/PrintDone", name="pf-9-headband.gcode"))
    parsed = [OCTOPRINT_MQTT_FEED.parse(topic, payload) for topic, payload, _ in list(recorder.messages) if payload]
    assert {m.base_topic for m in parsed} == {base_topic}
    assert {MessageKind.EVENT, MessageKind.PROGRESS, MessageKind.TEMPERATURE} <= {m.kind for m in parsed}
    done = [m for m in parsed if m.event == "PrintDone"]
    assert [m.file_name for m in done] == ["pf-9-headband.gcode"]


def test_progress_and_temperatures_are_retained(
    printer: SimulatedPrinter, client: OctorestPrinterClient, base_topic: str
) -> None:
    client.start_print("pf-8-headband.gcode", TWENTY_MINUTES)
    with MqttRecorder(MQTT_HOST, MQTT_PORT, base_topic + "#") as late_subscriber:
        late_subscriber.wait_for(_is(base_topic, "progress/printing", path="pf-8-headband.gcode"))
        late_subscriber.wait_for(_is(base_topic, "temperature/tool0", target=215.0))
        assert all(retained for topic, _, retained in late_subscriber.messages[:1])


def test_a_cancel_publishes_cancelled_then_failed_with_reason_cancelled(
    printer: SimulatedPrinter, client: OctorestPrinterClient, recorder: MqttRecorder, base_topic: str
) -> None:
    client.start_print("pf-9-headband.gcode", FIVE_HOURS)
    recorder.wait_for(_is(base_topic, "event/PrintStarted"))
    client.cancel()
    recorder.wait_for(_is(base_topic, "event/PrintFailed"))
    events = [(event, body.get("reason")) for event, body in recorder.events(base_topic)
              if event.startswith("Print") and event != "PrinterStateChanged"]
    assert events[-4:] == [("PrintStarted", None), ("PrintCancelling", None), ("PrintCancelled", None),
                           ("PrintFailed", "cancelled")]


def test_pause_and_resume_publish_their_events(
    printer: SimulatedPrinter, client: OctorestPrinterClient, recorder: MqttRecorder, base_topic: str
) -> None:
    client.start_print("pf-10-headband.gcode", FIVE_HOURS)
    client.pause()
    client.resume()
    recorder.wait_for(_is(base_topic, "event/PrintResumed", name="pf-10-headband.gcode"))
    names = [event for event, _ in recorder.events(base_topic) if event in ("PrintPaused", "PrintResumed")]
    assert names == ["PrintPaused", "PrintResumed"]
    client.cancel()


def test_fail_next_print_publishes_print_failed_with_reason_error(
    printer: SimulatedPrinter, client: OctorestPrinterClient, recorder: MqttRecorder, base_topic: str
) -> None:
    printer.fail_next_print(at_percent=20.0)
    client.start_print("pf-11-headband.gcode", TWENTY_MINUTES)
    _, payload = recorder.wait_for(_is(base_topic, "event/PrintFailed", name="pf-11-headband.gcode"))
    assert json.loads(payload)["reason"] == "error"
    status = client.status()
    assert not status.is_operational and status.state_text == "Offline after error"
    client.ensure_connected()  # a reconnect makes it usable again
    assert client.status().is_operational


def test_fail_probability_one_fails_every_print(base_topic: str, recorder: MqttRecorder) -> None:
    with SimulatedPrinter("p2", site="tests", mqtt_host=MQTT_HOST, mqtt_port=MQTT_PORT, base_topic=base_topic,
                          fail_probability=1.0, seed=1, is_connected=True) as flaky, \
            OctorestPrinterClient(flaky.base_url, flaky.api_key) as client:
        client.start_print("pf-12-headband.gcode", TWENTY_MINUTES)
        recorder.wait_for(_is(base_topic, "event/PrintFailed", reason="error"))


def test_offline_printer_drops_http_and_says_disconnected_then_comes_back(
    printer: SimulatedPrinter, client: OctorestPrinterClient, recorder: MqttRecorder, base_topic: str
) -> None:
    recorder.wait_for(lambda topic, payload: topic == base_topic + "mqtt" and payload == b"connected")
    printer.go_offline()
    recorder.wait_for(lambda topic, payload: topic == base_topic + "mqtt" and payload == b"disconnected")
    with pytest.raises(PrinterUnreachable):
        client.status()
    count_before = sum(1 for topic, payload, _ in recorder.messages if payload == b"connected")
    printer.come_back()
    recorder.wait_for(lambda topic, payload: payload == b"connected"
                      and sum(1 for _, p, _ in recorder.messages if p == b"connected") > count_before)
    assert client.status().is_operational


def test_stop_clears_the_retained_topics(base_topic: str) -> None:
    with SimulatedPrinter("p3", site="tests", mqtt_host=MQTT_HOST, mqtt_port=MQTT_PORT, base_topic=base_topic,
                          is_connected=True) as simulated:
        simulated.machine.publish_current()
    with MqttRecorder(MQTT_HOST, MQTT_PORT, base_topic + "#") as late_subscriber:
        # The broker sends retained messages before anything published after the subscription.
        late_subscriber.publish(base_topic + "marker", "end")
        late_subscriber.wait_for(lambda topic, payload: topic == base_topic + "marker")
        assert [topic for topic, _, _ in late_subscriber.messages] == [base_topic + "marker"]


def test_farm_lists_every_printer_with_its_own_url_key_and_topic() -> None:
    prefix = f"printfarm-test/{secrets.token_hex(4)}/"
    with SimulatedFarm(MQTT_HOST, MQTT_PORT, {"acme": 2, "uni": 1}, time_scale=600, topic_prefix=prefix) as farm:
        listing = farm.listing()
        assert [(p.site, p.name) for p in listing] == [("acme", "printer-1"), ("acme", "printer-2"),
                                                      ("uni", "printer-1")]
        assert len({p.base_url for p in listing}) == 3 and len({p.api_key for p in listing}) == 3
        assert listing[2].base_topic == f"{prefix}uni/printer-1/"
        for info in listing:
            with OctorestPrinterClient(info.base_url, info.api_key) as client:
                assert client.check() == "1.11.8"
        assert farm.printer("uni", "printer-1").base_url == listing[2].base_url


def test_farm_takes_specs_with_a_shared_key() -> None:
    specs = [PrinterSpec("acme", "mk3s-a"), PrinterSpec("acme", "mk3s-b", fail_probability=1.0)]
    prefix = f"printfarm-test/{secrets.token_hex(4)}/"
    with SimulatedFarm(MQTT_HOST, MQTT_PORT, specs, api_key="shared", topic_prefix=prefix) as farm:
        assert {info.api_key for info in farm.listing()} == {"shared"}
        assert [p.machine.fail_probability for p in farm.printers] == [0.0, 1.0]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (b"; estimated printing time (normal mode) = 1h 2m 3s\n", 3723.0),
        (b"; estimated printing time (normal mode) = 1d 0h 0m 10s\n", 86410.0),
        (b";FLAVOR:Marlin\n;TIME:5400\n", 5400.0),
        (b"G28\nG1 X1\n", None),
    ],
)
def test_estimated_print_seconds_reads_the_slicer_header(header: bytes, seconds: float | None) -> None:
    assert estimated_print_seconds(header + b"G1 X2\n") == seconds


def test_a_plate_without_an_estimate_takes_the_default_time_scaled() -> None:
    with SimulatedPrinter("p4", mqtt_host=MQTT_HOST, mqtt_port=MQTT_PORT,
                          base_topic=f"printfarm-test/{secrets.token_hex(4)}/sim/", is_connected=True,
                          timing=PrintTiming(time_scale=3600.0, default_print_seconds=1800.0,
                                             min_print_seconds=0.2)) as simulated, \
            OctorestPrinterClient(simulated.base_url, simulated.api_key) as client:
        client.start_print("pf-13-plain.gcode", b"G1 X1\n")
        assert client.status().is_printing
        deadline = time.monotonic() + 10
        while client.status().is_printing and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.status().progress_percent == 100.0
        assert client.status().file_name == "pf-13-plain.gcode"
