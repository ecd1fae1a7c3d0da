"""The sandbox's consent pages send the browser back only to a registered redirect URI: the app's own
`{PUBLIC_URL}/oauth/<provider>/callback` (attack report F11: any redirect_uri made an open redirect on
our origin). Anything else gets the real hosts' error page (400), never a redirect."""

from __future__ import annotations

import httpx
import pytest

from routy_app import routes
from routy_app.sandbox.app import mounted_sandbox
from routy_app.sandbox.core.state import SandboxConfig, SandboxState
from routy_app.sandbox_defaults import SANDBOX_GOOGLE_CLIENT_ID, SANDBOX_META_APP_ID

PUBLIC = "https://routy.example.com"
GOOGLE_AUTH = "/sandbox/google/o/oauth2/v2/auth"
META_DIALOG = "/sandbox/facebook/v25.0/dialog/oauth"
UNREGISTERED = [
    "https://evil.example/phish",
    "https://evil.example/oauth/google_ads/callback",
    f"{PUBLIC}.evil.example/oauth/google_ads/callback",
    f"https://user@{PUBLIC[8:]}/oauth/google_ads/callback",
    f"{PUBLIC}@evil.example/oauth/google_ads/callback",
    f"http://{PUBLIC[8:]}/oauth/google_ads/callback",  # another scheme
    f"{PUBLIC}:8443/oauth/google_ads/callback",  # another port
    f"{PUBLIC}/oauth/google_ads/callback?next=https://evil.example",
    f"{PUBLIC}/oauth/google_ads/callback#x",
    f"{PUBLIC}/oauth/google_ads/callback/../../login",
    f"{PUBLIC}/oauth/../login",
    f"{PUBLIC}/login",
    f"{PUBLIC}/oauth/Google/callback",
    "javascript:alert(1)",
]


@pytest.fixture
def state(monkeypatch) -> SandboxState:
    monkeypatch.setenv("PUBLIC_URL", PUBLIC + "/")  # the app strips the slash; so does the sandbox
    return SandboxState(SandboxConfig())


@pytest.fixture
async def http(state):
    transport = httpx.ASGITransport(app=mounted_sandbox(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        yield client


def _google(redirect_uri: str) -> dict[str, str]:
    return {
        "client_id": SANDBOX_GOOGLE_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "https://www.googleapis.com/auth/adwords",
        "state": "st",
    }


def _meta(redirect_uri: str) -> dict[str, str]:
    return {"client_id": SANDBOX_META_APP_ID, "redirect_uri": redirect_uri, "state": "st", "scope": "ads_read"}


@pytest.mark.parametrize("redirect_uri", UNREGISTERED)
async def test_google_refuses_an_unregistered_redirect_uri_with_its_error_page(http, redirect_uri):
    page = await http.get(GOOGLE_AUTH, params=_google(redirect_uri))
    assert page.status_code == 400 and "Error 400: redirect_uri_mismatch" in page.text
    for decision in ("allow", "deny"):
        answer = await http.post(GOOGLE_AUTH, data={**_google(redirect_uri), "decision": decision})
        assert answer.status_code == 400 and "location" not in answer.headers
        assert "Error 400: redirect_uri_mismatch" in answer.text


@pytest.mark.parametrize("redirect_uri", UNREGISTERED)
async def test_meta_refuses_an_unregistered_redirect_uri_with_url_blocked(http, redirect_uri):
    page = await http.get(META_DIALOG, params=_meta(redirect_uri))
    assert page.status_code == 400 and "URL blocked" in page.text
    for decision in ("allow", "deny"):
        answer = await http.post(META_DIALOG, data={**_meta(redirect_uri), "decision": decision})
        assert answer.status_code == 400 and "location" not in answer.headers
        assert "URL blocked" in answer.text


@pytest.mark.parametrize("provider", ["google_ads", "meta_ads", "ga4"])
async def test_the_apps_own_callbacks_are_registered(http, provider):
    callback = routes.oauth_callback(PUBLIC, provider)
    assert (await http.get(GOOGLE_AUTH, params=_google(callback))).status_code == 200
    answer = await http.post(GOOGLE_AUTH, data={**_google(callback), "decision": "deny"})
    assert answer.status_code == 303 and answer.headers["location"].startswith(callback + "?")
    assert (await http.get(META_DIALOG, params=_meta(callback))).status_code == 200
    answer = await http.post(META_DIALOG, data={**_meta(callback), "decision": "deny"})
    assert answer.status_code == 302 and answer.headers["location"].startswith(callback + "?")


async def test_the_sandbox_config_can_name_the_apps_public_url(http, state):
    elsewhere = "http://localhost:3100"
    assert (await http.get(GOOGLE_AUTH, params=_google(f"{elsewhere}/oauth/google_ads/callback"))).status_code == 400
    answer = await http.post("/sandbox/_control/config", json={"public_url": elsewhere})
    assert answer.status_code == 200
    assert (await http.get(GOOGLE_AUTH, params=_google(f"{elsewhere}/oauth/google_ads/callback"))).status_code == 200
    assert (await http.get(GOOGLE_AUTH, params=_google(f"{PUBLIC}/oauth/google_ads/callback"))).status_code == 400
