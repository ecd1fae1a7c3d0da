"""A running pull's progress: rows so far against the previous comparable run's size, on the card and
the Sync page alike."""

from __future__ import annotations

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, SyncRun
from routy_app.services import catalog, run_history, run_progress


def test_percent_is_rows_over_the_previous_run_capped_below_done():
    assert run_progress.estimate_percent(420, 1000) == 42
    assert run_progress.estimate_percent(1500, 1000) == 99
    assert run_progress.estimate_percent(0, 1000) == 0
    assert run_progress.estimate_percent(10, None) is None
    assert run_progress.estimate_percent(10, 0) is None


def test_the_status_line_shows_a_percentage_or_rows_when_there_is_nothing_to_compare_with():
    assert run_progress.syncing_line(420, 1000) == "Syncing… 42 %"
    assert run_progress.syncing_line(1234, None) == "Syncing… 1,234 rows"
    assert run_progress.syncing_line(1, None) == "Syncing… 1 row"
    assert run_progress.syncing_line(0, None) == "Syncing…"


def test_the_sync_page_bar_moves_by_rows_and_by_level_without_a_previous_run():
    percent, text = run_history.progress("google_ads", "keyword", 850, 1000)
    assert percent == 85
    assert text == "Pulling keywords: 850 rows so far (about 85 % of the previous sync's 1,000 rows)"
    percent, text = run_history.progress("google_ads", "keyword", 850, None)
    assert percent == 75  # three of four levels read
    assert text == "Pulling keywords: 850 rows so far"


def _run(session, integration_id: int, trigger: str, status: str, rows: int) -> SyncRun:
    run = SyncRun(integration_id=integration_id, kind="pull", trigger=trigger, status=status, records_read=rows)
    session.add(run)
    session.commit()
    return run


def test_the_card_compares_with_the_last_successful_run_of_the_same_kind(db):
    with session_scope() as s:
        integration = Integration(
            traffic_source_id=1, provider="google_ads", status=IntegrationStatus.ACTIVE, account_id="1"
        )
        s.add(integration)
        s.commit()
        iid = int(integration.id or 0)
        _run(s, iid, "full", "success", 10_000)
        _run(s, iid, "schedule", "success", 2_000)
        _run(s, iid, "manual", "failed", 50)  # a failed run says nothing about the size
        running = _run(s, iid, "schedule", "running", 500)
        assert run_progress.previous_size(s, running) == 2_000
        card = catalog.card_of(s, iid)
        assert card is not None and card.syncing
        assert card.status_line == "Syncing… 25 %"
        full = SyncRun(integration_id=iid, kind="pull", trigger="full", status="running", records_read=9_000)
        s.add(full)
        s.commit()
        assert run_progress.estimate(s, full).percent == 90


def test_every_count_is_written_one_way():
    from decimal import Decimal

    from routy_app.services.metrics_view import count
    from routy_app.services.wording import number

    assert number(792) == "792"
    assert number(15_074_880) == "15,074,880"
    assert number(Decimal("278.125")) == "278.1"
    assert number(Decimal("791.96")) == "792"
    assert count(792_000_000) == "792"  # conversions are micros
    assert count(278_125_000) == "278.1"
    assert count(15_074_880_500_000) == "15,074,880.5"
    assert count(0) == "0"


def test_each_levels_rows_are_recorded_as_the_run_moves_through_the_levels(db):
    from routy_app.services import runs

    with session_scope() as s:
        integration = Integration(
            traffic_source_id=1, provider="google_ads", status=IntegrationStatus.ACTIVE, account_id="1"
        )
        s.add(integration)
        s.commit()
        iid = int(integration.id or 0)
    run_id = runs.open_run(iid, "pull", "manual")
    for level, total in (("campaign", 60), ("campaign", 120), ("ad_group", 700), ("ad_group", 1_140), ("ad", 1_300)):
        runs.update_progress(run_id, level, total)  # the engine reports the run's running total
    with session_scope() as s:
        run = s.get(SyncRun, run_id)
        assert run is not None
        per_level = runs.level_counts(run.level_rows)
    assert per_level == {"campaign": 120, "ad_group": 1_020, "ad": 160}
    _, text = run_history.progress("google_ads", "ad", 1_300, None, per_level)
    assert text == "Pulling ads: 1,300 rows so far: campaigns 120 · ad groups 1,020 · ads 160"


def test_unreadable_level_counts_are_none():
    from routy_app.services import runs

    assert runs.level_counts("not json") == {} and runs.level_counts("[1]") == {} and runs.level_counts(None) == {}
    assert runs.level_counts('{"campaign": 3, "x": "y", "b": true}') == {"campaign": 3}
