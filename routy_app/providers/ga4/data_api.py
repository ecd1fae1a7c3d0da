"""Pulling from GA4 with the Data API's runReport, through the official client (REST transport).

Routy reads sessions, key events and revenue per day x campaign x source/medium, kept as campaign-level
records (the source/medium stands in the ad group name). The client authenticates with the service
account's self-signed JWT; its HTTP goes through our httpx client (sdk_bridge.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import DateRange, Dimension, Metric, RunReportRequest, RunReportResponse
from google.oauth2 import service_account

from routy_app.providers.errors import PermanentError
from routy_app.providers.ga4.sdk_bridge import HttpxBridge
from routy_app.providers.ga4.setup import DEFAULT_TOKEN_URI, Setup, token_uri_problem
from routy_app.providers.values import MetricRecord

PAGE_SIZE = 10_000
READONLY_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"


def data_client(
    http: httpx.AsyncClient, endpoint: str, setup: Setup, token_uris: frozenset[str]
) -> BetaAnalyticsDataClient:
    """The official client on `endpoint`, its HTTP bridged to `http` (call inside the running event loop)."""
    if problem := token_uri_problem(setup.service_account, token_uris):  # keys saved before the check
        raise PermanentError(f"GA4 setup is incomplete: {problem}", code="SETUP_INVALID")
    creds = service_account.Credentials.from_service_account_info(
        {"token_uri": DEFAULT_TOKEN_URI, **(setup.service_account or {})}, scopes=[READONLY_SCOPE]
    )
    client = BetaAnalyticsDataClient(credentials=creds, transport="rest", client_options={"api_endpoint": endpoint})
    bridge = HttpxBridge(http, asyncio.get_running_loop())
    transport: Any = client.transport  # the REST transport (typed as its base class, which has no session)
    session = transport._session  # noqa: SLF001 - the REST transport's requests session: no public handle
    session.mount("http://", bridge)
    session.mount("https://", bridge)
    return client


def report_request(
    setup: Setup, start: str, end: str, *, limit: int, offset: int, dims: tuple[str, ...], metrics: tuple[str, ...]
) -> RunReportRequest:
    return RunReportRequest(
        property=f"properties/{setup.property_id}",
        date_ranges=[DateRange(start_date=start, end_date=end)],
        dimensions=[Dimension(name=d) for d in dims],
        metrics=[Metric(name=m) for m in metrics],
        limit=limit,
        offset=offset,
    )


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def records(response: RunReportResponse) -> list[MetricRecord]:
    """Data API rows -> campaign-level records keyed by campaign and source/medium."""
    raw = RunReportResponse.pb(response)  # the plain protobuf: far faster than proto-plus wrappers
    dims = {h.name: i for i, h in enumerate(raw.dimension_headers)}
    mets = {h.name: i for i, h in enumerate(raw.metric_headers)}
    currency = raw.metadata.currency_code
    d_date, d_campaign, d_source = dims["date"], dims.get("sessionCampaignName"), dims.get("sessionSourceMedium")
    records = []
    for row in raw.rows:
        dvals, mvals = row.dimension_values, row.metric_values

        def metric(name: str, mvals: Any = mvals) -> Decimal:
            index = mets.get(name)
            return _decimal(mvals[index].value) if index is not None else Decimal(0)

        campaign = dvals[d_campaign].value if d_campaign is not None else ""
        source_medium = dvals[d_source].value if d_source is not None else ""
        records.append(
            MetricRecord(
                level="campaign",
                date=dt.date.fromisoformat(dvals[d_date].value),
                campaign_id=f"{campaign}|{source_medium}",
                campaign_name=campaign,
                ad_group_name=source_medium,
                clicks=int(metric("sessions")),
                conversions_micros=int((metric("keyEvents") * 1_000_000).to_integral_value()),
                conversion_value_micros=int((metric("totalRevenue") * 1_000_000).to_integral_value()),
                currency=currency,
            )
        )
    return records
