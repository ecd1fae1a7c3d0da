"""An integration's credentials at rest (encrypted), its account as the adapters take it, and the refusal
the integration services raise."""

from __future__ import annotations

from sqlmodel import Session

from routy_app.crypto import get_box
from routy_app.db import session_scope
from routy_app.errors import UserFacingError
from routy_app.models import Integration
from routy_app.providers.values import Account, Credentials
from routy_app.timeutil import utcnow


class ConnectionProblem(UserFacingError):
    """A refusal of a connection step, shown as is; `code` is what an OAuth callback redirect carries.
    `field_errors` maps each form field at fault to its message (a form shows them all at once); `field`
    is the first of them."""

    def __init__(
        self, message: str, field: str | None = None, code: str = "", field_errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, field or next(iter(field_errors or {}), None))
        self.code = code
        self.field_errors = dict(field_errors) if field_errors else ({field: message} if field else {})


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


def get_integration(session: Session, integration_id: int) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise ConnectionProblem("This integration no longer exists (it may have been disconnected).")
    return integration


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
