"""Meta login against the sandbox: dialog page -> Allow/Deny -> code -> long-lived token, refresh, revoke."""

from __future__ import annotations

import dataclasses
import datetime as dt
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from tests.integration.conftest import FAST_RETRY

from routy_app.providers.base import AuthExpired, Credentials, PermanentError
from routy_app.providers.endpoints import Endpoints
from routy_app.providers.meta_ads import MetaAdsProvider
from routy_app.sandbox.state import SandboxState

REDIRECT = "http://localhost:3000/oauth/meta/callback"


class _Form(HTMLParser):
    """The consent page's form as a browser sees it: action, hidden fields, submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}  # label -> (name, value)
        self.headings: list[str] = []
        self._button: dict[str, str] | None = None
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button":
            self._button = a
        elif tag == "h1":
            self._in_h1 = True

    def handle_data(self, data: str) -> None:
        if self._button is not None and data.strip():
            self.buttons[data.strip()] = (self._button.get("name", ""), self._button.get("value", ""))
        if self._in_h1:
            self.headings.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None
        if tag == "h1":
            self._in_h1 = False


async def open_dialog(http: httpx.AsyncClient, url: str) -> tuple[httpx.Response, _Form]:
    page = await http.get(url)
    form = _Form()
    form.feed(page.text)
    return page, form


async def click(http: httpx.AsyncClient, page_url: str, form: _Form, label: str) -> dict[str, list[str]]:
    """Submit the form with the button labelled `label`; the redirect's query parameters."""
    name, value = form.buttons[label]
    answer = await http.post(urljoin(page_url, form.action), data={**form.fields, name: value})
    assert answer.status_code in (302, 303), answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlsplit(location).query)


async def connect(provider: MetaAdsProvider, http: httpx.AsyncClient, state: str = "st-1") -> Credentials:
    """The whole browser flow through the sandbox dialog, then the adapter's code exchange."""
    url = provider.authorization_url(state, "unused-verifier", REDIRECT)
    _, form = await open_dialog(http, url)
    query = await click(http, url, form, "Allow")
    assert query["state"] == [state]
    return await provider.exchange_code(query["code"][0], "unused-verifier", REDIRECT)


@pytest.fixture
def provider(endpoints: Endpoints, sandbox_http: httpx.AsyncClient) -> MetaAdsProvider:
    return MetaAdsProvider(endpoints, sandbox_http, retry=FAST_RETRY)


def test_authorization_url_is_the_classic_dialog(provider: MetaAdsProvider, endpoints: Endpoints) -> None:
    url = provider.authorization_url("abc", "verifier", REDIRECT)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert url.startswith(f"{endpoints.meta_dialog_base_url}/{endpoints.meta_api_version}/dialog/oauth?")
    assert query["client_id"] == [endpoints.meta_app_id]
    assert query["scope"] == ["ads_read,ads_management,business_management"]
    assert query["redirect_uri"] == [REDIRECT] and query["state"] == ["abc"]
    assert "code_challenge" not in query  # Meta's web flow has no PKCE


async def test_consent_page_is_a_real_page_with_allow_and_deny(provider: MetaAdsProvider,
                                                               sandbox_http: httpx.AsyncClient) -> None:
    page, form = await open_dialog(sandbox_http, provider.authorization_url("<b>x</b>", "v", REDIRECT))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert form.headings == ["Routy wants to access your Meta ad accounts"]
    assert set(form.buttons) == {"Allow", "Deny"}
    for scope in ("ads_read", "ads_management", "business_management"):
        assert scope in page.text
    assert "<b>x</b>" not in page.text and form.fields["state"] == "<b>x</b>"  # escaped, round-trips intact


