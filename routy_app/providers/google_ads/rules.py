"""What Google's Data Manager API requires of a conversion and of its destination, before we send it.

Why a module of its own: these are Google's rules, not Routy's, and the Conversion Mappings form, the
push adapter and `doctor` all apply them. Sources (see docs/provider-facts.md):

- eventSource: "An event_source is required for offline conversions and enhanced conversions for leads"
  (Data Manager release notes, v1.2, 2025-08-06). Values from `google.ads.datamanager.v1.EventSource`;
  MESSAGE exists too, but Routy's conversions never come from a message thread, so it is not offered.
- Destination: the operating account must be the conversion customer that owns the conversion action;
  a manager is only ever the login account (Data Manager offline-conversion upgrade guide), and only
  UPLOAD_CLICKS actions take offline click conversions (WEBPAGE actions are for the Google tag).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from routy_app.providers.errors import SetupFieldError
from routy_app.providers.values import Account, ConversionAction, OutgoingConversion

# eventSource values a mapping may choose, with what they mean to a person.
EVENT_SOURCES: dict[str, str] = {
    "WEB": "Web: the conversion happened on a website",
    "APP": "App: in a mobile app",
    "IN_STORE": "In store: a sale at a physical location",
    "PHONE": "Phone: a call",
    "OTHER": "Other",
}
DEFAULT_EVENT_SOURCE = "WEB"
# A conversion's own origin (the ingest API's `origin`) wins over the mapping's choice.
ORIGIN_TO_EVENT_SOURCE: dict[str, str] = {
    "web": "WEB",
    "app": "APP",
    "in_store": "IN_STORE",
    "phone": "PHONE",
    "other": "OTHER",
}
UPLOAD_CLICKS = "UPLOAD_CLICKS"


def event_source(conv: OutgoingConversion) -> str | None:
    """The eventSource to send: the conversion's origin, else the mapping's choice; None if neither."""
    if conv.origin:
        return ORIGIN_TO_EVENT_SOURCE.get(conv.origin)
    chosen = conv.action.extra.get("event_source")
    return chosen if chosen in EVENT_SOURCES else None


def normalise_event_source(value: object) -> str | None:
    """A mapping's eventSource choice as Google spells it (None when it is not one of EVENT_SOURCES)."""
    text = str(value or "").strip().upper().replace(" ", "_").replace("-", "_")
    return text if text in EVENT_SOURCES else None


def _customer_id(resource: str) -> str:
    """ "customers/123" -> "123"."""
    return str(resource or "").rsplit("/", 1)[-1]


def destination_problem(account: Account, action: ConversionAction) -> str | None:
    """Why Data Manager would refuse `action` as a destination when pushing as `account`, else None."""
    if account.manager:
        return (
            f"{account.name or account.id} is a manager account: Data Manager takes conversions only for the "
            "customer that owns the conversion action (a manager is only ever the login account). Connect the "
            "client account that owns the action instead."
        )
    if action.kind and action.kind != UPLOAD_CLICKS:
        return (
            f"'{action.name}' has type {action.kind}; only UPLOAD_CLICKS conversion actions accept offline "
            "conversions (create an 'Import from clicks' action in Google Ads)."
        )
    owner = _customer_id(str(action.extra.get("owner_customer") or ""))
    if owner and owner != account.id:
        return (
            f"'{action.name}' belongs to customer {owner}, not to {account.id}: Data Manager needs the operating "
            f"account to be the customer that owns the action. Use an action owned by {account.id}, or connect "
            f"customer {owner}."
        )
    return None


def missing_identifier(conv: OutgoingConversion) -> str | None:
    """Why Google could not attribute `conv` (no click id and no hashed email or phone), else None."""
    if conv.gclid or conv.gbraid or conv.wbraid or conv.email_sha256 or conv.phone_sha256:
        return None
    return "no click id (gclid/gbraid/wbraid) and no email or phone: Google cannot match it"


def validate_mapping(
    action_id: str, extra: Mapping[str, str], live: Sequence[ConversionAction] | None
) -> tuple[str, dict[str, str]]:
    """A conversion action's numeric id (a resource name customers/1/conversionActions/2 is fine too) and
    the eventSource the mapping's conversions default to (WEB when not chosen)."""
    action_id = action_id.strip().rsplit("/", 1)[-1]
    if not action_id.isdigit():
        raise SetupFieldError("action_id", "Choose a Google Ads conversion action (its numeric id).")
    checked = dict(extra)
    chosen = checked.get("event_source")
    source = DEFAULT_EVENT_SOURCE if chosen in (None, "") else normalise_event_source(chosen)
    if source is None:
        raise SetupFieldError(
            "event_source", "Choose where these conversions happen: " + ", ".join(EVENT_SOURCES) + "."
        )
    checked["event_source"] = source
    return action_id, checked


def usable_action(account: Account, action_id: str, action: ConversionAction | None) -> ConversionAction:
    """The live action a new mapping may target; SetupFieldError says why not (gone, disabled, wrong type,
    another customer's)."""
    if action is None:
        raise SetupFieldError("action_id", f"Google Ads account {account.id} has no conversion action {action_id}.")
    if action.extra.get("status") not in (None, "", "ENABLED"):
        raise SetupFieldError(
            "action_id", f"'{action.name}' is {str(action.extra['status']).lower()} in Google Ads; enable it first."
        )
    problem = destination_problem(account, action)
    if problem:
        raise SetupFieldError("action_id", problem)
    return action
