"""The dashboard in a real browser: Debian's headless Chromium, driven by Selenium through
/usr/bin/chromedriver (`make browser` installs both; Selenium is given both paths and never
downloads a browser). The server runs on loopback with a scripted engine, a SQLite file and
an API key. Without Chromium these tests fail rather than skip: install it.

Set RADIXAGENT_DASHBOARD_SCREENSHOT=path to keep the session page's screenshot there, taken
while a tool call waits for approval (the one in docs/dashboard.md is made so)."""

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


def colours_in(image: Image.Image, element: WebElement, scale: float) -> list[tuple[int, int, int]]:
    """The colours of the screenshot where `element` is (it must be in the screenshot)."""
    box = element.rect
    left, top = round(box["x"] * scale), round(box["y"] * scale)
    right, bottom = round((box["x"] + box["width"]) * scale), round((box["y"] + box["height"]) * scale)
    assert 0 <= left < right <= image.size[0] and 0 <= top < bottom <= image.size[1], f"{element.get_attribute('id')} is off the screenshot"
    return [colour for _, colour in image.crop((left, top, right, bottom)).getcolors(maxcolors=1 << 22) or []]


def near(colours: list[tuple[int, int, int]], hex_colour: str) -> bool:
    want = bytes.fromhex(hex_colour.lstrip("#"))
    return any(all(abs(c - w) < 30 for c, w in zip(colour, want, strict=True)) for colour in colours)


