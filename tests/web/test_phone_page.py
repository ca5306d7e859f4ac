"""The printer's phone page in headless Chromium at a phone's viewport (360 x 740): a label's QR address
opened signed out leads through sign-in back to the printer; an operator records 2 rejects of a 4-unit
plate and reports a fault; another site's operator is refused; nothing is wider than the screen and every
button is big enough for a gloved finger. The site's wall, shot at a workshop screen's size, re-orders
itself when a bed is cleared. Screenshots: test-output/web/phone/."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from support.world import World
from web.conftest import REPO, _chromium
from web.test_forms import finish_plate

PHONE = {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}
MIN_TARGET_PX = 48  # WCAG 2.5.5's 44 px and Material's 48 dp; the page aims at 64 for gloves
SHOTS = REPO / "test-output" / "web" / "phone"


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium emulating a 360 x 740 phone (a mobile viewport, touch)."""
    driver = _chromium(tmp_path)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    yield driver
    driver.quit()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[WebDriver, str], Path]:
    """shot(driver, name): test-output/web/phone/<name>-<database>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    database = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.callspec.id)

    def save(driver: WebDriver, name: str) -> Path:
        path = SHOTS / f"{name}-{database}.png"
        assert driver.save_screenshot(str(path)), f"no screenshot saved at {path}"
        return path

    return save


def text_of(driver: WebDriver, element_id: str) -> str | None:
    """One script call (an element handle could belong to the page being left)."""
    return driver.execute_script(
        f"const e = document.getElementById({element_id!r}); return e && e.textContent.trim();")


def wait_for(driver: WebDriver, element_id: str) -> str:
    WebDriverWait(driver, 10).until(lambda d: text_of(d, element_id))
    return text_of(driver, element_id) or ""


def sign_in(driver: WebDriver, token: str) -> None:
    """On the sign-in page the browser was sent to."""
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "token"))
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()


def assert_fits_a_phone(driver: WebDriver) -> None:
    """No horizontal scroll at 360 px, and every visible button or action at least MIN_TARGET_PX tall."""
    width = driver.execute_script("return [window.innerWidth, document.documentElement.scrollWidth];")
    assert width[0] == PHONE["width"] and width[1] <= PHONE["width"], f"viewport, document width: {width}"
    heights: list[tuple[str, float]] = driver.execute_script("""
        return [...document.querySelectorAll('button, .action, summary, input[type=number]')]
          .filter((e) => e.offsetParent !== null)
          .map((e) => [e.id || e.textContent.trim() || e.name, e.getBoundingClientRect().height]);""")
    assert heights, "no buttons on the page"
    small = [(name, h) for name, h in heights if h < MIN_TARGET_PX]
    assert not small, f"targets under {MIN_TARGET_PX} px: {small}"


def printed_page_size_mm(driver: WebDriver) -> tuple[float, float]:
    """The size of the first page Chromium prints the current page on, honouring its CSS @page."""
    pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    found = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert found, "no MediaBox in the printed PDF"
    return round(float(found.group(1)) * 25.4 / 72), round(float(found.group(2)) * 25.4 / 72)


def decoded_qr(driver: WebDriver, folder: Path) -> str | None:
    """The QR code on the label page, decoded by zbarimg from a screenshot of it (None without zbarimg)."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        return None
    image = folder / "qr.png"
    driver.find_element(By.CSS_SELECTOR, ".label .qr").screenshot(str(image))
    out = subprocess.run([zbarimg, "--quiet", "--raw", str(image)], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def test_a_scanned_label_leads_through_sign_in_to_the_printer_where_2_of_4_units_are_rejected(
    world: World, server: Any, phone: WebDriver, shot: Any, tmp_path: Path,
) -> None:
    job = finish_plate(world, "acme/mk3-1")
    printer = world.ids["acme/mk3-1"]

    # The label, as the operator who prints it sees it: the QR and the address it encodes.
    phone.get(f"{server.url}/printers/{printer}/label")
    sign_in(phone, world.tokens["operator_acme"])
    WebDriverWait(phone, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".label svg"))
    url = phone.find_element(By.CSS_SELECTOR, ".label").get_attribute("data-url")
    assert url == f"{server.url}/m/printers/{printer}"
    assert phone.find_element(By.CSS_SELECTOR, ".label .url").text == url
    shot(phone, "scan-1-label")
    decoded = decoded_qr(phone, tmp_path)
    assert decoded in (None, url)
    assert printed_page_size_mm(phone) == (62, 29)  # one label on 62 mm continuous tape
    phone.get(f"{server.url}/sites/{world.ids['acme']}/labels")
    assert printed_page_size_mm(phone) == (210, 297)  # the site's sheet: A4

    # A phone without the cookie scans it: sign in, and back on the printer's page.
    phone.delete_all_cookies()
    phone.get(url)
    WebDriverWait(phone, 10).until(lambda d: "/login?next=" in d.current_url)
    shot(phone, "scan-2-sign-in")
    sign_in(phone, world.tokens["operator_acme"])
    WebDriverWait(phone, 10).until(lambda d: d.current_url == url)
    cookie = phone.get_cookie("printfarm_token")
    assert cookie is not None and cookie["expiry"] > 0 and cookie["sameSite"] == "Strict"  # kept across the shift
    assert phone.find_element(By.TAG_NAME, "h1").text.startswith("mk3-1")
    assert "RC3 headband" in phone.find_element(By.ID, "bed").text and "Sahlgrenska" in phone.find_element(By.ID, "bed").text
    assert_fits_a_phone(phone)
    actions = phone.execute_script(
        "return [...document.querySelectorAll('.action, .step')].map((e) => e.getBoundingClientRect().height);")
    assert len(actions) >= 5 and min(actions) >= 60, actions  # the page's own aim for gloves: 64 px
    shot(phone, "scan-3-plate-waits")

    # 1 reject is the starting count; one tap on + makes 2, and the rest (2) are good.
    rejects = phone.find_element(By.ID, "rejects-form")
    phone.execute_script("arguments[0].scrollIntoView()", rejects)
    rejects.find_element(By.CSS_SELECTOR, "button.step[data-step='1']").click()
    assert phone.find_element(By.ID, "rejected-units").get_attribute("value") == "2"
    assert phone.find_element(By.ID, "good-units").text == "2"
    shot(phone, "scan-4-two-rejects")
    rejects.find_element(By.CSS_SELECTOR, "button.action").click()
    assert "Bed cleared" in wait_for(phone, "done")
    assert phone.current_url == f"{url}?done=cleared"
    assert_fits_a_phone(phone)
    shot(phone, "scan-5-bed-cleared")

    batch = world.ok("viewer", "GET", f"/api/batches/{world.ids['batch']}")
    assert (batch["good_units"], batch["rejected_units"]) == (2, 2)
    finished = world.ok("viewer", "GET", f"/api/jobs/{job['id']}")
    assert (finished["good_units"], finished["rejected_units"]) == (2, 2)


