"""Provider key -> card metadata and adapter. The Integrations tab renders from `PROVIDERS`."""

from __future__ import annotations

import importlib

import httpx

from routy_app.providers.base import Provider, ProviderInfo
from routy_app.providers.endpoints import Endpoints
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy

GOOGLE_ADS = ProviderInfo(
    key="google_ads",
    name="Google Ads",
    description="Pull campaign, ad group, ad and keyword metrics; push offline conversions via the Data Manager API.",
    logo="/logos/google_ads.svg",
    auth="oauth",
    capabilities=frozenset({"pull", "push"}),
    levels=("campaign", "ad_group", "ad", "keyword"),
    push_batch_limit=2000,
    push_window_days=90,
)
META_ADS = ProviderInfo(
    key="meta_ads",
    name="Meta Ads (Facebook Ads)",
    description="Pull campaign, ad set and ad insights; push conversions through the Conversions API.",
    logo="/logos/meta_ads.svg",
    auth="oauth",
    capabilities=frozenset({"pull", "push"}),
    levels=("campaign", "ad_group", "ad"),
    push_batch_limit=1000,
    push_window_days=7,
)
GA4 = ProviderInfo(
    key="ga4",
    name="Google Analytics 4",
    description="Send conversions with the Measurement Protocol; optionally pull sessions and revenue by campaign.",
    logo="/logos/ga4.svg",
    auth="manual",
    capabilities=frozenset({"pull", "push"}),
    levels=("campaign",),
    push_batch_limit=25,
    push_window_days=3,
)

PROVIDERS: tuple[ProviderInfo, ...] = (GOOGLE_ADS, META_ADS, GA4)
_BY_KEY = {info.key: info for info in PROVIDERS}
_ADAPTERS = {
    "google_ads": "routy_app.providers.google_ads:GoogleAdsProvider",
    "meta_ads": "routy_app.providers.meta_ads:MetaAdsProvider",
    "ga4": "routy_app.providers.ga4:GA4Provider",
}


class UnknownProvider(KeyError):
    """No provider has this key."""


def get_info(key: str) -> ProviderInfo:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise UnknownProvider(key) from None


def build_provider(
    key: str, endpoints: Endpoints, http: httpx.AsyncClient, retry: RetryPolicy = DEFAULT_POLICY
) -> Provider:
    """The adapter for `key`, speaking to `endpoints` through `http` (tests pass an ASGI client)."""
    get_info(key)
    module_name, class_name = _ADAPTERS[key].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(endpoints, http, retry)
