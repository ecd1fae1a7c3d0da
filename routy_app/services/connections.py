"""The connection state machine: OAuth start/callback, account choice, GA4 manual setup, test,
pause/resume, reconnect, disconnect, and the status changes that sync failures cause.

Statuses (the card's badge): no row = Not Connected; pending_account; active; paused;
reconnect_required (auth refused: only a new OAuth flow helps); needs_attention (3 failures in a row).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import NamedTuple

import httpx
from sqlalchemy import delete, update
from sqlmodel import Session, select

from routy_app.crypto import get_box
from routy_app.db import session_scope
from routy_app.models import (
    ConversionMapping,
    ConversionPush,
    Direction,
    Integration,
    IntegrationStatus,
    MetricRow,
    OAuthState,
    PushRequest,
    SyncRun,
    TrafficSource,
)
from routy_app.providers import registry
from routy_app.providers.definition import AuthScheme, Capability
from routy_app.providers.errors import AuthExpired, ProviderError, SetupFieldError
from routy_app.providers.protocols import ManualSetup, OAuthFlow, Provider, ability
from routy_app.providers.values import Account, Credentials
from routy_app.services import runs
from routy_app.services.hub import ProviderHub
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.connections")

STATE_TTL = dt.timedelta(minutes=10)
REFRESH_MARGIN_SECONDS = 300
FAILURES_BEFORE_ATTENTION = 3


class ConnectionProblem(Exception):
    """A user-facing refusal; `message` is shown as is (toast, callout or callback redirect)."""

    def __init__(self, message: str, field: str | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


@dataclass(frozen=True)
class CallbackOutcome:
    """Where the browser goes after the provider redirects back, and what it is told.

    `code` (one of CALLBACK_MESSAGES) is what travels in the redirect; the page shows our text for
    it, never text from the URL (which anyone can write). `message` may add the provider's detail,
    for the server log.
    """

    source_id: int | None
    provider: str
    ok: bool
    message: str
    integration_id: int | None = None
    code: str = ""


# What the page says for each callback outcome code ({name}: the provider's name in our registry).
CALLBACK_MESSAGES = {
    "no_state": "{name} sent no state back. Please click Connect again.",
    "invalid_link": "This authorisation link is not valid. Please click Connect again.",
    "used_link": "This authorisation link was already used. Please click Connect again.",
    "expired": "The authorisation took longer than 10 minutes and expired. Please click Connect again.",
    "other_session": "This authorisation was started in another browser session. Please click Connect again.",
    "declined": "You declined access on the {name} consent page. Nothing was connected.",
    "not_authorised": "{name} did not authorise Routy. Please click Connect again; the server log has {name}'s reason.",
    "no_code": "{name} sent no authorisation code. Please try again.",
    "exchange_failed": "{name} refused the token exchange. Please click Connect again; if it keeps failing, "
    "check the OAuth client id and secret (the server log has {name}'s reason).",
    "missing_scopes": "{name} access was granted without some of the requested permissions; please allow every "
    "requested permission.",
    "disconnected": "This integration was disconnected meanwhile. Click Connect to start again.",
    "already_connected": "{name} is already connected to this traffic source.",
}


def callback_message(code: str, provider_key: str) -> str:
    """Our text for a callback outcome code; "" for a code we never send (nothing is shown)."""
    template = CALLBACK_MESSAGES.get(code)
    if template is None:
        return ""
    definition = registry.find(provider_key)
    return template.format(name=definition.name if definition else "The provider")


def _refused(
    source_id: int | None, provider_key: str, code: str, detail: str = "", integration_id: int | None = None
) -> CallbackOutcome:
    message = callback_message(code, provider_key)
    if detail:  # the provider's own words, for the log (the page shows only `code`'s text)
        message = f"{message} Detail: {' '.join(detail.split())[:300]}"
    return CallbackOutcome(source_id, provider_key, False, message, integration_id, code)


@dataclass(frozen=True)
class AccountChoice:
    """An account row for the picker; managers are shown as group headers, not choosable."""

    id: str
    name: str
    currency: str
    timezone: str
    manager: bool
    parent_id: str
    selectable: bool


@dataclass(frozen=True)
class TestOutcome:
    ok: bool
    elapsed_ms: int
    message: str


# ---------------------------------------------------------------- credentials at rest


def save_credentials(integration: Integration, creds: Credentials) -> None:
    integration.credentials_enc = get_box().encrypt_json(creds.to_dict())
    integration.token_expires_at = creds.expires_at
    integration.authorized_at = creds.granted_at or integration.authorized_at
    integration.access_expires_at = creds.access_ends_at  # what the expiring-access alert watches
    integration.updated_at = utcnow()


def load_credentials(integration: Integration) -> Credentials:
    if not integration.credentials_enc:
        raise ConnectionProblem("This integration has no stored authorisation; reconnect it.")
    return Credentials.from_dict(get_box().decrypt_json(integration.credentials_enc))


def account_of(integration: Integration) -> Account:
    """The integration's linked account as the adapters take it."""
    return Account(
        id=integration.account_id or "",
        name=integration.account_name or "",
        currency=integration.account_currency or "",
        timezone=integration.account_timezone or "UTC",
        login_customer_id=integration.login_customer_id,
    )


