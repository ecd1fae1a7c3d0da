"""Metrics tab queries (services/metrics_queries.py) on a small dataset with known sums."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from routy_app.db import get_engine, session_scope
from routy_app.models import Integration, MetricRow
from routy_app.services import metrics_queries as mq

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def _row(iid: int, level: str, day: dt.date, camp: str, group: str = "", kw: str = "", **m) -> MetricRow:
    names = {"C1": "Brand", "C2": "Generic"}
    return MetricRow(
        integration_id=iid,
        level=level,
        date=day,
        campaign_id=camp,
        campaign_name=names[camp],
        ad_group_id=group,
        ad_group_name=f"{names[camp]} {group}" if group else "",
        keyword_id=kw,
        keyword_text=f"kw {kw}" if kw else "",
        currency="USD",
        **m,
    )


@pytest.fixture
def iid(db) -> int:
    with session_scope() as session:
        integration = Integration(traffic_source_id=1, provider="google_ads", status="active", account_id="1")
        other = Integration(traffic_source_id=1, provider="meta_ads", status="active", account_id="2")
        session.add(integration)
        session.add(other)
        session.commit()
        m = dict
        session.add_all(
            [
                # campaign level: C1 on 3 days, C2 on 2 days
                _row(
                    integration.id,
                    "campaign",
                    D1,
                    "C1",
                    **m(
                        impressions=1000,
                        clicks=50,
                        cost_micros=25_000_000,
                        conversions_micros=2_000_000,
                        conversion_value_micros=100_000_000,
                    ),
                ),
                _row(
                    integration.id,
                    "campaign",
                    D2,
                    "C1",
                    **m(
                        impressions=1000,
                        clicks=30,
                        cost_micros=15_000_000,
                        conversions_micros=1_000_000,
                        conversion_value_micros=40_000_000,
                    ),
                ),
                _row(integration.id, "campaign", D3, "C1", **m(impressions=500, clicks=10, cost_micros=5_000_000)),
                _row(integration.id, "campaign", D1, "C2", **m(impressions=2000, clicks=20, cost_micros=40_000_000)),
                _row(integration.id, "campaign", D2, "C2", **m(impressions=0, clicks=0, cost_micros=0)),
                # ad group level (must not be added to the totals)
                _row(
                    integration.id, "ad_group", D1, "C1", "G1", **m(impressions=600, clicks=30, cost_micros=15_000_000)
                ),
                _row(
                    integration.id, "ad_group", D1, "C1", "G2", **m(impressions=400, clicks=20, cost_micros=10_000_000)
                ),
                _row(
                    integration.id, "ad_group", D1, "C2", "G3", **m(impressions=2000, clicks=20, cost_micros=40_000_000)
                ),
                # keywords of G1
                _row(
                    integration.id,
                    "keyword",
                    D1,
                    "C1",
                    "G1",
                    "K1",
                    **m(impressions=100, clicks=10, cost_micros=1_000_000),
                ),
                _row(
                    integration.id,
                    "keyword",
                    D2,
                    "C1",
                    "G1",
                    "K1",
                    **m(impressions=100, clicks=5, cost_micros=1_000_000),
                ),
                _row(
                    integration.id,
                    "keyword",
                    D1,
                    "C1",
                    "G1",
                    "K2",
                    **m(impressions=300, clicks=3, cost_micros=6_000_000),
                ),
                _row(
                    integration.id, "keyword", D1, "C1", "G2", "K3", **m(impressions=1, clicks=1, cost_micros=9_000_000)
                ),
                # another integration's rows never leak in
                _row(other.id, "campaign", D1, "C1", **m(impressions=9999, clicks=999, cost_micros=999_000_000)),
            ]
        )
        session.commit()
        return int(integration.id)


def _session() -> Session:
    return Session(get_engine())


def test_summary_sums_the_campaign_level_only(iid):
    with _session() as s:
        total = mq.summary(s, iid, D1, D3)
        assert (total.impressions, total.clicks, total.cost_micros) == (4500, 110, 85_000_000)
        assert (total.conversions_micros, total.conversion_value_micros) == (3_000_000, 140_000_000)
        assert total.ctr == pytest.approx(110 / 4500)
        assert total.cpc_micros == round(85_000_000 / 110)
        assert total.cost_per_conversion_micros == round(85_000_000 / 3)
        assert total.currency == "USD"
        one_day = mq.summary(s, iid, D2, D2)
        assert (one_day.impressions, one_day.clicks, one_day.cost_micros) == (1000, 30, 15_000_000)
        empty = mq.summary(s, iid, dt.date(2020, 1, 1), dt.date(2020, 1, 2))
        assert (empty.clicks, empty.ctr, empty.cpc_micros, empty.cost_per_conversion_micros) == (0, 0.0, None, None)


def test_daily_series_is_per_day_in_order(iid):
    with _session() as s:
        series = mq.daily_series(s, iid, D1, D3)
    assert [(p.date, p.cost_micros, p.clicks) for p in series] == [
        (D1, 65_000_000, 70),
        (D2, 15_000_000, 30),
        (D3, 5_000_000, 10),
    ]


def test_totals_and_series_follow_the_drill_down(iid):
    """Drilled into a campaign, the tiles are that campaign's; into an ad group, that ad group's own row
    (not the sum of its keywords, which carry only keyword-matched traffic)."""
    with _session() as s:
        campaign = mq.summary(s, iid, D1, D3, {"campaign_id": "C1"})
        assert (campaign.impressions, campaign.clicks, campaign.cost_micros) == (2500, 90, 45_000_000)
        group = mq.summary(s, iid, D1, D3, {"campaign_id": "C1", "ad_group_id": "G1"})
        assert (group.impressions, group.clicks, group.cost_micros) == (600, 30, 15_000_000)
        series = mq.daily_series(s, iid, D1, D3, {"campaign_id": "C2"})
        assert [(p.date, p.cost_micros, p.clicks) for p in series] == [(D1, 40_000_000, 20), (D2, 0, 0)]
        with pytest.raises(ValueError):
            mq.summary(s, iid, D1, D3, {"keyword_id": "K1"})


def test_breakdown_by_campaign_sorts_and_paginates_in_sql(iid):
    with _session() as s:
        page = mq.breakdown(s, iid, "campaign", D1, D3, sort_by="cost_micros", descending=True, page=1, page_size=1)
        assert page.total_rows == 2 and page.page_count == 2
        assert [(r.id, r.name, r.cost_micros, r.clicks) for r in page.rows] == [("C1", "Brand", 45_000_000, 90)]
        second = mq.breakdown(s, iid, "campaign", D1, D3, sort_by="cost_micros", page=2, page_size=1)
        assert [r.id for r in second.rows] == ["C2"] and second.rows[0].cpc_micros == 2_000_000
        by_ctr = mq.breakdown(s, iid, "campaign", D1, D3, sort_by="ctr", descending=False)
        assert [r.id for r in by_ctr.rows] == ["C2", "C1"]  # 1 % vs 90/2500 = 3.6 %
        by_name = mq.breakdown(s, iid, "campaign", D1, D3, sort_by="name", descending=False)
        assert [r.name for r in by_name.rows] == ["Brand", "Generic"]
        by_cpa = mq.breakdown(s, iid, "campaign", D1, D3, sort_by="cost_per_conversion_micros", descending=True)
        assert [r.id for r in by_cpa.rows] == ["C1", "C2"]  # C2 has no conversions: last either way
        assert by_cpa.rows[1].cost_per_conversion_micros is None


def test_breakdown_drills_down_by_parent(iid):
    with _session() as s:
        groups = mq.breakdown(s, iid, "ad_group", D1, D3, parent_filter={"campaign_id": "C1"}, sort_by="clicks")
        assert [(r.id, r.clicks, r.campaign_id) for r in groups.rows] == [("G1", 30, "C1"), ("G2", 20, "C1")]
        keywords = mq.breakdown(
            s, iid, "keyword", D1, D3, parent_filter={"ad_group_id": "G1"}, sort_by="impressions", descending=True
        )
        assert [(r.id, r.name, r.impressions, r.clicks, r.cost_micros) for r in keywords.rows] == [
            ("K2", "kw K2", 300, 3, 6_000_000),
            ("K1", "kw K1", 200, 15, 2_000_000),
        ]
        assert keywords.total_rows == 2
        with pytest.raises(ValueError):
            mq.breakdown(s, iid, "keyword", D1, D3, parent_filter={"keyword_text; DROP": "x"})
        with pytest.raises(ValueError):
            mq.breakdown(s, iid, "campaign", D1, D3, sort_by="id; DROP TABLE")


def test_csv_rows_are_every_row_in_the_same_order(iid):
    with _session() as s:
        rows = list(mq.csv_rows(s, iid, "keyword", D1, D3, sort_by="cost_micros", currency="USD"))
    assert rows[0] == mq.CSV_HEADER
    assert [r[0] for r in rows[1:]] == ["K3", "K2", "K1"]
    k3 = dict(zip(mq.CSV_HEADER, rows[1], strict=False))
    assert (k3["cost"], k3["cpc"], k3["ctr_percent"], k3["cost_per_conversion"], k3["currency"]) == (
        "9.00",
        "9.00",
        "100.00",
        "",
        "USD",
    )


def test_totals_and_series_follow_the_drill_down_scope(iid):
    """A campaign's totals come from its campaign rows, an ad group's from its ad group rows (one level:
    nothing is counted twice), and the chart follows the same scope."""
    with _session() as s:
        campaign = mq.summary(s, iid, D1, D3, {"campaign_id": "C1"})
        assert (campaign.clicks, campaign.cost_micros) == (90, 45_000_000)
        group = mq.summary(s, iid, D1, D3, {"campaign_id": "C1", "ad_group_id": "G1"})
        assert (group.impressions, group.clicks, group.cost_micros) == (600, 30, 15_000_000)
        series = mq.daily_series(s, iid, D1, D3, {"campaign_id": "C1", "ad_group_id": "G1"})
        assert [(p.date, p.cost_micros, p.clicks) for p in series] == [(D1, 15_000_000, 30)]
        with pytest.raises(ValueError):
            mq.summary(s, iid, D1, D3, {"keyword_text": "x"})


def test_each_provider_gets_its_own_metrics_layout():
    """GA4 reports sessions, key events and revenue by source / medium, with no cost axis; ad networks keep theirs."""
    from routy_app.services import metrics_view

    ga4 = metrics_view.layout("ga4")
    assert ga4.columns == ["clicks", "conversions", "value"]
    assert [ga4.labels[c] for c in ga4.columns] == ["Sessions", "Key events", "Revenue"]
    assert (ga4.detail_label, ga4.bar_key, ga4.bar_label, ga4.line_label) == (
        "Source / medium",
        "value",
        "Revenue",
        "Sessions",
    )
    assert ga4.default_sort == "clicks"
    google = metrics_view.layout("google_ads")
    assert google.columns[:4] == ["impressions", "clicks", "ctr", "cost"] and google.bar_key == "cost"
    assert google.detail_label == "" and google.default_sort == "cost_micros"


def test_tiles_follow_the_layout(iid):
    from routy_app.services import metrics_view

    with _session() as s:
        ga4 = metrics_view.tiles(s, iid, D1, D3, "USD", provider="ga4")
        google = metrics_view.tiles(s, iid, D1, D3, "USD", provider="google_ads")
    assert [t.label for t in ga4] == ["Sessions", "Key events", "Revenue"]
    assert ga4[0].value == "110" and ga4[2].value == "140.00 USD"
    assert len(google) == 7 and google[0].label == "Impressions"
