"""Google's `google-analytics-data` client (REST transport) against the sandbox's Data API runReport."""

from __future__ import annotations

import pytest
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import DateRange, Dimension, Metric, MetricType, OrderBy, RunReportRequest
from google.api_core import exceptions as gexc
from google.oauth2.credentials import Credentials

from routy_app.sandbox.ga4.streams import DEMO_PROPERTY_ID
from tests.contract.conftest import LiveSandbox


def _client(sandbox: LiveSandbox) -> BetaAnalyticsDataClient:
    token = sandbox.google_token("https://www.googleapis.com/auth/analytics.readonly").value
    return BetaAnalyticsDataClient(
        credentials=Credentials(token),
        transport="rest",
        client_options={"api_endpoint": f"{sandbox.url}/analyticsdata"},
    )


def _request(limit: int, offset: int = 0) -> RunReportRequest:
    return RunReportRequest(
        property=f"properties/{DEMO_PROPERTY_ID}",
        date_ranges=[DateRange(start_date="7daysAgo", end_date="yesterday")],
        dimensions=[Dimension(name="date"), Dimension(name="sessionCampaignName")],
        metrics=[Metric(name="sessions"), Metric(name="totalRevenue")],
        limit=limit,
        offset=offset,
        return_property_quota=True,
    )


def test_run_report_pages_with_offset(sandbox: LiveSandbox) -> None:
    """Pages of 4 rows until rowCount: every (date, campaign) once; typed headers; quota present."""
    client = _client(sandbox)
    first = client.run_report(_request(limit=4))
    assert first.row_count == 7 * 3  # 7 days x 3 campaigns
    assert [h.type_ for h in first.metric_headers] == [MetricType.TYPE_INTEGER, MetricType.TYPE_CURRENCY]
    assert first.property_quota.tokens_per_day.remaining > 0
    rows = list(first.rows)
    while len(rows) < first.row_count:
        page = client.run_report(_request(limit=4, offset=len(rows)))
        assert page.rows, "a page before rowCount came back empty"
        rows += page.rows
    keys = [(r.dimension_values[0].value, r.dimension_values[1].value) for r in rows]
    assert len(set(keys)) == first.row_count
    assert all(len(r.dimension_values[0].value) == 8 for r in rows)  # YYYYMMDD


def test_order_bys_and_keep_empty_rows_are_accepted(sandbox: LiveSandbox) -> None:
    """Fields of RunReportRequest the sandbox does not act on are still accepted (they are valid)."""
    request = _request(limit=10)
    request.order_bys = [OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name="date"), desc=True)]
    request.keep_empty_rows = True
    assert _client(sandbox).run_report(request).row_count == 21


def test_an_unknown_metric_is_refused_as_bad_request(sandbox: LiveSandbox) -> None:
    request = _request(limit=10)
    request.metrics = [Metric(name="notAMetric")]
    with pytest.raises(gexc.BadRequest):
        _client(sandbox).run_report(request)
