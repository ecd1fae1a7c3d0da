"""Issue 12, items 4 and 6, against the running app: security headers on every kind of answer, a
Content-Security-Policy the app works under (no violation in the browser console on the main
journeys), and the body cap enforced while a body streams into the real server.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time

import httpx
import psutil
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.helpers import CARDS, card, connect_oauth, expect_status, new_source, open_source, pick_account
from tests.e2e.test_hardening import _create_key

EXPECTED = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


# ---------------------------------------------------------------- item 4: headers


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/"),
        ("GET", "/login"),
        ("GET", "/sources/1"),
        ("GET", "/favicon.svg"),
        ("GET", "/healthz"),
        ("GET", "/no/such/page"),
        ("POST", "/api/v1/conversions"),
        ("GET", "/postback"),
        ("GET", "/sandbox/"),
        ("GET", "/sandbox/_control/tokens"),
        ("POST", "/auth/logout"),
    ],
)
def test_every_kind_of_answer_carries_the_security_headers(app_server, method, path):
    answer = httpx.request(method, app_server.url + path)
    for name, value in EXPECTED.items():
        assert answer.headers.get(name) == value, (path, name)
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "'unsafe-eval'" not in csp and "strict-transport-security" not in answer.headers  # http PUBLIC_URL


CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
"""


@pytest.mark.signed_out
def test_the_app_works_under_its_csp_with_no_violation_in_the_console(app_server, page: Page, context):
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    context.add_init_script(CSP_WATCH)
    seen: list[str] = []

    def check(where: str) -> None:
        page.wait_for_timeout(300)  # let late violations (async chunks, styles) reach the console
        seen.append(where)
        violations = page.evaluate("window.__csp || []") + [
            m for m in console if "Content Security Policy" in m or "Content-Security-Policy" in m or "pageerror" in m
        ]
        assert violations == [], f"{where}: {violations}"

    page.goto(app_server.url + "/login")
    expect(page.get_by_role("heading", name="Sign in to Routy")).to_be_visible()
    check("sign-in page")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-user")).to_have_text(ADMIN_EMAIL)
    check("home")

    source = new_source(app_server, "CSP")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")  # the redirect to the consent page and back
    check("sandbox consent and back")
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")
    check("account picker")
    card(page, "Google Ads").get_by_role("link", name=re.compile(r"^Settings")).click()
    dialog = page.get_by_role("region", name="Google Ads settings")
    dialog.get_by_role("tab", name="Sync History").click()
    expect(dialog.locator(".history-row").filter(has_text="Pull").locator(".run-status").first).to_have_text(
        "success", timeout=60_000
    )
    dialog.get_by_role("tab", name="Metrics").click()
    expect(dialog.locator("#metrics-chart svg").first).to_be_visible()
    check("integration page with the metrics chart")
    page.locator("#back-to-source").click()

    page.get_by_role("tab", name="Conversions").click()
    page.get_by_role("button", name="Create / rotate key").click()
    expect(page.locator("#api-key-new")).to_be_visible()
    check("new key dialog")
    page.get_by_role("dialog", name="New API key").get_by_role("button", name="Done").click()
    page.get_by_label("Value").fill("12.5")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("button", name="Record test conversion").click()
    expect(page.get_by_text(re.compile("Recorded test conversion"))).to_be_visible()
    check("test conversion toast")

    page.goto(app_server.url + "/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    check("users page")
    page.set_viewport_size({"width": 390, "height": 844})  # phone width
    page.goto(app_server.url + f"/sources/{source}")
    expect(page.locator(".provider-card")).to_have_count(CARDS)
    check("source page at phone width")
    page.get_by_role("button", name="Menu", exact=True).click()  # on a phone, Sign out is in the menu
    page.locator("#phone-menu").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Routy")).to_be_visible()
    check("signed out")
    assert len(seen) == 10


# ---------------------------------------------------------------- item 6: the body cap, on the real server


def _server_rss(app_server) -> int:
    """Resident memory of the app's processes (the reflex CLI and its server workers)."""
    root = psutil.Process(app_server.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


def _stream(app_server, path: str, headers: str, chunks: int, chunk: bytes, chunked: bool) -> tuple[str, int]:
    """Send a large body and stop as soon as the server answers; returns (status line, bytes sent)."""
    port = int(app_server.url.rsplit(":", 1)[1])
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n".encode())
        conn.setblocking(False)
        answer = b""
        for _ in range(chunks):
            with contextlib.suppress(BlockingIOError):
                answer += conn.recv(4096)
            if answer:
                break
            piece = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") if chunked else chunk
            try:
                conn.setblocking(True)
                conn.sendall(piece)
                conn.setblocking(False)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        conn.setblocking(True)
        conn.settimeout(30)
        deadline = time.monotonic() + 30
        while b"\r\n" not in answer and time.monotonic() < deadline:
            try:
                data = conn.recv(4096)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            answer += data
    return answer.split(b"\r\n", 1)[0].decode(), sent


def test_a_declared_200_mb_body_is_refused_before_it_is_read(app_server):
    key = _create_key(app_server, 1)
    status, sent = _stream(
        app_server,
        "/api/v1/conversions",
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {200 * 1024 * 1024}\r\n",
        200,
        b" " * (1024 * 1024),
        chunked=False,
    )
    assert status == "HTTP/1.1 413 Request Entity Too Large" or status.startswith("HTTP/1.1 413"), status
    assert sent <= 8 * 1024 * 1024


@pytest.mark.parametrize(
    "path", ["/api/v1/conversions", "/sandbox/ga/mp/collect?measurement_id=G-X&api_secret=s", "/auth/login"]
)
def test_a_chunked_200_mb_body_is_cut_off_near_the_cap_and_memory_stays_flat(app_server, path):
    key = _create_key(app_server, 1)
    kind = "application/x-www-form-urlencoded" if path.startswith("/auth") else "application/json"
    before = _server_rss(app_server)
    status, sent = _stream(
        app_server,
        path,
        f"Authorization: Bearer {key}\r\nContent-Type: {kind}\r\nTransfer-Encoding: chunked\r\n",
        200,
        b"a" * (1024 * 1024),
        chunked=True,
    )
    # A form route may refuse even earlier: Starlette's form parser caps a field at 1 MB (400).
    refusals = ("HTTP/1.1 413", "HTTP/1.1 400") if path.startswith("/auth") else ("HTTP/1.1 413",)
    assert status.startswith(refusals), status
    assert sent <= 16 * 1024 * 1024  # the cap, plus what sat in socket buffers when the answer came
    assert _server_rss(app_server) - before < 60 * 1024 * 1024
