"""GA4 manual setup against the in-process sandbox: field errors, live checks, accounts."""

from __future__ import annotations

import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from routy_app.errors import InvalidInput
from routy_app.providers.errors import PermanentError, TransientError
from routy_app.providers.errors import SetupFieldError as FieldError
from routy_app.providers.ga4.adapter import GA4Provider
from routy_app.providers.ga4.endpoints import GA4Endpoints
from routy_app.providers.ga4.events import validate_event_name
from routy_app.providers.values import Account
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.ga4.streams import DEMO_API_SECRET, DEMO_MEASUREMENT_ID, DEMO_PROPERTY_ID, Stream, add_stream
from tests.integration.conftest import FAST_RETRY
from tests.integration.factories import ga4_form


@pytest.fixture(scope="module")
def sa_json() -> str:
    """A service-account key file made from a locally generated RSA key (the client self-signs JWTs)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "routy-test",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "routy@routy-test.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


@pytest.fixture
def ga4(ga4_endpoints: GA4Endpoints, sandbox_http: httpx.AsyncClient) -> GA4Provider:
    return GA4Provider(ga4_endpoints, sandbox_http, retry=FAST_RETRY)


async def test_stream_only_setup_returns_the_stream_account(ga4: GA4Provider) -> None:
    account = (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET)))[0]
    assert account == Account(
        id=DEMO_MEASUREMENT_ID, name=f"GA4 stream {DEMO_MEASUREMENT_ID}", currency="USD", timezone="UTC"
    )


async def test_setup_with_property_reads_currency_and_timezone(
    ga4: GA4Provider, sandbox_state: SandboxState, sa_json: str
) -> None:
    add_stream(sandbox_state, Stream("G-EUROPE1", "eu-secret", "987654321", currency="EUR", timezone="Europe/Berlin"))
    account = (await ga4.validate_setup(ga4_form("G-EUROPE1", "eu-secret", "987654321", sa_json)))[0]
    assert (account.id, account.currency, account.timezone) == ("G-EUROPE1", "EUR", "Europe/Berlin")
    assert "987654321" in account.name
    creds = (await ga4.validate_setup(ga4_form("G-EUROPE1", "eu-secret", "987654321", sa_json)))[1]
    assert await ga4.list_accounts(creds) == [account]
    await ga4.test_connection(creds, account)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"measurement_id": "UA-1234-1"}, "measurement_id"),
        ({"measurement_id": "g-routy12345"}, "measurement_id"),
        ({"measurement_id": "12345678"}, "measurement_id"),
        ({"api_secret": "   "}, "api_secret"),
        ({"property_id": "G-ROUTY12345", "service_account_json": "SA"}, "property_id"),
        ({"property_id": "", "service_account_json": "SA"}, "property_id"),
        ({"property_id": DEMO_PROPERTY_ID, "service_account_json": "{not json"}, "service_account_json"),
        ({"property_id": DEMO_PROPERTY_ID, "service_account_json": '{"client_email": "a@b"}'}, "service_account_json"),
        (
            {"property_id": DEMO_PROPERTY_ID, "service_account_json": '{"client_email": "a@b", "private_key": "nope"}'},
            "service_account_json",
        ),
        ({"property_id": DEMO_PROPERTY_ID}, "service_account_json"),
    ],
)
async def test_bad_fields_raise_field_error_naming_the_field(
    ga4: GA4Provider, sandbox_state: SandboxState, sa_json: str, fields: dict, field: str
) -> None:
    args = {"measurement_id": DEMO_MEASUREMENT_ID, "api_secret": DEMO_API_SECRET, **fields}
    if args.get("service_account_json") == "SA":
        args["service_account_json"] = sa_json
    with pytest.raises(FieldError) as caught:
        await ga4.validate_setup(ga4_form(**args))
    assert caught.value.field == field
    assert isinstance(caught.value, InvalidInput) and caught.value.message
    if field == "measurement_id":
        assert "G-" in caught.value.message
    assert DEMO_API_SECRET not in str(caught.value)


async def test_debug_validation_failure_becomes_permanent_error_with_googles_words(
    ga4: GA4Provider, sandbox_state: SandboxState
) -> None:
    message = {
        "fieldPath": "measurement_id",
        "validationCode": "VALUE_INVALID",
        "description": "Measurement ID [G-ROUTY12345] does not belong to a web data stream.",
    }
    sandbox_state.faults.add("ga4.debug_collect", "validation_messages", messages=[message])
    with pytest.raises(PermanentError) as caught:
        (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET)))[0]
    assert caught.value.message == message["description"]
    assert caught.value.code == "VALUE_INVALID"


async def test_wrong_api_secret_is_not_detectable(ga4: GA4Provider) -> None:
    """Google's validation server ignores api_secret, so the check passes; the UI must say so."""
    account = (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, "definitely-wrong")))[0]
    assert account.id == DEMO_MEASUREMENT_ID


async def test_unreadable_validation_answer_is_retried_then_transient(
    ga4: GA4Provider, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("ga4.debug_collect", "malformed")
    assert (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET)))[0].id == DEMO_MEASUREMENT_ID
    sandbox_state.faults.add("ga4.debug_collect", "malformed", times=10)
    with pytest.raises(TransientError, match="unreadable"):
        (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET)))[0]


async def test_unknown_property_is_permanent_with_googles_message(ga4: GA4Provider, sa_json: str) -> None:
    with pytest.raises(PermanentError) as caught:
        (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET, "555", sa_json)))[0]
    assert caught.value.status_code == 403
    assert caught.value.message.startswith("User does not have sufficient permissions for this property.")


async def test_there_is_no_oauth_flow(ga4: GA4Provider) -> None:
    from routy_app.providers.protocols import OAuthFlow

    assert not isinstance(ga4, OAuthFlow)


async def test_registry_builds_the_adapter(provider_settings, sandbox_http: httpx.AsyncClient) -> None:
    from routy_app.providers import registry
    from routy_app.providers.context import ProviderContext
    from routy_app.providers.protocols import ManualSetup, Provider

    provider = registry.build("ga4", ProviderContext(provider_settings, sandbox_http))
    assert isinstance(provider, GA4Provider) and isinstance(provider, Provider) and isinstance(provider, ManualSetup)
    assert provider.definition.key == "ga4" and provider.definition.auth == "manual"


async def test_conversion_actions_are_valid_recommended_event_names(ga4: GA4Provider) -> None:
    creds = (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET)))[1]
    actions = await ga4.list_conversion_actions(
        creds, (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET)))[0]
    )
    names = [a.id for a in actions]
    assert {"purchase", "generate_lead", "close_convert_lead", "sign_up"} <= set(names)
    assert all(a.kind == "event" and a.name == a.id and validate_event_name(a.id) is None for a in actions)
