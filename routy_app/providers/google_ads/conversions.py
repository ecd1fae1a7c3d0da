"""Conversions to Google Ads through the Data Manager API (`events:ingest`).

One request per batch: up to 2000 events and 10 destinations (conversion actions). Google rejects the
whole request when one event is bad (400 with fieldViolations naming `events[i]`): the named events fail
with Google's words, the others come back `collateral` so the engine resends them alone. Events without
any identifier or without an eventSource are skipped here, as Google would reject the whole request
for them (NO_IDENTIFIERS_PROVIDED, REQUIRED_FIELD_MISSING).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from routy_app.providers.google_ads.api import GoogleApi
from routy_app.providers.google_ads.errors import Rejected
from routy_app.providers.google_ads.rules import event_source, missing_identifier
from routy_app.providers.values import Account, ConversionAction, Credentials, OutgoingConversion, PushResult

MAX_DESTINATIONS = 10
CONSENT = {"granted": "CONSENT_GRANTED", "denied": "CONSENT_DENIED"}
NOT_PROCESSED = (
    "Not processed: Google rejected the whole request because of other events in this batch "
    "(see their errors); this event can be retried on its own."
)
NO_IDENTIFIER = PushResult(
    "skipped",
    error="No click ID (gclid/gbraid/wbraid) and no hashed email or phone: Google cannot match this conversion.",
)
NO_EVENT_SOURCE = PushResult(
    "skipped",
    error="No event source: Google requires one for offline conversions. Choose "
    "where this mapping's conversions happen (Conversion Mappings), or send "
    "`origin` with each conversion.",
)

_TWO_DIGITS = [f"{n:02d}" for n in range(100)]
_UTC = dt.UTC


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a Z: YYYY-MM-DDTHH:MM:SS, plus .ffffff when there are microseconds.

    The shape isoformat() writes (a naive value is taken as UTC); years before 1000 keep strftime's
    unpadded %Y. Runs for every pushed event, so UTC values (what Routy's columns hold) are assembled
    from a two-digit table: about half the cost of an aware isoformat() and its "+00:00" cut.
    """
    if moment.tzinfo is _UTC and (year := moment.year) >= 1000:  # the fast path
        two = _TWO_DIGITS
        text = (
            f"{year}-{two[moment.month]}-{two[moment.day]}T{two[moment.hour]}:{two[moment.minute]}:{two[moment.second]}"
        )
        micro = moment.microsecond
        return f"{text}.{micro:06d}Z" if micro else text + "Z"
    if moment.tzinfo is not None:
        if moment.utcoffset():
            moment = moment.astimezone(dt.UTC)
        moment = moment.replace(tzinfo=None)
    if moment.year < 1000:
        text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond:06d}" if moment.microsecond else "")
        return text + "Z"
    return moment.isoformat() + "Z"


def action_id(action: ConversionAction) -> str:
    return str(action.id).rsplit("/", 1)[-1]


def event(conv: OutgoingConversion, reference: str | list[str]) -> dict[str, Any]:
    """One Data Manager event. Runs for every pushed conversion: optional parts are only built when present.

    `reference` is the destination reference or an already built one-item list of it (shared by the events
    of a request that go to the same destination).
    """
    refs = reference if isinstance(reference, list) else [reference]
    body: dict[str, Any] = {
        "destinationReferences": refs,
        "transactionId": conv.key,
        "eventTimestamp": timestamp(conv.occurred_at),
        "eventSource": event_source(conv),
    }
    currency = conv.currency
    if conv.value_micros or currency:
        body["conversionValue"] = conv.value_micros / 1_000_000
    if currency:
        body["currency"] = currency.upper()
    ad_ids: dict[str, Any] = {}
    if conv.gclid:
        ad_ids["gclid"] = conv.gclid
    if conv.gbraid:
        ad_ids["gbraid"] = conv.gbraid
    if conv.wbraid:
        ad_ids["wbraid"] = conv.wbraid
    if conv.user_agent or conv.ip:
        device = {k: v for k, v in (("userAgent", conv.user_agent), ("ipAddress", conv.ip)) if v}
        ad_ids["landingPageDeviceInfo"] = device
    if ad_ids:
        body["adIdentifiers"] = ad_ids
    if conv.email_sha256 or conv.phone_sha256:
        body["userData"] = {
            "userIdentifiers": ([{"emailAddress": conv.email_sha256}] if conv.email_sha256 else [])
            + ([{"phoneNumber": conv.phone_sha256}] if conv.phone_sha256 else [])
        }
    if conv.consent_ad_user_data or conv.consent_ad_personalization:
        consent = {
            k: CONSENT[v]
            for k, v in (
                ("adUserData", conv.consent_ad_user_data),
                ("adPersonalization", conv.consent_ad_personalization),
            )
            if v in CONSENT
        }
        if consent:
            body["consent"] = consent
    return body


