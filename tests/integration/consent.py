"""Act as the person on a sandbox consent page without a browser: read the form, submit a decision."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "id": a.get("id"), "fields": [], "buttons": []})
        elif tag == "input" and self.forms and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.forms[-1]["fields"].append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("name") and self.forms:
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))


async def consent(client: httpx.AsyncClient, authorize_url: str, decision: str = "allow") -> dict[str, str]:
    """Open the consent page, press Allow or Deny, return the query the app's callback receives."""
    page = await client.get(authorize_url)
    assert page.status_code == 200, page.text
    parser = _Forms()
    parser.feed(page.text)
    for form in parser.forms:
        fields = list(form["fields"])
        if ("decision", decision) in fields or ("decision", decision) in form["buttons"]:
            if ("decision", decision) in form["buttons"]:
                fields.append(("decision", decision))
            target = form["action"] or str(page.url.copy_with(query=None))
            data: dict[str, list[str]] = {}
            for name, value in fields:
                data.setdefault(name, []).append(value)
            answer = await client.post(httpx.URL(str(page.url)).join(target), data=data)
            assert answer.status_code in (302, 303), answer.text
            query = parse_qs(urlsplit(answer.headers["location"]).query)
            return {k: v[0] for k, v in query.items()}
    raise AssertionError(f"no {decision} form on the consent page")
