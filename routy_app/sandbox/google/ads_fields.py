"""The Google Ads API field catalog the emulator serves, and result rows rendered as REST JSON.

Why apart from the data: which fields exist, which resource may select which, and how a row is written
on the wire (nested camelCase, int64 as strings, zero metrics left out as proto3 JSON does) are the API's
rules; the seeded customers and their numbers (ads_data.py) are the emulator's own world.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

FieldType = Literal["int64", "double", "bool", "str"]

FIELDS: dict[str, FieldType] = {
    "customer.id": "int64",
    "customer.descriptive_name": "str",
    "customer.currency_code": "str",
    "customer.time_zone": "str",
    "customer.manager": "bool",
    "customer.test_account": "bool",
    "customer.status": "str",
    "customer.resource_name": "str",
    "customer.conversion_tracking_setting.google_ads_conversion_customer": "str",
    "customer_client.client_customer": "str",
    "customer_client.id": "int64",
    "customer_client.level": "int64",
    "customer_client.manager": "bool",
    "customer_client.descriptive_name": "str",
    "customer_client.currency_code": "str",
    "customer_client.time_zone": "str",
    "customer_client.status": "str",
    "customer_client.test_account": "bool",
    "customer_client.hidden": "bool",
    "customer_client.resource_name": "str",
    "campaign.id": "int64",
    "campaign.name": "str",
    "campaign.status": "str",
    "campaign.advertising_channel_type": "str",
    "campaign.resource_name": "str",
    "ad_group.id": "int64",
    "ad_group.name": "str",
    "ad_group.status": "str",
    "ad_group.campaign": "str",
    "ad_group.type": "str",
    "ad_group.resource_name": "str",
    "ad_group_ad.ad.id": "int64",
    "ad_group_ad.ad.name": "str",
    "ad_group_ad.ad.type": "str",
    "ad_group_ad.ad.resource_name": "str",
    "ad_group_ad.status": "str",
    "ad_group_ad.ad_group": "str",
    "ad_group_ad.resource_name": "str",
    "ad_group_criterion.criterion_id": "int64",
    "ad_group_criterion.keyword.text": "str",
    "ad_group_criterion.keyword.match_type": "str",
    "ad_group_criterion.status": "str",
    "ad_group_criterion.type": "str",
    "ad_group_criterion.resource_name": "str",
    "keyword_view.resource_name": "str",
    "conversion_action.id": "int64",
    "conversion_action.name": "str",
    "conversion_action.status": "str",
    "conversion_action.type": "str",
    "conversion_action.category": "str",
    "conversion_action.owner_customer": "str",
    "conversion_action.resource_name": "str",
    "segments.date": "str",
    "metrics.impressions": "int64",
    "metrics.clicks": "int64",
    "metrics.cost_micros": "int64",
    "metrics.conversions": "double",
    "metrics.conversions_value": "double",
    "metrics.all_conversions": "double",
    "metrics.ctr": "double",
    "metrics.average_cpc": "double",
}

# FROM resource -> (resources whose fields may be selected, whether metrics/segments are allowed)
RESOURCES: dict[str, tuple[frozenset[str], bool]] = {
    "customer": (frozenset({"customer"}), True),
    "customer_client": (frozenset({"customer_client", "customer"}), False),
    "campaign": (frozenset({"campaign", "customer"}), True),
    "ad_group": (frozenset({"ad_group", "campaign", "customer"}), True),
    "ad_group_ad": (frozenset({"ad_group_ad", "ad_group", "campaign", "customer"}), True),
    "keyword_view": (frozenset({"keyword_view", "ad_group_criterion", "ad_group", "campaign", "customer"}), True),
    "conversion_action": (frozenset({"conversion_action", "customer"}), False),
}


def resource_of(field_name: str) -> str:
    return field_name.split(".", 1)[0]


@functools.cache
def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@functools.cache
def camel_path(field_name: str) -> str:
    """`ad_group_ad.ad.resource_name` -> `adGroupAd.ad.resourceName` (REST JSON names)."""
    return ".".join(_camel(part) for part in field_name.split("."))


@functools.lru_cache(maxsize=256)
def _projection(
    select: tuple[str, ...], from_resource: str
) -> tuple[tuple[str, ...], bool, tuple[tuple[str, str, tuple[str, ...]], ...]]:
    """Per query (not per row): resources needing a resourceName, and each field's type and JSON path."""
    resources = {resource_of(f) for f in select if not f.startswith(("metrics.", "segments."))} | {from_resource}
    nested_ad = any(f.startswith("ad_group_ad.ad.") for f in select)
    fields = tuple((f, FIELDS[f], tuple(camel_path(f).split("."))) for f in select)
    return tuple(sorted(resources)), nested_ad, fields


def to_json(
    ctx: dict[str, Any], select: list[str], from_resource: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One result row in REST JSON: nested camelCase, int64 as strings, zero metrics omitted.

    `extra` holds the per-row values (segments, metrics) that take precedence over the entity's `ctx`.
    """
    extra = extra or {}
    resources, nested_ad, fields = _projection(tuple(select), from_resource)
    row: dict[str, Any] = {}
    for res in resources:
        name = ctx.get(f"{res}.resource_name")
        if name:
            row.setdefault(_camel(res), {})["resourceName"] = name
    if nested_ad:
        row.setdefault("adGroupAd", {}).setdefault("ad", {})["resourceName"] = ctx["ad_group_ad.ad.resource_name"]
    for fname, kind, parts in fields:
        value = extra[fname] if fname in extra else ctx.get(fname)
        if value is None or (not value and parts[0] == "metrics"):
            continue  # proto3 JSON: a zero metric is absent
        if kind == "int64":
            value = str(int(value))
        elif kind == "double":
            value = float(value)
        node = row
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return row