async def push_conversions(
    api: GoogleApi,
    creds: Credentials,
    account: Account,
    batch: list[OutgoingConversion],
    *,
    validate_only: bool,
    batch_limit: int,
) -> list[PushResult]:
    """Send one events:ingest request for the batch; results come back in batch order.

    - More than `batch_limit` events, or more than 10 distinct conversion actions: ValueError.
    - Success: every sent event is `sent` with the request ID (look the verdict up with check_verdict).
      With validate_only nothing is ingested: `sent` results carry no request ID.
    - Auth, quota and server errors raise (after retries), as for every other call.
    """
    if len(batch) > batch_limit:
        raise ValueError(f"At most {batch_limit} conversions per Data Manager request, got {len(batch)}")
    results: list[PushResult] = [NO_IDENTIFIER] * len(batch)
    sendable = []
    for i, conv in enumerate(batch):
        if missing_identifier(conv) is not None:
            continue
        if event_source(conv) is None:
            results[i] = NO_EVENT_SOURCE
            continue
        sendable.append(i)
    if sendable:
        await _ingest(api, creds, account, batch, sendable, results, validate_only)
    return results


async def _ingest(
    api: GoogleApi,
    creds: Credentials,
    account: Account,
    batch: list[OutgoingConversion],
    sendable: list[int],
    results: list[PushResult],
    validate_only: bool,
) -> None:
    references: dict[str, str] = {}  # action id -> destination reference
    by_action: dict[str, list[str]] = {}  # ConversionAction.id -> [reference], one action_id per action
    events = []
    for i in sendable:
        conv = batch[i]
        refs = by_action.get(conv.action.id)
        if refs is None:  # events of one action share one (never mutated) destinationReferences list
            refs = by_action[conv.action.id] = [references.setdefault(action_id(conv.action), f"d{len(references)}")]
        events.append(event(conv, refs))
    if len(references) > MAX_DESTINATIONS:
        raise ValueError(f"At most {MAX_DESTINATIONS} conversion actions per Data Manager request")
    destinations = []
    for destination_id, ref in references.items():
        dest: dict[str, Any] = {
            "reference": ref,
            "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": account.id},
            "productDestinationId": destination_id,
        }
        if account.login_customer_id and account.login_customer_id != account.id:
            dest["loginAccount"] = {"accountType": "GOOGLE_ADS", "accountId": account.login_customer_id}
        destinations.append(dest)
    body = {"destinations": destinations, "events": events, "encoding": "HEX", "validateOnly": validate_only}
    try:
        answer = await api.datamanager(creds, "POST", "v1/events:ingest", json=body)
    except Rejected as exc:
        rejected(exc, sendable, results)
        return
    request_id = None if validate_only else answer.get("requestId")
    text = (
        "validated only (validateOnly): nothing was ingested"
        if validate_only
        else f"accepted by Data Manager, requestId {answer.get('requestId')}"
    )
    if answer.get("fieldWarnings"):
        text += "; warnings: " + "; ".join(f"{w.get('field')}: {w.get('reason')}" for w in answer["fieldWarnings"])
    sent = PushResult("sent", response=text, request_id=request_id)
    for i in sendable:
        results[i] = sent


def rejected(exc: Rejected, sendable: list[int], results: list[PushResult]) -> None:
    """The events a 400 names fail with Google's words; the others are collateral (resent without them)."""
    per_event: dict[int, list[str]] = {}
    general: list[str] = []
    for violation in exc.violations:
        field = str(violation.get("field", ""))
        text = str(violation.get("description") or exc.message)
        if violation.get("reason"):
            text += f" [{violation['reason']} at {field}]" if field else f" [{violation['reason']}]"
        match = re.search(r"events\[(\d+)\]", field)
        if match and int(match.group(1)) < len(sendable):
            per_event.setdefault(int(match.group(1)), []).append(text)
        else:
            general.append(text)
    response = f"HTTP {exc.status_code} {exc.code or ''} (request-id {exc.request_id})"
    others = (
        PushResult("failed", error="; ".join(general), response=response)
        if general
        else PushResult("failed", error=NOT_PROCESSED, response=response, collateral=True)
    )
    for position, i in enumerate(sendable):
        named = per_event.get(position)
        results[i] = PushResult("failed", error="; ".join(named), response=response) if named else others
