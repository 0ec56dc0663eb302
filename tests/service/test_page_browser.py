"""The status page in a real headless browser (Debian's Chromium and ChromeDriver, driven by
Selenium): it renders with data from a service that ran 18 hours on the simulator, draws the
chart, and logs no console error. ``XSO_SCREENSHOT=path.png`` also keeps the screenshot there
(how ``docs/status-page.png`` was made).

Chromium missing: the test fails when ``CI`` is set (``.ci/run`` installs it) and skips,
saying why, otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from optimizer.integrations.web.server import StatusApp, StatusServer
from tests.service.conftest import MakeHarness, local
from tests.service.test_views import observe

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 30


def _browser_or_explain() -> str | None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture
def page_url(make_harness: MakeHarness) -> Iterator[str]:
    """The page of a service that ran from 20:00 to 14:00 local, on 127.0.0.1."""
    problem = _browser_or_explain()
    if problem is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{problem} (CI=true: .ci/run installs it)")
        pytest.skip(problem)
    h = make_harness(local("2023-10-14 20:00"), soc_pct=30.0)
    service = observe(h)
    h.run_until(local("2023-10-15 14:00"))
    app = StatusApp(lambda: service.latest, h.store, h.settings, h.clock.now)
    server = StatusServer(app, "127.0.0.1:0").start()
    try:
        yield server.url + "/"
    finally:
        server.close()
        service.close()


def _driver(profile: Path) -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic", f"--user-data-dir={profile}",
        "--window-size=1280,1250",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def test_the_page_renders_with_data_and_no_console_errors(page_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _driver(tmp_path / "profile")
    assert isinstance(driver, WebDriver)
    try:
        driver.get(page_url)
        wait = WebDriverWait(driver, WAIT_S)
        wait.until(lambda d: d.find_element(By.ID, "badge").text == "in control")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#svg path")) >= 4)
        soc = driver.find_element(By.ID, "soc").text
        assert soc.endswith("%") and float(soc.split()[0]) >= 0
        assert driver.find_element(By.ID, "reachable").text == "reachable"
        assert "confirmed" in driver.find_element(By.ID, "command").text
        assert driver.find_element(By.ID, "enabled").text == "enabled"
        assert "GBP" in driver.find_element(By.ID, "saved").text
        assert "GBP" in driver.find_element(By.ID, "ysaved").text
        assert driver.find_element(By.ID, "until").text != "–"
        bars = driver.find_elements(By.CSS_SELECTOR, "#svg rect")
        assert len(bars) > 10  # the plan's slots and the commands sent
        # the load the plans used against the load measured: two lines
        assert len(driver.find_elements(By.CSS_SELECTOR, "#loadsvg path")) == 2
        # the PV the plans used against the PV the device measured: two lines
        assert len(driver.find_elements(By.CSS_SELECTOR, "#pvsvg path")) == 2
        shot = tmp_path / "status-page.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
        if os.environ.get("XSO_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["XSO_SCREENSHOT"])
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
    finally:
        driver.quit()
