"""A whole drive: request → batch → plates on two sites → QC with rejects → two deliveries → receipt.

At every step the totals agree: requests, batches, stats, stock, deliveries, CSV exports, the note.
"""

from __future__ import annotations

import re
from collections import Counter

from support.drive import csv_rows, finish_printing_plates
from support.world import seed


def _stock(world, site):
    rows = [r for r in world.ok("viewer", "GET", "/api/stock", params={"part_id": world.ids["part"]})
            if r["site_id"] == world.ids[site]]
    assert len(rows) <= 1
    return rows[0] if rows else None


def _units_per_site(world):
    return {r["site_name"]: (r["good_units"], r["rejected_units"]) for r in world.ok("viewer", "GET", "/api/stats/units-per-site")}


def _note_numbers(html, element_id):
    match = re.search(rf'id="{element_id}">\s*([^<]*?)\s*<', html)
    assert match, element_id
    return match.group(1)


def test_a_whole_drive_from_request_to_receipt_agrees_at_every_step(new_world):
    world = seed(new_world())
    hospital, part = world.ids["hospital"], world.ids["part"]
    world.ok("coordinator", "POST", f"/api/batches/{world.ids['batch']}/cancel")  # seed's batch: not this drive

    # 1. the hospital records what it needs, with its own token
    request = world.ok("hospital", "POST", "/api/requests", json={
        "hospital_id": hospital, "part_id": part, "quantity": 20, "needed_by": "2020-04-20", "urgency": 2,
        "delivery_address": "Blå stråket 5, Göteborg", "contact": "Ward 12, +46 31 000 00 00",
    })
    assert (request["requested_units"], request["batched_units"], request["delivered_units"]) == (20, 0, 0)
    assert request["outstanding_units"] == 20

    # 2. a coordinator opens a batch against it
    batch = world.ok("coordinator", "POST", "/api/batches", json={
        "part_id": part, "hospital_id": hospital, "quantity": 16, "priority": 9, "request_id": request["id"],
    })

    # 3. plates print at both sites; QC rejects some units, which go back to the batch
    rejects = {"acme": [1, 0, 2], "uni": [0, 1]}
    good = Counter()
    for _ in range(20):
        now = world.ok("viewer", "GET", f"/api/batches/{batch['id']}")
        if now["is_done"]:
            break
        good.update(finish_printing_plates(world, rejects))
        req = world.ok("viewer", "GET", f"/api/requests/{request['id']}")
        after = world.ok("viewer", "GET", f"/api/batches/{batch['id']}")
        assert req["qc_passed_units"] == after["good_units"] == sum(good.values())
        assert req["in_production_units"] == after["in_production_units"]
    batch = world.ok("viewer", "GET", f"/api/batches/{batch['id']}")
    assert batch["is_done"] and batch["good_units"] >= 16
    assert batch["rejected_units"] == 4
    per_site = _units_per_site(world)
    assert {site: per_site[site][0] for site in ("acme", "uni")} == dict(good)
    for site in ("acme", "uni"):
        stock = _stock(world, site)
        assert stock["good_units"] == stock["in_stock_units"] == stock["available_units"] == good[site]
        assert (stock["reserved_units"], stock["shipped_units"]) == (0, 0)

    # 4. two deliveries from two sites; the first takes acme's oldest plates first
    acme_outputs = [j["id"] for j in world.ok("viewer", "GET", "/api/jobs", params={"printer_id": world.ids["acme/mk3-1"], "state": "completed"})]
    first = world.ok("coordinator", "POST", "/api/deliveries", json={
        "hospital_id": hospital, "part_id": part, "request_id": request["id"],
        "sources": [{"site_id": world.ids["acme"], "units": 5}, {"site_id": world.ids["uni"], "units": 3}],
        "notes": "morning run",
    })
    assert first["state"] == "planned" and first["units"] == 8
    assert {s["site_name"]: s["units"] for s in first["sites"]} == {"acme": 5, "uni": 3}
    assert sum(line["units"] for line in first["sources"]) == 8
    acme_lines = [line for line in first["sources"] if line["site_name"] == "acme"]
    assert [line["job_id"] for line in acme_lines] == sorted(acme_outputs)[:2]  # oldest plate first
    assert [line["units"] for line in acme_lines] == [3, 2]  # plate 1 had 3 good units (1 rejected)
    assert all(line["material"] == "PLA" and line["printer_name"] == "mk3-1" for line in first["sources"])

    second = world.ok("coordinator", "POST", "/api/deliveries", json={
        "hospital_id": hospital, "part_id": part, "request_id": request["id"],
        "sources": [{"site_id": world.ids["uni"], "units": good["uni"] - 3}],
    })
    # acme's next delivery would start where the first stopped: plate 2, 2 units left on it
    assert _stock(world, "acme")["reserved_units"] == 5
    assert _stock(world, "uni")["available_units"] == 0
    req = world.ok("viewer", "GET", f"/api/requests/{request['id']}")
    assert req["planned_units"] == 8 + good["uni"] - 3

    # 5. shipped, then received: by the hospital itself, and by a coordinator on its behalf (one broke)
    for delivery in (first, second):
        assert world.ok("coordinator", "POST", f"/api/deliveries/{delivery['id']}/ship")["state"] == "shipped"
    for site in ("acme", "uni"):
        stock = _stock(world, site)
        assert stock["in_stock_units"] == stock["good_units"] - stock["shipped_units"] >= 0
        assert stock["available_units"] >= 0
    assert _stock(world, "acme")["shipped_units"] == 5
    req = world.ok("viewer", "GET", f"/api/requests/{request['id']}")
    assert (req["planned_units"], req["shipped_units"]) == (0, 8 + good["uni"] - 3)

    got_first = world.ok("hospital", "POST", f"/api/deliveries/{first['id']}/receive",
                         json={"units_received": 8, "received_by": "A. Nurse"})
    got_second = world.ok("coordinator", "POST", f"/api/deliveries/{second['id']}/receive",
                          json={"units_received": second["units"] - 1, "note": "one frame cracked"})
    assert got_first["state"] == got_second["state"] == "received"
    delivered = 8 + second["units"] - 1
    req = world.ok("viewer", "GET", f"/api/requests/{request['id']}")
    assert (req["delivered_units"], req["shipped_units"], req["outstanding_units"]) == (delivered, 0, 20 - delivered)
    assert world.ok("hospital", "GET", "/api/deliveries") == world.ok("viewer", "GET", "/api/deliveries")

    # 6. exports agree with the API
    output = csv_rows(world.call("viewer", "GET", "/api/exports/output.csv").text)
    for site, (good_units, rejected_units) in _units_per_site(world).items():
        rows = [r for r in output if r["site"] == site]
        assert sum(int(r["good_units"]) for r in rows) == good_units
        assert sum(int(r["rejected_units"]) for r in rows) == rejected_units
    lines = csv_rows(world.call("viewer", "GET", "/api/exports/deliveries.csv").text)
    for delivery in world.ok("viewer", "GET", "/api/deliveries"):
        mine = [r for r in lines if int(r["delivery_id"]) == delivery["id"]]
        assert sum(int(r["units"]) for r in mine) == delivery["units"] == int(mine[0]["delivery_units"])
        assert int(mine[0]["units_received"]) == delivery["units_received"]
        assert {(int(r["job_id"]), int(r["units"])) for r in mine} == {(s["job_id"], s["units"]) for s in delivery["sources"]}
    requests = csv_rows(world.call("viewer", "GET", "/api/exports/requests.csv").text)
    assert len(requests) == 1
    for key in ("requested_units", "batched_units", "in_production_units", "qc_passed_units", "planned_units",
                "shipped_units", "delivered_units", "outstanding_units"):
        assert int(requests[0][key]) == req[key], key

    # 7. the delivery note carries the same numbers
    html = world.call("viewer", "GET", f"/deliveries/{first['id']}/note").text
    assert _note_numbers(html, "units") == _note_numbers(html, "sources-total") == _note_numbers(html, "sites-total") == "8"
    assert _note_numbers(html, "units-received") == "8"
    assert _note_numbers(html, "part") == "RC3 headband"
    assert _note_numbers(html, "material") == "PLA"
    assert "A. Nurse" in html and "Blå stråket 5" in html and "Received by" in html
