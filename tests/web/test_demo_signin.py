"""`printfarm demo`'s sign-in links in headless Chromium: each role's link signs in as that role, and
the server's access log of the run never holds a token (it rides in the URL fragment, see login.js)."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from printfarm.auth.rules import Role
from printfarm.demo import Demo, DemoOptions
from printfarm.demo.seed import SignIn

pytestmark = pytest.mark.slow


class AccessLog(logging.Handler):
    """The lines uvicorn's access logger writes during the test."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_log() -> Iterator[AccessLog]:
    logger = logging.getLogger("uvicorn.access")
    handler, level = AccessLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def demo(access_log: AccessLog) -> Iterator[Demo]:
    stop = threading.Event()
    with Demo(DemoOptions(units=24), out=io.StringIO()) as running:
        loop = threading.Thread(target=running.run, args=(stop,), name="demo-loop")
        loop.start()
        yield running
        stop.set()
        loop.join(timeout=30)


def who(browser: WebDriver) -> dict[str, str]:
    return browser.execute_script(
        "const w = document.getElementById('who'); return w ? {role: w.dataset.role, site: w.dataset.site} : {};"
    )


def open_link(browser: WebDriver, demo: Demo, link: SignIn) -> None:
    browser.delete_all_cookies()
    browser.get(f"{demo.url}/login?next={link.landing_path}#token={link.token}")
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "live"))


def nav_links(browser: WebDriver) -> list[str]:
    return browser.execute_script("return [...document.querySelectorAll('header nav a')].map(a => a.getAttribute('href'));")


def test_each_roles_demo_link_signs_in_as_that_role_and_no_token_reaches_the_access_log(
    demo: Demo, browser: WebDriver, shots: Any, access_log: AccessLog
) -> None:
    assert demo.farm is not None
    links = demo.sign_ins
    assert {link.role for link in links} == set(Role), [link.label for link in links]
    assert [link.role for link in links].count(Role.OPERATOR) == len(demo.farm.site_ids)
    operator_sites = iter(demo.farm.site_names)
    for link in links:
        open_link(browser, demo, link)
        shots(browser, link.label.replace(" · ", "-").replace(" ", "_"))
        address = urlsplit(browser.current_url)
        assert (address.path, address.fragment) == (link.landing_path, ""), link.label  # the token left the address
        assert "token" not in browser.execute_script("return location.href + document.referrer;"), link.label
        seen = who(browser)
        assert seen["role"] == link.role.value, link.label
        if link.role is Role.OPERATOR:
            site_id = next(operator_sites)
            assert seen["site"] == str(site_id), link.label
            # an operator's printer wall starts at its own site
            assert browser.execute_script("return document.querySelector('select[name=site]').value;") == str(site_id)
        # the audit log is the admin's alone: in the menu, and on its page
        browser.get(f"{demo.url}/audit")
        if link.role is Role.ADMIN:
            assert "/audit" in nav_links(browser)
            assert browser.find_elements(By.CSS_SELECTOR, "#live table"), browser.page_source[:2000]
            assert "batch.create" in browser.find_element(By.ID, "live").text
        else:
            assert "/audit" not in nav_links(browser), link.label
            assert "may not read audit" in browser.find_element(By.TAG_NAME, "main").text, link.label
    # A link with a bad token lands on the login page with its error, and that token is not logged either.
    browser.delete_all_cookies()
    browser.get(f"{demo.url}/login#token=pf_not-a-real-token")
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, "p.error"))
    assert "unknown, revoked or expired" in browser.find_element(By.CSS_SELECTOR, "p.error").text

    assert sum('"POST /login HTTP' in line for line in access_log.lines) == len(links) + 1, access_log.lines
    assert any('"GET /audit HTTP' in line for line in access_log.lines), access_log.lines
    secrets = [link.token for link in links] + ["pf_not-a-real-token", "token="]
    leaks = [line for line in access_log.lines if any(secret in line for secret in secrets)]
    assert leaks == [], leaks


@pytest.fixture
def demo_waiting_for_people() -> Iterator[Demo]:
    """A demo whose simulated operators leave finished plates for two minutes: a person clears them."""
    stop = threading.Event()
    with Demo(DemoOptions(units=24, operator_wait_seconds=120), out=io.StringIO()) as running:
        loop = threading.Thread(target=running.run, args=(stop,), name="demo-loop")
        loop.start()
        yield running
        stop.set()
        loop.join(timeout=30)


