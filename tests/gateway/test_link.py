"""The gateway printer kind over a real Mosquitto: printfarm's client asks, an in-process gateway answers."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from printfarm.adapters.gateway.client import make_gateway_client_factory
from printfarm.adapters.gateway.credentials import PlateCredentials
from printfarm.adapters.gateway.link import BrokerEndpoint, GatewayRequester
from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.errors import PrinterAuthRejected, PrinterUnreachable
from printfarm.gateway import Gateway, GatewayConfig, GatewayPrinter

BROKER = "mqtt://127.0.0.1:1883"  # the shared Mosquitto (DESIGN.md); the site slug is unique per test
LAN_URL = "http://192.168.7.20"


@pytest.fixture
def site() -> str:
    return f"gwtest-{secrets.token_hex(4)}"


@pytest.fixture
def fleet() -> FakePrinterFleet:
    fleet = FakePrinterFleet()
    fleet.add(LAN_URL, "lan-key", is_connected=True)
    return fleet


@pytest.fixture
def credentials() -> PlateCredentials:
    return PlateCredentials("test secret")


@pytest.fixture
def gateway(site: str, fleet: FakePrinterFleet, credentials: PlateCredentials, tmp_path: Path) -> Iterator[Gateway]:
    plates = {b"G28 ; plate\n"}

    def fetch(file_name: str, credential: str, sha256: str) -> bytes:  # as GET /api/gateway/plates would
        credentials.verify(credential, file_name, time.time())
        return next(p for p in plates if hashlib.sha256(p).hexdigest() == sha256)

    config = GatewayConfig(
        site=site, mqtt_url=BROKER, central_url="http://central.invalid", state_dir=tmp_path / "state",
        printers=[GatewayPrinter(name="mk3s 1", url=LAN_URL, api_key="lan-key")],
    )
    gateway = Gateway(config, client_factory=fleet, fetch=fetch)
    assert gateway.start(wait_connected_seconds=10)
    yield gateway
    gateway.stop()


@pytest.fixture
def requester() -> Iterator[GatewayRequester]:
    requester = GatewayRequester(BrokerEndpoint.from_url(BROKER))
    yield requester
    requester.stop()


def test_every_call_of_a_gateway_printer_reaches_the_lan_printer_through_the_broker(
    site, fleet, gateway, requester, credentials
) -> None:
    factory = make_gateway_client_factory(requester, credentials, timeout_seconds=5)
    client = factory(f"gateway://{site}/mk3s 1", "")
    assert client.check() == "1.11.8"
    client.start_print("pf-9-rc3.gcode", b"G28 ; plate\n")
    status = client.status()
    assert (status.state_text, status.file_name, status.is_printing) == ("Printing", "pf-9-rc3.gcode", True)
    client.start_print("pf-9-rc3.gcode", b"G28 ; plate\n")  # a second start of the plate: not started again
    client.pause()
    client.resume()
    client.cancel()
    device = fleet.printers[LAN_URL]
    assert device.uploads == {"pf-9-rc3.gcode": b"G28 ; plate\n"}
    assert device.calls.count("POST /api/files/local") == 1
    assert device.calls[-3:] == ["POST /api/job pause", "POST /api/job resume", "POST /api/job cancel"]


def test_the_printers_refusals_come_back_as_the_same_errors(site, fleet, gateway, requester, credentials) -> None:
    client = make_gateway_client_factory(requester, credentials)(f"gateway://{site}/mk3s 1", "")
    fleet.printers[LAN_URL].api_key = "rotated"
    with pytest.raises(PrinterAuthRejected, match="the API key was refused"):
        client.check()
    other = make_gateway_client_factory(requester, credentials)(f"gateway://{site}/mk3s 9", "")
    with pytest.raises(PrinterUnreachable, match="no printer named 'mk3s 9'"):
        other.check()


def test_a_gateway_that_is_gone_is_unreachable_at_once_and_said_offline(
    site, gateway, requester, credentials
) -> None:
    changes: list[tuple[str, bool]] = []
    requester.on_status(lambda s, online: changes.append((s, online)))
    client = make_gateway_client_factory(requester, credentials, timeout_seconds=5)(f"gateway://{site}/mk3s 1", "")
    client.check()
    gateway.stop()
    deadline = time.monotonic() + 10
    while (site, False) not in changes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert changes[-2:] == [(site, True), (site, False)]
    started = time.monotonic()
    with pytest.raises(PrinterUnreachable, match=f"the gateway of site {site} is offline"):
        client.check()
    assert time.monotonic() - started < 1


def test_no_gateway_answering_is_unreachable_after_the_calls_timeout(requester, credentials) -> None:
    client = make_gateway_client_factory(requester, credentials, timeout_seconds=0.5)(
        f"gateway://nobody-{secrets.token_hex(3)}/mk3s 1", ""
    )
    with pytest.raises(PrinterUnreachable, match="did not answer check within 0.5 s"):
        client.check()


def test_over_the_embedded_broker_without_mqtt5_the_reply_topic_travels_in_the_request(
    site, fleet, credentials, tmp_path
) -> None:
    from printfarm.adapters.mqtt.broker import EmbeddedBroker

    broker = EmbeddedBroker(host="127.0.0.1", port=0)
    port = broker.start()
    config = GatewayConfig(
        site=site, mqtt_url=f"mqtt://127.0.0.1:{port}", mqtt_protocol="3.1.1", central_url="http://central.invalid",
        state_dir=tmp_path, printers=[GatewayPrinter(name="mk3s 1", url=LAN_URL, api_key="lan-key")],
    )
    gateway = Gateway(config, client_factory=fleet)
    requester = GatewayRequester(BrokerEndpoint("127.0.0.1", port, protocol="3.1.1"))
    try:
        assert gateway.start(wait_connected_seconds=10)
        client = make_gateway_client_factory(requester, credentials)(f"gateway://{site}/mk3s 1", "")
        assert client.check() == "1.11.8"
        assert client.status().state_text == "Operational"
    finally:
        requester.stop()
        gateway.stop()
        broker.stop()


def test_a_request_under_way_when_the_broker_restarts_is_answered_and_executed_once(
    site, credentials, tmp_path
) -> None:
    import threading

    from support.mosquitto_server import MosquittoServer

    from printfarm.adapters.octoprint.fake import FakePrinterClient

    broker = MosquittoServer(tmp_path / "mosquitto")
    port = broker.start()
    entered, release = threading.Event(), threading.Event()

    class SlowPrinter(FakePrinterClient):
        def pause(self) -> None:
            entered.set()
            release.wait(10)
            super().pause()

    fleet = FakePrinterFleet()
    device = fleet.add(LAN_URL, "lan-key", is_connected=True)
    device.state_text = "Printing"
    config = GatewayConfig(site=site, mqtt_url=f"mqtt://127.0.0.1:{port}", central_url="http://central.invalid",
                           state_dir=tmp_path / "state",
                           printers=[GatewayPrinter(name="mk3s 1", url=LAN_URL, api_key="lan-key")])
    gateway = Gateway(config, client_factory=lambda url, key: SlowPrinter(url, key, printer=device))
    requester = GatewayRequester(BrokerEndpoint("127.0.0.1", port))
    client = make_gateway_client_factory(requester, credentials, timeout_seconds=20)(f"gateway://{site}/mk3s 1", "")
    errors: list[BaseException] = []

    def pause() -> None:
        try:
            client.pause()
        except BaseException as err:
            errors.append(err)

    try:
        assert gateway.start(wait_connected_seconds=10)
        caller = threading.Thread(target=pause)
        caller.start()
        assert entered.wait(10)
        broker.restart()  # the reply cannot go out on the old connection; the request is sent again
        release.set()
        caller.join(20)
        assert not caller.is_alive() and errors == []
        assert device.calls.count("POST /api/job pause") == 1
        assert device.state_text == "Paused"
    finally:
        release.set()
        requester.stop()
        gateway.stop()
        broker.stop()