def _get(session: Session, integration_id: int) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise ConnectionProblem("This integration no longer exists (it may have been disconnected).")
    return integration


def _provider_name(key: str) -> str:
    return registry.display_name(key)


class ProviderSession(NamedTuple):
    """What the door hands out: the adapter (built with the refresh callback), fresh credentials, the account."""

    provider: Provider
    creds: Credentials
    account: Account


@contextlib.asynccontextmanager
async def provider_session(
    hub: ProviderHub,
    integration_id: int,
    *,
    http: httpx.AsyncClient | None = None,
    refresh_within: float | None = REFRESH_MARGIN_SECONDS,
) -> AsyncIterator[ProviderSession]:
    """The one door for an integration's authorised calls.

    1. Reads the stored credentials and account in one short transaction (no session is held after it).
    2. Builds the adapter with a callback that stores every token it refreshes (in its own transaction).
    3. Refreshes first when the access token expires within `refresh_within` seconds (None: never).
    4. An AuthExpired, from the refresh or from the block, marks the integration Reconnection Required,
       once, and propagates; bodies never mark it themselves. Other errors pass through untouched.
    Raises ConnectionProblem when the integration or its stored authorisation is gone.
    """
    with session_scope() as session:
        integration = _get(session, integration_id)
        creds = load_credentials(integration)
        provider_key, account = integration.provider, account_of(integration)
        if integration.token_expires_at is not None:  # the column is what the scheduler watches
            creds = dataclasses.replace(creds, expires_at=integration.token_expires_at)
    provider = hub.provider(provider_key, http=http, on_refresh=functools.partial(persist_refreshed, integration_id))
    try:
        if refresh_within is not None and creds.refresh_token and creds.expires_within(refresh_within):
            creds = await provider.refresh(creds)
        yield ProviderSession(provider, creds, account)
    except AuthExpired as exc:
        name = registry.display_name(provider_key)
        mark_auth_failed(integration_id, f"{name} refused the authorisation: {describe_error(exc)}")
        raise


def persist_refreshed(integration_id: int, creds: Credentials | None) -> None:
    """Store credentials an adapter refreshed on its own (e.g. after a 401 mid-report)."""
    if creds is None:
        return
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        current = load_credentials(integration) if integration.credentials_enc else None
        if current is None or current.access_token != creds.access_token:
            save_credentials(integration, creds)
            session.add(integration)
            session.commit()


async def refresh_expiring_tokens(hub: ProviderHub, within_seconds: int = 900) -> int:
    """Refresh every access token that expires soon (the scheduler runs this); returns how many."""
    horizon = utcnow() + dt.timedelta(seconds=within_seconds)
    with session_scope() as session:
        ids = session.exec(
            select(Integration.id).where(
                Integration.token_expires_at.is_not(None),  # type: ignore[union-attr]
                Integration.token_expires_at < horizon,  # type: ignore[operator]
                Integration.status.in_(
                    [
                        IntegrationStatus.ACTIVE,
                        IntegrationStatus.PAUSED,  # type: ignore[attr-defined]
                        IntegrationStatus.NEEDS_ATTENTION,
                        IntegrationStatus.PENDING_ACCOUNT,
                    ]
                ),
            )
        ).all()
    refreshed = 0
    for integration_id in ids:
        try:
            before = time.monotonic()
            async with provider_session(hub, int(integration_id), refresh_within=within_seconds):
                pass
            refreshed += 1
            log.info("refreshed token of integration %s in %.0f ms", integration_id, (time.monotonic() - before) * 1000)
        except (ProviderError, ConnectionProblem) as exc:
            log.warning("token refresh of integration %s failed: %s", integration_id, getattr(exc, "message", exc))
    return refreshed


