"""The emulated Google Ads world: seeded customers, their entity trees, conversion actions and numbers.

Customers are fixed (so tests and the browser flow can name them); everything below a customer is a
pure function of (seed, customer, indices), so a report row is computed when it is requested and the
emulator never holds a report in memory. Sizes come from SandboxConfig.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from routy_app.sandbox.core import data
from routy_app.sandbox.core.state import SandboxConfig


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    currency: str
    time_zone: str
    manager: bool = False
    parent: str | None = None  # the manager this client sits under
    test_account: bool = False
    status: str = "ENABLED"


MANAGER_ID = "9000000001"
CUSTOMERS: dict[str, Customer] = {
    c.id: c
    for c in (
        Customer("1234567890", "Routy Shop US", "USD", "America/New_York"),
        Customer("2345678901", "Routy Shop UK", "GBP", "Europe/London"),
        Customer(MANAGER_ID, "Routy Agency (manager)", "USD", "America/Los_Angeles", manager=True),
        Customer("5550000001", "Shop DE", "EUR", "Europe/Berlin", parent=MANAGER_ID),
        Customer("5550000002", "Shop JP", "JPY", "Asia/Tokyo", parent=MANAGER_ID),
    )
}
DIRECTLY_ACCESSIBLE = ("1234567890", "2345678901", MANAGER_ID)

CAMPAIGN_NAMES = ("Brand", "Generic", "Competitors", "Shopping", "Remarketing", "Performance Max")
KEYWORD_WORDS = (
    "running shoes",
    "trail shoes",
    "buy sneakers",
    "shoe store",
    "walking boots",
    "sale shoes",
    "kids shoes",
    "waterproof boots",
    "sandals",
    "shoe repair",
)
MATCH_TYPES = ("EXACT", "PHRASE", "BROAD")
CONVERSION_ACTIONS = (  # (name, type, category, status)
    ("CRM purchase", "UPLOAD_CLICKS", "PURCHASE", "ENABLED"),
    ("Qualified lead", "UPLOAD_CLICKS", "QUALIFIED_LEAD", "ENABLED"),
    ("Website purchase (tag)", "WEBPAGE", "PURCHASE", "ENABLED"),
    ("Old CRM import", "UPLOAD_CLICKS", "PURCHASE", "REMOVED"),
)
MANAGER_CONVERSION_ACTIONS = (  # owned by a manager, shared with its clients (cross-account conversion tracking)
    ("Agency CRM purchase (cross-account)", "UPLOAD_CLICKS", "PURCHASE", "ENABLED"),
)


def can_access(customer_id: str, login_customer_id: str | None) -> bool:
    """Direct access needs no login-customer-id; a manager's clients need the manager's id in it."""
    customer = CUSTOMERS.get(customer_id)
    if customer is None:
        return False
    if not login_customer_id or login_customer_id == customer_id:
        return customer_id in DIRECTLY_ACCESSIBLE
    login = CUSTOMERS.get(login_customer_id)
    return bool(login and login.manager and login.id in DIRECTLY_ACCESSIBLE and customer.parent == login.id)


def today_in(customer: Customer) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(customer.time_zone)).date()


def history(customer: Customer, config: SandboxConfig) -> tuple[dt.date, dt.date]:
    """The days with data: the last `config.days` days up to today in the account's time zone."""
    today = today_in(customer)
    return today - dt.timedelta(days=max(1, config.days) - 1), today


def _owned_actions(seed: int, customer: Customer) -> list[dict[str, Any]]:
    table = MANAGER_CONVERSION_ACTIONS if customer.manager else CONVERSION_ACTIONS
    out = []
    for i, (name, kind, category, status) in enumerate(table):
        action_id = int(data.entity_id(seed, customer.id, "conversion_action", i, digits=9))
        out.append(
            {
                "conversion_action.id": action_id,
                "conversion_action.name": name,
                "conversion_action.type": kind,
                "conversion_action.category": category,
                "conversion_action.status": status,
                "conversion_action.owner_customer": f"customers/{customer.id}",
                "conversion_action.resource_name": f"customers/{customer.id}/conversionActions/{action_id}",
            }
        )
    return out


