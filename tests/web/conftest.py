"""Browser fixtures: the app served by uvicorn in a thread, and headless Chromium driven by Selenium.

The system chromedriver is passed explicitly, so Selenium Manager never downloads anything.
Each test's screenshots go to test-output/web/<test>/ (git-ignored; CI keeps it as an artifact).
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from support.world import World, seed

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


class LiveServer:
    def __init__(self, world: World) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = uvicorn.Config(world.client.app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off")
        self.server = uvicorn.Server(config)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, name="printfarm-test-http", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def world(new_world: Callable[[], World]) -> World:
    return seed(new_world())


@pytest.fixture
def server(world: World) -> Iterator[LiveServer]:
    live = LiveServer(world)
    live.start()
    yield live
    live.stop()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """shot(driver, name): save a PNG under test-output/web/<test id>/ and return its path."""
    folder = REPO / "test-output" / "web" / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    def shot(driver: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        assert driver.save_screenshot(str(path)), f"no screenshot saved at {path}"
        return path

    return shot


def _chromium(tmp_path: Path, *extra: str) -> webdriver.Chrome:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.fail("headless Chromium is missing: apt-get install chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,1000", *extra,
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    return driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = _chromium(tmp_path)
    yield driver
    driver.quit()


#: Every host name but 127.0.0.1 fails to resolve: a workshop LAN with no internet (no CDN either).
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.fixture
def offline_browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium that can reach only the test server (127.0.0.1)."""
    driver = _chromium(tmp_path, OFFLINE)
    yield driver
    driver.quit()