def test_an_operator_reports_a_fault_from_the_phone_and_another_sites_operator_is_refused(
    world: World, server: Any, phone: WebDriver, shot: Any,
) -> None:
    printer = world.ids["acme/mk3-1"]
    url = f"{server.url}/m/printers/{printer}"
    phone.get(url)
    sign_in(phone, world.tokens["operator_acme"])
    WebDriverWait(phone, 10).until(lambda d: d.current_url == url)
    phone.find_element(By.ID, "report-fault").click()
    phone.find_element(By.CSS_SELECTOR, "button.choice[data-reason='Nozzle clogged']").click()
    assert phone.find_element(By.ID, "fault-reason-text").get_attribute("value") == "Nozzle clogged"
    assert_fits_a_phone(phone)
    shot(phone, "fault-1-report")
    phone.find_element(By.CSS_SELECTOR, "#fault-form button.action").click()
    assert "Fault reported" in wait_for(phone, "done")
    assert "Nozzle clogged" in wait_for(phone, "fault-reason")
    assert phone.find_elements(By.ID, "acknowledge-form") and not phone.find_elements(By.ID, "fault-form")
    assert_fits_a_phone(phone)
    shot(phone, "fault-2-in-fault")

    shown = world.ok("viewer", "GET", f"/api/printers/{printer}")
    assert shown["connection"] == "fault" and shown["connection_reason"].endswith("(operator_acme): Nozzle clogged")
    [newest, *_] = world.ok("viewer", "GET", f"/api/printers/{printer}/timeline")["entries"]
    assert newest["kind"] == "fault" and newest["detail"] == shown["connection_reason"]

    phone.delete_all_cookies()
    phone.get(url)
    sign_in(phone, world.tokens["operator_uni"])
    WebDriverWait(phone, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.error"))
    assert phone.find_element(By.CSS_SELECTOR, "p.error").text == (
        f"operator of site {world.ids['uni']} may not open printer {printer}'s page: it belongs to site {world.ids['acme']}")
    assert not phone.find_elements(By.TAG_NAME, "form")
    assert_width = phone.execute_script("return document.documentElement.scrollWidth;")
    assert assert_width <= PHONE["width"]
    shot(phone, "fault-3-other-site-refused")
    assert world.ok("viewer", "GET", f"/api/printers/{printer}")["connection"] == "fault"


def test_the_wall_shows_what_waits_for_a_person_first_and_follows_by_itself(
    world: World, server: Any, browser: WebDriver, shot: Any,
) -> None:
    idle = world.add_printer("acme", "a-idle")
    faulty = world.add_printer("acme", "z-fault")
    finish_plate(world, "acme/mk3-1")
    world.ok("operator_acme", "POST", f"/api/printers/{faulty}/report-fault", json={"reason": "smoke from the hotend"})
    browser.set_window_size(1920, 1080)
    browser.get(f"{server.url}/sites/{world.ids['acme']}/wall?token={world.tokens['viewer']}")
    order = "return [...document.querySelectorAll('li.tile')].map((t) => Number(t.dataset.printer));"
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(order))
    bed = world.ids["acme/mk3-1"]
    assert browser.execute_script(order) == [faulty, bed, idle]
    WebDriverWait(browser, 10).until(lambda b: (text_of(b, "status") or "").startswith("live ·"))  # live.js polls
    shot(browser, "wall-1")
    world.ok("operator_acme", "POST", f"/api/printers/{bed}/clear-bed", json={"good_units": 4, "rejected_units": 0})
    # No reload: the page re-draws itself, and the cleared bed leaves the front.
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(order)[1] != bed)
    assert browser.execute_script(order)[0] == faulty
    shot(browser, "wall-2-after-clearing")
