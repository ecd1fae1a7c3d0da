"""The emulated Meta ads world behind Ads Insights: entities, their daily numbers, and rows as Graph writes them.

Every account has campaigns, ad sets and ads (sizes from SandboxConfig) whose numbers are a pure function
of (seed, entity, day) (sandbox/core/data.py), so a report row is computed from its offset on the fly and
a million-row report costs no memory. Rows follow the wire format: every number a string, `spend` a
decimal string, `actions`/`action_values` arrays, `date_start`/`date_stop`.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from routy_app.sandbox.core import data
from routy_app.sandbox.core.state import SandboxConfig
from routy_app.sandbox.meta import graph as g

LEVELS = ("account", "campaign", "adset", "ad")
ENTITY_FIELDS = {
    "account_id": "account",
    "account_name": "account",
    "campaign_id": "campaign",
    "campaign_name": "campaign",
    "adset_id": "adset",
    "adset_name": "adset",
    "ad_id": "ad",
    "ad_name": "ad",
}
METRIC_FIELDS = {
    "impressions",
    "clicks",
    "spend",
    "actions",
    "action_values",
    "ctr",
    "cpc",
    "cpm",
    "account_currency",
    "date_start",
    "date_stop",
}  # what the sandbox computes; other valid fields
# (any name in the SDK's AdsInsights.Field) are accepted and left out of the rows.


@dataclass(frozen=True)
class Entity:
    """One row subject at a level; `weight` (its number of ads) scales its numbers."""

    ids: dict[str, tuple[str, str]]  # level -> (id, name), for this level and its parents
    key: str  # the entity's own id: its metrics are a pure function of (seed, key, day)
    weight: int = 1


def entities(cfg: SandboxConfig, account: g.AdAccount, level: str) -> list[Entity]:
    """The level's entities in a stable order (cached: size = campaigns x ad sets x ads at most)."""
    return _entities(
        cfg.seed, account, level, cfg.campaigns_per_account, cfg.ad_groups_per_campaign, cfg.ads_per_ad_group
    )


@functools.lru_cache(maxsize=64)
def _entities(seed: int, account: g.AdAccount, level: str, n_campaigns: int, n_adsets: int, n_ads: int) -> list[Entity]:
    acct = {"account": (account.account_id, account.name)}
    if level == "account":
        return [Entity(acct, account.account_id, n_campaigns * n_adsets * n_ads)]
    out: list[Entity] = []
    for c in range(n_campaigns):
        campaign = (
            data.entity_id(seed, "meta", account.account_id, "campaign", c, digits=17),
            f"Campaign {c + 1} - {account.name}",
        )
        if level == "campaign":
            out.append(Entity({**acct, "campaign": campaign}, campaign[0], n_adsets * n_ads))
            continue
        for s in range(n_adsets):
            adset = (
                data.entity_id(seed, "meta", account.account_id, "adset", c, s, digits=17),
                f"Ad set {c + 1}.{s + 1}",
            )
            if level == "adset":
                out.append(Entity({**acct, "campaign": campaign, "adset": adset}, adset[0], n_ads))
                continue
            for a in range(n_ads):
                ad = (
                    data.entity_id(seed, "meta", account.account_id, "ad", c, s, a, digits=17),
                    f"Ad {c + 1}.{s + 1}.{a + 1}",
                )
                out.append(Entity({**acct, "campaign": campaign, "adset": adset, "ad": ad}, ad[0]))
    return out


def entity_metrics(seed: int, entity: Entity, day: dt.date) -> dict[str, int]:
    """One entity-day: counts and money in cents (Meta reports whole actions, unlike Google).

    Each level's rows are generated directly (scaled by the number of ads below), not summed from
    its children, so a row costs the same at every level; levels are plausible, not additive.
    """
    m = data.daily_metrics(seed, "meta:" + entity.key, day, scale=entity.weight)
    total = round(float(m["conversions"]))
    purchase = (total + 1) // 2
    clicks, impressions = int(m["clicks"]), int(m["impressions"])
    return {
        "impressions": impressions,
        "clicks": clicks,
        "spend_cents": int(m["cost_micros"]) // 10_000,
        "purchase": purchase,
        "lead": total - purchase,
        "complete_registration": (impressions + clicks) % 3 if clicks else 0,
        "purchase_value_cents": round(float(m["conversions_value"]) * 100 * purchase / total) if total else 0,
        "link_click": int(clicks * 0.9),
        "landing_page_view": int(clicks * 0.7),
    }


