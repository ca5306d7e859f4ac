"""The printer's phone page, its label and the site's wall through the test client: who may see and do
what, each refusal with the service's exact reason and nothing changed, and sign-in back to the page."""

from __future__ import annotations

import html
import re

from support.world import World
from web.test_forms import finish_plate, get, post, snapshot

ORIGIN = "http://testserver"


def page(world: World, who: str, path: str) -> str:
    response = get(world, who, path)
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def error_of(text: str) -> str:
    found = re.search(r'<p class="error" role="alert"[^>]*>(.*?)</p>', text, re.S)
    assert found, text
    return html.unescape(found.group(1)).strip()


# -- the label ------------------------------------------------------------------------------------


def test_the_label_encodes_the_absolute_address_of_the_printers_phone_page(world: World) -> None:
    printer = world.ids["acme/mk3-1"]
    label = page(world, "operator_acme", f"/printers/{printer}/label")
    assert f'data-url="http://testserver/m/printers/{printer}"' in label
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in label and "/static/labels-tape.css" in label
    assert "mk3-1" in label and "acme" in label and "pf_" not in label  # nothing secret on it

    world.client.app.state.public_url = "https://farm.example.org"  # the public_url setting, as create_app sets it
    assert f'data-url="https://farm.example.org/m/printers/{printer}"' in page(world, "viewer", f"/printers/{printer}/label")


def test_a_sites_label_sheet_holds_its_printers_only(world: World) -> None:
    second = world.add_printer("acme", "mk3-2")
    sheet = page(world, "admin", f"/sites/{world.ids['acme']}/labels")
    urls = re.findall(r'data-url="([^"]+)"', sheet)
    assert urls == [f"http://testserver/m/printers/{p}" for p in (world.ids["acme/mk3-1"], second)]
    assert "/static/labels-a4.css" in sheet


def test_another_sites_operator_gets_no_label_and_no_sheet(world: World) -> None:
    acme = world.ids["acme"]
    refused = get(world, "operator_uni", f"/printers/{world.ids['acme/mk3-1']}/label")
    assert refused.status_code == 403
    assert error_of(refused.text) == (f"operator of site {world.ids['uni']} may not open printer "
                                     f"{world.ids['acme/mk3-1']}'s page: it belongs to site {acme}")
    assert get(world, "operator_uni", f"/sites/{acme}/labels").status_code == 403


# -- signing in from a scanned label --------------------------------------------------------------


def test_a_phone_without_a_cookie_signs_in_and_returns_to_the_printer_for_a_whole_shift(world: World) -> None:
    path = f"/m/printers/{world.ids['acme/mk3-1']}"
    to_login = world.client.get(path, follow_redirects=False)
    assert (to_login.status_code, to_login.headers["location"]) == (303, f"/login?next=%2Fm%2Fprinters%2F{world.ids['acme/mk3-1']}")
    form = world.client.get(to_login.headers["location"])
    assert f'name="next" value="{path}"' in form.text
    signed_in = world.client.post("/login", data={"token": world.tokens["operator_acme"], "next": path},
                                  follow_redirects=False)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, path)
    cookie = signed_in.headers["set-cookie"]
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))  # type: ignore[union-attr]
    assert max_age >= 12 * 3600 and "SameSite=strict" in cookie and "HttpOnly" in cookie


#: Addresses a sign-in must not follow: another host (//, a scheme, a backslash, a tab or newline that
#: browsers drop from "/\t/host"), a script, nothing.
FOREIGN = ("//evil.example/m/printers/1", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
           "/\n/evil.example", "javascript:alert(1)", "")


def test_sign_in_follows_only_a_path_on_this_site(world: World) -> None:
    for target in FOREIGN:
        signed_in = world.client.post("/login", data={"token": world.tokens["viewer"], "next": target},
                                      follow_redirects=False)
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/"), repr(target)
        assert 'name="next" value="/"' in world.client.get("/login", params={"next": target}).text, repr(target)


# -- who sees what ---------------------------------------------------------------------------------


def test_another_sites_operator_is_refused_the_page_and_every_action(world: World) -> None:
    finish_plate(world, "acme/mk3-1")
    printer, acme, uni = world.ids["acme/mk3-1"], world.ids["acme"], world.ids["uni"]
    refused = get(world, "operator_uni", f"/m/printers/{printer}")
    assert refused.status_code == 403 and "<form" not in refused.text
    assert error_of(refused.text) == f"operator of site {uni} may not open printer {printer}'s page: it belongs to site {acme}"
    before = snapshot(world)
    for action, data in (("clear-bed", {"units": "4", "rejected_units": "0"}), ("report-fault", {"reason": "x"}),
                         ("acknowledge-fault", {})):
        answer = post(world, "operator_uni", f"/m/printers/{printer}/{action}", data)
        assert answer.status_code == 403, action
        assert error_of(answer.text) == f"operator of site {uni} may not act on site {acme}", action
    assert snapshot(world) == before


