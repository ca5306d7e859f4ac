"""Per-site security on the broker: a site's login reaches its own topics and no other site's.

A real Mosquitto runs the shipped config/mosquitto-sites.conf and config/mosquitto-sites.acl with a
password file written only by `printfarm sites gateway-config` and `printfarm sites central-broker-user`
(so Mosquitto itself checks the CLI's `$7$` lines). Site A's gateway login can neither command site B's
printers nor forge site B's events: the broker refuses the publish (PUBACK 135) and nothing reaches
printfarm's ingest, whose database is unchanged; site B's own login moves the same job.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from adapters.mqtt.mqtt_support import wait_until
from fastapi.testclient import TestClient
from gateway.broker_logins import NOT_AUTHORIZED, Login, Logins, issue_logins, sites_broker
from support.mosquitto_server import MosquittoServer

from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM
from printfarm.batches.schemas import BatchCreate
from printfarm.demo.gcode import plate_gcode
from printfarm.gateway import load_gateway_config
from printfarm.printers.schemas import PrinterCreate
from printfarm.registry.schemas import HospitalCreate, SiteCreate
from printfarm.settings import Settings

SITE_A, SITE_B = "Acme AB", "Politechnika Łódzka"  # slugs acme-ab and politechnika-łódzka
SUCCESS = {0, 16}  # PUBACK "Success", or "No matching subscribers"
GRANTED_QOS_1 = 1  # SUBACK


@pytest.fixture(scope="module")
def logins(tmp_path_factory: pytest.TempPathFactory) -> Logins:
    return issue_logins(tmp_path_factory.mktemp("logins"), [SITE_A, SITE_B], "mqtt://127.0.0.1:1883")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, logins: Logins) -> Iterator[MosquittoServer]:
    server = sites_broker(tmp_path_factory.mktemp("broker"), logins.password_file)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def login(broker: MosquittoServer) -> Iterator[Any]:
    opened: list[Login] = []

    def open_login(username: str | None, password: str | None = None) -> Login:
        opened.append(Login(broker.port, username, password))
        return opened[-1]

    yield open_login
    for each in opened:
        each.close()


def _central(logins: Logins) -> tuple[str, str]:
    user_password = logins.central_url.split("//", 1)[1].split("@", 1)[0]
    username, password = user_password.split(":", 1)
    return username, password


def test_the_cli_writes_the_site_slug_as_username_and_its_topics_into_the_gateway_config(logins: Logins) -> None:
    a, b = logins.sites[SITE_A], logins.sites[SITE_B]
    assert (a.username, b.username) == ("acme-ab", "politechnika-łódzka")
    assert a.config["site"] == a.username and a.config["mqtt_url"] == "mqtt://127.0.0.1:1883"
    assert a.config["central_url"] == "https://printfarm.example.org"
    assert a.password != b.password and len(a.password) >= 40
    assert logins.password_file.stat().st_mode & 0o077 == 0
    for login in (a, b):  # the gateway itself reads the file the CLI wrote
        config = load_gateway_config(login.path)
        assert (config.site, config.mqtt_username) == (login.username, login.username)
        assert config.mqtt_password is not None and config.mqtt_password.get_secret_value() == login.password


def test_site_a_may_neither_command_nor_forge_site_b_while_its_own_topics_work(
    logins: Logins, broker: MosquittoServer, login: Any
) -> None:
    a, b = logins.sites[SITE_A], logins.sites[SITE_B]
    central = login(*_central(logins))
    assert central.connack == 0
    assert central.subscribe("printfarm/#") == GRANTED_QOS_1
    site_b = login(b.username, b.password)
    assert site_b.subscribe(f"printfarm/{b.username}/#") == GRANTED_QOS_1
    site_b.publish(f"printfarm/{b.username}/gateway/status", b"online", retain=True)

    forged = {
        f"printfarm/{b.username}/mk3/event/PrintDone": b'{"_event": "PrintDone", "name": "pf-1-x.gcode"}',
        f"printfarm/{b.username}/mk3/mqtt": b"disconnected",
        f"printfarm/{b.username}/gateway/request": b'{"id": "1", "printer": "mk3", "op": "cancel"}',
        f"printfarm/{b.username}/gateway/reply/printfarm-1": b'{"id": "1", "ok": true}',
        f"printfarm/{b.username}/gateway/status": b"offline",
        "printfarm/mk3/event/PrintDone": b"{}",  # outside any site's subtree
    }
    for topic, payload in forged.items():
        # Mosquitto 2.0.11 also drops the connection after a refused publish: a fresh login for each
        refused = login(a.username, a.password).publish(topic, payload, retain=topic.endswith("status"))
        assert refused == NOT_AUTHORIZED, topic

    # A's own subtree works, and the central user sees it; the ACL also keeps B's messages from A's
    # subscriptions (Mosquitto 2.0 grants a SUBACK and checks read access on every delivery).
    site_a = login(a.username, a.password)
    for topic_filter in ("#", "printfarm/+/gateway/status", f"printfarm/{b.username}/#"):
        site_a.subscribe(topic_filter)
    own = f"printfarm/{a.username}/mk3/event/PrintDone"
    assert site_a.publish(own, b"{}") in SUCCESS
    marker = f"printfarm/{b.username}/mk3/progress/printing"
    assert site_b.publish(marker, b'{"progress": 1}') in SUCCESS
    wait_until(lambda: marker in central.topics_received() and own in central.topics_received(), 10,
               "the central user to receive both sites' messages")
    wait_until(lambda: marker in site_b.topics_received(), 10, "site B to receive its own message")
    wait_until(lambda: own in site_a.topics_received(), 10, "site A to receive its own message")

    assert not set(forged.items()) & set(central.received), "a forged message reached the central user"
    assert not [t for t in site_a.topics_received() if not t.startswith(f"printfarm/{a.username}/")]
    assert not [t for t in site_b.topics_received() if not t.startswith(f"printfarm/{b.username}/")]
    assert (f"printfarm/{b.username}/gateway/status", b"online") in site_b.received  # the retained one, not forged


def test_a_wrong_password_an_unknown_user_and_no_login_are_refused(logins: Logins, login: Any) -> None:
    a = logins.sites[SITE_A]
    assert login(a.username, a.password + "x").connack in (NOT_AUTHORIZED, 134)  # 134: bad user name or password
    assert login("nobody", a.password).connack in (NOT_AUTHORIZED, 134)
    assert login(logins.sites[SITE_B].username, a.password).connack in (NOT_AUTHORIZED, 134)
    assert login(None).connack in (NOT_AUTHORIZED, 134)


@pytest.mark.slow
def test_a_forged_print_done_from_another_site_changes_nothing_in_printfarm(
    database_url: str, tmp_path: Path, logins: Logins, broker: MosquittoServer, login: Any
) -> None:
    a, b = logins.sites[SITE_A], logins.sites[SITE_B]
    fleet = FakePrinterFleet()
    central_url = logins.central_url.replace("127.0.0.1:1883", f"127.0.0.1:{broker.port}")
    settings = Settings(data_dir=tmp_path, database_url=database_url, mqtt_url=central_url,
                        mqtt_client_id=f"pf-acl-{uuid.uuid4().hex[:10]}", dispatch_interval_seconds=0.2,
                        mqtt_ingest_worker="thread")
    app = create_app(settings, printer_clients=fleet)
    with TestClient(app):
        base, url = _seed_one_plate_at_site_b(app, fleet, b.username)
        tracking = app.state.services.tracking
        wait_until(lambda: app.state.runtime.ingest.wait_connected(0), 10, "printfarm's ingest to subscribe")
        wait_until(lambda: _job_states(database_url) == ["printing"], 15, "the plate to start at site B")
        name = fleet.printers[url].file_name
        assert name is not None
        site_b = login(b.username, b.password)
        done = json.dumps({"_event": "PrintDone", "name": name, "path": name, "origin": "local",
                           "_timestamp": int(time.time())}).encode()

        before, received = _snapshot(database_url), tracking.stats_snapshot()["received"]
        for topic, payload in ((f"{base}event/PrintDone", done), (f"{base}mqtt", b"disconnected"),
                               (f"{base}progress/printing", b'{"path": "%s", "progress": 99}' % name.encode())):
            assert login(a.username, a.password).publish(topic, payload) == NOT_AUTHORIZED
        # B's own message after A's refused ones: once printfarm has it, it would have had A's too
        assert site_b.publish(f"{base}somewhere/else", b"{}") in SUCCESS
        wait_until(lambda: tracking.stats_snapshot()["received"] > received, 10, "site B's message at the ingest")
        assert tracking.stats_snapshot()["received"] == received + 1, "printfarm received a forged message"
        assert _snapshot(database_url) == before

        # The same PrintDone from site B's own login does finish the plate: the check above could fail.
        assert site_b.publish(f"{base}event/PrintDone", done) in SUCCESS
        wait_until(lambda: _job_states(database_url) == ["finished"], 10, "site B's PrintDone to finish the plate")


def _seed_one_plate_at_site_b(app: Any, fleet: FakePrinterFleet, slug_b: str) -> tuple[str, str]:
    services = app.state.services
    url = "http://mk3.site-b.invalid"
    fleet.add(url, "fake-api-key")
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        services.registry.create_site(session, SYSTEM, SiteCreate(name=SITE_A))
        site_b = services.registry.create_site(session, SYSTEM, SiteCreate(name=SITE_B))
        printer = services.printers.register(session, SYSTEM, PrinterCreate(
            site_id=site_b.id, name="mk3", base_url=url, api_key="fake-api-key", profile="prusa-mk3s-0.4",
        ))
        assert printer.mqtt_base_topic == f"printfarm/{slug_b}/mk3/"  # the default base topic is in B's subtree
        hospital = services.registry.create_hospital(session, SYSTEM, HospitalCreate(name="Sahlgrenska"))
        part = services.parts.create(session, SYSTEM, name="RC3 headband")
        services.parts.approve(session, SYSTEM, part.id)
        services.parts.add_print_file(session, SYSTEM, part.id, profile_name="prusa-mk3s-0.4",
                                      gcode=plate_gcode(units=4), filename="rc3.gcode", units_per_print=4)
        services.batches.create(session, SYSTEM, BatchCreate(part_id=part.id, hospital_id=hospital.id, quantity=4,
                                                             priority=5))
    return printer.mqtt_base_topic, url


def _job_states(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [str(state) for state in connection.scalars(sa.text("SELECT state FROM print_jobs ORDER BY id"))]
    finally:
        engine.dispose()


def _snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """What a message could change: jobs, outputs, batches, timelines, printers (not when last seen)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = {name: connection.execute(sa.text(f"SELECT * FROM {name} ORDER BY id")).all()
                      for name in ("print_jobs", "outputs", "batches", "printer_timeline", "audit_events")}
            printers = sa.table("printers", *(sa.column(c["name"]) for c in sa.inspect(connection).get_columns("printers")
                                               if c["name"] != "last_seen_at"))
            tables["printers"] = connection.execute(sa.select(printers).order_by(sa.text("id"))).all()
            return {name: [tuple(row) for row in rows] for name, rows in tables.items()}
    finally:
        engine.dispose()
