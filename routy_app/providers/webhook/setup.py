"""The Webhook's set-up form: URL template, method, headers, auth, body template, signing secret.

Why it looks like this: a webhook has no provider to ask whether the set-up is right, so everything that
can be checked without sending is checked here, each problem under its field: the URL's scheme and host
(no macro in the host; never a link-local or metadata address, see outbound/guard.py), unknown macros in
any template, a body that is not JSON once filled in, header lines that are not `Name: value`, auth
without its secret. Nothing is sent at set-up: a test request would reach the receiver as a conversion.
Secrets (the password or bearer token, the signing secret) live in `Credentials.extra`, which the
services store encrypted with every other credential.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from routy_app.outbound import guard, signing, templates
from routy_app.providers.definition import Choice, FieldKind, SetupField
from routy_app.providers.errors import PermanentError, SetupFieldError
from routy_app.providers.values import Credentials
from routy_app.providers.webhook.macros import MACROS, sample_conversion, values_of

METHODS = ("POST", "PUT", "GET")
AUTH_TYPES = ("none", "basic", "bearer")
MAX_TEMPLATE = 8000
MAX_HEADERS = 20
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Headers Routy sets itself: a template may not override them.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "x-routy-signature", "authorization"}
)
DEFAULT_BODY = (
    '{\n  "id": "{id}",\n  "event_type": "{event_type}",\n  "value": {value},\n  "currency": "{currency}",\n'
    '  "occurred_at": "{occurred_at}",\n  "click_id": "{click_id}",\n  "source": "{source}"\n}'
)
AUTH_GROUP = "Authentication (optional)"
SIGNING_GROUP = "Signature (optional)"
MACRO_LIST = ", ".join("{" + name + "}" for name in MACROS)

SETUP_FIELDS = (
    SetupField(
        "url_template",
        "URL",
        FieldKind.URL,
        placeholder="https://tracker.example.com/postback?cid={click_id}&payout={value}",
        description="http(s) URL; macros in the path and query are URL-encoded. Macros: " + MACRO_LIST + ".",
    ),
    SetupField(
        "method",
        "Method",
        FieldKind.CHOICE,
        choices=tuple(Choice(m, m) for m in METHODS),
        default="POST",
        description="GET sends no body.",
    ),
    SetupField(
        "body_template",
        "Body (JSON)",
        FieldKind.TEXTAREA,
        required=False,
        placeholder='{"id": "{id}", "value": {value}}',
        default=DEFAULT_BODY,
        description="JSON after the macros are filled in: inside quotes a macro is escaped into the text, "
        "outside it becomes a JSON value (numbers stay numbers, empty fields become null).",
    ),
    SetupField(
        "headers",
        "Headers",
        FieldKind.TEXTAREA,
        required=False,
        placeholder="X-Api-Key: abc123",
        description="One 'Name: value' per line; macros allowed in values.",
    ),
    SetupField(
        "auth_type",
        "Authentication",
        FieldKind.CHOICE,
        required=False,
        choices=(
            Choice("none", "None"),
            Choice("basic", "Basic (user and password)"),
            Choice("bearer", "Bearer token"),
        ),
        default="none",
        group=AUTH_GROUP,
    ),
    SetupField(
        "auth_username",
        "User name",
        required=False,
        description="Basic authentication only.",
        group=AUTH_GROUP,
    ),
    SetupField(
        "auth_secret",
        "Password or token",
        FieldKind.SECRET,
        required=False,
        description="Stored encrypted; never shown again.",
        group=AUTH_GROUP,
    ),
    SetupField(
        "signing_secret",
        "Signing secret",
        FieldKind.SECRET,
        required=False,
        placeholder="whsec_…",
        description="When set, every request carries X-Routy-Signature: t=<unix time>,v1=<HMAC-SHA256 of "
        f"'<t>.<body>'> (README: Verifying the signature). At least {signing.MIN_SECRET_LENGTH} characters.",
        group=SIGNING_GROUP,
    ),
)


@dataclass(frozen=True)
class WebhookSetup:
    """The checked contents of `Credentials.extra`."""

    url_template: str
    method: str
    headers: tuple[tuple[str, str], ...]
    body_template: str
    auth_type: str
    auth_username: str
    auth_secret: str
    signing_secret: str

    @property
    def host(self) -> str:
        return urlsplit(self.url_template).hostname or ""


def parse_headers(raw: str) -> tuple[tuple[str, str], ...]:
    """'Name: value' lines -> pairs; SetupFieldError("headers", ...) names the bad line."""
    pairs: list[tuple[str, str]] = []
    known = MACROS.keys()
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not HEADER_NAME.match(name):
            raise SetupFieldError("headers", f"Line {number} is not 'Name: value' (a header name has no spaces).")
        if name.lower() in RESERVED_HEADERS:
            raise SetupFieldError(
                "headers", f"Line {number}: {name} is set by Routy (use the authentication and signature fields)."
            )
        try:
            templates.check(value, known)
        except templates.TemplateError as exc:
            raise SetupFieldError("headers", f"Line {number}: {exc.message}") from None
        pairs.append((name, value))
    if len(pairs) > MAX_HEADERS:
        raise SetupFieldError("headers", f"At most {MAX_HEADERS} headers.")
    return tuple(pairs)


def _check_url(template: str, allow_local: bool) -> str:
    if not template:
        raise SetupFieldError("url_template", "Enter the URL to send conversions to.")
    if len(template) > MAX_TEMPLATE or any(c.isspace() for c in template):
        raise SetupFieldError("url_template", "The URL may not contain spaces (macros are URL-encoded for you).")
    try:
        templates.check(template, MACROS.keys())
    except templates.TemplateError as exc:
        raise SetupFieldError("url_template", exc.message) from None
    parts = urlsplit(templates.MACRO.sub("x", template))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SetupFieldError("url_template", "Enter a full URL starting with http:// or https://.")
    if templates.macros(template.split("//", 1)[-1].split("/", 1)[0].split("?", 1)[0]):
        raise SetupFieldError("url_template", "Macros may be used in the path and query, not in the host.")
    if problem := guard.url_problem(template, allow_local=allow_local):
        raise SetupFieldError("url_template", problem)
    try:
        templates.render_url(template, values_of(sample_conversion()))
    except templates.TemplateError as exc:
        raise SetupFieldError("url_template", exc.message) from None
    return template


def _check_body(template: str, method: str) -> str:
    if not template or method == "GET":
        return template if method != "GET" else ""
    if len(template) > MAX_TEMPLATE:
        raise SetupFieldError("body_template", f"At most {MAX_TEMPLATE} characters.")
    try:
        templates.check(template, MACROS.keys())
        templates.render_json(template, values_of(sample_conversion()))
    except templates.TemplateError as exc:
        raise SetupFieldError("body_template", exc.message) from None
    return template


def parse_fields(fields: Mapping[str, Any], *, allow_local: bool) -> WebhookSetup:
    """The form's fields checked for format (no request is sent); SetupFieldError names the first bad one."""

    def value(name: str) -> str:
        return str(fields.get(name) or "").strip()

    method = (value("method") or "POST").upper()
    if method not in METHODS:
        raise SetupFieldError("method", "Choose GET, POST or PUT.")
    url = _check_url(value("url_template"), allow_local)
    body = _check_body(str(fields.get("body_template") or "").strip(), method)
    headers = parse_headers(str(fields.get("headers") or ""))
    auth_type = (value("auth_type") or "none").lower()
    if auth_type not in AUTH_TYPES:
        raise SetupFieldError("auth_type", "Choose None, Basic or Bearer.")
    username, secret = value("auth_username"), value("auth_secret")
    if auth_type == "basic" and not username:
        raise SetupFieldError("auth_username", "Enter the user name for basic authentication.")
    if auth_type == "basic" and ":" in username:
        raise SetupFieldError("auth_username", "A basic-authentication user name cannot contain ':'.")
    if auth_type != "none" and not secret:
        raise SetupFieldError("auth_secret", "Enter the password or token.")
    if auth_type == "none":
        username, secret = "", ""
    signing_secret = value("signing_secret")
    if signing_secret and len(signing_secret) < signing.MIN_SECRET_LENGTH:
        raise SetupFieldError(
            "signing_secret", f"At least {signing.MIN_SECRET_LENGTH} characters (e.g. whsec_ and 32 random ones)."
        )
    return WebhookSetup(url, method, headers, body, auth_type, username, secret, signing_secret)


def credentials_for(setup: WebhookSetup) -> Credentials:
    """What is stored (encrypted, with every other credential)."""
    return Credentials(
        extra={
            "url_template": setup.url_template,
            "method": setup.method,
            "headers": "\n".join(f"{k}: {v}" for k, v in setup.headers),
            "body_template": setup.body_template,
            "auth_type": setup.auth_type,
            "auth_username": setup.auth_username,
            "auth_secret": setup.auth_secret,
            "signing_secret": setup.signing_secret,
        }
    )


def setup_from(creds: Credentials, *, allow_local: bool) -> WebhookSetup:
    try:
        return parse_fields(creds.extra, allow_local=allow_local)
    except SetupFieldError as exc:
        raise PermanentError(f"The webhook's set-up is unusable: {exc.message}", code="SETUP_INVALID") from None


def sandbox_defaults(sandbox_base: str) -> dict[str, str]:
    """The form's defaults in sandbox mode: the sandbox's request bin, so the journey works offline."""
    return {"url_template": f"{sandbox_base.rstrip('/')}/webhook/demo?event={{event_type}}&id={{id}}"}