def test_a_viewer_sees_the_page_without_actions_and_is_refused_them(world: World) -> None:
    finish_plate(world, "acme/mk3-1")
    printer = world.ids["acme/mk3-1"]
    shown = page(world, "viewer", f"/m/printers/{printer}")
    assert 'id="read-only"' in shown and "<form" not in shown
    assert "4 units · <b>RC3 headband</b>" in shown and "for Sahlgrenska" in shown
    before = snapshot(world)
    answer = post(world, "viewer", f"/m/printers/{printer}/clear-bed", {"units": "4", "rejected_units": "0"})
    assert answer.status_code == 403 and error_of(answer.text) == "role viewer may not operate printer"
    assert snapshot(world) == before
    missing = get(world, "viewer", "/m/printers/999")
    assert missing.status_code == 404 and error_of(missing.text) == "printer 999 does not exist"


def test_a_post_from_another_site_changes_nothing(world: World) -> None:
    finish_plate(world, "acme/mk3-1")
    printer = world.ids["acme/mk3-1"]
    before = snapshot(world)
    answer = post(world, "operator_acme", f"/m/printers/{printer}/clear-bed", {"units": "4", "rejected_units": "0"},
                  headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "https://evil.example" in answer.text
    assert snapshot(world) == before


# -- clearing the bed -------------------------------------------------------------------------------


def test_all_good_and_rejects_clear_the_bed_through_the_same_service_as_the_api(world: World) -> None:
    job = finish_plate(world, "acme/mk3-1")
    printer = world.ids["acme/mk3-1"]
    shown = page(world, "operator_acme", f"/m/printers/{printer}")
    assert 'id="all-good-form"' in shown and "All good: 4 units" in shown and 'id="rejects-form"' in shown
    done = post(world, "operator_acme", f"/m/printers/{printer}/clear-bed", {"units": "4", "rejected_units": "2"})
    assert (done.status_code, done.headers["location"]) == (303, f"/m/printers/{printer}?done=cleared")
    batch = world.ok("viewer", "GET", f"/api/batches/{world.ids['batch']}")
    assert (batch["good_units"], batch["rejected_units"]) == (2, 2)
    [entry] = [e for e in world.ok("admin", "GET", "/api/audit") if e["action"] == "printer.clear_bed"]
    assert entry["detail"] == {"job_id": job["id"], "good_units": 2, "rejected_units": 2}
    assert "Bed cleared" in page(world, "operator_acme", f"/m/printers/{printer}?done=cleared")


def test_a_refused_count_shows_the_reason_and_changes_nothing(world: World) -> None:
    job = finish_plate(world, "acme/mk3-1")
    printer = world.ids["acme/mk3-1"]
    before = snapshot(world)
    for units, rejected, reason in (
        ("4", "5", f"printer {printer}: 5 rejected of a 4-unit plate"),
        ("3", "1", f"job {job['id']} printed 4 units: good 2 + rejected 1 = 3"),  # the page showed another plate
        ("4", "two", "rejected_units must be a whole number (got 'two')"),
    ):
        answer = post(world, "operator_acme", f"/m/printers/{printer}/clear-bed", {"units": units, "rejected_units": rejected})
        assert (answer.status_code, error_of(answer.text)) == (422, reason)
        assert 'id="rejects-form"' in answer.text  # the page again, to count once more
    assert snapshot(world) == before


def test_a_printing_plate_cannot_be_cleared(world: World) -> None:
    world.dispatch()
    printer = world.ids["acme/mk3-1"]
    [job] = world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer})
    assert 'id="all-good-form"' not in page(world, "operator_acme", f"/m/printers/{printer}")
    answer = post(world, "operator_acme", f"/m/printers/{printer}/clear-bed", {"units": "4", "rejected_units": "0"})
    assert answer.status_code == 409
    assert error_of(answer.text) == (f"printer {printer} is busy with job {job['id']} ({job['state']}); "
                                     "clear the bed when it has finished")


# -- faults -----------------------------------------------------------------------------------------


def test_an_operator_reports_a_fault_that_holds_the_printer_until_acknowledged(world: World) -> None:
    printer = world.ids["acme/mk3-1"]
    done = post(world, "operator_acme", f"/m/printers/{printer}/report-fault", {"reason": "  Nozzle\nclogged  "})
    assert (done.status_code, done.headers["location"]) == (303, f"/m/printers/{printer}?done=fault-reported")
    token = next(t for t in world.ok("admin", "GET", "/api/tokens") if t["name"] == "operator_acme")
    reason = f"reported by token {token['id']} (operator_acme): Nozzle clogged"
    shown = world.ok("viewer", "GET", f"/api/printers/{printer}")
    assert (shown["connection"], shown["connection_reason"]) == ("fault", reason)
    [newest, *_] = world.ok("viewer", "GET", f"/api/printers/{printer}/timeline")["entries"]
    assert (newest["kind"], newest["detail"]) == ("fault", reason)
    [entry] = [e for e in world.ok("admin", "GET", "/api/audit") if e["action"] == "printer.report_fault"]
    assert (entry["object_id"], entry["detail"]) == (printer, {"fault": "Nozzle clogged"})
    assert world.dispatch() is not None and world.ok("viewer", "GET", "/api/jobs", params={"printer_id": printer}) == []

    faulty = page(world, "operator_acme", f"/m/printers/{printer}?done=fault-reported")
    assert 'id="acknowledge-form"' in faulty and 'id="fault-form"' not in faulty and reason in faulty
    again = post(world, "operator_acme", f"/m/printers/{printer}/report-fault", {"reason": "and now smoke"})
    assert again.status_code == 409
    assert error_of(again.text) == (f"printer {printer} is in fault already ({reason}); "
                                    "acknowledge that fault before reporting another")
    acknowledged = post(world, "operator_acme", f"/m/printers/{printer}/acknowledge-fault")
    assert acknowledged.headers["location"] == f"/m/printers/{printer}?done=acknowledged"
    assert world.ok("viewer", "GET", f"/api/printers/{printer}")["connection"] == "offline"


