"""What a provider is, declared once as data and small hooks: the services read it, the UI renders it.

Why: before this, services branched on provider names to know which fields a set-up form has, which
identifier a conversion needs, how a mapping is checked or whether a GA4 integration can pull. Now each
provider package (`providers/<key>/__init__.py`) fills one `ProviderDefinition`, and nothing outside
`providers/` names a provider. The models are Segment's destination definitions (authentication fields
the UI renders) and meltano's declared capabilities; see docs/adding-a-provider.md.

Capabilities are never probed at runtime: `tests/unit/test_provider_definitions.py` checks that each
definition matches its adapter (PULL ⇔ MetricsSource, PUSH ⇔ ConversionSink, ...). Two optional extras have
no capability because lacking them only skips a check: `ActionCheck` (a live check of a new mapping's
action) and `SetupChecks` (the provider's own doctor checks); services ask for those with `isinstance`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from routy_app.providers.values import ConversionAction, Credentials, Level, OutgoingConversion

if TYPE_CHECKING:
    from routy_app.providers.context import ProviderContext
    from routy_app.providers.protocols import Provider
    from routy_app.providers.versions import VersionTable


class Capability(StrEnum):
    PULL = "pull"  # implements MetricsSource: daily metrics by level
    PUSH = "push"  # implements ConversionSink: conversions out
    LIVE_ACTIONS = "live_actions"  # implements ActionCatalog: mapping targets are listed from the account
    VERDICTS = "verdicts"  # implements VerdictSource: asynchronous processing verdicts of sent requests


class AuthScheme(StrEnum):
    OAUTH = "oauth"  # implements OAuthFlow: the card's button starts the provider's consent
    MANUAL = "manual"  # implements ManualSetup: the UI renders `setup_fields` as a form


class FieldKind(StrEnum):
    TEXT = "text"
    SECRET = "secret"  # a password input; stored encrypted, never shown again
    TEXTAREA = "textarea"
    URL = "url"
    CHOICE = "choice"  # one of `choices`
    ACTION = "action"  # mapping only: one of ActionCatalog.list_conversion_actions()


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class SetupField:
    """One input of a manual set-up form. `name` is the form name, the input id and the key in Credentials.extra."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    description: str = ""  # the hint under the control; an error message replaces it
    placeholder: str = ""
    choices: tuple[Choice, ...] = ()
    group: str = ""  # the heading the field sits under, e.g. "Pull reports (optional)"
    default: str = ""  # the value the form starts with (a CHOICE's pre-selected choice)


@dataclass(frozen=True)
class MappingField:
    """One input of the Conversion Mappings form besides the Routy event type."""

    name: str  # "action_id", or a key of the mapping's `extra`
    label: str
    kind: FieldKind  # ACTION | CHOICE | TEXT
    required: bool = True
    choices: tuple[Choice, ...] = ()
    default: str = ""
    suggestions: tuple[str, ...] = ()  # TEXT with a list to pick from (GA4's recommended events)
    description: str = ""
    # How a chosen value shows in the mapping's label: {label} is the label so far, {value} the value and
    # {text} the value in lower case with spaces ("IN_STORE" -> "in store"). "" = not shown.
    shown_as: str = ""


# (action id, extra, the account's live actions when the definition lists them) -> the normalised
# (action id, extra); raises SetupFieldError(field, message). The live list lets a provider refuse an
# action it knows the account cannot take (Google: wrong type, owned by another customer).
MappingValidator = Callable[[str, Mapping[str, str], Sequence[ConversionAction] | None], tuple[str, dict[str, str]]]


def accept_mapping(
    action_id: str, extra: Mapping[str, str], live: Sequence[ConversionAction] | None
) -> tuple[str, dict[str, str]]:
    return action_id.strip(), dict(extra)


