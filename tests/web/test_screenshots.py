"""Every dashboard page over a farm with work in it, shot whole in headless Chromium with no internet.

The screenshots land in test-output/web/after/ (CI keeps them as an artifact): what each page looks like
now, for a reviewer to compare with test-output/web/before/ (the same test run before issue 20's changes).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from support.world import World

from web.test_pages_in_browser import finish_plates

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "web" / "after"


def busy_farm(world: World) -> int:
    """Two plates QC-recorded, a delivery shipped and one planned, the next plates printing. The shipped id."""
    finish_plates(world)
    acme, uni = world.ids["acme/mk3-1"], world.ids["uni/mk3-1"]
    world.ok("operator_acme", "POST", f"/api/printers/{acme}/clear-bed", json={"good_units": 3, "rejected_units": 1})
    world.ok("operator_uni", "POST", f"/api/printers/{uni}/clear-bed", json={"good_units": 4, "rejected_units": 0})
    common = {"hospital_id": world.ids["hospital"], "part_id": world.ids["part"]}
    shipped = world.ok("coordinator", "POST", "/api/deliveries", json={
        **common, "sources": [{"site_id": world.ids["acme"], "units": 3}, {"site_id": world.ids["uni"], "units": 2}],
        "notes": "morning run",
    })
    world.ok("coordinator", "POST", f"/api/deliveries/{shipped['id']}/ship")
    world.ok("coordinator", "POST", "/api/deliveries", json={**common, "sources": [{"site_id": world.ids["uni"], "units": 2}]})
    for printer in world.fleet.printers.values():
        printer.finish_print()
    world.dispatch()
    for job in world.ok("admin", "GET", "/api/jobs"):
        if job["state"] in ("assigned", "uploading"):
            name = job["remote_filename"]
            world.publish(job["printer_id"], "event/PrintStarted", {"_event": "PrintStarted", "name": name, "path": name})
            world.publish(job["printer_id"], "progress/printing", {"progress": 40, "location": "local", "path": name})
    return int(shipped["id"])


def shoot_whole_page(browser: WebDriver, path: Path) -> None:
    """The full page, beyond the window's height."""
    png = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(png["data"]))


def test_every_page_renders_offline_and_is_kept_as_a_screenshot(world: World, server: Any, offline_browser: WebDriver) -> None:
    delivery = busy_farm(world)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    browser = offline_browser
    browser.get(f"{server.url}/login")
    shoot_whole_page(browser, SHOTS / "login.png")
    browser.get(f"{server.url}/?token={world.tokens['admin']}")  # signs in: the cookie is set
    # (name, path, what shows the page has drawn)
    pages = [
        ("overview", "/", "#live .totals"),
        ("printers", "/printers?site=", "article.card"),
        ("sites", "/sites", "table.sites tbody tr[data-site]"),
        ("batches", "/batches?all=true", "table.batches tbody tr[data-batch]"),
        ("hospitals", "/hospitals", "table.hospitals tbody tr[data-hospital]"),
        ("deliveries", "/deliveries", "table.deliveries tbody tr[data-delivery]"),
        ("audit", "/audit", "table.audit tbody tr[data-event]"),
        ("delivery-note", f"/deliveries/{delivery}/note", "#sources tbody tr"),
        ("docs", "/docs", ".swagger-ui .opblock"),
        ("redoc", "/redoc", "[data-section-id], .api-content"),
        ("not-found", "/no-such-page", "main h1"),
    ]
    missing = []
    for name, path, drawn in pages:
        browser.get(server.url + path)
        try:
            WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, drawn))
        except TimeoutException:
            missing.append(f"{name} ({path}): no {drawn}")
        shoot_whole_page(browser, SHOTS / f"{name}.png")
    assert missing == []
    assert sorted(p.stem for p in SHOTS.glob("*.png")) == sorted(["login", *(name for name, _, _ in pages)])