# ---------------------------------------------------------------- OAuth


async def start_oauth(
    hub: ProviderHub,
    source_id: int,
    provider_key: str,
    *,
    session_id: str | None = None,
    reconnect_integration_id: int | None = None,
) -> str:
    """Create a single-use state (10 minutes, PKCE verifier) and return the provider's authorize URL."""
    info = registry.find(provider_key)
    if info is None:
        raise ConnectionProblem(f"Unknown provider {provider_key!r}.")
    if info.auth is not AuthScheme.OAUTH:
        raise ConnectionProblem(f"{info.name} is set up with a form, not OAuth.")
    with session_scope() as session:
        if session.get(TrafficSource, source_id) is None:
            raise ConnectionProblem("This traffic source does not exist.")
        existing = session.exec(
            select(Integration).where(Integration.traffic_source_id == source_id, Integration.provider == provider_key)
        ).first()
        if reconnect_integration_id is None and existing is not None:
            raise ConnectionProblem(f"{info.name} is already connected to this traffic source.")
        if reconnect_integration_id is not None and (existing is None or existing.id != reconnect_integration_id):
            raise ConnectionProblem("This integration no longer exists (it may have been disconnected).")
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        session.add(
            OAuthState(
                state=state,
                provider=provider_key,
                traffic_source_id=source_id,
                integration_id=reconnect_integration_id,
                purpose="reconnect" if reconnect_integration_id else "connect",
                code_verifier=verifier,
                session_id=session_id,
                expires_at=utcnow() + STATE_TTL,
            )
        )
        session.commit()
    flow = ability(hub.provider(provider_key), OAuthFlow)
    return flow.authorization_url(state, verifier, hub.redirect_uri(provider_key))


def _claim_state(provider_key: str, state: str, session_id: str | None) -> OAuthState:
    """Mark the state used (atomically: a replayed callback finds it used) and return it."""
    with session_scope() as session:
        row = session.exec(select(OAuthState).where(OAuthState.state == state)).first()
        if row is None or row.provider != provider_key:
            raise ConnectionProblem(CALLBACK_MESSAGES["invalid_link"], code="invalid_link")
        if row.used_at is not None:
            raise ConnectionProblem(CALLBACK_MESSAGES["used_link"], code="used_link")
        if row.expires_at < utcnow():
            raise ConnectionProblem(CALLBACK_MESSAGES["expired"], code="expired")
        if row.session_id and row.session_id != session_id:
            raise ConnectionProblem(CALLBACK_MESSAGES["other_session"], code="other_session")
        claimed = session.exec(
            update(OAuthState)
            .where(OAuthState.id == row.id, OAuthState.used_at.is_(None))  # type: ignore[union-attr]
            .values(used_at=utcnow())
        ).rowcount
        session.commit()
        if claimed != 1:
            raise ConnectionProblem(CALLBACK_MESSAGES["used_link"], code="used_link")
        return row


def _source_of_state(state: str) -> int | None:
    """The traffic source a (refused) state belonged to, so the user lands back on its page."""
    with session_scope() as session:
        row = session.exec(select(OAuthState).where(OAuthState.state == state)).first()
        return row.traffic_source_id if row else None


async def complete_oauth(
    hub: ProviderHub, provider_key: str, params: dict[str, str], session_id: str | None = None
) -> CallbackOutcome:
    """Handle the provider's redirect back: check the state, exchange the code, store the tokens."""
    state = params.get("state", "")
    if not state:
        return _refused(None, provider_key, "no_state")
    try:
        row = _claim_state(provider_key, state, session_id)
    except ConnectionProblem as exc:
        return _refused(_source_of_state(state), provider_key, exc.code or "invalid_link")
    source_id = row.traffic_source_id
    if params.get("error"):
        if params["error"] == "access_denied":
            return _refused(source_id, provider_key, "declined", integration_id=row.integration_id)
        detail = params.get("error_description") or params["error"]
        return _refused(source_id, provider_key, "not_authorised", detail[:300], row.integration_id)
    code = params.get("code", "")
    if not code:
        return _refused(source_id, provider_key, "no_code")
    flow = ability(hub.provider(provider_key), OAuthFlow)
    try:
        creds = await flow.exchange_code(code, row.code_verifier, hub.redirect_uri(provider_key))
    except ProviderError as exc:
        return _refused(source_id, provider_key, "exchange_failed", exc.message, row.integration_id)
    missing = flow.missing_scopes(creds)
    if missing:
        return _refused(
            source_id,
            provider_key,
            "missing_scopes",
            ", ".join(s.rsplit("/", 1)[-1] for s in missing),
            row.integration_id,
        )
    return _store_authorisation(row, creds, _provider_name(provider_key))