def conversion_actions(seed: int, customer_id: str) -> list[dict[str, Any]]:
    """The conversion actions a `conversion_action` query of this customer returns, as field contexts.

    A client under a manager also sees the manager's actions (cross-account conversion tracking), with
    `owner_customer` naming the manager: the Google Ads API lists them, Data Manager refuses them unless
    the operating account is their owner.
    """
    customer = CUSTOMERS.get(customer_id)
    if customer is None:
        return []
    actions = _owned_actions(seed, customer)
    parent = CUSTOMERS.get(customer.parent or "")
    if parent is not None:
        actions += _owned_actions(seed, parent)
    return actions


def owned_conversion_actions(seed: int, customer_id: str) -> list[dict[str, Any]]:
    """Only the actions `customer_id` owns: the ones Data Manager accepts with it as operating account."""
    return [
        a
        for a in conversion_actions(seed, customer_id)
        if a["conversion_action.owner_customer"] == f"customers/{customer_id}"
    ]


# How a resource's daily numbers compare with a campaign's (an account is bigger, an ad or a keyword smaller).
METRIC_SCALE = {"customer": 3.0, "campaign": 1.0, "ad_group": 0.5, "ad_group_ad": 0.3, "keyword_view": 0.2}


# ---------------------------------------------------------------- entities


def customer_ctx(customer: Customer) -> dict[str, Any]:
    return {
        "customer.id": int(customer.id),
        "customer.descriptive_name": customer.name,
        "customer.currency_code": customer.currency,
        "customer.time_zone": customer.time_zone,
        "customer.manager": customer.manager,
        "customer.test_account": customer.test_account,
        "customer.status": customer.status,
        "customer.resource_name": f"customers/{customer.id}",
        "customer.conversion_tracking_setting.google_ads_conversion_customer": f"customers/{customer.id}",
    }


def customer_client_rows(customer: Customer) -> list[dict[str, Any]]:
    """Level 0 is the queried customer itself; level 1 its direct clients (for a manager)."""
    rows = []
    members = [(customer, 0)] + [(c, 1) for c in CUSTOMERS.values() if c.parent == customer.id]
    for member, level in members:
        rows.append(
            {
                **customer_ctx(customer),
                "customer_client.client_customer": f"customers/{member.id}",
                "customer_client.id": int(member.id),
                "customer_client.level": level,
                "customer_client.manager": member.manager,
                "customer_client.descriptive_name": member.name,
                "customer_client.currency_code": member.currency,
                "customer_client.time_zone": member.time_zone,
                "customer_client.status": member.status,
                "customer_client.test_account": member.test_account,
                "customer_client.hidden": False,
                "customer_client.resource_name": f"customers/{customer.id}/customerClients/{member.id}",
            }
        )
    return rows