def test_an_operator_approves_and_denies_tool_calls_as_runs_go_on_live(browser: WebDriver, tmp_path: Path) -> None:
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

        # a session whose tool waits for a person's approval, made through the API, appears in
        # the list without a reload
        created = {"tools": ["add"], "approval": {"tools": ["add"]}, "title": "Sums in the browser"}
        sid = http.post("/v1/sessions", json=created).json()["id"]
        link = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-session="{sid}"] a'), "the new session's row")[0]
        assert link.text == "Sums in the browser"
        link.click()
        wait_for(browser, lambda d: d.current_url.endswith(f"/ui/sessions/{sid}"), "the session page")
        wait_for(browser, lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class"), "the session's live feed")
        assert not browser.find_element(By.ID, "approvals").is_displayed()  # nothing waits yet: no panel
        browser.execute_script("window.sameLoad = true")  # gone if anything reloads the page

        # a message whose tool call waits: the run pauses, the call shows in the panel, live
        engine.add_replies(" add", '{"a": 20, "b": 22}', " answer", "It is 42.")
        paused = http.post(f"/v1/sessions/{sid}/messages", json={"content": "20 + 22?"}).json()
        assert paused["outcome"] == "awaiting_approval"
        [call] = paused["response"]["pending_approvals"]
        pending = f'#approval-list li[data-call="{call["call_id"]}"]'
        row = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, pending), "the pending call in the approvals panel")[0]
        assert shown(browser.find_element(By.ID, "approvals"))
        assert row.text.startswith("add") and '{"a":20,"b":22}' in row.text
        live = browser.find_element(By.ID, "live-steps")
        wait_for(browser, lambda d: d.find_element(By.ID, "live-status").text == "waiting for approval", "the run to say it waits")
        assert 'waiting for approval: add({"a":20,"b":22})' in live.text
        assert not browser.find_elements(By.CSS_SELECTOR, "#live-steps li.final")  # no answer yet: no answer row
        wait_for(browser, lambda d: "waiting for approval" in d.find_element(By.ID, "steps").text, "the paused step")
        assert browser.execute_script("return window.sameLoad") is True

        # Approve: the run goes on in the page; held before its answer, the tool's result shows
        row.find_element(By.CSS_SELECTOR, "button.approve").click()
        assert engine.paused.wait(WAIT_S), "the approved run never reached its second decision"
        wait_for(browser, lambda d: "tool_result" in live.text and "add \u2192 42" in live.text, "the approved call's result, live")
        assert browser.find_element(By.ID, "live-status").text == "step 2"  # mid-run: the answer is not decided yet
        assert not browser.find_elements(By.CSS_SELECTOR, "#live-steps li.final")
        assert "approved" in row.text and not row.find_element(By.CSS_SELECTOR, "button.approve").is_enabled()

        engine.gate.set()
        wait_for(browser, lambda d: d.find_element(By.ID, "live-status").text == "finished", "the run to finish")
        assert "It is 42." in browser.find_element(By.CSS_SELECTOR, "#live-steps li.final").text
        wait_for(browser, lambda d: not d.find_element(By.ID, "approvals").is_displayed(), "the approvals panel to empty")
        assert http.get(f"/v1/sessions/{sid}/approvals").json()["data"] == []
        assert browser.execute_script("return window.sameLoad") is True

        # the tree, the steps, the charts and the feedback, drawn from the stored session
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tree g.node")) == 5, "the tree's five messages")
        roles = [g.get_attribute("data-role") for g in browser.find_elements(By.CSS_SELECTOR, "#tree g.node")]
        assert roles == ["system", "user", "assistant", "tool", "assistant"]
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#steps > li")) == 2, "two steps")
        first, second = browser.find_elements(By.CSS_SELECTOR, "#steps > li")
        wait_for(browser, lambda d: "42" in first.text, "the first step's result")
        assert "call" in first.text and "add(" in first.text and "cached" in first.text and "waiting" not in first.text
        assert "answer" in second.text and " ms" in second.text
        for chart in ("chart-cache", "chart-latency"):
            svg = browser.find_element(By.ID, chart)
            assert shown(svg)
            points = f"#{chart} polyline.series"
            wait_for(browser, lambda d, p=points: [len(e.get_attribute("points").split()) for e in d.find_elements(By.CSS_SELECTOR, p)] == [2], f"{chart}'s line, a point per step")
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#recommendations li"), "the feedback panel")
        assert "runs" in browser.find_element(By.ID, "feedback").text
        tree = browser.find_element(By.ID, "tree")
        assert shown(tree) and tree.size["height"] >= 5 * 20

        # clicking a node shows its parts, the approval request among them
        browser.find_elements(By.CSS_SELECTOR, "#tree g.node")[2].find_element(By.TAG_NAME, "circle").click()
        detail = browser.find_element(By.ID, "node-detail").text
        assert "tool-call" in detail and "decision" in detail and "prompt" in detail and "approval-request" in detail

        # a second branch, from the system prompt: the tree forks, live
        root = browser.find_elements(By.CSS_SELECTOR, "#tree g.node")[0].get_attribute("data-node")
        assert http.put(f"/v1/sessions/{sid}/head", json={"node_id": root}).status_code == 200
        engine.add_replies(" answer", "Hello! Ask me a sum.")
        assert http.post(f"/v1/sessions/{sid}/messages", json={"content": "hi"}).status_code == 200
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tree g.node")) == 7, "the second branch")
        wait_for(browser, lambda d: "2 branches" in d.find_element(By.ID, "tree-count").text, "the branch count")
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#steps > li")) == 3, "the third step")
        assert browser.find_elements(By.CSS_SELECTOR, "#tree g.node")[0].text.startswith("system \u00b7 2 branches")

        # another call waits on that branch: the page as an operator sees it, then Deny, with a reason
        engine.add_replies(" add", '{"a": 1, "b": 2}', " answer", "I was not allowed to add them.")
        [call] = http.post(f"/v1/sessions/{sid}/messages", json={"content": "1 + 2?"}).json()["response"]["pending_approvals"]
        pending = f'#approval-list li[data-call="{call["call_id"]}"]'
        row = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, pending), "the second pending call")[0]
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tree g.node")) == 9, "the paused turn in the tree")
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#steps > li")) == 4, "the paused step")
        wait_for(browser, lambda d: len(d.find_element(By.CSS_SELECTOR, "#chart-cache polyline.series").get_attribute("points").split()) == 4, "the chart's fourth step")
        browser.execute_script("window.scrollTo(0, 0)")
        png = browser.get_screenshot_as_png()
        scale = float(browser.execute_script("return window.devicePixelRatio"))
        image = Image.open(io.BytesIO(png)).convert("RGB")
        in_approvals = colours_in(image, browser.find_element(By.ID, "approvals"), scale)
        in_tree = colours_in(image, tree, scale)
        in_charts = [colours_in(image, browser.find_element(By.ID, c), scale) for c in ("chart-cache", "chart-latency")]

        row.find_element(By.CSS_SELECTOR, "input.reason").send_keys("not now")
        row.find_element(By.CSS_SELECTOR, "button.deny").click()
        wait_for(browser, lambda d: d.find_element(By.ID, "live-status").text == "finished", "the denied run to finish")
        assert "add not run: the user denied this call: not now" in live.text
        assert "I was not allowed to add them." in browser.find_element(By.CSS_SELECTOR, "#live-steps li.final").text
        wait_for(browser, lambda d: not d.find_element(By.ID, "approvals").is_displayed(), "the approvals panel to empty")
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tree g.node")) == 11, "the denial and the answer in the tree")
        denial = browser.find_elements(By.CSS_SELECTOR, "#tree g.node")[-2]
        assert denial.get_attribute("data-role") == "tool" and "the user denied this call: not now" in denial.text
        wait_for(browser, lambda d: "denied this call" in d.find_elements(By.CSS_SELECTOR, "#steps > li")[3].text, "the denial in the steps")
        assert browser.execute_script("return window.sameLoad") is True

        # back on the sessions page: the row's numbers and the overall charts
        browser.find_element(By.LINK_TEXT, "Sessions").click()
        row = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-session="{sid}"]'), "the session's row")[0]
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        # three messages, two of them paused and resumed: five runs, five steps
        assert cells[0] == "Sums in the browser" and cells[3:5] == ["5", "5"] and cells[6].endswith("%")
        overall = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-cache polyline.series"), "the overall cache chart")[0]
        assert len(overall.get_attribute("points").split()) == 5
    shot = tmp_path / "session.png"
    shot.write_bytes(png)
    assert image.size[0] >= 1000
    small = image.resize((image.size[0] // 4, image.size[1] // 4))
    colours = small.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # a drawn page, not a blank one
    assert max(count for count, _ in colours) < 0.9 * small.size[0] * small.size[1]
    # on the screenshot: the Approve and Deny buttons, the tree's roles, both charts' lines
    assert near(in_approvals, "#1f9d6b") and near(in_approvals, "#d64545")
    assert all(near(in_tree, c) for c in ("#8a94a6", "#2f6fdf", "#1f9d6b", "#e08a1e"))
    assert near(in_charts[0], "#1f9d6b") and near(in_charts[1], "#e08a1e")
    if target := os.environ.get("RADIXAGENT_DASHBOARD_SCREENSHOT"):
        shutil.copy(shot, target)
