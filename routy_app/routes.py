"""Every URL of the app in one place: the page routes Reflex serves, our API routes, and their builders.

Pages, states, services and API routes build links from here, so a page that moves moves everywhere
(issue 15 adds the integration pages: `/sources/[source_id]/integrations/[integration]/[tab]`).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

HOME = "/"
SOURCE = "/sources/[source_id]"
# One integration's page, one URL per tab (issue 15: it replaced the Settings dialog).
INTEGRATION = "/sources/[source_id]/integrations/[integration_id]/[tab]"
INTEGRATION_TABS: dict[str, str] = {
    "connection": "Connection",
    "sync": "Sync",
    "history": "Sync History",
    "mappings": "Conversion Mappings",
    "push": "Push History",
    "metrics": "Metrics",
}
LOGIN = "/login"
SETUP = "/setup"
USERS = "/users"
NOTIFICATIONS = "/notifications"
OAUTH_CALLBACK = "/oauth/{provider}/callback"  # Starlette's path syntax (api/app.py)
# A plain path parameter, parsed by the route: Starlette's `:int` convertor calls int() on any run of
# digits and raises (a 500) past 4,300 of them, before the route could answer 404.
METRICS_EXPORT = "/api/metrics/{integration_id}/export.csv"


def source(source_id: int | None) -> str:
    """A traffic source's page ("/" when there is none)."""
    return f"/sources/{source_id}" if source_id else HOME


def source_from(source_id: int, integration_id: int) -> str:
    """A traffic source's page, coming back from one of its integrations (its Settings link gets the focus)."""
    return f"/sources/{source_id}?from={integration_id}"


def integration(source_id: int, integration_id: int, tab: str = "connection") -> str:
    """An integration's page at one of its tabs (INTEGRATION_TABS)."""
    return f"/sources/{source_id}/integrations/{integration_id}/{tab if tab in INTEGRATION_TABS else 'connection'}"


def login(next_path: str = "") -> str:
    """The sign-in page, coming back to `next_path` afterwards."""
    return f"{LOGIN}?next={quote(next_path or HOME)}" if next_path else LOGIN


def oauth_callback(public_url: str, provider: str) -> str:
    """The redirect URI registered with a provider's OAuth client."""
    return f"{public_url.rstrip('/')}/oauth/{provider}/callback"


def metrics_export(integration_id: int, query: dict[str, str]) -> str:
    """The Metrics tab's CSV download for the breakdown in `query`."""
    return f"/api/metrics/{integration_id}/export.csv?{urlencode(query)}"
