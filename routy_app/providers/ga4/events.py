"""GA4 event names: the Measurement Protocol's naming rules, the names Google reserves, the recommended ones.

A GA4 mapping's target is an event name the user types (with GA4's recommended events offered): there is
no conversion-action object to list. Rules from the Measurement Protocol reference (docs/providers/ga4.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from routy_app.providers.errors import SetupFieldError
from routy_app.providers.values import ConversionAction, OutgoingConversion

EVENT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_NAME_LENGTH = 40

RESERVED_EVENT_NAMES = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_impression",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_background",
        "app_clear_data",
        "app_exception",
        "app_remove",
        "app_store_refund",
        "app_store_subscription_cancel",
        "app_store_subscription_convert",
        "app_store_subscription_renew",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "firebase_campaign",
        "firebase_in_app_message_action",
        "firebase_in_app_message_dismiss",
        "firebase_in_app_message_impression",
        "first_open",
        "first_visit",
        "in_app_purchase",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "notification_send",
        "os_update",
        "screen_view",
        "session_start",
        "user_engagement",
    }
)
RESERVED_PREFIXES = ("_", "ga_", "google_", "firebase_", "gtag.")

# GA4 recommended events a CRM conversion usually maps to (lead-gen and online-sales sets).
RECOMMENDED_EVENTS = (
    "purchase",
    "refund",
    "generate_lead",
    "qualify_lead",
    "working_lead",
    "close_convert_lead",
    "close_unconvert_lead",
    "disqualify_lead",
    "sign_up",
    "login",
    "begin_checkout",
    "add_to_cart",
    "add_payment_info",
    "add_shipping_info",
)


def validate_event_name(name: str) -> str | None:
    """Why `name` cannot be a Measurement Protocol event name, or None when it can."""
    if not name:
        return "Enter an event name."
    if len(name) > MAX_NAME_LENGTH:
        return f"Event names are at most {MAX_NAME_LENGTH} characters."
    if not EVENT_NAME_RE.match(name):
        return "Event names start with a letter and use only letters, digits and underscores."
    if name in RESERVED_EVENT_NAMES or name.startswith(RESERVED_PREFIXES):
        return f'"{name}" is reserved by Google Analytics; choose another name.'
    return None


def validate_mapping(
    action_id: str, extra: Mapping[str, str], live: Sequence[ConversionAction] | None
) -> tuple[str, dict[str, str]]:
    """Any valid event name (the recommended ones are suggestions)."""
    action_id = action_id.strip()
    problem = validate_event_name(action_id)
    if problem:
        raise SetupFieldError("action_id", problem)
    return action_id, dict(extra)


def missing_identifier(conv: OutgoingConversion) -> str | None:
    """GA4 attributes a conversion to a visitor only through their GA client id."""
    return None if conv.ga_client_id else "no ga_client_id: GA4 needs the visitor's client id"
