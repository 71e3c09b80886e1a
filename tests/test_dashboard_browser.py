"""The dashboard in a real browser: Debian's headless Chromium, driven by Selenium through
/usr/bin/chromedriver (`make browser` installs both; Selenium is given both paths and never
downloads a browser). The server runs on loopback with a scripted engine, a SQLite file and
an API key. Without Chromium these tests fail rather than skip: install it.

Set RADIXAGENT_DASHBOARD_SCREENSHOT=path to keep the session page's screenshot there (the
one in docs/dashboard.md is made so)."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from radixagent.engine import ScriptedEngine
from radixagent.memory import SQLiteStore
from radixagent.server import BackgroundServer, ServerSettings, create_app
from test_server_scripted import CATALOGUE

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
KEY = "browser-test-key"
WAIT_S = 10


class PausingEngine(ScriptedEngine):
    """A scripted engine that holds the decision to answer until `gate` is set, so the test
    can look at a run in the middle; `paused` says it is waiting."""

    def __init__(self, replies: Sequence[Any] = ()) -> None:
        super().__init__(replies)
        self.gate = threading.Event()
        self.paused = threading.Event()

    async def _score(self, prefix: Any, choices: Any) -> Any:
        if self._queue and self._queue[0] == " answer" and not self.gate.is_set():
            self.paused.set()
            while not self.gate.is_set():
                await asyncio.sleep(0.01)
        return await super()._score(prefix, choices)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} is missing: run `make browser` (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1900", "--lang=en-GB"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition: Any, what: str) -> Any:
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(condition, message=f"waited {WAIT_S} s for {what}")


def shown(element: WebElement) -> bool:
    return element.is_displayed() and element.size["width"] > 0 and element.size["height"] > 0


def test_a_run_appears_live_and_the_session_page_shows_its_tree_and_charts(browser: WebDriver, tmp_path: Path) -> None:
    engine = PausingEngine()
    settings = ServerSettings(server_api_keys=KEY, decision_evidence=False)
    app = create_app(settings, engine=engine, store=SQLiteStore(tmp_path / "sessions.db"), tools=CATALOGUE)
    with BackgroundServer(app) as server:
        http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)

        # log in: the dashboard sends a browser without the cookie to the login page
        browser.get(server.url + "/ui")
        assert browser.current_url.startswith(server.url + "/ui/login")
        browser.find_element(By.ID, "key").send_keys(KEY)
        browser.find_element(By.ID, "login").click()
        wait_for(browser, lambda d: d.current_url == server.url + "/ui", "the dashboard after logging in")
        wait_for(browser, lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class"), "the live feed to connect")
        cookie = browser.get_cookie("radixagent_ui")
        assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        # a session made through the API appears in the list without a reload
        sid = http.post("/v1/sessions", json={"tools": ["add"], "title": "Sums in the browser"}).json()["id"]
        link = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-session="{sid}"] a'), "the new session's row")[0]
        assert link.text == "Sums in the browser"
        link.click()
        wait_for(browser, lambda d: d.current_url.endswith(f"/ui/sessions/{sid}"), "the session page")
        wait_for(browser, lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class"), "the session's live feed")

        # a message that calls a tool: its steps show while the run is still going
        engine.add_replies(" add", '{"a": 20, "b": 22}', " answer", "It is 42.")
        result: dict[str, Any] = {}
        poster = threading.Thread(target=lambda: result.update(http.post(f"/v1/sessions/{sid}/messages", json={"content": "20 + 22?"}).json()))
        poster.start()
        assert engine.paused.wait(WAIT_S), "the run never reached its second decision"
        live = browser.find_element(By.ID, "live-steps")
        wait_for(browser, lambda d: "tool_result" in live.text and "add" in live.text, "the tool call and its result, live")
        assert shown(browser.find_element(By.ID, "live-run"))
        assert "42" in live.text and '{"a":20,"b":22}' in live.text
        assert browser.find_element(By.ID, "live-status").text == "step 2"  # mid-run: the answer is not decided yet
        assert not browser.find_elements(By.CSS_SELECTOR, "#live-steps li.final")

        engine.gate.set()
        poster.join(WAIT_S)
        assert result["response"]["content"] == "It is 42."
        wait_for(browser, lambda d: d.find_element(By.ID, "live-status").text == "finished", "the run to finish")
        assert "It is 42." in browser.find_element(By.CSS_SELECTOR, "#live-steps li.final").text

        # the tree, the steps, the charts and the feedback, drawn from the stored session
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tree g.node")) == 5, "the tree's five messages")
        roles = [g.get_attribute("data-role") for g in browser.find_elements(By.CSS_SELECTOR, "#tree g.node")]
        assert roles == ["system", "user", "assistant", "tool", "assistant"]
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#steps > li")) == 2, "two steps")
        first, second = browser.find_elements(By.CSS_SELECTOR, "#steps > li")
        assert "call" in first.text and "add(" in first.text and "42" in first.text and "cached" in first.text
        assert "answer" in second.text and " ms" in second.text
        for chart in ("chart-cache", "chart-latency"):
            svg = browser.find_element(By.ID, chart)
            assert shown(svg)
            line = wait_for(browser, lambda d, c=chart: d.find_elements(By.CSS_SELECTOR, f"#{c} polyline.series"), f"{chart}'s line")[0]
            assert len(line.get_attribute("points").split()) == 2  # one point per step
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#recommendations li"), "the feedback panel")
        assert "runs" in browser.find_element(By.ID, "feedback").text
        assert not browser.find_element(By.ID, "approvals").is_displayed()  # nothing waits for approval: no panel
        tree = browser.find_element(By.ID, "tree")
        assert shown(tree) and tree.size["height"] >= 5 * 20

        # clicking a node shows its parts
        browser.find_elements(By.CSS_SELECTOR, "#tree g.node")[2].find_element(By.TAG_NAME, "circle").click()
        detail = browser.find_element(By.ID, "node-detail").text
        assert "tool-call" in detail and "decision" in detail and "prompt" in detail

        # a second branch, from the system prompt: the tree forks, live
        root = browser.find_elements(By.CSS_SELECTOR, "#tree g.node")[0].get_attribute("data-node")
        assert http.put(f"/v1/sessions/{sid}/head", json={"node_id": root}).status_code == 200
        engine.gate.set()
        engine.add_replies(" answer", "Hello! Ask me a sum.")
        assert http.post(f"/v1/sessions/{sid}/messages", json={"content": "hi"}).status_code == 200
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tree g.node")) == 7, "the second branch")
        wait_for(browser, lambda d: "2 branches" in d.find_element(By.ID, "tree-count").text, "the branch count")
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#steps > li")) == 3, "the third step")
        root_node = browser.find_elements(By.CSS_SELECTOR, "#tree g.node")[0]
        assert root_node.text.startswith("system \u00b7 2 branches")

        browser.execute_script("window.scrollTo(0, 0)")
        png = browser.get_screenshot_as_png()

        # back on the sessions page: the row's numbers and the overall charts
        browser.find_element(By.LINK_TEXT, "Sessions").click()
        row = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-session="{sid}"]'), "the session's row")[0]
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        assert cells[0] == "Sums in the browser" and cells[3:5] == ["2", "3"] and cells[6].endswith("%")
        overall = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-cache polyline.series"), "the overall cache chart")[0]
        assert len(overall.get_attribute("points").split()) == 3
        (tmp_path / "sessions.png").write_bytes(browser.get_screenshot_as_png())
    shot = tmp_path / "session.png"
    shot.write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size[0] >= 1000
    small = image.resize((image.size[0] // 4, image.size[1] // 4))
    colours = small.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # a drawn page, not a blank one
    assert max(count for count, _ in colours) < 0.9 * small.size[0] * small.size[1]
    # the green of the cache chart and the tree's assistant nodes is on screen
    assert any(abs(r - 0x1F) < 30 and abs(g - 0x9D) < 30 and abs(b - 0x6B) < 30 for _, (r, g, b) in colours)
    if target := os.environ.get("RADIXAGENT_DASHBOARD_SCREENSHOT"):
        shutil.copy(shot, target)
