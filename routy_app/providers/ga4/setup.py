"""GA4's manual set-up: the form's fields, their checks, and the credentials they make.

Why it looks like this: GA4 is set up by hand (no OAuth). `Credentials.extra` holds `measurement_id` and
`api_secret` for pushing and, for pulling, `property_id` + `service_account_json`. Google's validation
server does not check the API secret, so no check here can catch a wrong one: the form says so.
A pasted service-account key may name any `token_uri`, which google-auth would follow: only Google's
token endpoints (and the sandbox's, in sandbox mode) are accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from routy_app.providers.definition import FieldKind, SetupField
from routy_app.providers.errors import PermanentError, SetupFieldError
from routy_app.providers.values import Credentials

MEASUREMENT_ID_RE = re.compile(r"^G-[A-Z0-9]+$")
PULL_KEYS = ("property_id", "service_account_json")
PULL_GROUP = "Pull reports (optional)"

SETUP_FIELDS = (
    SetupField(
        "measurement_id",
        "Measurement ID",
        placeholder="G-XXXXXXXXXX",
        description="Starts with G- followed by capital letters and digits.",
    ),
    SetupField(
        "api_secret",
        "API secret",
        FieldKind.SECRET,
        description="Stored encrypted. Google cannot verify a secret before events arrive, so double-check it.",
    ),
    SetupField(
        "property_id",
        "Property ID",
        required=False,
        placeholder="123456789",
        description="Digits only; needed to pull sessions and revenue.",
        group=PULL_GROUP,
    ),
    SetupField(
        "service_account_json",
        "Service-account JSON",
        FieldKind.TEXTAREA,
        required=False,
        placeholder='{"type": "service_account", ...}',
        description="A key of a service account added as Viewer on the property.",
        group=PULL_GROUP,
    ),
)


def validate_measurement_id(value: str) -> str | None:
    """Why `value` is not a GA4 web-stream Measurement ID, or None when it is one."""
    if not MEASUREMENT_ID_RE.match(value or ""):
        return (
            'Enter the Measurement ID of a web data stream: "G-" followed by uppercase letters and digits, '
            "e.g. G-AB12CD34EF (Admin > Data streams; it is not the numeric stream ID)."
        )
    return None


@dataclass(frozen=True)
class Setup:
    """The checked contents of `Credentials.extra`."""

    measurement_id: str
    api_secret: str
    property_id: str | None
    service_account: dict[str, Any] | None

    @property
    def can_pull(self) -> bool:
        return bool(self.property_id and self.service_account)


def parse_setup(
    measurement_id: str, api_secret: str, property_id: str | None, service_account_json: str | dict[str, Any] | None
) -> Setup:
    """Check every field's format; raises FieldError naming the first bad field."""
    measurement_id = (measurement_id or "").strip()
    problem = validate_measurement_id(measurement_id)
    if problem:
        raise SetupFieldError("measurement_id", problem)
    api_secret = (api_secret or "").strip()
    if not api_secret:
        raise SetupFieldError(
            "api_secret",
            "Enter the Measurement Protocol API secret (Admin > Data streams > your "
            "stream > Measurement Protocol API secrets).",
        )
    prop = (property_id or "").strip().removeprefix("properties/") or None
    if prop is not None and not prop.isdigit():
        raise SetupFieldError(
            "property_id",
            "The property ID is a number such as 123456789 (Admin > Property details), not the Measurement ID.",
        )
    info = parse_service_account(service_account_json)
    if info is not None and prop is None:
        raise SetupFieldError("property_id", "Enter the property ID to pull reports with this service account.")
    if prop is not None and info is None:
        raise SetupFieldError(
            "service_account_json", "Paste the service-account key (JSON) to pull reports from this property."
        )
    return Setup(measurement_id, api_secret, prop, info)


def parse_service_account(raw: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        info = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError:
        raise SetupFieldError(
            "service_account_json", "The service-account key is not valid JSON; paste the whole downloaded key file."
        ) from None
    if not isinstance(info, dict):
        raise SetupFieldError("service_account_json", "The service-account key must be a JSON object.")
    missing = [k for k in ("client_email", "private_key") if not info.get(k)]
    if missing:
        raise SetupFieldError(
            "service_account_json",
            f"The service-account key lacks {' and '.join(missing)}; download a JSON key for the service account.",
        )
    from google.oauth2 import service_account  # the SDK loads slowly: only when a key is checked

    try:
        service_account.Credentials.from_service_account_info(
            {"token_uri": "https://oauth2.googleapis.com/token", **info}
        )
    except (ValueError, TypeError):
        raise SetupFieldError(
            "service_account_json", "The private key in the service-account JSON could not be read."
        ) from None
    return info


# Where a service-account key may send its JWT grant. google-auth follows a key's `token_uri` as
# given, so a pasted key could otherwise point the server at any URL (an admin-driven SSRF).
# google-auth's own endpoint (google/oauth2/service_account.py) and Google's older ones.
GOOGLE_TOKEN_URIS = frozenset(
    {
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/token",
        "https://www.googleapis.com/oauth2/v4/token",
    }
)
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"


def token_uri_problem(info: dict[str, Any] | None, allowed: frozenset[str]) -> str | None:
    uri = (info or {}).get("token_uri", DEFAULT_TOKEN_URI)
    if isinstance(uri, str) and uri.strip() in allowed:
        return None
    return (
        "The service-account key's token_uri is not Google's token endpoint "
        f"({DEFAULT_TOKEN_URI}); paste the key file exactly as Google Cloud downloaded it."
    )


def setup_from(creds: Credentials) -> Setup:
    extra = creds.extra
    try:
        return parse_setup(
            extra.get("measurement_id", ""),
            extra.get("api_secret", ""),
            extra.get("property_id"),
            extra.get("service_account_json"),
        )
    except SetupFieldError as exc:
        raise PermanentError(f"GA4 setup is incomplete: {exc.message}", code="SETUP_INVALID") from None


def can_pull(creds: Credentials) -> bool:
    """Pulling needs a property and a service account besides the stream."""
    return bool(creds.extra.get("property_id") and creds.extra.get("service_account_json"))


def parse_fields(fields: Mapping[str, str]) -> Setup:
    """The set-up form's fields, checked for format (the live checks are the adapter's)."""

    def value(name: str) -> str:
        return str(fields.get(name) or "").strip()

    return parse_setup(
        value("measurement_id"),
        value("api_secret"),
        value("property_id") or None,
        value("service_account_json") or None,
    )


def credentials_for(setup: Setup) -> Credentials:
    """What is stored (encrypted) for a checked set-up."""
    extra: dict[str, Any] = {"measurement_id": setup.measurement_id, "api_secret": setup.api_secret}
    if setup.can_pull:
        extra["property_id"] = setup.property_id
        extra["service_account_json"] = json.dumps(setup.service_account)
    return Credentials(access_token="", extra=extra)
