"""The Webhook provider's own rules: macros, set-up checks, the rendered request, the mapping's value override."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routy_app.outbound import signing
from routy_app.providers import registry
from routy_app.providers.definition import AuthScheme, Capability
from routy_app.providers.errors import SetupFieldError
from routy_app.providers.values import ConversionAction
from routy_app.providers.webhook import validate_mapping
from routy_app.providers.webhook.macros import MACROS, fbclid_of, sample_conversion, values_of
from routy_app.providers.webhook.request import MASK, render
from routy_app.providers.webhook.setup import DEFAULT_BODY, parse_fields, sandbox_defaults

URL = "https://hooks.example.com/conv?cid={click_id}&v={value}&id={id}"
SECRET = "whsec_0123456789abcdef0123"


def form(**fields: str) -> dict[str, str]:
    return {"url_template": URL, "method": "POST", "body_template": DEFAULT_BODY, **fields}


def field_of(exc: pytest.ExceptionInfo[SetupFieldError]) -> str:
    return str(exc.value.field)


# ---------------------------------------------------------------- the definition


def test_the_webhook_is_a_fourth_manual_push_only_card():
    definition = registry.get("webhook")
    assert [d.key for d in registry.all_definitions()][-1] == "webhook"
    assert definition.auth is AuthScheme.MANUAL
    assert definition.capabilities == frozenset({Capability.PUSH})
    assert definition.mapping is not None and definition.mapping.action is None
    assert definition.push_batch_limit == 1 and not definition.can_pull(sample_conversion_creds())
    assert "really sends" in definition.validation_note


def sample_conversion_creds():
    from routy_app.providers.values import Credentials

    return Credentials(extra={})


def test_sandbox_mode_defaults_to_the_sandbox_request_bin():
    url = sandbox_defaults("http://localhost:3000/sandbox/")["url_template"]
    assert url.startswith("http://localhost:3000/sandbox/webhook/demo?")
    parse_fields(form(url_template=url), allow_local=True)  # a default the form accepts as it is


# ---------------------------------------------------------------- macros


def test_every_macro_has_a_value_and_derived_ones_follow_the_click_ids():
    conv = sample_conversion()
    values = values_of(conv)
    assert set(values) == set(MACROS)
    assert values["id"] == "sample-1" and values["dedup_key"] == "1:sample-1"
    assert values["value"] == 12.5 and values["value_micros"] == 12_500_000
    assert values["occurred_at"] == "2026-05-01T14:03:00Z" and values["occurred_at_unix"] == 1777644180
    assert (values["click_id"], values["source"]) == ("Cj0KCQ-sample", "google")
    meta_only = dataclasses.replace(conv, gclid=None)
    assert values_of(meta_only)["click_id"] == "IwAR-sample" and values_of(meta_only)["source"] == "meta"
    none = dataclasses.replace(conv, gclid=None, fbc=None, fbp=None)
    assert values_of(none)["click_id"] is None and values_of(none)["source"] is None


def test_fbclid_is_read_from_fbc():
    assert fbclid_of("fb.1.1714572180000.IwAR2x.y") == "IwAR2x.y"
    assert fbclid_of("not-an-fbc") is None and fbclid_of(None) is None


def test_the_mapping_value_override_replaces_the_value():
    values = values_of(sample_conversion(), "99.90")
    assert values["value"] == 99.9 and values["value_micros"] == 99_900_000
    assert values_of(sample_conversion(), "40")["value"] == 40


# ---------------------------------------------------------------- set-up checks


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"url_template": ""}, "url_template", "Enter the URL"),
        ({"url_template": "ftp://x.example.com/{id}"}, "url_template", "http"),
        ({"url_template": "https://x.example.com/?a={clickid}"}, "url_template", "{clickid}"),
        ({"url_template": "https://{source}.example.com/"}, "url_template", "not in the host"),
        ({"url_template": "http://169.254.169.254/latest/meta-data/"}, "url_template", "metadata"),
        ({"url_template": "http://metadata.google.internal/computeMetadata/v1/"}, "url_template", "metadata"),
        ({"url_template": "http://[fd00:ec2::254]/latest/"}, "url_template", "metadata"),
        ({"url_template": "http://localhost:8080/hook"}, "url_template", "ROUTY_WEBHOOK_ALLOW_LOCAL"),
        ({"method": "PATCH"}, "method", "GET, POST or PUT"),
        ({"body_template": '{"id": "{id}",}'}, "body_template", "not valid JSON"),
        ({"body_template": '{"id": {nope}}'}, "body_template", "{nope}"),
        ({"headers": "no colon here"}, "headers", "Line 1"),
        ({"headers": "X-Ok: 1\nAuthorization: Bearer x"}, "headers", "Line 2"),
        ({"headers": "X-Id: {idd}"}, "headers", "{idd}"),
        ({"auth_type": "basic", "auth_secret": "pw"}, "auth_username", "user name"),
        ({"auth_type": "bearer"}, "auth_secret", "token"),
        ({"signing_secret": "short"}, "signing_secret", "At least"),
    ],
)
def test_a_bad_field_is_named_with_the_reason(fields, field, words):
    with pytest.raises(SetupFieldError) as caught:
        parse_fields(form(**fields), allow_local=False)
    assert field_of(caught) == field and words in caught.value.message


def test_localhost_is_accepted_when_allowed_and_get_drops_the_body():
    setup = parse_fields(form(url_template="http://127.0.0.1:9000/h?id={id}", method="GET"), allow_local=True)
    assert setup.method == "GET" and setup.body_template == ""


def test_unused_auth_fields_are_not_kept():
    setup = parse_fields(form(auth_type="none", auth_username="u", auth_secret="s"), allow_local=False)
    assert (setup.auth_username, setup.auth_secret) == ("", "")


@pytest.mark.parametrize(
    ("raw", "stored"), [("", {}), ("25", {"value": "25"}), ("12.50", {"value": "12.5"}), (" 0 ", {"value": "0"})]
)
def test_the_mapping_only_takes_a_decimal_value_override(raw, stored):
    assert validate_mapping("", {"value": raw}, None) == ("webhook", stored)


@pytest.mark.parametrize("raw", ["abc", "-1", "1e20", "NaN", "1.1234567"])
def test_a_bad_value_override_is_refused_under_its_field(raw):
    with pytest.raises(SetupFieldError) as caught:
        validate_mapping("", {"value": raw}, None)
    assert field_of(caught) == "value"


# ---------------------------------------------------------------- the request


def test_the_request_is_rendered_signed_and_authorised():
    setup = parse_fields(
        form(
            headers="X-Event: {event_type}",
            auth_type="basic",
            auth_username="routy",
            auth_secret="pa55",
            signing_secret=SECRET,
        ),
        allow_local=False,
    )
    request = render(setup, sample_conversion(), timestamp=1_800_000_000)
    assert request.method == "POST"
    query = parse_qs(urlsplit(request.url).query)
    assert query == {"cid": ["Cj0KCQ-sample"], "v": ["12.5"], "id": ["sample-1"]}
    body = json.loads(request.body or b"")
    assert body == {
        "id": "sample-1",
        "event_type": "sale",
        "value": 12.5,
        "currency": "EUR",
        "occurred_at": "2026-05-01T14:03:00Z",
        "click_id": "Cj0KCQ-sample",
        "source": "google",
    }
    headers = request.headers
    assert headers["X-Event"] == "sale" and headers["Idempotency-Key"] == "1:sample-1"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"routy:pa55").decode()
    assert signing.verify(SECRET, headers["X-Routy-Signature"], request.body or b"", now=1_800_000_010)
    shown = request.describe()
    assert "pa55" not in shown and base64.b64encode(b"routy:pa55").decode() not in shown and MASK in shown
    assert "?…" in request.short_url() and "Cj0KCQ" not in request.short_url()


def test_the_mapping_override_reaches_the_body():
    setup = parse_fields(form(), allow_local=False)
    conv = dataclasses.replace(sample_conversion(), action=ConversionAction("webhook", "Webhook", extra={"value": "7"}))
    assert json.loads(render(setup, conv, timestamp=0).body or b"")["value"] == 7


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(external_id=texts, user_agent=texts, event_type=texts)
def test_any_field_value_round_trips_through_url_and_body(external_id, user_agent, event_type):
    """Escaping by context: whatever a field holds, the URL keeps its parameters and the body stays JSON."""
    setup = parse_fields(
        form(
            url_template="https://h.example.com/p?id={id}&ua={user_agent}&e={event_type}",
            body_template='{"id": "{id}", "ua": {user_agent}, "nested": {"e": "{event_type}"}}',
        ),
        allow_local=False,
    )
    conv = dataclasses.replace(
        sample_conversion(), external_id=external_id or "x", user_agent=user_agent, event_type=event_type
    )
    request = render(setup, conv, timestamp=0)
    query = parse_qs(urlsplit(request.url).query, keep_blank_values=True)
    assert query == {"id": [external_id or "x"], "ua": [user_agent], "e": [event_type]}
    assert json.loads(request.body or b"") == {"id": external_id or "x", "ua": user_agent, "nested": {"e": event_type}}


def test_occurred_at_is_utc_whatever_the_zone():
    conv = dataclasses.replace(
        sample_conversion(), occurred_at=dt.datetime(2026, 5, 1, 16, 3, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    )
    assert values_of(conv)["occurred_at"] == "2026-05-01T14:03:00Z"
