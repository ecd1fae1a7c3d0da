"""A Force Full Sync stopped part-way by a refused authorisation reports true counts (issue 18, item 7):
every row it read is counted as new or updated, and nothing of the unfinished level is swept."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, MetricRow, SyncRun
from routy_app.services import integrations
from routy_app.services.pull import run_pull
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture


def _rows(integration_id: int) -> int:
    with session_scope() as session:
        return int(
            session.exec(
                select(func.count()).select_from(MetricRow).where(MetricRow.integration_id == integration_id)
            ).one()
        )


async def test_a_full_sync_stopped_by_a_refused_authorisation_counts_every_row_it_read(hub, sandbox_state):
    cfg = sandbox_state.config  # 120 keywords x 90 days: the keyword level takes two pages of 10,000 rows
    cfg.days, cfg.campaigns_per_account, cfg.ad_groups_per_campaign = 90, 10, 4
    cfg.ads_per_ad_group, cfg.keywords_per_ad_group = 1, 3
    iid = await connected_integration(hub, "google_ads")
    assert (await run_pull(hub, iid, "manual")).status == "success"
    stored = _rows(iid)
    with session_scope() as session:
        creds = integrations.load_credentials(session.get(Integration, iid))

    def revoke_after_the_first_keyword_page(level: str, _rows_so_far: int) -> None:
        if level == "keyword":
            sandbox_state.tokens.revoke(creds.refresh_token)  # and the access tokens minted from it

    summary = await run_pull(hub, iid, "full", on_progress=revoke_after_the_first_keyword_page)
    assert summary.status == "partial" and summary.failed_levels == ["keyword"] and "refused" in summary.error
    assert summary.read == 900 + 3600 + 3600 + 10_000  # three whole levels and one page of keywords
    assert (summary.inserted, summary.updated, summary.deleted) == (0, summary.read, 0)  # every row was there
    assert f"{summary.read:,} rows read: 0 new, {summary.read:,} updated" in summary.message
    with session_scope() as session:
        run = session.get(SyncRun, summary.run_id)
        assert (run.records_read, run.records_inserted, run.records_updated) == (summary.read, 0, summary.read)
        assert session.get(Integration, iid).status == IntegrationStatus.RECONNECT_REQUIRED
    assert _rows(iid) == stored  # the unfinished keyword level was not swept
