"""Google's `google-ads-datamanager` REST client against the sandbox's Data Manager API.

The client sends `?$alt=json;enum-encoding=int` with enums as numbers (`"encoding": 1`) and parses
answers with its own message types: the sandbox must accept what it sends and answer what it reads.
"""

from __future__ import annotations

import datetime as dt

import pytest
from google.ads import datamanager_v1 as dm
from google.api_core import exceptions as gexc
from google.oauth2.credentials import Credentials

from routy_app.sandbox.google import ads_data as gd
from tests.contract.conftest import LiveSandbox

CUSTOMER = "1234567890"


def _client(sandbox: LiveSandbox) -> dm.IngestionServiceClient:
    token = sandbox.google_token().value
    return dm.IngestionServiceClient(
        credentials=Credentials(token), transport="rest", client_options={"api_endpoint": f"{sandbox.url}/datamanager"}
    )


def _upload_clicks_action(sandbox: LiveSandbox) -> str:
    return next(
        str(a["conversion_action.id"])
        for a in gd.conversion_actions(sandbox.state.config.seed, CUSTOMER)
        if a["conversion_action.type"] == "UPLOAD_CLICKS" and a["conversion_action.status"] == "ENABLED"
    )


def _request(sandbox: LiveSandbox, count: int = 2, **request_fields) -> dm.IngestEventsRequest:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    destination = dm.Destination(
        reference="ca1",
        product_destination_id=_upload_clicks_action(sandbox),
        operating_account=dm.ProductAccount(account_type=dm.ProductAccount.AccountType.GOOGLE_ADS, account_id=CUSTOMER),
    )
    events = [
        dm.Event(
            destination_references=["ca1"],
            transaction_id=f"SDK-{i}",
            event_timestamp=now,
            event_source=dm.EventSource.WEB,
            conversion_value=19.99,
            currency="USD",
            ad_identifiers=dm.AdIdentifiers(gclid=f"Cj0KCQ-sdk-{i}"),
            user_data=dm.UserData(user_identifiers=[dm.UserIdentifier(email_address="a" * 64)]),
            consent=dm.Consent(ad_user_data=dm.ConsentStatus.CONSENT_GRANTED),
        )
        for i in range(count)
    ]
    return dm.IngestEventsRequest(destinations=[destination], events=events, encoding=dm.Encoding.HEX, **request_fields)


def test_ingest_events_as_the_official_client_sends_it(sandbox: LiveSandbox) -> None:
    """Enum numbers and `enum-encoding=int` are accepted; the answer parses into IngestEventsResponse."""
    answer = _client(sandbox).ingest_events(request=_request(sandbox))
    assert isinstance(answer, dm.IngestEventsResponse)
    assert answer.request_id
    received = sandbox.state.received["google_ads"]
    assert [e["transactionId"] for e in received] == ["SDK-0", "SDK-1"]


def test_retrieve_request_status_reads_as_the_official_types(sandbox: LiveSandbox) -> None:
    """requestStatus:retrieve is a GET with requestId in the query; PROCESSING, then SUCCESS with counts."""
    client = _client(sandbox)
    request_id = client.ingest_events(request=_request(sandbox, count=3)).request_id
    first = client.retrieve_request_status(request=dm.RetrieveRequestStatusRequest(request_id=request_id))
    assert [d.request_status for d in first.request_status_per_destination] == [
        dm.RequestStatusPerDestination.RequestStatus.PROCESSING
    ]
    settled = client.retrieve_request_status(request=dm.RetrieveRequestStatusRequest(request_id=request_id))
    (entry,) = settled.request_status_per_destination
    assert entry.request_status == dm.RequestStatusPerDestination.RequestStatus.SUCCESS
    assert entry.events_ingestion_status.record_count == 3
    assert entry.destination.operating_account.account_id == CUSTOMER


def test_a_2001_event_request_is_refused_with_too_many_events(sandbox: LiveSandbox) -> None:
    """The documented limit is 2,000 events per request; the client raises BadRequest and nothing is stored."""
    with pytest.raises(gexc.BadRequest) as caught:
        _client(sandbox).ingest_events(request=_request(sandbox, count=2001))
    assert "TOO_MANY_EVENTS" in str(caught.value.details) or "2000" in caught.value.message
    assert sandbox.state.received["google_ads"] == []


def test_validate_only_answers_without_storing(sandbox: LiveSandbox) -> None:
    answer = _client(sandbox).ingest_events(request=_request(sandbox, validate_only=True))
    assert answer.request_id
    assert sandbox.state.received["google_ads"] == []


def test_an_unknown_request_id_is_refused(sandbox: LiveSandbox) -> None:
    with pytest.raises(gexc.BadRequest) as caught:
        _client(sandbox).retrieve_request_status(request=dm.RetrieveRequestStatusRequest(request_id="nope"))
    assert "INVALID_REQUEST_ID" in str(caught.value.details)
