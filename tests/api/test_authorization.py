"""Every endpoint x every role, including an operator of site A acting on site B's printer."""

from __future__ import annotations

import pytest
from support.world import PRINTER_KEY, seed

from printfarm.demo.gcode import plate_gcode

ALL = {"admin", "coordinator", "operator_acme", "operator_uni", "viewer", "hospital"}
ADMIN = {"admin"}
PARTS = {"admin", "coordinator"}
ACME_PRINTERS = {"admin", "operator_acme"}  # register / maintain acme's printers
ACME_FLOOR = {"admin", "coordinator", "operator_acme"}  # clear acme's beds, cancel its jobs
HOSPITAL_SIDE = {"admin", "coordinator", "hospital"}  # the seeded hospital's requests and receipts
ACME_MEMBERS = {"admin", "coordinator", "operator_acme"}  # post on the exchange for acme

# (method, path template, request kwargs, roles allowed); destructive calls come last.
TABLE = [
    ("GET", "/api/me", {}, ALL),
    ("GET", "/api/sites", {}, ALL),
    ("GET", "/api/sites/{acme}", {}, ALL),
    ("GET", "/api/hospitals", {}, ALL),
    ("GET", "/api/hospitals/{hospital}", {}, ALL),
    ("GET", "/api/printer-profiles", {}, ALL),
    ("GET", "/api/printers", {}, ALL),
    ("GET", "/api/printers/{acme_printer}", {}, ALL),
    ("GET", "/api/parts", {}, ALL),
    ("GET", "/api/parts/{part}", {}, ALL),
    ("GET", "/api/parts/{part}/validation", {}, ALL),
    ("GET", "/api/parts/{part}/print-files", {}, ALL),
    ("GET", "/api/batches", {}, ALL),
    ("GET", "/api/batches/{batch}", {}, ALL),
    ("GET", "/api/jobs", {}, ALL),
    ("GET", "/api/jobs/{acme_job}", {}, ALL),
    ("GET", "/api/stats/units-per-site", {}, ALL),
    ("GET", "/api/stats/totals", {}, ALL),
    ("GET", "/api/dashboard", {}, ALL),
    ("GET", "/api/requests", {}, ALL),
    ("GET", "/api/requests/{request}", {}, ALL),
    ("GET", "/api/stock", {}, ALL),
    ("GET", "/api/deliveries", {}, ALL),
    ("GET", "/api/deliveries/{delivery}", {}, ALL),
    ("GET", "/deliveries/{delivery}/note", {}, ALL),
    ("GET", "/api/exchange", {}, ALL),
    ("GET", "/api/exports/output.csv", {}, ALL),
    ("GET", "/api/exports/deliveries.csv", {}, ALL),
    ("GET", "/api/exports/requests.csv", {}, ALL),
    ("GET", "/api/audit", {}, ADMIN),
    ("GET", "/api/tokens", {}, ADMIN),
    ("POST", "/api/tokens", {"json": {"name": "x", "role": "viewer"}}, ADMIN),
    ("POST", "/api/sites", {"json": {"name": "new site {role}"}}, ADMIN),
    ("POST", "/api/hospitals", {"json": {"name": "new hospital {role}"}}, ADMIN),
    ("POST", "/api/printer-profiles", {"json": {"name": "p-{role}", "printer_model": "m", "nozzle_mm": 0.4,
                                                "build_x_mm": 200, "build_y_mm": 200, "build_z_mm": 200}}, ADMIN),
    ("POST", "/api/printers", {"json": {"site_id": "{acme}", "name": "new-{role}", "base_url": "http://spare.invalid",
                                        "api_key": PRINTER_KEY, "profile": "prusa-mk3s-0.4",
                                        "mqtt_base_topic": "t/{role}/"}}, ACME_PRINTERS),
    ("POST", "/api/printers", {"json": {"site_id": "{uni}", "name": "new-{role}", "base_url": "http://spare.invalid",
                                        "api_key": PRINTER_KEY, "profile": "prusa-mk3s-0.4",
                                        "mqtt_base_topic": "u/{role}/"}}, {"admin", "operator_uni"}),
    ("PATCH", "/api/printers/{acme_printer}", {"json": {"loaded_material": "PLA"}}, ACME_PRINTERS),
    ("PATCH", "/api/printers/{uni_printer}", {"json": {"loaded_material": "PLA"}}, {"admin", "operator_uni"}),
    ("POST", "/api/parts", {"data": {"name": "part {role}"}}, PARTS),
    ("POST", "/api/parts/{part}/approve", {}, PARTS),
    ("POST", "/api/parts/{part}/print-files", {"data": {"profile": "prusa-mk3s-0.4", "units_per_print": "4"},
                                               "files": {"gcode": ("a.gcode", plate_gcode(), "text/plain")}}, PARTS),
    ("POST", "/api/batches", {"json": {"part_id": "{part}", "hospital_id": "{hospital}", "quantity": 4}}, PARTS),
    ("POST", "/api/printers/{uni_printer}/clear-bed", {"json": {"good_units": 0}}, {"admin", "coordinator", "operator_uni"}),
    ("POST", "/api/jobs/{acme_job}/pause", {}, ACME_FLOOR),
    ("POST", "/api/jobs/{acme_job}/resume", {}, ACME_FLOOR),
    ("POST", "/api/jobs/{acme_job}/cancel", {}, ACME_FLOOR),
    ("POST", "/api/printers/{acme_printer}/clear-bed", {"json": {"good_units": 0}}, ACME_FLOOR),
    ("POST", "/api/sites/{acme}/drain", {}, ACME_PRINTERS),
    ("POST", "/api/requests", {"json": {"hospital_id": "{hospital}", "part_id": "{part}", "quantity": 5}}, HOSPITAL_SIDE),
    ("POST", "/api/exchange", {"json": {"kind": "offer", "category": "material", "site_id": "{acme}",
                                        "title": "2 kg PETG {role}"}}, ACME_MEMBERS),
    ("POST", "/api/exchange", {"json": {"kind": "need", "category": "transport", "site_id": "{uni}",
                                        "title": "a van {role}"}}, {"admin", "coordinator", "operator_uni"}),
    ("POST", "/api/deliveries", {"json": {"hospital_id": "{hospital}", "part_id": "{part}",
                                          "sources": [{"site_id": "{uni}", "units": 1}]}}, PARTS),
    ("PATCH", "/api/deliveries/{delivery}", {"json": {"notes": "by {role}"}}, PARTS),
    ("POST", "/api/deliveries/{shipped}/receive", {"json": {"units_received": 1}}, HOSPITAL_SIDE),
    ("POST", "/api/deliveries/{delivery}/ship", {}, PARTS),
    ("POST", "/api/deliveries/{delivery}/cancel", {}, PARTS),
    ("POST", "/api/exchange/{capacity}/make-available", {}, PARTS),
    ("POST", "/api/exchange/{post}/close", {"json": {"note": "done"}}, PARTS),
    ("POST", "/api/requests/{request}/close", {}, HOSPITAL_SIDE),
    ("POST", "/api/batches/{batch}/cancel", {}, PARTS),
    ("POST", "/api/printers/{acme_printer}/report-fault", {"json": {"reason": "smoke ({role})"}}, ACME_FLOOR),
    ("POST", "/api/tokens/1/revoke", {}, ADMIN),
]