def link_of(demo: Demo, role: Role) -> SignIn:
    return next(link for link in demo.sign_ins if link.role is role)


def submit(browser: WebDriver, form: str, **values: str) -> None:
    for name, value in values.items():
        field = browser.find_element(By.CSS_SELECTOR, f"#{form} [name={name}]")
        field.clear()
        field.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, f"#{form} button").click()


def test_each_roles_demo_link_does_its_work_in_the_browser(
    demo_waiting_for_people: Demo, browser: WebDriver, shots: Any
) -> None:
    from selenium.webdriver.support.ui import Select

    from printfarm.auth.rules import SYSTEM
    from printfarm.jobs.rules import JobState

    demo = demo_waiting_for_people
    services = demo.services
    assert demo.farm is not None
    operator = next(link for link in demo.sign_ins if link.role is Role.OPERATOR)
    site_id = demo.farm.site_ids[next(iter(demo.farm.site_ids))]
    assert operator.label.endswith(demo.farm.site_names[site_id])

    def finished_plate_at_the_operators_site() -> tuple[int, int, int] | None:
        with services.db.unit_of_work() as session:
            for job in services.jobs.list(session, SYSTEM, state=JobState.FINISHED):
                printer = services.printers.get(session, SYSTEM, job.printer_id)
                if printer.site_id == site_id:
                    return job.id, printer.id, job.units_per_print
        return None

    # operator: takes a finished plate off its bed and records its QC
    plate = WebDriverWait(browser, 60, poll_frequency=0.5).until(lambda _: finished_plate_at_the_operators_site())
    job_id, printer_id, units = plate
    open_link(browser, demo, operator)
    browser.get(f"{demo.url}/setup/printers/{printer_id}")
    submit(browser, "clear-bed-form", good_units=str(units - 1), rejected_units="1")
    WebDriverWait(browser, 10).until(lambda b: "Bed cleared" in b.find_element(By.CSS_SELECTOR, ".done").text)
    shots(browser, "demo-operator-cleared-bed")
    with services.db.unit_of_work() as session:
        job = services.jobs.get(session, SYSTEM, job_id)
        assert (job.state, job.good_units, job.rejected_units) == (JobState.COMPLETED, units - 1, 1)

    # coordinator: queues a batch for a hospital
    open_link(browser, demo, link_of(demo, Role.COORDINATOR))
    browser.get(f"{demo.url}/setup")
    browser.find_element(By.LINK_TEXT, "Queue a batch").click()
    hospital = demo.farm.hospital_names[demo.farm.hospital_ids[-1]]
    Select(browser.find_element(By.NAME, "hospital_id")).select_by_visible_text(hospital)
    submit(browser, "batch-form", quantity="13", priority="7")
    WebDriverWait(browser, 10).until(lambda b: urlsplit(b.current_url).path == "/batches")
    shots(browser, "demo-coordinator-queued")
    with services.db.unit_of_work() as session:
        mine = [b for b in services.batches.list(session, SYSTEM) if (b.quantity, b.priority) == (13, 7)]
    assert [b.hospital_id for b in mine] == [demo.farm.hospital_ids[-1]]

    # admin: adds a site
    open_link(browser, demo, link_of(demo, Role.ADMIN))
    browser.get(f"{demo.url}/setup")
    browser.find_element(By.LINK_TEXT, "Add a site").click()
    submit(browser, "site-form", name="Fablab Nowy", city="Bydgoszcz")
    WebDriverWait(browser, 10).until(lambda b: urlsplit(b.current_url).path == "/sites")
    assert "Fablab Nowy" in browser.find_element(By.TAG_NAME, "main").text
    shots(browser, "demo-admin-added-site")

    # hospital and viewer: read, and have no setup forms (but the hospital's Setup leads to its notification channels)
    for role in (Role.HOSPITAL, Role.VIEWER):
        open_link(browser, demo, link_of(demo, role))
        assert ("/setup" in nav_links(browser)) is (role is Role.HOSPITAL), role
        browser.get(f"{demo.url}/setup/batches")
        assert "may not" in browser.find_element(By.TAG_NAME, "main").text, role
        shots(browser, f"demo-{role.value}")
