"""Meta Ads: pull campaign / ad set / ad insights (Marketing API), push conversions (Conversions API).
Everything Routy knows about Meta lives in this package; see docs/providers/meta_ads.md.

Only light modules are imported here (rules, capi's constants, versions): the adapter is built lazily.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from routy_app.providers.definition import (
    AuthScheme,
    Capability,
    Choice,
    DocLink,
    FieldKind,
    MappingField,
    MappingSpec,
    ProviderDefinition,
)
from routy_app.providers.meta_ads import rules
from routy_app.providers.meta_ads.capi import STANDARD_EVENTS
from routy_app.providers.meta_ads.versions import MARKETING_API

if TYPE_CHECKING:
    from routy_app.providers.context import ProviderContext
    from routy_app.providers.protocols import Provider


def build(ctx: ProviderContext) -> Provider:
    from routy_app.providers.meta_ads.adapter import MetaAdsProvider
    from routy_app.providers.meta_ads.endpoints import MetaEndpoints

    endpoints = MetaEndpoints.from_settings(ctx.settings, ctx.sandbox_base)
    return MetaAdsProvider(endpoints, ctx.http, ctx.retry, on_refresh=ctx.on_refresh)


DEFINITION = ProviderDefinition(
    key="meta_ads",
    name="Meta Ads (Facebook Ads)",
    description="Pull campaign, ad set and ad insights; push conversions through the Conversions API.",
    logo="/logos/meta_ads.svg",
    auth=AuthScheme.OAUTH,
    capabilities=frozenset({Capability.PULL, Capability.PUSH, Capability.LIVE_ACTIONS}),
    build=build,
    levels=("campaign", "ad_group", "ad"),
    level_labels={"campaign": "Campaigns", "ad_group": "Ad sets", "ad": "Ads", "keyword": "Keywords"},
    mapping=MappingSpec(
        action=MappingField("action_id", "Pixel (dataset)", FieldKind.ACTION),
        extra=(
            MappingField(
                "event_name",
                "Meta event",
                FieldKind.CHOICE,
                choices=tuple(Choice(name, name) for name in STANDARD_EVENTS),
                shown_as="{value} on {label}",
            ),
        ),
        validate=rules.validate_mapping,
    ),
    missing_identifier=rules.missing_identifier,
    push_batch_limit=1000,
    push_window=dt.timedelta(days=7),
    push_paths=("/events",),
    validation_note="Meta test event code: the event shows in Events Manager's Test events only.",
    api_versions=MARKETING_API,
    access_advice="Meta long-lived tokens last about 60 days and cannot be refreshed: reconnect "
    "(Settings → Connection → Refresh Auth / Reconnect) before then to keep syncing.",
    docs=(
        DocLink(
            "Manually build a login flow",
            "https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow",
        ),
        DocLink(
            "Long-lived access tokens",
            "https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived",
        ),
        DocLink("Graph API error handling", "https://developers.facebook.com/docs/graph-api/guides/error-handling"),
        DocLink("Insights API", "https://developers.facebook.com/docs/marketing-api/insights"),
        DocLink(
            "Conversions API parameters",
            "https://developers.facebook.com/docs/marketing-api/conversions-api/parameters",
        ),
        DocLink("Marketing API versions", MARKETING_API.schedule_url),
    ),
)