class EntityTree:
    """Index-addressable campaigns / ad groups / ads / keywords of one customer (nothing stored)."""

    def __init__(self, customer: Customer, config: SandboxConfig) -> None:
        self.customer = customer
        self.seed = config.seed
        self.c = 0 if customer.manager else max(0, config.campaigns_per_account)
        self.g = max(0, config.ad_groups_per_campaign)
        self.a = max(0, config.ads_per_ad_group)
        self.k = max(0, config.keywords_per_ad_group)
        self.base = customer_ctx(customer)

    def count(self, resource: str) -> int:
        return {
            "customer": 1,
            "campaign": self.c,
            "ad_group": self.c * self.g,
            "ad_group_ad": self.c * self.g * self.a,
            "keyword_view": self.c * self.g * self.k,
        }[resource]

    def _campaign(self, ci: int) -> dict[str, Any]:
        cid = self.customer.id
        camp_id = int(data.entity_id(self.seed, cid, "campaign", ci))
        base_name = CAMPAIGN_NAMES[ci % len(CAMPAIGN_NAMES)]
        name = base_name if ci < len(CAMPAIGN_NAMES) else f"{base_name} {ci // len(CAMPAIGN_NAMES) + 1}"
        return {
            **self.base,
            "campaign.id": camp_id,
            "campaign.name": name,
            "campaign.status": "PAUSED" if ci % 5 == 4 else "ENABLED",
            "campaign.advertising_channel_type": "SHOPPING" if base_name == "Shopping" else "SEARCH",
            "campaign.resource_name": f"customers/{cid}/campaigns/{camp_id}",
        }

    def _ad_group(self, ci: int, gi: int) -> dict[str, Any]:
        ctx = self._campaign(ci)
        cid = self.customer.id
        ag_id = int(data.entity_id(self.seed, cid, "ad_group", ci, gi))
        ctx.update(
            {
                "ad_group.id": ag_id,
                "ad_group.name": f"{ctx['campaign.name']} - Group {gi + 1}",
                "ad_group.status": "ENABLED",
                "ad_group.campaign": ctx["campaign.resource_name"],
                "ad_group.type": "SEARCH_STANDARD",
                "ad_group.resource_name": f"customers/{cid}/adGroups/{ag_id}",
            }
        )
        return ctx

    def entity(self, resource: str, index: int) -> tuple[str, dict[str, Any]]:
        """(metrics key, field context) of the index-th entity of `resource`."""
        cid = self.customer.id
        if resource == "customer":
            return f"{cid}/customer", dict(self.base)
        if resource == "campaign":
            return f"{cid}/campaign/{index}", self._campaign(index)
        if resource == "ad_group":
            ci, gi = divmod(index, self.g)
            return f"{cid}/ad_group/{ci}/{gi}", self._ad_group(ci, gi)
        if resource == "ad_group_ad":
            rest, ai = divmod(index, self.a)
            ci, gi = divmod(rest, self.g)
            ctx = self._ad_group(ci, gi)
            ad_id = int(data.entity_id(self.seed, cid, "ad", ci, gi, ai, digits=12))
            ctx.update(
                {
                    "ad_group_ad.ad.id": ad_id,
                    "ad_group_ad.ad.name": f"Responsive search ad {ai + 1}",
                    "ad_group_ad.ad.type": "RESPONSIVE_SEARCH_AD",
                    "ad_group_ad.ad.resource_name": f"customers/{cid}/ads/{ad_id}",
                    "ad_group_ad.status": "ENABLED",
                    "ad_group_ad.ad_group": ctx["ad_group.resource_name"],
                    "ad_group_ad.resource_name": f"customers/{cid}/adGroupAds/{ctx['ad_group.id']}~{ad_id}",
                }
            )
            return f"{cid}/ad/{ci}/{gi}/{ai}", ctx
        if resource == "keyword_view":
            rest, ki = divmod(index, self.k)
            ci, gi = divmod(rest, self.g)
            ctx = self._ad_group(ci, gi)
            crit = int(data.entity_id(self.seed, cid, "keyword", ci, gi, ki, digits=12))
            word = KEYWORD_WORDS[(ci + gi + ki) % len(KEYWORD_WORDS)]
            text = word if ki < len(KEYWORD_WORDS) else f"{word} {ki // len(KEYWORD_WORDS) + 1}"
            ag = ctx["ad_group.id"]
            ctx.update(
                {
                    "ad_group_criterion.criterion_id": crit,
                    "ad_group_criterion.keyword.text": text,
                    "ad_group_criterion.keyword.match_type": MATCH_TYPES[ki % len(MATCH_TYPES)],
                    "ad_group_criterion.status": "ENABLED",
                    "ad_group_criterion.type": "KEYWORD",
                    "ad_group_criterion.resource_name": f"customers/{cid}/adGroupCriteria/{ag}~{crit}",
                    "keyword_view.resource_name": f"customers/{cid}/keywordViews/{ag}~{crit}",
                }
            )
            return f"{cid}/keyword/{ci}/{gi}/{ki}", ctx
        raise KeyError(resource)


def metrics_for(seed: int, key: str, resource: str, days: list[dt.date]) -> dict[str, Any]:
    """Summed daily metrics of one entity over `days` (one day when the report is segmented by date)."""
    impressions = clicks = cost = 0
    conversions = value = 0.0
    scale = METRIC_SCALE.get(resource, 1.0)
    for day in days:
        m = data.daily_metrics(seed, key, day, scale)
        impressions += int(m["impressions"])
        clicks += int(m["clicks"])
        cost += int(m["cost_micros"])
        conversions += float(m["conversions"])
        value += float(m["conversions_value"])
    conversions, value = round(conversions, 2), round(value, 2)
    return {
        "metrics.impressions": impressions,
        "metrics.clicks": clicks,
        "metrics.cost_micros": cost,
        "metrics.conversions": conversions,
        "metrics.conversions_value": value,
        "metrics.all_conversions": conversions,
        "metrics.ctr": clicks / impressions if impressions else 0.0,
        "metrics.average_cpc": cost / clicks if clicks else 0.0,
    }