def _store_authorisation(row: OAuthState, creds: Credentials, name: str) -> CallbackOutcome:
    with session_scope() as session:
        if row.purpose == "reconnect":
            integration = session.get(Integration, row.integration_id)
            if integration is None:
                return _refused(row.traffic_source_id, row.provider, "disconnected")
            save_credentials(integration, creds)
            if not integration.account_id:
                integration.status = IntegrationStatus.PENDING_ACCOUNT
            elif integration.status != IntegrationStatus.PAUSED:  # a refreshed grant does not un-pause
                integration.status = IntegrationStatus.ACTIVE
            integration.consecutive_failures = 0
            integration.last_error = None
            session.add(integration)
            session.commit()
            return CallbackOutcome(row.traffic_source_id, row.provider, True, f"{name} is reconnected.", integration.id)
        existing = session.exec(
            select(Integration).where(
                Integration.traffic_source_id == row.traffic_source_id, Integration.provider == row.provider
            )
        ).first()
        if existing is not None:
            return _refused(row.traffic_source_id, row.provider, "already_connected", integration_id=existing.id)
        info = registry.get(row.provider)
        direction = _direction(info.can(Capability.PULL), info.can(Capability.PUSH))
        integration = Integration(
            traffic_source_id=row.traffic_source_id,
            provider=row.provider,
            status=IntegrationStatus.PENDING_ACCOUNT,
            direction=direction,
        )
        save_credentials(integration, creds)
        session.add(integration)
        session.commit()
        return CallbackOutcome(
            row.traffic_source_id,
            row.provider,
            True,
            f"{name} authorised Routy. Now pick the ad account to link.",
            integration.id,
        )


# ---------------------------------------------------------------- account choice


async def _reachable_accounts(hub: ProviderHub, integration_id: int) -> list[Account]:
    """Accounts the stored token reaches right now; a refused token means Reconnection Required."""
    with session_scope() as session:
        name = _provider_name(_get(session, integration_id).provider)
    try:
        async with provider_session(hub, integration_id) as (provider, creds, _):
            return await provider.list_accounts(creds)
    except AuthExpired as exc:
        raise ConnectionProblem(f"{name} refused the authorisation: {exc.message}") from None
    except ProviderError as exc:
        raise ConnectionProblem(f"{name} could not list accounts: {exc.message}") from None


async def list_account_choices(hub: ProviderHub, integration_id: int) -> list[AccountChoice]:
    """Accounts the stored token can reach; a manager is followed by its clients."""
    return _order_choices(await _reachable_accounts(hub, integration_id))


def _order_choices(accounts: list[Account]) -> list[AccountChoice]:
    by_parent: dict[str, list[Account]] = {}
    for account in accounts:
        if account.parent_id:
            by_parent.setdefault(account.parent_id, []).append(account)
    ordered: list[AccountChoice] = []
    for account in accounts:
        if account.parent_id:
            continue
        ordered.append(_choice(account))
        for child in by_parent.get(account.id, []):
            ordered.append(_choice(child))
    return ordered


def _choice(account: Account) -> AccountChoice:
    return AccountChoice(
        id=account.id,
        name=account.name,
        currency=account.currency,
        timezone=account.timezone,
        manager=account.manager,
        parent_id=account.parent_id or "",
        selectable=not account.manager,
    )


async def select_account(hub: ProviderHub, integration_id: int, account_id: str) -> Integration:
    """Link the chosen account (it must be one the token can reach) and make the integration Active."""
    accounts = await _reachable_accounts(hub, integration_id)
    account = next((a for a in accounts if a.id == account_id), None)
    if account is None:
        raise ConnectionProblem("That account is not reachable with this authorisation.", field="account")
    if account.manager:
        raise ConnectionProblem(
            "A manager account holds no campaigns; pick one of its client accounts.", field="account"
        )
    with session_scope() as session:
        integration = _get(session, integration_id)
        integration.account_id = account.id
        integration.account_name = account.name
        integration.account_currency = account.currency
        integration.account_timezone = account.timezone
        integration.login_customer_id = account.login_customer_id
        integration.status = IntegrationStatus.ACTIVE
        integration.consecutive_failures = 0
        integration.last_error = None
        integration.updated_at = utcnow()
        session.add(integration)
        session.commit()
        return integration


