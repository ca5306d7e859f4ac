"""The deliveries page lists every delivery with a link to its note; a browser's unknown address gets a
404 page while the API keeps its JSON."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from printfarm.auth.rules import Role
from support.world import World
from web.test_pages_in_browser import attrs, text
from web.test_screenshots import busy_farm

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # what a browser sends


def test_the_deliveries_page_lists_what_the_api_does_and_links_each_note(
    world: World, server: Any, browser: WebDriver, shots: Any
) -> None:
    shipped = busy_farm(world)
    api = world.ok("viewer", "GET", "/api/deliveries")
    browser.get(f"{server.url}/deliveries?token={world.tokens['viewer']}")
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, "tr[data-delivery]"))
    rows = attrs(browser, "tr[data-delivery]", "data-delivery", "data-state")
    assert rows == [[str(d["id"]), d["state"]] for d in reversed(api)]  # newest first
    assert [r[1] for r in rows] == ["planned", "shipped"]
    assert text(browser, f'tr[data-delivery="{shipped}"] td[data-units]') == "5"
    assert attrs(browser, f'tr[data-delivery="{shipped}"] a.note', "href") == [[f"/deliveries/{shipped}/note"]]
    assert attrs(browser, 'nav a[aria-current="page"]', "href") == [["/deliveries"]]
    shots(browser, "deliveries")

    browser.find_element(By.CSS_SELECTOR, f'tr[data-delivery="{shipped}"] a.note').click()
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "delivery-id"))
    assert (text(browser, "#delivery-id"), text(browser, "#state"), text(browser, "#units")) == (str(shipped), "shipped", "5")
    shots(browser, "note")
    browser.find_element(By.LINK_TEXT, "‹ all deliveries").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, "table.deliveries"))

    browser.get(f"{server.url}/deliveries?state=shipped")
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, "table.deliveries"))
    assert attrs(browser, "tr[data-delivery]", "data-delivery") == [[str(shipped)]]


def test_the_deliveries_page_asks_a_browser_to_sign_in_and_shows_a_hospital_only_its_own(world: World) -> None:
    busy_farm(world)
    world.client.cookies.clear()
    response = world.client.get("/deliveries", headers=HTML, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=%2Fdeliveries")
    other = world.ok("admin", "POST", "/api/hospitals", json={"name": "Östra"})["id"]
    world.token_for("other_hospital", Role.HOSPITAL, hospital_id=other)
    world.client.cookies.set("printfarm_token", world.tokens["other_hospital"])
    page = world.client.get("/deliveries")
    assert page.status_code == 200 and "No deliveries yet" in page.text and "data-delivery=" not in page.text
    world.client.cookies.set("printfarm_token", world.tokens["hospital"])
    page = world.client.get("/deliveries")
    assert page.text.count("data-delivery=") == 2


def test_an_unknown_address_is_a_404_page_for_a_browser_and_json_for_the_api(world: World) -> None:
    page = world.client.get("/no-such-page", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at /no-such-page." in page.text and 'href="/"' in page.text

    note = world.client.get("/deliveries/999/note", headers={**HTML, **world.headers("admin")})
    assert note.status_code == 404 and note.headers["content-type"].startswith("text/html")
    assert "delivery 999 does not exist" in note.text

    for path in ("/api/no-such-thing", "/api/deliveries/999"):
        for headers in (HTML, {"Accept": "application/json"}, {}):
            response = world.client.get(path, headers={**headers, **world.headers("admin")})
            assert response.status_code == 404 and response.headers["content-type"] == "application/json", (path, headers)
            assert response.json()["error"] == "NotFound"
    assert world.client.get("/no-such-page").json() == {"error": "NotFound", "detail": "Not Found"}  # no HTML asked for


def test_the_hospitals_page_shows_a_hospital_token_only_its_own_hospital(world: World) -> None:
    busy_farm(world)
    other = world.ok("admin", "POST", "/api/hospitals", json={"name": "Östra"})["id"]
    world.token_for("other_hospital", Role.HOSPITAL, hospital_id=other)
    world.client.cookies.set("printfarm_token", world.tokens["viewer"])
    everyone = world.client.get("/hospitals", headers=HTML).text
    assert everyone.count("data-hospital=") >= 2
    world.client.cookies.set("printfarm_token", world.tokens["other_hospital"])
    page = world.client.get("/hospitals", headers=HTML)
    assert page.status_code == 200 and page.text.count("data-hospital=") == 1 and f'data-hospital="{other}"' in page.text
    world.client.cookies.set("printfarm_token", world.tokens["hospital"])
    page = world.client.get("/hospitals", headers=HTML)
    assert page.text.count("data-hospital=") == 1 and f'data-hospital="{world.ids["hospital"]}"' in page.text