def _fill(value, names):
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in names:
            return names[value[1:-1]]
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def _delivery_objects(world):
    """uni's plate printed and QC-recorded (4 units), a request, a planned and a shipped delivery, two posts."""
    uni_job = world.ok("admin", "GET", "/api/jobs", params={"printer_id": world.ids["uni/mk3-1"]})[0]
    world.fleet.printers["http://uni-mk3-1.printers.invalid"].finish_print()
    world.publish(world.ids["uni/mk3-1"], "event/PrintDone", {"name": uni_job["remote_filename"]})
    world.ok("admin", "POST", f"/api/printers/{world.ids['uni/mk3-1']}/clear-bed", json={"good_units": 4})
    request = world.ok("admin", "POST", "/api/requests",
                       json={"hospital_id": world.ids["hospital"], "part_id": world.ids["part"], "quantity": 8})
    one_from_uni = {"hospital_id": world.ids["hospital"], "part_id": world.ids["part"], "request_id": request["id"],
                    "sources": [{"site_id": world.ids["uni"], "units": 1}]}
    planned = world.ok("admin", "POST", "/api/deliveries", json=one_from_uni)
    shipped = world.ok("admin", "POST", "/api/deliveries", json=one_from_uni)
    world.ok("admin", "POST", f"/api/deliveries/{shipped['id']}/ship")
    post = world.ok("admin", "POST", "/api/exchange", json={"kind": "need", "category": "material", "title": "PLA"})
    capacity = world.ok("admin", "POST", "/api/exchange", json={
        "kind": "offer", "category": "capacity", "site_id": world.ids["uni"], "title": "a spare MK3S",
        "printer_ids": [world.ids["uni/mk3-1"]]})
    return {"request": request["id"], "delivery": planned["id"], "shipped": shipped["id"], "post": post["id"],
            "capacity": capacity["id"]}


@pytest.mark.parametrize("role", sorted(ALL))
def test_each_role_may_do_exactly_what_its_row_allows(role, new_world):
    world = seed(new_world())
    world.fleet.add("http://spare.invalid", PRINTER_KEY)
    world.dispatch()
    acme_job = world.ok("admin", "GET", "/api/jobs", params={"printer_id": world.ids["acme/mk3-1"]})[0]["id"]
    names = {"role": role, "acme": world.ids["acme"], "uni": world.ids["uni"], "part": world.ids["part"],
             "batch": world.ids["batch"], "hospital": world.ids["hospital"], "acme_job": acme_job,
             "acme_printer": world.ids["acme/mk3-1"], "uni_printer": world.ids["uni/mk3-1"],
             **_delivery_objects(world)}
    wrong = []
    for method, template, kwargs, allowed in TABLE:
        path = template.format(**names)
        filled = {k: (v if k == "files" else _fill(v, names)) for k, v in kwargs.items()}
        status = world.call(role, method, path, **filled).status_code
        assert status != 500, f"{role} {method} {path}: 500"
        if role in allowed and status in (401, 403):
            wrong.append(f"{method} {path}: refused with {status}, should be allowed")
        if role not in allowed and status != 403:
            wrong.append(f"{method} {path}: {status}, should be 403")
    assert not wrong, f"role {role}:\n" + "\n".join(wrong)


def test_no_token_and_a_bad_token_are_401_everywhere(new_world):
    world = seed(new_world())
    limit = world.services.settings.bad_token_max_failures
    for sent, (method, template, _, _) in enumerate(TABLE):
        path = template.format(role="x", acme=1, uni=2, part=1, batch=1, hospital=1, acme_job=1,
                               acme_printer=1, uni_printer=2, request=1, delivery=1, shipped=2, post=1, capacity=2)
        assert world.client.request(method, path).status_code == 401, path
        bad = world.client.request(method, path, headers={"Authorization": "Bearer pf_not-a-token"})
        # Past the limit of bad tokens from one address the answer is 429, still never the resource.
        expected = (401, "AuthError") if sent < limit else (429, "TooManyBadTokens")
        assert (bad.status_code, bad.json()["error"]) == expected, path
