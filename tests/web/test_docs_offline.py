"""/docs and /redoc render in headless Chromium that can reach nothing but the server (a LAN, no CDN)."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from support.world import World

FETCH_CDN = """
const done = arguments[arguments.length - 1];
fetch("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css", {mode: "no-cors"})
  .then(() => done("reached"), (err) => done("blocked: " + err.message));
"""


def operations(world: World) -> int:
    spec = world.client.get("/openapi.json").json()
    methods = {"get", "post", "put", "patch", "delete"}
    return sum(1 for item in spec["paths"].values() for method in item if method in methods)


#: ReDoc's "API docs by Redocly" footer logo: an image from its CDN, the one thing it cannot find offline.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def fetched_elsewhere(browser: WebDriver, server: Any) -> set[str]:
    """Every file the page asked for from another host."""
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert any(url.startswith(server.url) for url in urls)
    return {url for url in urls if not url.startswith(server.url + "/")}


def test_swagger_ui_lists_every_operation_with_the_internet_blocked(world: World, server: Any, offline_browser: WebDriver, shots: Any) -> None:
    browser = offline_browser
    browser.get(f"{server.url}/docs")
    expected = operations(world)
    WebDriverWait(browser, 20).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")) == expected)
    assert expected > 50
    assert browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text.startswith("printfarm")
    paths = {e.get_attribute("data-path") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/api/printers", "/api/deliveries/{delivery_id}/ship"} <= paths
    assert fetched_elsewhere(browser, server) == set()
    shots(browser, "swagger-offline")
    assert browser.execute_async_script(FETCH_CDN).startswith("blocked")  # the browser really is offline


def test_redoc_shows_every_operation_with_the_internet_blocked(world: World, server: Any, offline_browser: WebDriver, shots: Any) -> None:
    browser = offline_browser
    browser.get(f"{server.url}/redoc")
    expected = operations(world)
    WebDriverWait(browser, 30).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, '[data-section-id^="operation/"]')) == expected
    )
    assert "printfarm" in browser.find_element(By.CSS_SELECTOR, ".api-info h1").text
    assert fetched_elsewhere(browser, server) <= {REDOC_LOGO}
    shots(browser, "redoc-offline")


def test_the_docs_pages_name_no_other_host(world: World) -> None:
    for path in ("/docs", "/redoc"):
        page = world.client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "https://" not in page.text and "http://" not in page.text, path
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert world.client.get(f"/static/docs/{asset}").status_code == 200