@dataclass(frozen=True)
class MappingSpec:
    """How a mapping targets this provider: the action field, extra fields, and the provider's check."""

    action: MappingField | None  # None: the mapping only picks event types (stored action id = provider key)
    extra: tuple[MappingField, ...] = ()
    validate: MappingValidator = accept_mapping

    @property
    def live_actions(self) -> bool:
        """True when the targets are listed from the account (a choice), False when typed (GA4 event names)."""
        return self.action is not None and self.action.kind is FieldKind.ACTION

    def label(self, action_name: str, extra: Mapping[str, object]) -> str:
        """How a mapping reads in tables: its action and what its extra fields chose."""
        label = action_name
        for spec in self.extra:
            value = str(extra.get(spec.name) or "")
            if value and spec.shown_as:
                label = spec.shown_as.format(label=label, value=value, text=value.replace("_", " ").lower())
        return label


@dataclass(frozen=True)
class DocLink:
    title: str
    url: str


DEFAULT_LEVEL_LABELS: Mapping[Level, str] = {
    "campaign": "Campaigns",
    "ad_group": "Ad groups",
    "ad": "Ads",
    "keyword": "Keywords",
}


def always_matchable(conv: OutgoingConversion) -> str | None:
    return None


def pull_if_capable(creds: Credentials) -> bool:
    return True


# The Metrics page's columns (and tiles), in order; a provider lists the ones it reports and may rename them.
ALL_METRICS = ("impressions", "clicks", "ctr", "cost", "cpc", "conversions", "value", "cost_per_conversion")
AD_NETWORK_METRICS = ("impressions", "clicks", "ctr", "cost", "cpc", "conversions", "cost_per_conversion")
DEFAULT_METRIC_LABELS: Mapping[str, str] = {
    "impressions": "Impressions",
    "clicks": "Clicks",
    "ctr": "CTR",
    "cost": "Cost",
    "cpc": "CPC",
    "conversions": "Conversions",
    "value": "Conversion value",
    "cost_per_conversion": "Cost / conversion",
}


@dataclass(frozen=True)
class ProviderDefinition:
    """Everything Routy knows about a provider before any call: the card, the forms, the rules, the limits."""

    key: str  # "google_ads": URL-safe, stored on every Integration; the only place the literal lives
    name: str
    description: str
    logo: str  # a path under assets/
    auth: AuthScheme
    capabilities: frozenset[Capability]
    build: Callable[[ProviderContext], Provider]  # imports the adapter lazily (GA4's SDK is slow to import)
    levels: tuple[Level, ...] = ()
    level_labels: Mapping[Level, str] = field(default_factory=lambda: dict(DEFAULT_LEVEL_LABELS))
    setup_fields: tuple[SetupField, ...] = ()  # required when auth is MANUAL
    setup_intro: str = ""  # the set-up form's first sentence: where the user finds these values
    pull_setup_hint: str = ""  # what a push-only set-up lacks to pull too (shown where metrics would be)
    # Set-up form values in sandbox mode, given where the sandbox is served (the Webhook: its request bin)
    sandbox_setup_defaults: Callable[[str], Mapping[str, str]] | None = None
    mapping: MappingSpec | None = None  # required when it can PUSH
    missing_identifier: Callable[[OutgoingConversion], str | None] = always_matchable  # why it cannot match
    can_pull: Callable[[Credentials], bool] = pull_if_capable  # GA4: only with a property and service account
    push_batch_limit: int = 0
    push_window: dt.timedelta = dt.timedelta(0)  # conversions older than this are skipped
    push_paths: tuple[str, ...] | None = ()  # request paths that carry conversions (Validate push shows them)
    validation_note: str = ""  # what a validate-only push does at this provider
    api_versions: VersionTable | None = None  # the API whose version is configured, with its sunsets
    fixed_versions: tuple[tuple[str, str], ...] = ()  # (API, version) Routy fixes itself
    docs: tuple[DocLink, ...] = ()  # the provider's reference pages (docs/providers/<key>.md links the same)
    access_advice: str = ""  # what to do before access ends by itself (the expiring-access alert says it)
    metrics: tuple[str, ...] = AD_NETWORK_METRICS  # the Metrics page's tiles and columns (ALL_METRICS names)
    metric_labels: Mapping[str, str] = field(default_factory=dict)  # renames ("clicks" → "Sessions")
    detail_label: str = ""  # a column beside the name, from the row's ad group name (GA4: source / medium)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @property
    def push_window_text(self) -> str:
        hours = self.push_window.total_seconds() / 3600
        return f"{int(hours)} hours" if hours < 7 * 24 else f"{int(hours // 24)} days"
