"""MetricsState events with values no page sends (issue 12, item 11): refused, and the tab keeps
working. Events come from the browser, so anything can arrive; a bad value used to stay in the
state and make every later event of the tab raise."""

from __future__ import annotations

import asyncio

import pytest
from reflex.state import State

from routy_app.services import metrics_queries
from routy_app.state.metrics import Crumb, MetricsState


@pytest.fixture
def metrics() -> MetricsState:
    state = State(_reflex_internal_init=True).get_substate(MetricsState.get_full_name().split(".")[1:])
    state._provider, state.level = "google_ads", "campaign"
    return state


def test_an_unknown_sort_column_is_refused_and_the_state_stays_usable(metrics):
    asyncio.run(MetricsState.sort.fn(metrics, "password_hash; DROP TABLE"))
    assert metrics.sort_by == "cost_micros" and metrics.sort_by in metrics_queries.SORTABLE
    asyncio.run(MetricsState.sort.fn(metrics, "clicks"))
    assert metrics.sort_by == "clicks"


@pytest.mark.parametrize("child_level", ["bogus", "campaign", "keyword", None])
def test_drilling_into_a_level_that_is_no_child_is_refused(metrics, child_level):
    asyncio.run(MetricsState.drill.fn(metrics, "123", "Name", child_level))
    assert (metrics.level, metrics.campaign_id, metrics.crumbs) == ("campaign", "", [])


def test_drilling_into_a_real_child_works(metrics):
    asyncio.run(MetricsState.drill.fn(metrics, "123", "Summer sale", "ad_group"))
    assert (metrics.level, metrics.campaign_id) == ("ad_group", "123")
    assert metrics.crumbs == [Crumb("Summer sale", "campaign", "", "")]


@pytest.mark.parametrize("index", [5, -1, "0", None])
def test_back_to_a_crumb_that_does_not_exist_changes_nothing(metrics, index):
    metrics.crumbs = [Crumb("Summer sale", "campaign", "", "")]
    metrics.level, metrics.campaign_id = "ad_group", "123"
    asyncio.run(MetricsState.back_to.fn(metrics, index))
    assert (metrics.level, metrics.campaign_id, len(metrics.crumbs)) == ("ad_group", "123", 1)


def test_switching_to_a_level_that_is_no_sibling_is_refused(metrics):
    metrics.level = "ad"
    asyncio.run(MetricsState.switch_child.fn(metrics, "campaign"))
    assert metrics.level == "ad"
