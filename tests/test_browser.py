"""The report and the dataset browser in a real browser: headless Chromium (Debian's) driven by Selenium.

Skips, saying why, when selenium, chromium or chromedriver is missing (`make test` installs them
where apt-get is usable). Each test saves screenshots under its tmp_path; with CALLFORGE_SHOTS=DIR
they are copied there too, to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from callforge.report import serve_browser, write_browser, write_report
from callforge.verify import read_labels
from tests import report_fixtures

# The session fixtures (real runs), shared with the other report tests.
eval_fc = report_fixtures.eval_fc
eval_prompting = report_fixtures.eval_prompting
gen_run = report_fixtures.gen_run
hostile = report_fixtures.hostile


webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytest.importorskip("matplotlib")

CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser_paths() -> tuple[str, str]:
    binary = next((p for name in CHROMIUMS if (p := shutil.which(name))), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver") if os.access(p, os.X_OK)), None
    )
    if binary is None or driver is None:
        pytest.skip(
            "no headless browser: needs chromium and chromedriver on PATH (Debian: apt-get install -y chromium "
            "chromium-driver; `make test` tries it when apt-get is usable)"
        )
    return binary, driver


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[Any]:
    binary, driver_path = _browser_paths()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def shot(driver: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path)), "screenshot not saved"
    if shots := os.environ.get("CALLFORGE_SHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(shots) / path.name)
    return path


def wait(driver: Any, until: Callable[[Any], Any], timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout).until(until)


def listed(driver: Any) -> list[str]:
    return [li.get_attribute("data-id") for li in driver.find_elements(By.CSS_SELECTOR, "#list li[data-id]")]


def test_report_page_shows_charts_and_tables(
    browser: Any, gen_run: Path, eval_prompting: Path, eval_fc: Path, tmp_path: Path
) -> None:
    page = write_report([gen_run, eval_prompting, eval_fc], tmp_path / "report.html", price=None)
    browser.set_window_size(1280, 900)
    browser.get(page.as_uri())
    assert browser.title.startswith("callforge report")
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h3")]
    for heading in ("Funnel", "Yield per scenario kind", "Top rejection codes", "Tokens and cost per role", "Timing",
                    "Scores per category", "Where bfcl and semantic disagree"):
        assert heading in headings
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) >= 6 and all(c.is_displayed() and c.size["width"] > 200 for c in charts)
    disagreement = browser.find_element(By.CSS_SELECTOR, "[data-section=disagreements] tbody tr")
    assert "simple_python_3" in disagreement.text and "arg.type_nested" in disagreement.text and "pass" in disagreement.text
    funnel = browser.find_element(By.CSS_SELECTOR, "[data-section=funnel] tbody")
    assert funnel.find_elements(By.TAG_NAME, "tr")[0].text.startswith("generate")
    shot(browser, tmp_path, "report-top")
    browser.execute_script("document.getElementById('run-2').scrollIntoView()")
    shot(browser, tmp_path, "report-evaluation")
    browser.set_window_size(1280, 900)


def test_browse_filters_opens_a_dialog_and_saves_a_label(browser: Any, gen_run: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    records = [json.loads(line) for stream in ("accepted", "rejected")
               for line in (gen_run / stream / "part-0001.jsonl").read_text().splitlines()]
    total = len(records)
    rejected = {r["id"] for r in records if not r["ok"]}
    with serve_browser(gen_run, labels=labels) as server:
        browser.get(server.url)
        wait(browser, lambda d: len(listed(d)) == total)
        assert browser.find_element(By.ID, "count").text == f"{total} of {total} dialogs"

        status = Select(browser.find_element(By.ID, "f-status"))
        status.select_by_value("rejected")
        assert set(listed(browser)) == rejected
        status.select_by_value("accepted")
        assert set(listed(browser)) == {r["id"] for r in records if r["ok"]}
        status.select_by_value("")

        kind = records[0]["dialog"]["meta"]["scenario"]
        Select(browser.find_element(By.ID, "f-kind")).select_by_value(kind)
        assert set(listed(browser)) == {r["id"] for r in records if r["dialog"]["meta"]["scenario"] == kind}
        Select(browser.find_element(By.ID, "f-kind")).select_by_value("")

        if rejected:
            code = next(r for r in records if not r["ok"])["stages"][0]["verdicts"][0]["code"]
            Select(browser.find_element(By.ID, "f-code")).select_by_value(code)
            assert set(listed(browser)) <= rejected and listed(browser)
            Select(browser.find_element(By.ID, "f-code")).select_by_value("")

        target = next(r for r in records if r["ok"] and any(m.get("tool_calls") for m in r["dialog"]["messages"]))
        tool = next(c["name"] for m in target["dialog"]["messages"] for c in m.get("tool_calls") or ())
        Select(browser.find_element(By.ID, "f-tool")).select_by_value(tool)
        assert target["id"] in listed(browser)
        Select(browser.find_element(By.ID, "f-tool")).select_by_value("")

        user = next(m["content"] for m in target["dialog"]["messages"] if m["role"] == "user")
        words = " ".join(user.split()[-3:])
        search = browser.find_element(By.ID, "f-text")
        search.send_keys(words)
        assert target["id"] in listed(browser) and len(listed(browser)) < total
        search.clear()
        search.send_keys("no dialog says zyzzyva")
        assert listed(browser) == [] and "No dialog matches" in browser.find_element(By.ID, "list").text
        search.clear()
        search.send_keys(" ")
        wait(browser, lambda d: len(listed(d)) == total)
        shot(browser, tmp_path, "browse-list")

        browser.find_element(By.CSS_SELECTOR, f'#list li[data-id="{target["id"]}"]').click()
        view = wait(browser, lambda d: d.find_element(By.ID, "dialog"))
        assert user in view.text
        assert f"{tool}(…)" in view.text  # the call, with its arguments below it
        assert browser.find_elements(By.CSS_SELECTOR, "#dialog .msg.tool")
        verdicts = browser.find_element(By.ID, "verdicts").text
        for stage in target["stages"]:
            assert stage["stage"] in verdicts

        browser.find_element(By.ID, "note").send_keys("the hotel it books is closed that week")
        browser.find_element(By.ID, "mark-bad").click()
        wait(browser, lambda d: "saved" in d.find_element(By.ID, "status").text)
        row = browser.find_element(By.CSS_SELECTOR, f'#list li[data-id="{target["id"]}"]')
        assert "marked bad" in row.text
        Select(browser.find_element(By.ID, "f-status")).select_by_value("marked")
        assert listed(browser) == [target["id"]]
        shot(browser, tmp_path, "browse-dialog")
    saved = read_labels(labels)[target["id"]]
    assert (saved.label, saved.note) == ("bad", "the hotel it books is closed that week")


def test_static_browser_downloads_the_labels(browser: Any, gen_run: Path, downloads: Path, tmp_path: Path) -> None:
    page = write_browser(gen_run, tmp_path / "browse.html")
    browser.get(page.as_uri())
    first = wait(browser, lambda d: listed(d))[0]
    browser.find_element(By.CSS_SELECTOR, f'#list li[data-id="{first}"]').click()
    browser.find_element(By.ID, "note").send_keys("static note")
    browser.find_element(By.ID, "mark-bad").click()
    assert "download" in browser.find_element(By.ID, "status").text
    browser.find_element(By.ID, "download").click()
    target = downloads / "labels.jsonl"
    deadline = time.monotonic() + 15
    while not target.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert target.is_file(), f"no download in {downloads}: {list(downloads.iterdir())}"
    label = read_labels(target)[first]
    assert (label.label, label.note) == ("bad", "static note")


def test_dialog_text_is_shown_not_run(browser: Any, hostile: Path, tmp_path: Path) -> None:
    for page in (write_browser(hostile, tmp_path / "browse.html"), write_report([hostile], tmp_path / "report.html")):
        browser.get(page.as_uri())
        assert browser.execute_script("return window.__xss === undefined")
        assert not browser.find_elements(By.CSS_SELECTOR, "#injected, #injected2, img")
    browser.get((tmp_path / "report.html").as_uri())
    assert "<script>window.__xss = 1</script>" in browser.find_element(By.CSS_SELECTOR, "[data-section=codes]").text
    browser.get((tmp_path / "browse.html").as_uri())
    browser.find_element(By.CSS_SELECTOR, '#list li[data-id="xss-1"]').click()
    text = browser.find_element(By.ID, "dialog").text
    assert '<script>window.__xss = 1</script> find me <img src=x onerror="window.__xss = 2"> a flight' in text
    assert '</script><b id="injected">booked</b>' in text and "<script>window.__xss = 3</script>" in text
    assert browser.execute_script("return window.__xss === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "#injected, #injected2, #dialog img, #dialog b")
    shot(browser, tmp_path, "browse-hostile")
