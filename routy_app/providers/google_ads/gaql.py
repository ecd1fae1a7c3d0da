"""The Google Ads Query Language queries Routy runs: one per metrics level, accounts, conversion actions."""

from __future__ import annotations

_METRICS = (
    "segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
    "metrics.conversions_value"
)
LEVEL_QUERIES: dict[str, str] = {
    "campaign": f"SELECT campaign.id, campaign.name, campaign.status, {_METRICS} FROM campaign",
    "ad_group": f"SELECT campaign.id, campaign.name, ad_group.id, ad_group.name, {_METRICS} FROM ad_group",
    "ad": "SELECT campaign.id, campaign.name, ad_group.id, ad_group.name, ad_group_ad.ad.id, ad_group_ad.ad.name, "
    f"ad_group_ad.status, {_METRICS} FROM ad_group_ad",
    "keyword": "SELECT campaign.id, campaign.name, ad_group.id, ad_group.name, ad_group_criterion.criterion_id, "
    f"ad_group_criterion.keyword.text, ad_group_criterion.keyword.match_type, {_METRICS} FROM keyword_view",
}
CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone, "
    "customer.manager, customer.test_account, customer.status FROM customer"
)
CHILDREN_QUERY = (
    "SELECT customer_client.client_customer, customer_client.id, customer_client.level, "
    "customer_client.manager, customer_client.descriptive_name, customer_client.currency_code, "
    "customer_client.time_zone, customer_client.status FROM customer_client "
    "WHERE customer_client.level <= 1"
)
CONVERSION_ACTION_QUERY = (
    "SELECT conversion_action.id, conversion_action.name, conversion_action.type, "
    "conversion_action.status, conversion_action.category, conversion_action.owner_customer, "
    "conversion_action.resource_name FROM conversion_action"
)
CONVERSION_ACTIONS_QUERY = (
    f"{CONVERSION_ACTION_QUERY} WHERE conversion_action.type = 'UPLOAD_CLICKS' AND conversion_action.status = 'ENABLED'"
)
