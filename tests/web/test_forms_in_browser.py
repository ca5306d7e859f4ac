"""The setup forms in headless Chromium: an operator signs in and clears a bed with QC, a coordinator
queues a batch; the browser's own form posts (with its Origin) pass the cross-site check."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from support.world import World


def sign_in(browser: WebDriver, url: str, token: str) -> None:
    """Through the login form, as a person would, landing on the setup page."""
    browser.get(f"{url}/login?next=/setup")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    # One script call reads the heading: an element handle could belong to the page being left.
    heading = "const h = document.querySelector('h1'); return h && h.textContent.trim();"
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(heading) == "Setup")


def fill(browser: WebDriver, form: str, **values: str) -> None:
    for name, value in values.items():
        field = browser.find_element(By.CSS_SELECTOR, f"#{form} [name={name}]")
        field.clear()
        field.send_keys(value)


def test_an_operator_clears_a_bed_with_qc_and_a_coordinator_queues_a_batch(
    world: World, server: Any, browser: WebDriver, shots: Any,
) -> None:
    world.dispatch()
    printer = world.ids["acme/mk3-1"]
    [job] = [j for j in world.ok("admin", "GET", "/api/jobs") if j["printer_id"] == printer]
    name = job["remote_filename"]
    world.publish(printer, "event/PrintDone", {"_event": "PrintDone", "name": name, "path": name})

    sign_in(browser, server.url, world.tokens["operator_acme"])
    assert browser.find_elements(By.LINK_TEXT, "Add a printer") and not browser.find_elements(By.LINK_TEXT, "Add a site")
    shots(browser, "operator-setup")
    browser.find_element(By.CSS_SELECTOR, f'a[href="/setup/printers/{printer}"]').click()
    fill(browser, "clear-bed-form", good_units="2", rejected_units="3")  # 5 is not the plate's 4 units
    browser.find_element(By.CSS_SELECTOR, "#clear-bed-form button").click()
    error = WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "form-error"))
    assert f"job {job['id']} printed 4 units: good 2 + rejected 3 = 5" in error.text
    shots(browser, "operator-qc-refused")
    assert world.ok("viewer", "GET", f"/api/printers/{printer}")["is_bed_clear"] is False
    fill(browser, "clear-bed-form", good_units="3", rejected_units="1")
    browser.find_element(By.CSS_SELECTOR, "#clear-bed-form button").click()
    WebDriverWait(browser, 10).until(lambda b: "Bed cleared" in b.find_element(By.CSS_SELECTOR, ".done").text)
    shots(browser, "operator-bed-cleared")
    assert browser.current_url == f"{server.url}/setup/printers/{printer}?done=cleared"
    batch = world.ok("viewer", "GET", f"/api/batches/{world.ids['batch']}")
    assert (batch["good_units"], batch["rejected_units"]) == (3, 1)

    browser.delete_all_cookies()
    sign_in(browser, server.url, world.tokens["coordinator"])
    browser.find_element(By.LINK_TEXT, "Queue a batch").click()
    Select(browser.find_element(By.NAME, "part_id")).select_by_visible_text("RC3 headband")
    Select(browser.find_element(By.NAME, "hospital_id")).select_by_visible_text("Sahlgrenska")
    fill(browser, "batch-form", quantity="12", priority="9")
    shots(browser, "coordinator-batch-form")
    browser.find_element(By.CSS_SELECTOR, "#batch-form button").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url == f"{server.url}/batches")
    shots(browser, "coordinator-batches")
    queued = [b for b in world.ok("viewer", "GET", "/api/batches") if b["id"] != world.ids["batch"]]
    assert [(b["part_id"], b["hospital_id"], b["quantity"], b["priority"]) for b in queued] == [
        (world.ids["part"], world.ids["hospital"], 12, 9)
    ]
