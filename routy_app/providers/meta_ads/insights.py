"""Insights rows as MetricRecords: which fields Routy asks for at each level and how a row is read.

Our "ad_group" level is Meta's "adset". Conversions count the actions in CONVERSION_ACTION_TYPES
(purchase, lead, complete_registration): the aggregate types, not their `offsite_conversion.fb_pixel_*`
/ `omni_*` duplicates, which would double count.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from routy_app.providers.meta_ads.graph import to_micros
from routy_app.providers.values import Account, Level, MetricRecord

META_LEVEL = {"campaign": "campaign", "ad_group": "adset", "ad": "ad"}
CONVERSION_ACTION_TYPES = frozenset({"purchase", "lead", "complete_registration"})


def insights_params(level: Level, start: dt.date, end: dt.date) -> dict[str, Any]:
    fields = ["campaign_id", "campaign_name"]
    if level in ("ad_group", "ad"):
        fields += ["adset_id", "adset_name"]
    if level == "ad":
        fields += ["ad_id", "ad_name"]
    fields += ["impressions", "clicks", "spend", "actions", "action_values", "account_currency"]
    return {
        "level": META_LEVEL[level],
        "fields": ",".join(fields),
        "time_range": json.dumps({"since": start.isoformat(), "until": end.isoformat()}, separators=(",", ":")),
        "time_increment": 1,
    }


def record(row: dict[str, Any], level: Level, account: Account) -> MetricRecord:
    def total(key: str) -> int:
        return sum(
            to_micros(a.get("value"))
            for a in row.get(key) or []
            if isinstance(a, dict) and a.get("action_type") in CONVERSION_ACTION_TYPES
        )

    return MetricRecord(
        level=level,
        date=dt.date.fromisoformat(row["date_start"]),
        campaign_id=str(row.get("campaign_id") or ""),
        campaign_name=row.get("campaign_name") or "",
        ad_group_id=str(row.get("adset_id") or ""),
        ad_group_name=row.get("adset_name") or "",
        ad_id=str(row.get("ad_id") or ""),
        ad_name=row.get("ad_name") or "",
        impressions=int(row.get("impressions") or 0),
        clicks=int(row.get("clicks") or 0),
        cost_micros=to_micros(row.get("spend")),
        conversions_micros=total("actions"),
        conversion_value_micros=total("action_values"),
        currency=row.get("account_currency") or account.currency,
    )
