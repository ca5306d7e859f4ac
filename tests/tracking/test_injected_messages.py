"""Duplicated, reordered and malformed messages through a real Mosquitto: counts stay exact.

printfarm runs with its runtime (ingest, dispatch, reconcile) over fake printers; the test stands in
for OctoPrint-MQTT and publishes each plate's messages with repeats, out of order, after the end,
and with broken neighbours. Every plate is counted once, and every broken message once per kind,
whether the batches are applied in the ingest worker process (the default) or on the network thread.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from adapters.mqtt.mqtt_support import Publisher, forget_session, wait_until
from fastapi.testclient import TestClient
from tracking.farm_support import UNITS_PER_PLATE, Ledger

from printfarm.adapters.octoprint.fake import FakePrinterFleet
from printfarm.app import create_app
from printfarm.auth.rules import SYSTEM, Role
from printfarm.batches.schemas import BatchCreate
from printfarm.demo.gcode import plate_gcode
from printfarm.printers.schemas import PrinterCreate
from printfarm.registry.schemas import HospitalCreate, SiteCreate
from printfarm.settings import Settings

pytestmark = pytest.mark.slow
PLATES = 4


def _seed(app: Any, fleet: FakePrinterFleet, prefix: str) -> dict[str, Any]:
    services = app.state.services
    ids: dict[str, Any] = {}
    with services.db.unit_of_work() as session:
        services.profiles.ensure_catalog(session, SYSTEM)
        for site, auto in (("acme", False), ("uni", True)):  # uni's QC is accepted automatically
            site_id = services.registry.create_site(session, SYSTEM, SiteCreate(name=site, auto_accept_qc=auto)).id
            url = f"http://{site}.printers.invalid"
            fleet.add(url, "fake-api-key")
            printer = services.printers.register(session, SYSTEM, PrinterCreate(
                site_id=site_id, name="mk3", base_url=url, api_key="fake-api-key", profile="prusa-mk3s-0.4",
                mqtt_base_topic=f"{prefix}{site}/mk3/",
            ))
            ids[site] = {"printer": printer.id, "url": url, "base": f"{prefix}{site}/mk3/"}
            ids[site]["token"], _ = services.tokens.create(session, SYSTEM, role=Role.OPERATOR, name=site, site_id=site_id)
        hospital = services.registry.create_hospital(session, SYSTEM, HospitalCreate(name="Sahlgrenska"))
        part = services.parts.create(session, SYSTEM, name="RC3 headband")
        services.parts.approve(session, SYSTEM, part.id)
        services.parts.add_print_file(session, SYSTEM, part.id, profile_name="prusa-mk3s-0.4",
                                      gcode=plate_gcode(units=UNITS_PER_PLATE), filename="rc3.gcode",
                                      units_per_print=UNITS_PER_PLATE)
        services.batches.create(session, SYSTEM, BatchCreate(
            part_id=part.id, hospital_id=hospital.id, quantity=PLATES * UNITS_PER_PLATE, priority=5))
    return ids


def _event(name: str, file_name: str, **extra: Any) -> bytes:
    return json.dumps({"_event": name, "name": file_name, "path": file_name, "origin": "local",
                       "_timestamp": int(time.time()), **extra}).encode()


def _progress(file_name: str, percent: int) -> bytes:
    return json.dumps({"location": "local", "path": file_name, "progress": percent, "_timestamp": 1}).encode()


@pytest.mark.parametrize("ingest_worker", ["process", "thread"])
def test_repeats_reorders_and_broken_messages_count_each_plate_once(
    database_url: str, tmp_path: Path, ingest_worker: str
) -> None:
    fleet = FakePrinterFleet()
    prefix = f"pftest/{uuid.uuid4().hex[:10]}/"
    settings = Settings(data_dir=tmp_path, database_url=database_url, mqtt_url="mqtt://127.0.0.1:1883",
                        mqtt_client_id=f"pf-inject-{uuid.uuid4().hex[:10]}", dispatch_interval_seconds=0.2,
                        mqtt_ingest_worker=ingest_worker)  # type: ignore[arg-type]
    app = create_app(settings, printer_clients=fleet)
    ledger = Ledger(database_url)
    publisher = Publisher(1883)
    sent = 0
    expected_drops = {"not_json": 0, "wrong_type": 0, "too_large": 0, "unknown_printer": 0, "bad_value": 0,
                      "unknown_topic": 0, "not_object": 0}

    def publish(topic: str, payload: bytes, retain: bool = False) -> None:
        nonlocal sent
        publisher.publish(topic, payload, qos=0, retain=retain)
        sent += 1

    try:
        with TestClient(app) as client:
            tracking = app.state.services.tracking
            ids = _seed(app, fleet, prefix)
            wait_until(lambda: app.state.runtime.ingest.wait_connected(0), 10, "the ingest to subscribe")
            plates_done: list[int] = []
            cancelled_once = False
            while len(plates_done) < PLATES:
                wait_until(lambda: any(fleet.printers[ids[s]["url"]].state_text == "Printing" for s in ("acme", "uni")),
                           15, "a plate to start")
                site = next(s for s in ("acme", "uni") if fleet.printers[ids[s]["url"]].state_text == "Printing")
                fake, base = fleet.printers[ids[site]["url"]], ids[site]["base"]
                name = fake.file_name
                assert name is not None
                job_id = int(name.split("-")[1])

                # broken neighbours first: none may move the job
                publish(f"{base}event/PrintDone", b"PrintDone, honest")
                publish(f"{base}event/PrintDone", json.dumps({"name": 7}).encode())
                publish(f"{base}event/PrintDone", b'{"name": "' + b"x" * 70_000 + b'"}')
                # under a watched base but not a printer's (a device nested below it): unknown printer
                publish(f"{base}ghost/event/PrintDone", _event("PrintDone", name))
                publish(f"{base}progress/printing", _progress(name, 250))
                publish(f"{base}event/PrintDone", _event("PrintFailed", name))  # _event disagrees with the topic
                publish(f"{base}somewhere/else", b"{}")
                publish(f"{base}event/PrintDone", b"[1, 2]")
                for kind in ("not_json", "wrong_type", "too_large", "unknown_printer", "bad_value", "bad_value",
                             "unknown_topic", "not_object"):
                    expected_drops[kind] += 1
                wait_until(lambda: tracking.stats_snapshot()["received"] >= sent, 10, "the broken messages")
                assert ledger.job_states().get("printing", 0) >= 1
                assert len(ledger.outputs()) == len(plates_done)

                if site == "acme" and not cancelled_once:  # a cancel reported twice, as OctoPrint 1.11.8 does
                    cancelled_once = True
                    fake.state_text, fake.file_name = "Operational", None
                    publish(f"{base}event/PrintCancelled", _event("PrintCancelled", name))
                    publish(f"{base}event/PrintFailed", _event("PrintFailed", name, reason="cancelled"))
                    publish(f"{base}event/PrintFailed", _event("PrintFailed", name, reason="cancelled"))
                    wait_until(lambda: ledger.job_states().get("cancelled", 0) == 1, 10, "the cancel")
                    client.post(f"/api/printers/{ids[site]['printer']}/clear-bed", json={"good_units": 0},
                                headers={"Authorization": f"Bearer {ids[site]['token']}"})
                    continue

                fake.set_progress(100)
                fake.finish_print()
                for payload_topic, payload in (
                    ("event/PrintStarted", _event("PrintStarted", name)),
                    ("event/PrintStarted", _event("PrintStarted", name)),
                    ("progress/printing", _progress(name, 60)),
                    ("progress/printing", _progress(name, 30)),  # older progress arriving late
                    ("event/PrintPaused", _event("PrintPaused", name)),
                    ("event/PrintDone", _event("PrintDone", name)),
                    ("event/PrintResumed", _event("PrintResumed", name)),  # belonged before the PrintDone
                    ("event/PrintDone", _event("PrintDone", name)),
                    ("event/PrintFailed", _event("PrintFailed", name, reason="error")),  # after the end
                    ("progress/printing", _progress(name, 50)),
                    ("event/PrintDone", _event("PrintDone", name)),
                ):
                    publish(base + payload_topic, payload)
                wait_until(lambda: tracking.stats_snapshot()["received"] >= sent, 10, "the plate's messages")
                if site == "acme":
                    wait_until(lambda: bool(ledger.finished_plates()), 10, "the plate to finish")
                    response = client.post(f"/api/printers/{ids[site]['printer']}/clear-bed",
                                            json={"good_units": UNITS_PER_PLATE},
                                            headers={"Authorization": f"Bearer {ids[site]['token']}"})
                    assert response.status_code == 200, response.text
                    # the same PrintDone once more, after QC: nothing to count again
                    publish(f"{base}event/PrintDone", _event("PrintDone", name))
                wait_until(lambda: len(ledger.outputs()) == len(plates_done) + 1, 10, "the plate to be counted")
                plates_done.append(job_id)
            wait_until(lambda: tracking.stats_snapshot()["received"] >= sent, 10, "every message")
            stats = tracking.stats_snapshot()
    finally:
        publisher.close()
        forget_session(1883, settings.mqtt_client_id)
        ledger.close()

    outputs = Ledger(database_url)
    try:
        records = outputs.outputs()
        states = outputs.job_states()
    finally:
        outputs.close()
    assert sorted(job for job, _, _ in records) == sorted(plates_done)
    assert sum(good for _, good, _ in records) == PLATES * UNITS_PER_PLATE
    assert states == {"completed": PLATES, "cancelled": 1}
    assert {kind: stats["dropped"].get(kind, 0) for kind in expected_drops} == expected_drops
    assert stats["batches_failed"] == 0
