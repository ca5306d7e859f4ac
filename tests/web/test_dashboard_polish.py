"""Dashboard polish (issue 20 point 8): columns only when something fills them, rows that link to their
objects, a legend for the batch bar, labels that say what they mean, a day chart that fits."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from printfarm.metrics.rules import PrinterStatus
from printfarm.web.labels import STATUS_LABELS, printer_words
from support.world import World
from web.test_pages_in_browser import attrs, text
from web.test_screenshots import busy_farm


def open_page(browser: WebDriver, url: str, drawn: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, drawn))


def headers(browser: WebDriver, table: str) -> list[str]:
    return browser.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' thead th')].map(e => e.textContent.trim());", table
    )


def test_the_printers_own_words_show_only_when_they_tell_more_than_the_status() -> None:
    assert printer_words("printing", "Printing") is None
    assert printer_words("idle", "Operational") is None
    assert printer_words("paused", "Paused") is None
    assert printer_words("offline", "Offline") is None
    assert printer_words("idle", None) is None
    assert printer_words("offline", "Error: Thermal Runaway") == "Error: Thermal Runaway"
    assert printer_words("printing", "Pausing") == "Pausing"
    assert set(STATUS_LABELS) == set(PrinterStatus)  # every status has a label and a meaning


def test_empty_columns_are_left_out_and_come_back_once_something_fills_them(world: World, server: Any, browser: WebDriver) -> None:
    busy_farm(world)
    browser.get(f"{server.url}/?token={world.tokens['admin']}")
    open_page(browser, f"{server.url}/sites", "table.sites tr[data-site]")
    assert "city" not in headers(browser, "table.sites")
    assert headers(browser, "table.sites")[2:5] == ["online", "with a plate", "beds in use"]
    titles = dict(zip(headers(browser, "table.sites"), [t for [t] in attrs(browser, "table.sites th", "title")], strict=True))
    assert titles["with a plate"].startswith("printers with a plate claimed")
    assert "not yet cleared" in titles["beds in use"]
    open_page(browser, f"{server.url}/hospitals", "table.hospitals tr[data-hospital]")
    assert "city" not in headers(browser, "table.hospitals")
    open_page(browser, f"{server.url}/batches", "table.batches tr[data-batch]")
    assert "due" not in headers(browser, "table.batches")

    world.ok("admin", "POST", "/api/sites", json={"name": "makerspace", "city": "Göteborg"})
    world.ok("admin", "POST", "/api/hospitals", json={"name": "Östra", "city": "Göteborg"})
    world.ok("coordinator", "POST", "/api/batches", json={
        "part_id": world.ids["part"], "hospital_id": world.ids["hospital"], "quantity": 4, "due_at": "2026-12-24T12:00:00Z",
    })
    open_page(browser, f"{server.url}/sites", "table.sites tr[data-site]")
    assert headers(browser, "table.sites")[:2] == ["site", "city"]
    assert text(browser, f'tr[data-site="{world.ids["acme"]}"] td:nth-child(2)') == "—"
    open_page(browser, f"{server.url}/hospitals", "table.hospitals tr[data-hospital]")
    assert headers(browser, "table.hospitals")[:2] == ["hospital", "city"]
    open_page(browser, f"{server.url}/batches", "table.batches tr[data-batch]")
    assert headers(browser, "table.batches")[-1] == "due"
    assert text(browser, f'tr[data-batch="{world.ids["batch"]}"] td:last-child') == "—"


def test_rows_link_to_their_objects_and_the_batch_bar_has_a_legend(world: World, server: Any, browser: WebDriver, shots: Any) -> None:
    delivery = busy_farm(world)
    batch, hospital = world.ids["batch"], world.ids["hospital"]
    open_page(browser, f"{server.url}/?token={world.tokens['admin']}", f'tr[data-batch="{batch}"]')
    assert attrs(browser, f'tr[data-batch="{batch}"] td:first-child a', "href") == [[f"/batches?all=true#batch-{batch}"]]
    assert text(browser, "table.batches + p.legend, .scroll + p.legend") == (
        "QC-passed  on printers now  still to print (of the units wanted)"
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "p.legend .key.done, p.legend .key.running, p.legend .key.todo")) == 3
    shots(browser, "overview")

    open_page(browser, f"{server.url}/printers?site=", "article.card")
    printing = [p for p in world.ok("admin", "GET", "/api/jobs") if p["state"] == "printing"]
    card = f'article[data-printer="{printing[0]["printer_id"]}"]'
    assert attrs(browser, f"{card} .job a", "href") == [[f"/batches?all=true#batch-{batch}"]]
    for label, status, own_words in browser.execute_script(
        "return [...document.querySelectorAll('article.card')].map(c => [c.querySelector('.state .tag').textContent,"
        " c.dataset.status, (c.querySelector('.state .muted') || {}).textContent || '']);"
    ):
        assert label == STATUS_LABELS[PrinterStatus(status)][0]
        assert own_words.strip().lower() != label.lower()
    assert attrs(browser, ".statuses .tag.printing", "title") == [["printing a plate"]]

    open_page(browser, f"{server.url}/hospitals", "table.hospitals tr[data-hospital]")
    assert attrs(browser, f'tr[data-hospital="{hospital}"] td:first-child a', "href") == [[f"/deliveries?hospital={hospital}"]]
    browser.find_element(By.CSS_SELECTOR, f'tr[data-hospital="{hospital}"] td:first-child a').click()
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, "tr[data-delivery]"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr[data-delivery]")) == 2

    open_page(browser, f"{server.url}/audit", "table.audit tr[data-event]")
    assert [f"/deliveries/{delivery}/note"] in attrs(browser, "table.audit td a", "href")


def test_the_day_chart_fits_its_labels_and_starts_where_the_units_do(world: World, server: Any, browser: WebDriver) -> None:
    busy_farm(world)
    open_page(browser, f"{server.url}/?token={world.tokens['viewer']}", "svg.lines circle.dot.good")
    days = attrs(browser, "svg.lines circle.dot.good", "data-day", "data-value")
    assert len(days) == 7 and [int(v) for _, v in days] == [0, 0, 0, 0, 0, 0, 7]
    width, boxes = browser.execute_script(
        "const svg = document.querySelector('svg.lines');"
        "return [svg.viewBox.baseVal.width, [...svg.querySelectorAll('text.axis')].map(t => { const b = t.getBBox(); return [b.x, b.x + b.width]; })];"
    )
    assert all(0 <= left and right <= width for left, right in boxes), (width, boxes)