# ---------------------------------------------------------------- GA4 manual setup


def _direction(pull: bool, push: bool) -> Direction:
    """What a new integration does by default: everything it can."""
    if pull and push:
        return Direction.BIDIRECTIONAL
    return Direction.PULL if pull else Direction.PUSH


async def setup_manual(hub: ProviderHub, source_id: int, provider_key: str, fields: dict[str, str]) -> Integration:
    """Validate a set-up form live (the provider's own checks), then save.

    Raises ConnectionProblem naming the field, or carrying the provider's message; saves nothing then.
    """
    info = registry.get(provider_key)
    if info.auth is not AuthScheme.MANUAL:
        raise ConnectionProblem(f"{info.name} is connected with OAuth, not a form.")
    with session_scope() as session:
        if session.get(TrafficSource, source_id) is None:
            raise ConnectionProblem("This traffic source does not exist.")
        if session.exec(
            select(Integration).where(Integration.traffic_source_id == source_id, Integration.provider == provider_key)
        ).first():
            raise ConnectionProblem(f"{info.name} is already connected to this traffic source.")
    form = ability(hub.provider(provider_key), ManualSetup)
    try:
        account, creds = await form.validate_setup({f.name: str(fields.get(f.name) or "") for f in info.setup_fields})
    except SetupFieldError as exc:
        raise ConnectionProblem(exc.message, field=exc.field) from None
    except ProviderError as exc:
        raise ConnectionProblem(f"{info.name} rejected the check: {exc.message}") from None
    can_pull = info.can(Capability.PULL) and info.can_pull(creds)
    with session_scope() as session:
        integration = Integration(
            traffic_source_id=source_id,
            provider=provider_key,
            status=IntegrationStatus.ACTIVE,
            account_id=account.id,
            account_name=account.name,
            account_currency=account.currency,
            account_timezone=account.timezone,
            direction=_direction(can_pull, info.can(Capability.PUSH)),
            settings_json=json.dumps({"pull_enabled": can_pull}),
        )
        save_credentials(integration, creds)
        session.add(integration)
        session.commit()
        return integration


# ---------------------------------------------------------------- managing


async def test_connection(hub: ProviderHub, integration_id: int) -> TestOutcome:
    """A live call; the answer carries the time it took and the provider's own error text."""
    started = time.monotonic()
    with session_scope() as session:
        integration = _get(session, integration_id)
        provider_key, account = integration.provider, account_of(integration)
        if not integration.account_id:
            raise ConnectionProblem("Pick an account first.")
    name = _provider_name(provider_key)
    try:
        async with provider_session(hub, integration_id) as (provider, creds, _):
            await provider.test_connection(creds, account)
    except AuthExpired as exc:
        return TestOutcome(False, _ms(started), f"{name} refused the authorisation: {exc.message}")
    except ProviderError as exc:
        return TestOutcome(False, _ms(started), f"{name} answered: {describe_error(exc)}")
    except ConnectionProblem as exc:
        return TestOutcome(False, _ms(started), exc.message)
    return TestOutcome(True, _ms(started), f"{name} answered OK.")


def describe_error(exc: ProviderError) -> str:
    """The provider's own text plus its error code, as the user sees it."""
    code = f" [{exc.code}]" if exc.code and str(exc.code) not in exc.message else ""
    return f"{exc.message}{code}"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def set_paused(integration_id: int, paused: bool) -> Integration:
    """Pause keeps everything (tokens, queue, history); Resume makes it Active again."""
    with session_scope() as session:
        integration = _get(session, integration_id)
        if integration.status in (IntegrationStatus.PENDING_ACCOUNT, IntegrationStatus.RECONNECT_REQUIRED):
            raise ConnectionProblem("Finish connecting (pick an account or reconnect) before pausing or resuming.")
        integration.status = IntegrationStatus.PAUSED if paused else IntegrationStatus.ACTIVE
        if not paused:
            integration.consecutive_failures = 0
        integration.updated_at = utcnow()
        session.add(integration)
        session.commit()
        return integration


