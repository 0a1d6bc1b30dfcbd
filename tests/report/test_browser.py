"""The demo's HTML report in a real browser: headless Chromium (the Debian package) driven by Selenium through the
Debian chromedriver. The page must render its charts, log no console error, request nothing but itself, show the
aggregate's numbers, switch to dark colours, and print.

Skipped when Chromium, chromedriver or Selenium is missing, unless ``RUNTRACK_REQUIRE_BROWSER=1`` (CI), where that
is a failure. ``RUNTRACK_REPORT_SCREENSHOT=PATH`` keeps the screenshot (how docs/report.png is made).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtrack import demo
from runtrack.report import STATUSES, TOTAL, Report, ReportSettings, build, render
from runtrack.report.render_text import scope_rows

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER_INTERNAL = ("chrome://", "chrome-untrusted://", "devtools://", "about:", "data:", "blob:")  # no network
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) and os.access(path, os.X_OK)):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("RUNTRACK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"RUNTRACK_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_report() -> Report:
    settings = ReportSettings(now=demo.DEMO_NOW)
    return build(demo._read(settings, quiet=True), settings)


@pytest.fixture(scope="module")
def page(browser: Any, demo_report: Report, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render(demo_report, "html"), encoding="utf-8")
    browser.get_log("performance")  # drop what the blank start page logged
    browser.set_window_size(1280, 900)
    browser.get(path.as_uri())
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, int(height) + 40)
    browser.page_url = path.as_uri()
    return browser


def test_screenshot_shows_the_charts(page: Any, tmp_path: Path) -> None:
    png = page.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG") and len(png) > 50_000  # a page with colour, not a blank one
    (tmp_path / "report.png").write_bytes(png)
    keep = os.environ.get("RUNTRACK_REPORT_SCREENSHOT")
    if keep:
        page.set_window_size(1280, 1700)
        Path(keep).write_bytes(page.get_screenshot_as_png())
    drawn = page.execute_script(
        """return [...document.querySelectorAll('svg[data-chart]')].map(svg => ({
             chart: svg.dataset.chart, width: svg.getBoundingClientRect().width,
             marks: [...svg.querySelectorAll('rect[data-value]')].filter(r => {
               const b = r.getBoundingClientRect(); return Number(r.dataset.value) > 0 && b.width > 0 && b.height > 0;
             }).length}))"""
    )
    charts = {d["chart"] for d in drawn}
    assert {"status-timeline", "status-mix", "durations", "tokens-per-day", "cost-per-day"} <= charts
    for d in drawn:
        assert d["width"] > 50, d
    timelines = [d for d in drawn if d["chart"] == "status-timeline"]
    assert len(timelines) == 3 and all(d["marks"] > 0 for d in timelines)  # every source's chart has bars


def test_the_numbers_on_the_page_are_the_aggregates(page: Any, demo_report: Report) -> None:
    cards = page.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('[data-card]')]"
        ".map(c => [c.dataset.card, c.querySelector('b').textContent]))"
    )
    assert cards["runs"] == str(sum(s.totals.runs for s in demo_report.sources))
    assert cards["stuck"] == str(sum(s.totals.stuck for s in demo_report.sources))
    rows = page.execute_script(
        """return [...document.querySelectorAll('table[data-table=status] tbody tr')].map(tr =>
             [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))"""
    )
    expected = [
        [src.name, label, str(st.runs), *(str(st.status[s]) for s in STATUSES)]
        for src, label, st in scope_rows(demo_report)
    ]
    assert [r[: 3 + len(STATUSES)] for r in rows] == expected
    drawn = page.execute_script(
        """const out = {};
           for (const svg of document.querySelectorAll('svg[data-chart=status-timeline]')) {
             const name = svg.closest('[data-source]').dataset.source;
             out[name] = [...svg.querySelectorAll('rect[data-value]')].reduce((a, r) => a + Number(r.dataset.value), 0);
           }
           return out;"""
    )
    assert drawn == {s.name: sum(b.runs for b in s.timeline) for s in demo_report.sources}
    untimed = {s.name: s.totals.runs - drawn[s.name] for s in demo_report.sources}
    assert untimed["langsmith"] == 1  # the fake has a run with neither created nor start time: said in a note
    notes = page.execute_script("return [...document.querySelectorAll('#timeline .note')].map(n => n.innerText)")
    assert notes == ["Not drawn: 1 run without a time."]
    assert TOTAL in {r[1] for r in rows}


def test_no_console_error_and_no_network_request(page: Any) -> None:
    errors = [e for e in page.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    requested = []
    for entry in page.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    assert page.page_url in requested, "the performance log did not record the page itself: the check is blind"
    # the browser's own pages and inline data may load beside ours; anything else must be the report file itself
    outside = {url for url in requested if url != page.page_url and not url.startswith(BROWSER_INTERNAL)}
    assert outside == set()


def test_dark_mode_and_print(page: Any) -> None:
    def background() -> str:
        return str(page.execute_script("return getComputedStyle(document.body).backgroundColor"))

    light = background()
    page.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    try:
        dark = background()
    finally:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert light == "rgb(255, 255, 255)" and dark != light
    from selenium.webdriver.common.print_page_options import PrintOptions

    pdf = base64.b64decode(page.print_page(PrintOptions()))
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2
