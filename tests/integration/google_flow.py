"""Drive the emulated Google consent page the way a person does: read its forms, press a button.

Shared by the test_google_* modules (not a test module itself).
"""

from __future__ import annotations

import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx

from routy_app.providers.base import Credentials
from routy_app.providers.google_ads import GoogleAdsProvider

REDIRECT_URI = "http://localhost:3000/oauth/google/callback"


class ConsentPage(HTMLParser):
    """Forms (by id) with their submitted fields, buttons (by label) with the form they submit."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self.checkboxes: dict[str, list[tuple[str, str]]] = {}
        self.buttons: dict[str, str] = {}
        self.headings: list[str] = []
        self._form: str | None = None
        self._button: str | None = None
        self._in_h1 = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = a.get("id", f"form{len(self.forms)}")
            self.forms[self._form] = []
            self.checkboxes[self._form] = []
        elif tag == "input" and self._form is not None:
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.checkboxes[self._form].append((a["name"], a["value"]))
            else:
                self.forms[self._form].append((a["name"], a.get("value", "")))
        elif tag == "button":
            self._button = a.get("form") or self._form or ""
        elif tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._button is not None and data.strip():
            self.buttons[data.strip()] = self._button
            self._button = None
        if self._in_h1 and data.strip():
            self.headings.append(data.strip())


async def press(http: httpx.AsyncClient, url: str, button: str, untick: tuple[str, ...] = ()) -> httpx.Response:
    """GET the consent page at `url`, press `button` ("Allow"/"Deny"); returns the redirect response."""
    page = await http.get(url)
    assert page.status_code == 200, page.text
    parsed = ConsentPage(page.text)
    form = parsed.buttons[button]
    fields: dict[str, list[str]] = {}
    for name, value in parsed.forms[form] + [(n, v) for n, v in parsed.checkboxes[form] if v not in untick]:
        fields.setdefault(name, []).append(value)
    return await http.post(url, data=fields)


async def connect(provider: GoogleAdsProvider, http: httpx.AsyncClient, untick: tuple[str, ...] = ()) -> Credentials:
    """Authorise through the consent page and exchange the code (PKCE) for credentials."""
    verifier = secrets.token_urlsafe(48)
    url = provider.authorization_url("state-123", verifier, REDIRECT_URI)
    redirect = await press(http, url, "Allow", untick)
    assert redirect.status_code in (302, 303), redirect.text
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    return await provider.exchange_code(query["code"][0], verifier, REDIRECT_URI)