def sum_metrics(seed: int, entity: Entity, days: list[dt.date]) -> dict[str, int]:
    total: dict[str, int] = {}
    for day in days:
        for key, value in entity_metrics(seed, entity, day).items():
            total[key] = total.get(key, 0) + value
    return total


def money(cents: int) -> str:
    """A decimal string the way Graph writes money ("43.12", "43.1", "43")."""
    text = f"{cents // 100}.{cents % 100:02d}"
    return text.rstrip("0").rstrip(".")


def ratio(num: float, den: float, scale: float = 1.0) -> str:
    return f"{(num / den * scale):.6f}".rstrip("0").rstrip(".") if den else "0"


def format_row(
    entity: Entity, m: dict[str, int], fields: list[str], level: str, currency: str, since: dt.date, until: dt.date
) -> dict[str, Any]:
    """The row as Graph sends it: ids/names the level has, numbers as strings, absent actions omitted."""
    row: dict[str, Any] = {}
    actions = [
        (k, m[k]) for k in ("link_click", "landing_page_view", "purchase", "lead", "complete_registration") if m.get(k)
    ]
    if m.get("purchase"):  # pixel and omni duplicates of purchase, as the real API reports them
        actions += [("offsite_conversion.fb_pixel_purchase", m["purchase"]), ("omni_purchase", m["purchase"])]
    values = (
        [
            ("purchase", m["purchase_value_cents"]),
            ("offsite_conversion.fb_pixel_purchase", m["purchase_value_cents"]),
            ("omni_purchase", m["purchase_value_cents"]),
        ]
        if m.get("purchase_value_cents")
        else []
    )
    for name in fields:
        owner = ENTITY_FIELDS.get(name)
        if owner is not None:
            if owner in entity.ids and LEVELS.index(owner) <= LEVELS.index(level):
                row[name] = entity.ids[owner][0 if name.endswith("_id") else 1]
        elif name == "impressions" or name == "clicks":
            row[name] = str(m[name])
        elif name == "spend":
            row[name] = money(m["spend_cents"])
        elif name == "ctr":
            row[name] = ratio(m["clicks"], m["impressions"], 100)
        elif name == "cpc":
            row[name] = ratio(m["spend_cents"] / 100, m["clicks"])
        elif name == "cpm":
            row[name] = ratio(m["spend_cents"] / 100, m["impressions"], 1000)
        elif name == "account_currency":
            row[name] = currency
        elif name == "actions" and actions:
            row[name] = [{"action_type": k, "value": str(v)} for k, v in actions]
        elif name == "action_values" and values:
            row[name] = [{"action_type": k, "value": money(v)} for k, v in values]
    row["date_start"], row["date_stop"] = since.isoformat(), until.isoformat()
    return row


# ---------------------------------------------------------------- the query


@dataclass(frozen=True)
class Query:
    """A parsed insights request; the report is a pure function of it (plus the sandbox seed)."""

    account: g.AdAccount
    level: str
    fields: tuple[str, ...]
    since: dt.date
    until: dt.date
    daily: bool

    def days(self) -> list[dt.date]:
        return list(data.date_range(self.since, self.until))

    def size(self, cfg: SandboxConfig) -> tuple[int, int]:
        """(entities, rows) without building any row."""
        n = len(entities(cfg, self.account, self.level))
        day_count = max(0, (self.until - self.since).days + 1)
        if day_count == 0:
            return n, 0
        return n, n * day_count if self.daily else n

    def rows(self, cfg: SandboxConfig, offset: int, limit: int) -> list[dict[str, Any]]:
        """Only rows [offset, offset+limit): date-major, entity-minor."""
        ents = entities(cfg, self.account, self.level)
        n, total = self.size(cfg)
        out = []
        for index in range(offset, min(offset + limit, total)):
            day_index, ent_index = divmod(index, n)
            entity = ents[ent_index]
            if self.daily:
                day = self.since + dt.timedelta(days=day_index)
                m, start, stop = entity_metrics(cfg.seed, entity, day), day, day
            else:
                m, start, stop = sum_metrics(cfg.seed, entity, self.days()), self.since, self.until
            out.append(format_row(entity, m, list(self.fields), self.level, self.account.currency, start, stop))
        return out


def history(cfg: SandboxConfig) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=cfg.days - 1), today