async def disconnect(hub: ProviderHub, integration_id: int) -> str:
    """Revoke the token where the provider allows it, then delete the integration and all its data.

    Refused while a sync or push of it runs: the run would go on writing rows of a deleted integration.
    """
    if runs.is_running(integration_id) or runs.is_running(integration_id, scope="push"):
        raise ConnectionProblem("A sync or push of this integration is running; try again when it has finished.")
    with session_scope() as session:
        integration = _get(session, integration_id)
        provider_key = integration.provider
        creds = load_credentials(integration) if integration.credentials_enc else None
    name = _provider_name(provider_key)
    note = ""
    if creds is not None and _grant_shared(integration_id, provider_key):
        note = (
            f" (Routy's access was not revoked at {name}: another traffic source is connected to {name}, "
            "possibly with the same login; remove Routy's access there if no source needs it)"
        )
        creds = None
    if creds is not None:
        try:
            await hub.provider(provider_key).revoke(creds)
        except ProviderError as exc:
            note = (
                f" (revoking the token at {name} failed: {getattr(exc, 'message', exc)}; remove Routy's access there)"
            )
    with session_scope() as session:
        for table in (ConversionPush, PushRequest, ConversionMapping, MetricRow, SyncRun):
            session.exec(delete(table).where(table.integration_id == integration_id))  # type: ignore[arg-type]
        session.exec(delete(OAuthState).where(OAuthState.integration_id == integration_id))  # type: ignore[arg-type]
        session.exec(delete(Integration).where(Integration.id == integration_id))  # type: ignore[arg-type]
        session.commit()
    return f"{name} was disconnected and its data removed{note}."


def _grant_shared(integration_id: int, provider_key: str) -> bool:
    """True when another integration of this provider exists: it may use the same login, and a
    revoke ends the whole grant of that login (Google revokes the grant, Meta removes the app),
    which would break that integration too. Routy cannot tell logins apart, so it stays safe."""
    with session_scope() as session:
        return (
            session.exec(
                select(Integration.id).where(
                    Integration.provider == provider_key,
                    Integration.id != integration_id,
                    Integration.credentials_enc.is_not(None),
                )  # type: ignore[union-attr]
            ).first()
            is not None
        )


def describe_removal(integration_id: int) -> str:
    """The confirmation text: what exactly Disconnect removes."""
    with session_scope() as session:
        integration = _get(session, integration_id)
        counts = {
            "metric rows": _count(session, MetricRow, integration_id),
            "sync runs": _count(session, SyncRun, integration_id),
            "conversion mappings": _count(session, ConversionMapping, integration_id),
            "push records": _count(session, ConversionPush, integration_id),
        }
        name = _provider_name(integration.provider)
    parts = ", ".join(f"{n:,} {label}" for label, n in counts.items())
    return (
        f"Disconnecting {name} stops all syncing, revokes Routy's access token where {name} allows it, "
        f"and permanently deletes this integration with its settings and data ({parts}). "
        "Conversions stay in Routy."
    )


def _count(session: Session, table, integration_id: int) -> int:  # noqa: ANN001
    from sqlalchemy import func

    return int(
        session.exec(select(func.count()).select_from(table).where(table.integration_id == integration_id)).one()
    )


# ---------------------------------------------------------------- status changes from syncs


def mark_auth_failed(integration_id: int, message: str) -> None:
    """Authorisation refused for good: Reconnection Required, no scheduled syncs until reconnect."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        integration.status = IntegrationStatus.RECONNECT_REQUIRED
        integration.last_error = message
        integration.updated_at = utcnow()
        session.add(integration)
        session.commit()


def record_failure(integration_id: int, message: str) -> None:
    """A non-auth failure; the third in a row turns an Active integration to Needs attention."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        integration.consecutive_failures += 1
        integration.last_error = message
        integration.last_sync_at = utcnow()
        if (
            integration.consecutive_failures >= FAILURES_BEFORE_ATTENTION
            and integration.status == IntegrationStatus.ACTIVE
        ):
            integration.status = IntegrationStatus.NEEDS_ATTENTION
        session.add(integration)
        session.commit()


def record_partial(integration_id: int, message: str) -> None:
    """Part of a run went through, part failed: the card shows what failed (with counts) without counting
    it as a failure in a row (the connection works) or as a success (something still needs the user)."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        integration.last_error = message
        integration.last_sync_at = utcnow()
        session.add(integration)
        session.commit()


def record_success(integration_id: int) -> None:
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        integration.consecutive_failures = 0
        integration.last_error = None
        integration.last_success_at = integration.last_sync_at = utcnow()
        if integration.status == IntegrationStatus.NEEDS_ATTENTION:
            integration.status = IntegrationStatus.ACTIVE
        session.add(integration)
        session.commit()
