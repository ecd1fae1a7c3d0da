"""A GA4 service-account key's `token_uri` must be Google's (issue 12, item 14).

google-auth sends its JWT grant to whatever `token_uri` a key file names, so a pasted key could
point the server at an internal URL. Setup refuses such a key naming the field, and a key stored
before the check is refused when used, before any request is made.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from routy_app.providers.errors import PermanentError
from routy_app.providers.errors import SetupFieldError as FieldError
from routy_app.providers.ga4.adapter import GA4Provider
from routy_app.providers.ga4.endpoints import GA4Endpoints
from routy_app.providers.ga4.setup import credentials_for
from routy_app.providers.values import Account, Credentials
from routy_app.sandbox.ga4.streams import DEMO_API_SECRET, DEMO_MEASUREMENT_ID, DEMO_PROPERTY_ID
from tests.integration.conftest import FAST_RETRY
from tests.integration.factories import ga4_form

METADATA = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"


@pytest.fixture(scope="module")
def key_info() -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "routy-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "routy@routy-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture
def ga4(ga4_endpoints: GA4Endpoints, sandbox_http: httpx.AsyncClient) -> GA4Provider:
    return GA4Provider(ga4_endpoints, sandbox_http, retry=FAST_RETRY)


@pytest.mark.parametrize(
    "token_uri",
    [METADATA, "http://localhost:6379/", "https://oauth2.googleapis.com.evil.example/token", "file:///etc/passwd", 42],
)
async def test_setup_refuses_a_key_whose_token_uri_is_not_googles(ga4, key_info, token_uri):
    bad = json.dumps({**key_info, "token_uri": token_uri})
    with pytest.raises(FieldError) as caught:
        (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET, DEMO_PROPERTY_ID, bad)))[0]
    assert caught.value.field == "service_account_json" and "token_uri" in caught.value.message
    with pytest.raises(FieldError):
        (await ga4.validate_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET, DEMO_PROPERTY_ID, bad)))[1]


async def test_googles_endpoint_and_the_configured_one_are_accepted(ga4, key_info, ga4_endpoints):
    for uri in ("https://oauth2.googleapis.com/token", ga4_endpoints.token_url):
        key = json.dumps({**key_info, "token_uri": uri})
        creds = credentials_for(
            ga4.checked_setup(ga4_form(DEMO_MEASUREMENT_ID, DEMO_API_SECRET, DEMO_PROPERTY_ID, key))
        )
        assert creds.extra["property_id"] == DEMO_PROPERTY_ID


async def test_a_stored_key_with_a_foreign_token_uri_is_refused_before_any_request(ga4, key_info, sandbox_http):
    sent: list[str] = []
    sandbox_http.event_hooks["request"].append(lambda request: sent.append(str(request.url)))
    creds = Credentials(
        extra={
            "measurement_id": DEMO_MEASUREMENT_ID,
            "api_secret": DEMO_API_SECRET,
            "property_id": DEMO_PROPERTY_ID,
            "service_account_json": json.dumps({**key_info, "token_uri": METADATA}),
        }
    )
    account = Account(id=DEMO_MEASUREMENT_ID, name="property", currency="USD", timezone="UTC")
    day = dt.date.today() - dt.timedelta(days=3)
    with pytest.raises(PermanentError) as caught:
        [page async for page in ga4.fetch_metrics(creds, account, "campaign", day, day)]
    assert caught.value.code == "SETUP_INVALID" and "token_uri" in caught.value.message
    assert sent == []