def test_an_empty_or_overlong_fault_report_is_refused(world: World) -> None:
    printer = world.ids["acme/mk3-1"]
    before = snapshot(world)
    for reason, detail in (
        ("   ", f"printer {printer}: say what is wrong (the fault report was empty)"),
        ("x" * 401, f"printer {printer}: a fault report has at most 400 characters (got 401)"),
    ):
        answer = post(world, "operator_acme", f"/m/printers/{printer}/report-fault", {"reason": reason})
        assert (answer.status_code, error_of(answer.text)) == (422, detail)
    assert snapshot(world) == before


def test_the_api_takes_a_fault_report_from_the_sites_operator_only(world: World) -> None:
    printer = world.ids["acme/mk3-1"]
    refused = world.call("operator_uni", "POST", f"/api/printers/{printer}/report-fault", json={"reason": "smoke"})
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    shown = world.ok("operator_acme", "POST", f"/api/printers/{printer}/report-fault", json={"reason": "smoke"})
    assert shown["connection"] == "fault" and shown["connection_reason"].endswith(": smoke")


# -- the wall ---------------------------------------------------------------------------------------


def test_the_wall_is_for_viewers_and_the_sites_operators(world: World) -> None:
    acme, uni = world.ids["acme"], world.ids["uni"]
    for who in ("viewer", "operator_acme", "admin"):
        wall = page(world, who, f"/sites/{acme}/wall")
        assert f'data-printer="{world.ids["acme/mk3-1"]}"' in wall and f'data-printer="{world.ids["uni/mk3-1"]}"' not in wall
        assert "/static/live.js" in wall
    fragment = world.client.get(f"/sites/{acme}/wall", headers={"X-Fragment": "1", "Cookie": f"printfarm_token={world.tokens['viewer']}"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<p class="counts">')
    refused = get(world, "operator_uni", f"/sites/{acme}/wall")
    assert refused.status_code == 403
    assert error_of(refused.text) == f"operator of site {uni} may not open site {acme}'s wall: it belongs to site {acme}"
    assert get(world, "viewer", "/sites/999/wall").status_code == 404
    assert get(world, "viewer", f"/sites/{acme}/wall").status_code == 200


def test_the_wall_puts_a_fault_then_a_waiting_bed_before_idle_printers(world: World) -> None:
    idle = world.add_printer("acme", "a-idle")
    faulty = world.add_printer("acme", "z-fault")
    finish_plate(world, "acme/mk3-1")
    world.ok("operator_acme", "POST", f"/api/printers/{faulty}/report-fault", json={"reason": "smoke"})
    wall = page(world, "viewer", f"/sites/{world.ids['acme']}/wall")
    order = [int(i) for i in re.findall(r'<li class="tile [^"]*" data-printer="(\d+)"', wall)]
    assert order == [faulty, world.ids["acme/mk3-1"], idle]
    assert "RC3 headband · Sahlgrenska" in wall and "4 units to count" in wall


def test_the_dashboard_links_each_printer_to_its_phone_page_and_label_and_each_site_to_its_wall(world: World) -> None:
    from printfarm.db.tables import Printer

    printer, acme = world.ids["acme/mk3-1"], world.ids["acme"]
    with world.services.db.unit_of_work() as session:  # temperatures on the card, as the MQTT feed sets them
        row = session.get(Printer, printer)
        assert row is not None
        row.tool_temp_c, row.bed_temp_c = 215.0, 60.0
    wall = page(world, "operator_acme", "/printers")
    assert "nozzle 215 °C · bed 60 °C" in wall
    assert f'<a href="/m/printers/{printer}"' in wall and f'<a href="/printers/{printer}/label">' in wall
    assert f'<a href="/m/printers/{printer}">' in page(world, "operator_acme", f"/setup/printers/{printer}")
    sites = page(world, "viewer", "/sites")
    assert f'<a href="/sites/{acme}/wall"' in sites and f'<a href="/sites/{acme}/labels"' in sites
