"""Reading from the Google Ads API: the accounts a login reaches, daily metrics by level, conversion actions.

Accounts: the customers the user reaches directly, then each manager's direct clients, reached through
that manager (login-customer-id). Money arrives as micros already; conversions are doubles, turned into
integer micros with Decimal (half-to-even), never float arithmetic.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from routy_app.providers.errors import PermanentError, TransientError
from routy_app.providers.google_ads.api import GoogleApi
from routy_app.providers.google_ads.gaql import (
    CHILDREN_QUERY,
    CONVERSION_ACTION_QUERY,
    CONVERSION_ACTIONS_QUERY,
    CUSTOMER_QUERY,
    LEVEL_QUERIES,
)
from routy_app.providers.values import Account, ConversionAction, Credentials, Level, MetricRecord

log = logging.getLogger(__name__)


def micros(value: Any) -> int:
    """A double from the API (number or string) as integer micros, rounded half-to-even."""
    if value in (None, ""):
        return 0
    try:
        return int((Decimal(str(value)) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except (InvalidOperation, ValueError):
        return 0


async def list_accounts(api: GoogleApi, creds: Credentials) -> list[Account]:
    """Directly accessible customers, then each manager's direct clients (reached through the manager)."""
    ids = await api.accessible_customer_ids(creds)
    accounts: list[Account] = []
    for customer_id in ids:
        try:
            rows = await api.search_stream(creds, customer_id, CUSTOMER_QUERY)
        except PermanentError as exc:  # e.g. CUSTOMER_NOT_ENABLED: listed but not usable
            log.warning("Skipping Google Ads customer %s: %s (request-id %s)", customer_id, exc.message, exc.request_id)
            continue
        if rows:
            c = rows[0].get("customer") or {}
            accounts.append(
                Account(
                    id=str(c.get("id", customer_id)),
                    name=c.get("descriptiveName") or customer_id,
                    currency=c.get("currencyCode", ""),
                    timezone=c.get("timeZone", ""),
                    manager=bool(c.get("manager")),
                    status=c.get("status", "ENABLED"),
                )
            )
    known = {a.id for a in accounts}
    for manager in [a for a in accounts if a.manager]:
        try:
            rows = await api.search_stream(creds, manager.id, CHILDREN_QUERY, login_customer_id=manager.id)
        except PermanentError as exc:
            log.warning("Could not list clients of manager %s: %s", manager.id, exc.message)
            continue
        for row in rows:
            cc = row.get("customerClient") or {}
            child_id = str(cc.get("id", ""))
            if not child_id or str(cc.get("level", "0")) == "0" or child_id in known:
                continue
            known.add(child_id)
            accounts.append(
                Account(
                    id=child_id,
                    name=cc.get("descriptiveName") or child_id,
                    currency=cc.get("currencyCode", ""),
                    timezone=cc.get("timeZone", ""),
                    manager=bool(cc.get("manager")),
                    login_customer_id=manager.id,
                    parent_id=manager.id,
                    status=cc.get("status", "ENABLED"),
                )
            )
    return accounts


async def test_connection(api: GoogleApi, creds: Credentials, account: Account) -> None:
    """A one-row customer query: proves the token, the account access and the login-customer-id."""
    await api.search_stream(
        creds, account.id, "SELECT customer.id FROM customer LIMIT 1", login_customer_id=account.login_customer_id
    )


async def fetch_metrics(
    api: GoogleApi, creds: Credentials, account: Account, level: Level, start: dt.date, end: dt.date
) -> AsyncIterator[list[MetricRecord]]:
    """Daily rows for `level`, one list per 10,000-row search page (never the whole report at once)."""
    if level not in LEVEL_QUERIES:
        raise ValueError(f"Google Ads has no {level!r} level")
    query = f"{LEVEL_QUERIES[level]} WHERE segments.date BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"
    token: str | None = None
    while True:
        page = await api.search_page(creds, account.id, query, token, account.login_customer_id)
        rows = page.get("results") or []
        if rows:
            yield [record(level, row, account.currency) for row in rows]
        token = page.get("nextPageToken")
        if not token:
            return


def record(level: Level, row: dict[str, Any], currency: str) -> MetricRecord:
    campaign = row.get("campaign") or {}
    ad_group = row.get("adGroup") or {}
    ad = (row.get("adGroupAd") or {}).get("ad") or {}
    criterion = row.get("adGroupCriterion") or {}
    metrics = row.get("metrics") or {}
    try:
        day = dt.date.fromisoformat(str((row.get("segments") or {})["date"]))
        return MetricRecord(
            level=level,
            date=day,
            campaign_id=str(campaign.get("id", "")),
            campaign_name=str(campaign.get("name", "")),
            ad_group_id=str(ad_group.get("id", "")),
            ad_group_name=str(ad_group.get("name", "")),
            ad_id=str(ad.get("id", "")),
            ad_name=str(ad.get("name", "")),
            keyword_id=str(criterion.get("criterionId", "")),
            keyword_text=str((criterion.get("keyword") or {}).get("text", "")),
            impressions=int(metrics.get("impressions", 0)),
            clicks=int(metrics.get("clicks", 0)),
            cost_micros=int(metrics.get("costMicros", 0)),
            conversions_micros=micros(metrics.get("conversions")),
            conversion_value_micros=micros(metrics.get("conversionsValue")),
            currency=currency,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise TransientError(f"Google returned a malformed report row ({type(exc).__name__})") from None


async def list_conversion_actions(api: GoogleApi, creds: Credentials, account: Account) -> list[ConversionAction]:
    """Enabled UPLOAD_CLICKS actions: the only ones Data Manager accepts as productDestinationId.

    With cross-account conversion tracking the list also holds actions a manager owns
    (`extra["owner_customer"]`); rules.destination_problem refuses those as destinations.
    """
    rows = await api.search_stream(
        creds, account.id, CONVERSION_ACTIONS_QUERY, login_customer_id=account.login_customer_id
    )
    return [action(row) for row in rows]


async def conversion_action(
    api: GoogleApi, creds: Credentials, account: Account, action_id: str
) -> ConversionAction | None:
    """One conversion action by id, whatever its type and status (None when the account has no such action)."""
    if not str(action_id).isdigit():
        return None
    rows = await api.search_stream(
        creds,
        account.id,
        f"{CONVERSION_ACTION_QUERY} WHERE conversion_action.id = {int(action_id)}",
        login_customer_id=account.login_customer_id,
    )
    return action(rows[0]) if rows else None


def action(row: dict[str, Any]) -> ConversionAction:
    ca = row.get("conversionAction") or {}
    return ConversionAction(
        id=str(ca.get("id", "")),
        name=str(ca.get("name", "")),
        kind=str(ca.get("type", "")),
        extra={
            "category": ca.get("category", ""),
            "resource_name": ca.get("resourceName", ""),
            "owner_customer": ca.get("ownerCustomer", ""),
            "status": ca.get("status", ""),
        },
    )
