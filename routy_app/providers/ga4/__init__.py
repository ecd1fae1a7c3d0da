"""Google Analytics 4: push conversions with the Measurement Protocol; optionally pull sessions, key events
and revenue by campaign with the Data API. Set up by hand (no OAuth); see docs/providers/ga4.md.

Only light modules are imported here (events, setup): the adapter, and with it Google's SDK (slow to
import), is built lazily by `build`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from routy_app.providers.definition import (
    AuthScheme,
    Capability,
    DocLink,
    FieldKind,
    MappingField,
    MappingSpec,
    ProviderDefinition,
)
from routy_app.providers.ga4 import events, setup

if TYPE_CHECKING:
    from routy_app.providers.context import ProviderContext
    from routy_app.providers.protocols import Provider


def build(ctx: ProviderContext) -> Provider:
    from routy_app.providers.ga4.adapter import GA4Provider
    from routy_app.providers.ga4.endpoints import GA4Endpoints

    return GA4Provider(GA4Endpoints.from_settings(ctx.settings, ctx.sandbox_base), ctx.http, ctx.retry)


DEFINITION = ProviderDefinition(
    key="ga4",
    name="Google Analytics 4",
    description="Send conversions with the Measurement Protocol; optionally pull sessions and revenue by campaign.",
    logo="/logos/ga4.svg",
    auth=AuthScheme.MANUAL,
    capabilities=frozenset({Capability.PULL, Capability.PUSH}),
    build=build,
    levels=("campaign",),
    # Sessions, key events and revenue by campaign and source / medium (data_api.py stores them so).
    metrics=("clicks", "conversions", "value"),
    metric_labels={"clicks": "Sessions", "conversions": "Key events", "value": "Revenue"},
    detail_label="Source / medium",
    setup_fields=setup.SETUP_FIELDS,
    setup_intro="GA4 is set up with a data stream's Measurement ID and a Measurement Protocol API secret "
    "(GA4 Admin → Data streams → your stream).",
    mapping=MappingSpec(
        action=MappingField(
            "action_id",
            "Event name",
            FieldKind.TEXT,
            suggestions=events.RECOMMENDED_EVENTS,
            description="Any GA4 event name; the recommended ones are listed.",
        ),
        validate=events.validate_mapping,
    ),
    missing_identifier=events.missing_identifier,
    can_pull=setup.can_pull,
    pull_setup_hint="add a property id and service account to pull reports",
    push_batch_limit=25,
    push_window=dt.timedelta(days=3),
    push_paths=("/debug/mp/collect",),
    validation_note="GA4's validation server (/debug/mp/collect): nothing is recorded.",
    fixed_versions=(("Google Analytics Data API", "v1beta"), ("Measurement Protocol", "unversioned")),
    docs=(
        DocLink(
            "Measurement Protocol reference",
            "https://developers.google.com/analytics/devguides/collection/protocol/ga4/reference",
        ),
        DocLink(
            "Validating events",
            "https://developers.google.com/analytics/devguides/collection/protocol/ga4/validating-events",
        ),
        DocLink(
            "Data API: runReport",
            "https://developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/properties/runReport",
        ),
    ),
)
