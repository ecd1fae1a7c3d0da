"""Google Ads: pull campaign / ad group / ad / keyword metrics (Google Ads API), push offline conversions
(Data Manager API). Everything Routy knows about Google Ads lives in this package; see
docs/providers/google_ads.md for the contract in our words and Google's reference pages.

Only light modules are imported here (rules, versions): the adapter is built lazily by `build`.
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
from routy_app.providers.google_ads import rules
from routy_app.providers.google_ads.versions import FIXED_VERSIONS, GOOGLE_ADS_API

if TYPE_CHECKING:
    from routy_app.providers.context import ProviderContext
    from routy_app.providers.protocols import Provider


def build(ctx: ProviderContext) -> Provider:
    from routy_app.providers.google_ads.adapter import GoogleAdsProvider
    from routy_app.providers.google_ads.endpoints import GoogleEndpoints

    endpoints = GoogleEndpoints.from_settings(ctx.settings, ctx.sandbox_base)
    return GoogleAdsProvider(endpoints, ctx.http, ctx.retry, on_refresh=ctx.on_refresh)


DEFINITION = ProviderDefinition(
    key="google_ads",
    name="Google Ads",
    description="Pull campaign, ad group, ad and keyword metrics; push offline conversions via the Data Manager API.",
    logo="/logos/google_ads.svg",
    auth=AuthScheme.OAUTH,
    capabilities=frozenset({Capability.PULL, Capability.PUSH, Capability.LIVE_ACTIONS, Capability.VERDICTS}),
    build=build,
    levels=("campaign", "ad_group", "ad", "keyword"),
    mapping=MappingSpec(
        action=MappingField("action_id", "Conversion action", FieldKind.ACTION),
        extra=(
            MappingField(
                "event_source",
                "Where they happen",
                FieldKind.CHOICE,
                choices=tuple(Choice(value, label) for value, label in rules.EVENT_SOURCES.items()),
                default=rules.DEFAULT_EVENT_SOURCE,
                description="Data Manager's eventSource; a conversion's own `origin` wins over it.",
                shown_as="{label} · {text}",
            ),
        ),
        validate=rules.validate_mapping,
    ),
    missing_identifier=rules.missing_identifier,
    push_batch_limit=2000,
    push_window=dt.timedelta(days=90),
    push_paths=("events:ingest",),
    validation_note="Google validateOnly: the request is checked, nothing is ingested.",
    api_versions=GOOGLE_ADS_API,
    fixed_versions=FIXED_VERSIONS,
    access_advice='Google ends consents given to an OAuth app whose publishing status is "Testing" after 7 days. '
    "Publish the app (Google Cloud console → Google Auth Platform → Audience → Publish app), then "
    "reconnect (Settings → Connection → Refresh Auth / Reconnect).",
    docs=(
        DocLink("OAuth 2.0 for web server apps", "https://developers.google.com/identity/protocols/oauth2/web-server"),
        DocLink("Google Ads API: search", "https://developers.google.com/google-ads/api/rest/reference/rest"),
        DocLink("Google Ads API sunset dates", "https://developers.google.com/google-ads/api/docs/sunset-dates"),
        DocLink("Data Manager API: events:ingest", "https://developers.google.com/data-manager/api/reference/rest"),
    ),
)
