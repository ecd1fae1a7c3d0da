"""Meta's `facebook-business` SDK against the sandbox's Graph API (Marketing API and Conversions API).

Meta publishes no schema, so its SDK is the reference for what a client sends: cursor paging that
re-sends the request with `after`, insights across pages, and `EventRequest.execute()`, which posts
CAPI `data` form-encoded as a JSON array of JSON-encoded *strings*.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adsinsights import AdsInsights
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi, FacebookRequestError
from facebook_business.session import FacebookSession

from routy_app.config import Settings
from routy_app.sandbox.meta import graph as g
from tests.contract.conftest import LiveSandbox


def _default_meta_version() -> str:
    return Settings().meta_api_version


@pytest.fixture
def api(sandbox: LiveSandbox) -> Iterator[FacebookAdsApi]:
    """The SDK's default API object pointed at the sandbox (no crash reporter: it would phone home)."""
    session = FacebookSession(access_token=sandbox.meta_token().value)
    session.GRAPH = f"{sandbox.url}/graph"
    api = FacebookAdsApi(session, api_version=_default_meta_version())
    previous = FacebookAdsApi.get_default_api()
    FacebookAdsApi.set_default_api(api)
    yield api
    FacebookAdsApi.set_default_api(previous)


def test_ad_accounts_with_cursor_paging(api: FacebookAdsApi) -> None:
    """Two accounts per page: the SDK's cursor walks every page and the fields come back as asked."""
    fields = [
        AdAccount.Field.id,
        AdAccount.Field.account_id,
        AdAccount.Field.name,
        AdAccount.Field.currency,
        AdAccount.Field.timezone_name,
        AdAccount.Field.account_status,
    ]
    accounts = list(User(fbid="me", api=api).get_ad_accounts(fields=fields, params={"limit": 2}))
    assert [a[AdAccount.Field.id] for a in accounts] == [a.id for a in g.AD_ACCOUNTS]
    assert accounts[0][AdAccount.Field.currency] == g.AD_ACCOUNTS[0].currency
    assert accounts[0][AdAccount.Field.account_status] == 1


def test_insights_across_pages(api: FacebookAdsApi) -> None:
    """Daily campaign rows, five per page; the cursor collects every row of the range exactly once."""
    today = dt.date.today()
    since, until = today - dt.timedelta(days=6), today - dt.timedelta(days=1)
    fields = [
        AdsInsights.Field.campaign_id,
        AdsInsights.Field.campaign_name,
        AdsInsights.Field.impressions,
        AdsInsights.Field.clicks,
        AdsInsights.Field.spend,
        AdsInsights.Field.actions,
        AdsInsights.Field.account_currency,
    ]
    params = {
        "level": AdsInsights.Level.campaign,
        "time_increment": 1,
        "limit": 5,
        "time_range": {"since": since.isoformat(), "until": until.isoformat()},
    }
    rows = list(AdAccount(g.AD_ACCOUNTS[0].id, api=api).get_insights(fields=fields, params=params))
    days = (until - since).days + 1
    assert len(rows) == days * 3  # three campaigns per sandbox account
    assert len({(r["campaign_id"], r["date_start"]) for r in rows}) == len(rows)
    assert all(isinstance(r["spend"], str) for r in rows)


def test_event_request_execute(sandbox: LiveSandbox, api: FacebookAdsApi) -> None:
    """EventRequest.execute(): form-encoded `data` whose items are JSON strings, as the SDK sends them."""
    pixel = g.pixels_of(sandbox.state, g.AD_ACCOUNTS[0])[0]["id"]
    user = UserData(
        emails=["joe@example.com"],
        client_ip_address="203.0.113.7",
        client_user_agent="Mozilla/5.0 (X11; Linux x86_64)",
        fbc="fb.1.1554763741205.AbCdEf",
    )
    events = [
        Event(
            event_name="Purchase",
            event_time=int(time.time()) - 60,
            event_id=f"SDK-{i}",
            action_source=ActionSource.WEBSITE,
            event_source_url="https://shop.example/thanks",
            user_data=user,
            custom_data=CustomData(value=129.9 + i, currency="eur", order_id=f"SDK-{i}"),
        )
        for i in range(2)
    ]
    answer = EventRequest(events=events, pixel_id=pixel).execute()
    assert answer.events_received == 2
    received = sandbox.state.received["meta_ads"]
    assert [r["event_id"] for r in received] == ["SDK-0", "SDK-1"]
    assert received[0]["user_data"]["em"] == [UserData(email="joe@example.com").normalize()["em"][0]]


def test_a_bad_event_from_the_sdk_is_refused_with_graph_error_100(sandbox: LiveSandbox, api: FacebookAdsApi) -> None:
    pixel = g.pixels_of(sandbox.state, g.AD_ACCOUNTS[0])[0]["id"]
    old = Event(
        event_name="Purchase",
        event_time=int(time.time()) - 30 * 86400,
        event_id="OLD",
        action_source=ActionSource.SYSTEM_GENERATED,
        user_data=UserData(external_id="crm-1"),
        custom_data=CustomData(value=1, currency="usd"),
    )
    with pytest.raises(FacebookRequestError) as caught:
        EventRequest(events=[old], pixel_id=pixel).execute()
    assert caught.value.api_error_code() == 100
    assert sandbox.state.received["meta_ads"] == []


def test_removed_attribution_windows_are_refused(api: FacebookAdsApi) -> None:
    """7d_view / 28d_view left Ads Insights on 2026-01-12; the SDK still lists them, Graph refuses them."""
    today = dt.date.today()
    params = {
        "level": AdsInsights.Level.campaign,
        "time_increment": 1,
        "time_range": {"since": (today - dt.timedelta(days=3)).isoformat(), "until": today.isoformat()},
        "action_attribution_windows": [
            AdsInsights.ActionAttributionWindows.value_7d_click,
            AdsInsights.ActionAttributionWindows.value_28d_view,
        ],
    }
    with pytest.raises(FacebookRequestError) as caught:
        list(AdAccount(g.AD_ACCOUNTS[0].id, api=api).get_insights(fields=[AdsInsights.Field.spend], params=params))
    assert caught.value.api_error_code() == 100 and "28d_view" in caught.value.api_error_message()
    ok = {
        **params,
        "action_attribution_windows": [
            AdsInsights.ActionAttributionWindows.value_7d_click,
            AdsInsights.ActionAttributionWindows.value_1d_view,
        ],
    }
    assert list(AdAccount(g.AD_ACCOUNTS[0].id, api=api).get_insights(fields=[AdsInsights.Field.spend], params=ok))


def test_field_names_are_checked_against_the_sdk_lists(api: FacebookAdsApi) -> None:
    """A field the SDK lists but the sandbox does not compute is accepted (left out); an unknown one is refused."""
    account = AdAccount(g.AD_ACCOUNTS[0].id, api=api)
    rows = list(
        account.get_insights(fields=[AdsInsights.Field.spend, AdsInsights.Field.reach], params={"level": "account"})
    )
    assert rows and "spend" in rows[0]
    with pytest.raises(FacebookRequestError) as caught, pytest.warns(UserWarning, match="not_a_field"):
        list(account.get_insights(fields=["spend", "not_a_field"], params={"level": "account"}))
    assert caught.value.api_error_code() == 100
    with pytest.raises(FacebookRequestError), pytest.warns(UserWarning, match="not_a_field"):
        list(User(fbid="me", api=api).get_ad_accounts(fields=["name", "not_a_field"]))
