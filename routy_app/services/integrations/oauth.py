"""Connecting with OAuth: the single-use state (PKCE verifier, 10 minutes, bound to the browser session),
the provider's consent page, and its redirect back (code exchange, scopes, storing the grant)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import col, select

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, OAuthState, TrafficSource
from routy_app.providers import registry
from routy_app.providers.definition import AuthScheme, Capability
from routy_app.providers.errors import ProviderError
from routy_app.providers.protocols import OAuthFlow, ability
from routy_app.providers.values import Credentials
from routy_app.services import rescheduling
from routy_app.services.audit import SYSTEM, Actor, AuditAction, record_by
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.credentials import ConnectionProblem, save_credentials
from routy_app.services.integrations.setup import default_direction
from routy_app.timeutil import utcnow

STATE_TTL = dt.timedelta(minutes=10)


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
            .where(col(OAuthState.id) == row.id, col(OAuthState.used_at).is_(None))
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
    hub: ProviderHub,
    provider_key: str,
    params: dict[str, str],
    session_id: str | None = None,
    *,
    actor: Actor = SYSTEM,
) -> CallbackOutcome:
    """Handle the provider's redirect back: check the state, exchange the code, store the tokens; a stored
    grant is audited, and a reconnected integration's pull job comes back at once."""
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
    outcome = _store_authorisation(row, creds, registry.display_name(provider_key), actor)
    if outcome.ok and outcome.integration_id:
        rescheduling.reschedule(outcome.integration_id)
    return outcome


def _store_authorisation(row: OAuthState, creds: Credentials, name: str, actor: Actor) -> CallbackOutcome:
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
            record_by(
                session,
                actor,
                AuditAction.RECONNECTED,
                integration_id=integration.id,
                source_id=row.traffic_source_id,
                detail=row.provider,
            )
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
        direction = default_direction(info.can(Capability.PULL), info.can(Capability.PUSH))
        integration = Integration(
            traffic_source_id=row.traffic_source_id,
            provider=row.provider,
            status=IntegrationStatus.PENDING_ACCOUNT,
            direction=direction,
        )
        save_credentials(integration, creds)
        session.add(integration)
        session.flush()
        record_by(
            session,
            actor,
            AuditAction.CONNECTED,
            integration_id=integration.id,
            source_id=row.traffic_source_id,
            detail=row.provider,
        )
        session.commit()
        return CallbackOutcome(
            row.traffic_source_id,
            row.provider,
            True,
            f"{name} authorised Routy. Now pick the ad account to link.",
            integration.id,
        )
