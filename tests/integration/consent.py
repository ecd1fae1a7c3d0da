"""Act as the person on a sandbox consent page without a browser: read the form, submit a decision.

One helper for every sandbox consent page (Google's identity server, Meta's login dialog) and every
caller (services tests, adapter tests, benchmarks):

- `consent(client, authorize_url, decision)`: open the page, press Allow or Deny, return the query the
  app's callback receives (the redirect must go back to the URL's `redirect_uri`).
- `press(client, authorize_url, label)`: the same by button label, returning the redirect response itself.
- `open_consent(client, authorize_url)`: the page and its parsed forms, buttons and headings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class Form:
    action: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)  # every input but checkboxes
    checkboxes: list[tuple[str, str]] = field(default_factory=list)  # checked ones only


@dataclass
class Button:
    form: str  # key in ConsentPage.forms
    name: str = ""
    value: str = ""


class ConsentPage(HTMLParser):
    """The page as a browser sees it: forms (by id), buttons (by label) with the form they submit, h1 headings."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.forms: dict[str, Form] = {}
        self.buttons: dict[str, Button] = {}
        self.headings: list[str] = []
        self.hidden: dict[str, str] = {}  # hidden inputs of every form by name (the last one wins)
        self._form: str | None = None
        self._button: Button | None = None
        self._in_h1 = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = a.get("id") or f"form{len(self.forms)}"
            self.forms[self._form] = Form(action=a.get("action", ""))
        elif tag == "input" and self._form is not None and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.forms[self._form].checkboxes.append((a["name"], a.get("value", "")))
            else:
                self.forms[self._form].fields.append((a["name"], a.get("value", "")))
                if a.get("type") == "hidden":
                    self.hidden[a["name"]] = a.get("value", "")
        elif tag == "button":
            self._button = Button(a.get("form") or self._form or "", a.get("name", ""), a.get("value", ""))
        elif tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "button":
            self._button = None
        elif tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._button is not None and data.strip():
            self.buttons[data.strip()] = self._button
            self._button = None
        if self._in_h1 and data.strip():
            self.headings.append(data.strip())

    def submission(self, label: str, untick: tuple[str, ...] = ()) -> tuple[str, dict[str, list[str]]]:
        """(form action, form data) sent by pressing the button `label`, with the checkboxes in `untick` cleared."""
        button = self.buttons[label]
        form = self.forms[button.form]
        data: dict[str, list[str]] = {}
        pairs = form.fields + [(n, v) for n, v in form.checkboxes if v not in untick]
        if button.name:
            pairs.append((button.name, button.value))
        for name, value in pairs:
            data.setdefault(name, []).append(value)
        return form.action, data


async def open_consent(client: httpx.AsyncClient, authorize_url: str) -> tuple[httpx.Response, ConsentPage]:
    """GET the consent page; the response and its parsed content."""
    page = await client.get(authorize_url)
    return page, ConsentPage(page.text)


async def press(
    client: httpx.AsyncClient, authorize_url: str, label: str, untick: tuple[str, ...] = ()
) -> httpx.Response:
    """Open the consent page, press the button labelled `label` ("Allow"/"Deny"); the (unfollowed) redirect."""
    page, parsed = await open_consent(client, authorize_url)
    assert page.status_code == 200, page.text
    action, data = parsed.submission(label, untick)
    return await client.post(page.url.join(action), data=data)


def redirect_query(answer: httpx.Response) -> dict[str, str]:
    """The query parameters of a redirect's Location (first value of each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


async def consent(
    client: httpx.AsyncClient, authorize_url: str, decision: str = "allow", untick: tuple[str, ...] = ()
) -> dict[str, str]:
    """Open the consent page, press Allow or Deny, return the query the app's callback receives."""
    page, parsed = await open_consent(client, authorize_url)
    assert page.status_code == 200, page.text
    for label in parsed.buttons:
        action, data = parsed.submission(label, untick)
        if data.get("decision") == [decision]:
            answer = await client.post(page.url.join(action), data=data)
            assert answer.status_code in (302, 303), answer.text
            redirect_uri = parse_qs(urlsplit(authorize_url).query).get("redirect_uri")
            if redirect_uri:
                assert answer.headers["location"].startswith(redirect_uri[0]), answer.headers["location"]
            return redirect_query(answer)
    raise AssertionError(f"no {decision} form on the consent page")