async def test_allow_exchanges_code_for_a_long_lived_token(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient,
                                                         sandbox_state: SandboxState) -> None:
    creds = await connect(provider, sandbox_http)
    assert creds.refresh_token is None
    lifetime = sandbox_state.config.meta_long_lived_lifetime
    remaining = (creds.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert lifetime - 30 < remaining <= lifetime  # about 60 days
    issued = sandbox_state.tokens.get(creds.access_token)
    assert issued is not None and issued.extra["lived"] == "long"
    assert issued.scope == "ads_read,ads_management,business_management"


async def test_code_is_single_use_and_redirect_uri_must_match(provider: MetaAdsProvider,
                                                              sandbox_http: httpx.AsyncClient) -> None:
    url = provider.authorization_url("s", "v", REDIRECT)
    _, form = await open_dialog(sandbox_http, url)
    code = (await click(sandbox_http, url, form, "Allow"))["code"][0]
    with pytest.raises(PermanentError) as mismatch:
        await provider.exchange_code(code, "v", REDIRECT + "/other")
    assert mismatch.value.code == "100/36008" and "redirect_uri" in mismatch.value.message
    await provider.exchange_code(code, "v", REDIRECT)
    with pytest.raises(PermanentError) as reused:
        await provider.exchange_code(code, "v", REDIRECT)
    assert reused.value.code == "100/36009"


async def test_deny_returns_access_denied(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient) -> None:
    url = provider.authorization_url("st-deny", "v", REDIRECT)
    _, form = await open_dialog(sandbox_http, url)
    query = await click(sandbox_http, url, form, "Deny")
    assert query["error"] == ["access_denied"] and query["error_reason"] == ["user_denied"]
    assert query["state"] == ["st-deny"] and "code" not in query and query["error_description"]


async def test_dialog_refuses_unknown_app_and_bad_redirect(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient,
                                                           endpoints: Endpoints) -> None:
    other = MetaAdsProvider(dataclasses.replace(endpoints, meta_app_id="999"), sandbox_http)
    page = await sandbox_http.get(other.authorization_url("s", "v", REDIRECT))
    assert page.status_code == 400 and "Invalid App ID" in page.text
    page = await sandbox_http.get(provider.authorization_url("s", "v", "javascript:alert(1)"))
    assert page.status_code == 400 and "URL blocked" in page.text


async def test_wrong_app_secret_is_permanent(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient,
                                             endpoints: Endpoints) -> None:
    url = provider.authorization_url("s", "v", REDIRECT)
    _, form = await open_dialog(sandbox_http, url)
    code = (await click(sandbox_http, url, form, "Allow"))["code"][0]
    wrong = MetaAdsProvider(dataclasses.replace(endpoints, meta_app_secret="nope"), sandbox_http, retry=FAST_RETRY)
    with pytest.raises(PermanentError) as caught:
        await wrong.exchange_code(code, "v", REDIRECT)
    assert caught.value.message == "Error validating client secret." and "nope" not in str(caught.value)


async def test_refresh_keeps_a_valid_token_and_refuses_an_expired_one(
        provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient, sandbox_state: SandboxState) -> None:
    creds = await connect(provider, sandbox_http)
    assert await provider.refresh(creds) is creds
    sandbox_state.tokens.expire(creds.access_token)
    with pytest.raises(AuthExpired) as caught:
        await provider.refresh(creds)
    assert caught.value.message == "Meta tokens cannot be refreshed; reconnect"
    assert caught.value.code == "190/463"


async def test_revoke_removes_permissions(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient) -> None:
    creds = await connect(provider, sandbox_http)
    await provider.revoke(creds)
    with pytest.raises(AuthExpired) as caught:
        await provider.list_accounts(creds)
    assert caught.value.code == "190/458"
    with pytest.raises(AuthExpired):
        await provider.refresh(creds)
    await provider.revoke(creds)  # revoking a dead token is a no-op


async def test_debug_token_wire_shape(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient,
                                      endpoints: Endpoints) -> None:
    creds = await connect(provider, sandbox_http)
    url = f"{endpoints.meta_graph_base_url}/{endpoints.meta_api_version}/debug_token"
    app_token = f"{endpoints.meta_app_id}|{endpoints.meta_app_secret}"
    good = (await sandbox_http.get(url, params={"input_token": creds.access_token, "access_token": app_token})).json()
    assert good["data"]["is_valid"] is True and good["data"]["type"] == "USER"
    assert good["data"]["app_id"] == endpoints.meta_app_id and "ads_read" in good["data"]["scopes"]
    bad = (await sandbox_http.get(url, params={"input_token": "EAAnothing", "access_token": app_token})).json()
    assert bad["data"]["is_valid"] is False and bad["data"]["error"]["code"] == 190
    refused = await sandbox_http.get(url, params={"input_token": creds.access_token, "access_token": "1|wrong"})
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "OAuthException"
