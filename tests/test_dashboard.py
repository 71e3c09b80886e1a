"""The dashboard without a browser: its pages and JSON through the TestClient, the login
cookie (where it is accepted and where it is not), the CSRF token, and tenants kept apart."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from radixagent.engine import ScriptedEngine
from radixagent.memory import SQLiteStore
from radixagent.server import ServerSettings, create_app
from radixagent.server.ui.auth import COOKIE, csrf_token
from test_server_scripted import CATALOGUE

ALICE, BOB, ROOT = "alice-key", "bob-key", "root-key"


@pytest.fixture
def served() -> Iterator[tuple[TestClient, ScriptedEngine]]:
    engine = ScriptedEngine()
    settings = ServerSettings(server_api_keys=f"{ALICE},{BOB}", admin_api_keys=ROOT, decision_evidence=False)
    app = create_app(settings, engine=engine, store=SQLiteStore(":memory:"), tools=CATALOGUE)
    with TestClient(app) as client:
        yield client, engine


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def log_in(client: TestClient, key: str) -> dict[str, str]:
    """Log `client` in by the form; the headers the page's scripts send."""
    response = client.post("/ui/login", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui"
    page = client.get("/ui")
    assert page.status_code == 200
    token = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', page.text)
    assert token is not None and token.group(1) == csrf_token(key)
    return {"X-CSRF-Token": token.group(1)}


def a_session(client: TestClient, engine: ScriptedEngine, key: str, title: str) -> str:
    sid: str = client.post("/v1/sessions", json={"tools": ["add"], "title": title}, headers=bearer(key)).json()["id"]
    engine.add_replies(" add", '{"a": 1, "b": 2}', " answer", "It is 3.")
    assert client.post(f"/v1/sessions/{sid}/messages", json={"content": "1 + 2?"}, headers=bearer(key)).status_code == 200
    return sid


def test_without_a_key_the_pages_send_to_the_login_and_the_json_answers_401(served: tuple[TestClient, ScriptedEngine]) -> None:
    client, _ = served
    for path in ("/ui", "/ui/sessions/abc"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/ui/login?next={path}"
    for path in ("/ui/api/sessions", "/ui/api/v1/sessions", "/v1/events"):
        response = client.get(path)
        assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/ui/login").status_code == 200
    script = client.get("/ui/static/dashboard.js")
    assert script.status_code == 200 and "EventSource" in script.text
    # a wrong key: the form again, no cookie
    response = client.post("/ui/login", data={"key": "guess"}, follow_redirects=False)
    assert response.status_code == 401 and "not a key this server accepts" in response.text and COOKIE not in client.cookies


def test_the_login_cookie_is_httponly_strict_and_never_an_api_key(served: tuple[TestClient, ScriptedEngine]) -> None:
    client, engine = served
    sid = a_session(client, engine, ALICE, "mine")
    response = client.post("/ui/login", data={"key": ALICE, "next": "/ui/sessions/" + sid}, follow_redirects=False)
    assert response.headers["location"] == "/ui/sessions/" + sid
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}={ALICE}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    page = client.get(f"/ui/sessions/{sid}")
    assert page.status_code == 200
    # no framing (the approve buttons), scripts from this server only, pages not cached
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"] and "script-src 'self';" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    # the cookie alone opens no API route: a page elsewhere could make the browser send it
    for method, path in (("GET", "/v1/sessions"), ("GET", f"/v1/sessions/{sid}/tree"), ("POST", f"/v1/sessions/{sid}/messages"), ("GET", "/metrics")):
        response = client.request(method, path, json={"content": "hi"} if method == "POST" else None)
        assert response.status_code == 401, (method, path)
    # ... and the dashboard's JSON needs the page's CSRF token beside it
    for token in (None, "0" * 64, csrf_token(BOB)):
        response = client.get("/ui/api/sessions", headers={"X-CSRF-Token": token} if token else {})
        assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_token_invalid"
    assert client.get("/ui/api/sessions", headers={"X-CSRF-Token": csrf_token(ALICE)}).status_code == 200
    # never a redirect off the dashboard
    assert client.post("/ui/login", data={"key": ALICE, "next": "https://elsewhere.example/"}, follow_redirects=False).headers["location"] == "/ui"
    assert client.post("/ui/login", data={"key": ALICE, "next": "/ui//elsewhere.example"}, follow_redirects=False).headers["location"] == "/ui"


def test_each_key_sees_only_its_own_sessions_and_an_admin_sees_all(served: tuple[TestClient, ScriptedEngine]) -> None:
    client, engine = served
    mine, bobs = a_session(client, engine, ALICE, "alice's sums"), a_session(client, engine, BOB, "bob's sums")
    csrf = log_in(client, ALICE)
    page = client.get("/ui").text
    assert "alice&#39;s sums" in page and "bob" not in page
    rows = client.get("/ui/api/sessions", headers=csrf).json()["data"]
    assert [r["id"] for r in rows] == [mine]
    assert rows[0]["runs"] == 1 and rows[0]["steps"] == 2 and 0 < rows[0]["cache_hit_rate"] < 1
    assert {p["session_id"] for p in client.get("/ui/api/usage", headers=csrf).json()["data"]} == {mine}
    for path in (f"/ui/sessions/{bobs}", f"/ui/api/v1/sessions/{bobs}/tree", f"/ui/api/v1/sessions/{bobs}/status", f"/ui/api/usage?session_id={bobs}"):
        response = client.get(path, headers=csrf)
        assert response.status_code == 404 and response.json()["error"]["code"] == "session_not_found", path
    tree = client.get(f"/ui/api/v1/sessions/{mine}/tree", headers=csrf).json()
    assert [n["role"] for n in tree["nodes"]] == ["system", "user", "assistant", "tool", "assistant"]

    admin = log_in(client, ROOT)
    assert {r["id"] for r in client.get("/ui/api/sessions", headers=admin).json()["data"]} == {mine, bobs}
    assert client.get(f"/ui/sessions/{bobs}").status_code == 200


def test_the_dashboard_reaches_only_the_api_routes_it_reads(served: tuple[TestClient, ScriptedEngine]) -> None:
    client, engine = served
    sid = a_session(client, engine, ALICE, "kept")
    csrf = log_in(client, ALICE)
    assert client.get(f"/ui/api/v1/sessions/{sid}", headers=csrf).json()["title"] == "kept"
    for method, path in (("DELETE", f"/ui/api/v1/sessions/{sid}"), ("POST", f"/ui/api/v1/sessions/{sid}/messages"), ("GET", "/ui/api/v1/models")):
        response = client.request(method, path, headers=csrf, json={"content": "hi"} if method == "POST" else None)
        assert response.status_code == 404 and "do not reach this API route" in response.json()["error"]["message"], (method, path)
    assert client.get(f"/v1/sessions/{sid}", headers=bearer(ALICE)).status_code == 200  # still there
    # approvals go through (no call of that id waits: the API's own 404, not the proxy's)
    response = client.post(f"/ui/api/v1/sessions/{sid}/approvals/call_1", headers=csrf, json={"decision": "approve"})
    assert response.status_code == 404 and "do not reach" not in response.text
    assert response.json()["error"]["code"] == "approval_not_found"


def test_the_tree_carries_each_steps_engine_numbers(served: tuple[TestClient, ScriptedEngine]) -> None:
    client, engine = served
    sid = a_session(client, engine, ALICE, "numbers")
    nodes = client.get(f"/v1/sessions/{sid}/tree", headers=bearer(ALICE)).json()["nodes"]
    usage = [n["usage"] for n in nodes]
    assert [u is not None for u in usage] == [False, False, True, False, True]  # the assistant turns
    rows = client.get("/ui/api/sessions", headers={**bearer(ALICE)}).json()["data"]
    assert sum(u["prompt_tokens"] for u in usage if u) == rows[0]["prompt_tokens"]
    assert sum(u["cached_tokens"] for u in usage if u) == rows[0]["cached_tokens"] > 0


def test_logout_needs_the_page_token_and_forgets_the_cookie(served: tuple[TestClient, ScriptedEngine]) -> None:
    client, _ = served
    csrf = log_in(client, ALICE)
    assert client.post("/ui/logout", data={"csrf": "forged"}, follow_redirects=False).headers["location"] == "/ui"
    assert client.get("/ui", follow_redirects=False).status_code == 200  # still logged in
    response = client.post("/ui/logout", data={"csrf": csrf["X-CSRF-Token"]}, follow_redirects=False)
    assert response.headers["location"] == "/ui/login" and COOKIE not in client.cookies
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_titles_are_escaped_in_the_pages(served: tuple[TestClient, ScriptedEngine]) -> None:
    client, _ = served
    client.post("/v1/sessions", json={"title": "<script>alert(1)</script>"}, headers=bearer(ALICE))
    log_in(client, ALICE)
    page = client.get("/ui").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_without_keys_the_dashboard_is_open_but_its_json_still_needs_the_token() -> None:
    app = create_app(ServerSettings(), engine=ScriptedEngine(), store=SQLiteStore(":memory:"), tools=CATALOGUE)
    with TestClient(app) as client:
        page = client.get("/ui")
        assert page.status_code == 200 and "Log out" not in page.text
        assert "no API keys" in client.get("/ui/login").text
        assert client.get("/ui/api/sessions").status_code == 403  # a custom header: only the page's own scripts send it
        assert client.get("/ui/api/sessions", headers={"X-CSRF-Token": csrf_token("")}).json() == {"data": []}
