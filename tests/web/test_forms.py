"""The setup forms through the test client: each role creates what the API lets it create, a refused
role gets the 403 page, bad input gets the form again with the service's reason, and a refusal or a
post from another site changes nothing."""

from __future__ import annotations

from typing import Any

import html

import httpx
import pytest
from support.world import PRINTER_KEY, World

from conftest import SHARED
from printfarm.demo.gcode import plate_gcode

ORIGIN = "http://testserver"  # the test client's host
STL = SHARED / "data" / "stl"


def post(world: World, who: str, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """A form post from the dashboard, signed in by its cookie, as a browser sends it."""
    headers = {"Cookie": f"printfarm_token={world.tokens[who]}", "Origin": ORIGIN, **kwargs.pop("headers", {})}
    return world.client.post(path, data=data or {}, headers=headers, follow_redirects=False, **kwargs)


def get(world: World, who: str, path: str) -> httpx.Response:
    return world.client.get(path, headers={"Cookie": f"printfarm_token={world.tokens[who]}"}, follow_redirects=False)


def snapshot(world: World) -> dict[str, Any]:
    """Everything a refused form could have changed."""
    return {
        path: world.ok("admin", "GET", path)
        for path in ("/api/sites", "/api/hospitals", "/api/printers", "/api/parts", "/api/batches", "/api/jobs",
                     "/api/audit", "/api/tokens")
    }


def redirected_to(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"]


def finish_plate(world: World, printer: str) -> dict[str, Any]:
    """Dispatch, and the printer reports its plate done: its bed waits for QC."""
    world.dispatch()
    job = next(j for j in world.ok("admin", "GET", "/api/jobs") if j["printer_id"] == world.ids[printer])
    name = job["remote_filename"]
    world.publish(job["printer_id"], "event/PrintDone", {"_event": "PrintDone", "name": name, "path": name})
    return dict(job)


# -- allowed: created, and the API shows it --------------------------------------------------------


def test_admin_adds_a_site_and_a_hospital(world: World) -> None:
    assert redirected_to(post(world, "admin", "/setup/sites", {"name": "makerspace", "city": "Lund",
                                                               "auto_accept_qc": "true"})) == "/sites"
    site = next(s for s in world.ok("viewer", "GET", "/api/sites") if s["name"] == "makerspace")
    assert (site["city"], site["auto_accept_qc"], site["latitude"]) == ("Lund", True, None)
    assert redirected_to(post(world, "admin", "/setup/hospitals", {"name": "Skåne", "contact": "ward 3"})) == "/hospitals"
    hospital = next(h for h in world.ok("viewer", "GET", "/api/hospitals") if h["name"] == "Skåne")
    assert (hospital["contact"], hospital["city"]) == ("ward 3", None)


def test_admin_creates_an_operator_token_shown_once_that_signs_in(world: World) -> None:
    response = post(world, "admin", "/setup/tokens", {"name": "anna", "role": "operator", "site_id": str(world.ids["uni"])})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    token = response.text.split('id="new-token" class="token">')[1].split("<")[0]
    me = world.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["role"], me["site_id"]) == ("operator", world.ids["uni"])


def test_operator_adds_a_printer_at_its_site_after_the_printer_answered(world: World) -> None:
    world.fleet.add("http://acme-mk3-2.invalid", PRINTER_KEY)
    location = redirected_to(post(world, "operator_acme", "/setup/printers", {
        "site_id": str(world.ids["acme"]), "name": "mk3-2", "base_url": "http://acme-mk3-2.invalid",
        "api_key": PRINTER_KEY, "profile": "prusa-mk3s-0.4",
    }))
    printer = next(p for p in world.ok("viewer", "GET", "/api/printers") if p["name"] == "mk3-2")
    assert location == f"/setup/printers/{printer['id']}?done=printer"
    assert (printer["site_id"], printer["loaded_material"], printer["connection"]) == (world.ids["acme"], "PLA", "online")
    page = get(world, "operator_acme", location)
    assert "Printer registered" in page.text and PRINTER_KEY not in page.text


def test_operator_puts_its_printer_in_maintenance_and_enables_it(world: World) -> None:
    printer = world.ids["acme/mk3-1"]
    redirected_to(post(world, "operator_acme", f"/setup/printers/{printer}/maintenance", {"reason": "new nozzle"}))
    read = world.ok("viewer", "GET", f"/api/printers/{printer}")
    assert (read["is_enabled"], read["disabled_reason"]) == (False, "new nozzle")
    assert "in maintenance" in get(world, "operator_acme", f"/setup/printers/{printer}?done=maintenance").text
    redirected_to(post(world, "operator_acme", f"/setup/printers/{printer}/enable"))
    assert world.ok("viewer", "GET", f"/api/printers/{printer}")["is_enabled"] is True


def test_operator_clears_a_bed_recording_good_and_rejected_units(world: World) -> None:
    finish_plate(world, "acme/mk3-1")
    printer = world.ids["acme/mk3-1"]
    page = get(world, "operator_acme", f"/setup/printers/{printer}")
    assert 'id="clear-bed-form"' in page.text
    location = redirected_to(post(world, "operator_acme", f"/setup/printers/{printer}/clear-bed",
                                  {"good_units": "3", "rejected_units": "1"}))
    assert location == f"/setup/printers/{printer}?done=cleared"
    assert world.ok("viewer", "GET", f"/api/printers/{printer}")["is_bed_clear"] is True
    batch = world.ok("viewer", "GET", f"/api/batches/{world.ids['batch']}")
    assert (batch["good_units"], batch["rejected_units"]) == (3, 1)


def test_coordinator_adds_a_part_with_its_stl_and_sees_the_verdict(world: World) -> None:
    stl = (STL / "faceshield" / "Visor_frame_SWEDEN_v11.stl").read_bytes()
    location = redirected_to(post(world, "coordinator", "/setup/parts", {"name": "visor", "design_version": "11"},
                                  files={"stl": ("visor.stl", stl, "model/stl")}))
    part = next(p for p in world.ok("viewer", "GET", "/api/parts") if p["name"] == "visor")
    assert location == f"/setup/parts/{part['id']}?done=part"
    assert (part["stl_verdict"], part["stl_filename"], part["design_version"]) == ("ok", "visor.stl", "11")
    assert 'data-verdict="ok"' in get(world, "coordinator", location).text


def test_a_rejected_stl_is_kept_with_its_verdict_and_reasons_shown(world: World) -> None:
    stl = (STL / "tricky" / "Visor_frame_SWEDEN_v11__inverted.stl").read_bytes()
    location = redirected_to(post(world, "coordinator", "/setup/parts", {"name": "inside out"},
                                  files={"stl": ("x.stl", stl, "model/stl")}))
    page = get(world, "coordinator", location).text
    assert 'data-verdict="rejected"' in page and "inside_out" in page


def test_a_part_without_an_stl_when_the_file_field_is_left_empty(world: World) -> None:
    location = redirected_to(post(world, "coordinator", "/setup/parts", {"name": "sketch"},
                                  files={"stl": ("", b"", "application/octet-stream")}))
    part = next(p for p in world.ok("viewer", "GET", "/api/parts") if p["name"] == "sketch")
    assert part["stl_verdict"] is None and location.startswith(f"/setup/parts/{part['id']}")


def test_coordinator_attaches_a_print_file_approves_and_queues_a_batch(world: World) -> None:
    part = world.ok("coordinator", "POST", "/api/parts", data={"name": "clip"})["id"]
    redirected_to(post(world, "coordinator", f"/setup/parts/{part}/print-files",
                       {"profile": "prusa-mk3s-0.4", "units_per_print": "2"},
                       files={"gcode": ("clip.gcode", plate_gcode(units=2), "text/x.gcode")}))
    assert [f["units_per_print"] for f in world.ok("viewer", "GET", f"/api/parts/{part}/print-files")] == [2]
    redirected_to(post(world, "coordinator", f"/setup/parts/{part}/approve"))
    assert world.ok("viewer", "GET", f"/api/parts/{part}")["is_approved"] is True
    assert redirected_to(post(world, "coordinator", "/setup/batches", {
        "part_id": str(part), "hospital_id": str(world.ids["hospital"]), "quantity": "10", "priority": "7",
        "due_at": "2030-05-01T12:00",
    })) == "/batches"
    batch = next(b for b in world.ok("viewer", "GET", "/api/batches") if b["part_id"] == part)
    assert (batch["quantity"], batch["priority"], batch["due_at"][:16]) == (10, 7, "2030-05-01T12:00")


# -- refused role: the 403 page, nothing created -------------------------------------------------

REFUSED = [
    ("viewer adds a site", "viewer", "/setup/sites", {"name": "x"}, "role viewer may not manage sites"),
    ("coordinator adds a hospital", "coordinator", "/setup/hospitals", {"name": "x"}, "role coordinator may not manage sites"),
    ("operator creates a token", "operator_acme", "/setup/tokens", {"name": "x", "role": "admin"},
     "role operator may not manage tokens"),
    ("operator adds a printer at another site", "operator_acme", "/setup/printers",
     {"site_id": "UNI", "name": "x", "base_url": "http://spare.invalid", "api_key": PRINTER_KEY, "profile": "prusa-mk3s-0.4"},
     "operator of site ACME may not act on site UNI"),
    ("operator disables another site's printer", "operator_uni", "/setup/printers/ACME_PRINTER/maintenance", {},
     "operator of site UNI may not act on site ACME"),
    ("viewer clears a bed", "viewer", "/setup/printers/ACME_PRINTER/clear-bed", {"good_units": "0"},
     "role viewer may not operate printer"),
    ("operator adds a part", "operator_acme", "/setup/parts", {"name": "x"}, "role operator may not manage parts"),
    ("hospital queues a batch", "hospital", "/setup/batches", {"part_id": "PART", "hospital_id": "HOSPITAL", "quantity": "4"},
     "role hospital may not manage batches"),
]


def _ids(world: World, text: str) -> str:
    for placeholder, key in (("ACME_PRINTER", "acme/mk3-1"), ("ACME", "acme"), ("UNI", "uni"), ("PART", "part"),
                             ("HOSPITAL", "hospital")):
        text = text.replace(placeholder, str(world.ids[key]))
    return text


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_refused_role_gets_the_403_page_and_nothing_changes(world: World, case: tuple[Any, ...]) -> None:
    _, who, path, data, reason = case
    world.fleet.add("http://spare.invalid", PRINTER_KEY)
    before = snapshot(world)
    response = post(world, who, _ids(world, path), {k: _ids(world, v) for k, v in data.items()})
    assert response.status_code == 403, response.text
    assert _ids(world, reason) in html.unescape(response.text) and "<form" not in response.text.split("</header>")[-1]
    assert snapshot(world) == before


@pytest.mark.parametrize("who, path", [("viewer", "/setup/sites"), ("operator_acme", "/setup/batches"),
                                       ("coordinator", "/setup/printers"), ("hospital", "/setup/parts")])
def test_a_form_is_not_shown_to_a_role_that_may_not_use_it(world: World, who: str, path: str) -> None:
    assert get(world, who, path).status_code == 403


def test_the_setup_page_and_nav_offer_each_role_its_own_forms(world: World) -> None:
    links = {who: get(world, who, "/setup").text for who in ("admin", "operator_acme", "coordinator", "viewer")}
    assert all(f'href="/setup/{form}"' in links["admin"] for form in ("sites", "hospitals", "tokens", "printers", "parts", "batches"))
    assert 'href="/setup/printers"' in links["operator_acme"] and 'href="/setup/sites"' not in links["operator_acme"]
    assert f'href="/setup/printers/{world.ids["acme/mk3-1"]}"' in links["operator_acme"]
    assert f'href="/setup/printers/{world.ids["uni/mk3-1"]}"' not in links["operator_acme"]
    assert 'href="/setup/batches"' in links["coordinator"] and 'href="/setup/printers"' not in links["coordinator"]
    assert "/setup/" not in links["viewer"].split("</header>")[-1].replace('href="/setup">', "")
    assert 'href="/setup"' not in get(world, "viewer", "/").text
    assert 'href="/setup"' in get(world, "operator_acme", "/").text


# -- bad input: the form again with the reason, nothing created ----------------------------------

BAD = [
    ("site without a name", "admin", "/setup/sites", {"city": "Lund"}, 422, "name: Field required"),
    ("duplicate site", "admin", "/setup/sites", {"name": "acme"}, 409, "site named 'acme' already exists"),
    ("latitude off the globe", "admin", "/setup/sites", {"name": "x", "latitude": "95"}, 422,
     "latitude: Input should be less than or equal to 90"),
    ("duplicate hospital", "admin", "/setup/hospitals", {"name": "Sahlgrenska"}, 409, "already exists"),
    ("operator token without a site", "admin", "/setup/tokens", {"name": "x", "role": "operator"}, 422,
     "an operator token needs a site"),
    ("unreachable printer", "operator_acme", "/setup/printers",
     {"site_id": "ACME", "name": "ghost", "base_url": "http://nowhere.invalid", "api_key": "k", "profile": "prusa-mk3s-0.4"},
     422, "printer at http://nowhere.invalid is unreachable"),
    ("refused printer key", "operator_acme", "/setup/printers",
     {"site_id": "ACME", "name": "ghost", "base_url": "http://spare.invalid", "api_key": "wrong", "profile": "prusa-mk3s-0.4"},
     422, "printer at http://spare.invalid refused the API key"),
    ("non-http printer address", "operator_acme", "/setup/printers",
     {"site_id": "ACME", "name": "ghost", "base_url": "file:///etc/passwd", "api_key": "k", "profile": "prusa-mk3s-0.4"},
     422, "base_url: must start with http:// or https://"),
    ("units on an empty bed", "operator_acme", "/setup/printers/ACME_PRINTER/clear-bed", {"good_units": "4"}, 422,
     "has no finished plate to count"),
    ("negative good units", "operator_acme", "/setup/printers/ACME_PRINTER/clear-bed", {"good_units": "-1"}, 422,
     "good_units: Input should be greater than or equal to 0"),
    ("duplicate part", "coordinator", "/setup/parts", {"name": "RC3 headband"}, 409, "already exists"),
    ("units per plate not a number", "coordinator", "/setup/parts/PART/print-files",
     {"profile": "prusa-mk3s-0.4", "units_per_print": "four"}, 422, "units_per_print must be a whole number (got 'four')"),
    ("zero units", "coordinator", "/setup/batches", {"part_id": "PART", "hospital_id": "HOSPITAL", "quantity": "0"}, 422,
     "quantity: Input should be greater than 0"),
    ("unknown hospital", "coordinator", "/setup/batches", {"part_id": "PART", "hospital_id": "999", "quantity": "4"}, 404,
     "hospital 999"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_gets_the_form_again_with_the_reason_and_changes_nothing(world: World, case: tuple[Any, ...]) -> None:
    _, who, path, data, status, reason = case
    world.fleet.add("http://spare.invalid", PRINTER_KEY)
    before = snapshot(world)
    files = {"gcode": ("x.gcode", plate_gcode(), "text/plain")} if path.endswith("print-files") else None
    response = post(world, who, _ids(world, path), {k: _ids(world, v) for k, v in data.items()}, files=files)
    assert response.status_code == status, response.text
    assert 'id="form-error"' in response.text and reason in html.unescape(response.text), response.text
    assert '<form method="post"' in response.text
    assert snapshot(world) == before


def test_a_refused_printer_form_keeps_what_was_typed_but_never_the_key(world: World) -> None:
    response = post(world, "operator_acme", "/setup/printers", {
        "site_id": str(world.ids["acme"]), "name": "ghost", "base_url": "http://nowhere.invalid",
        "api_key": "secret-key-123", "profile": "prusa-mk3s-0.4",
    })
    assert response.status_code == 422
    assert 'value="ghost"' in response.text and "secret-key-123" not in response.text


# -- cross-site posts and signing in -------------------------------------------------------------


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "", "Referer": "http://evil.example/page"}, {"Origin": ""}],
                         ids=["other origin", "opaque origin", "other referer", "neither"])
def test_a_post_from_another_site_is_refused_and_changes_nothing(world: World, headers: dict[str, str]) -> None:
    before = snapshot(world)
    response = post(world, "admin", "/setup/sites", {"name": "csrf"}, headers=headers)
    assert response.status_code == 403
    assert "the setup forms accept posts from this site (testserver) only" in response.json()["detail"]
    assert snapshot(world) == before


def test_a_post_with_only_a_same_site_referer_is_accepted(world: World) -> None:
    headers = {"Origin": "", "Referer": f"{ORIGIN}/setup/sites"}
    assert redirected_to(post(world, "admin", "/setup/sites", {"name": "referred"}, headers=headers)) == "/sites"


def test_without_a_sign_in_a_form_leads_to_the_login_and_a_post_saves_nothing(world: World) -> None:
    response = world.client.get("/setup/batches", follow_redirects=False)
    assert redirected_to(response) == "/login?next=%2Fsetup%2Fbatches"
    before = snapshot(world)
    response = world.client.post("/setup/sites", data={"name": "anon"}, headers={"Origin": ORIGIN}, follow_redirects=False)
    assert redirected_to(response) == "/login?next=%2Fsetup%2Fsites"
    assert snapshot(world) == before
