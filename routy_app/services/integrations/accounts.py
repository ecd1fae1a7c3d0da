"""Choosing the account an integration works on: the accounts its authorisation reaches (a manager is
followed by its clients), and linking one, which makes the integration Active."""

from __future__ import annotations

from dataclasses import dataclass

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus
from routy_app.providers import registry
from routy_app.providers.errors import AuthExpired, ProviderError
from routy_app.providers.values import Account
from routy_app.services import rescheduling
from routy_app.services.audit import SYSTEM, Actor, AuditAction, record_by
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.access import provider_session
from routy_app.services.integrations.credentials import ConnectionProblem, get_integration
from routy_app.timeutil import utcnow


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
    status_label: str = ""  # "" for an account in good standing
    reason: str = ""  # why it cannot be linked ("" when it can)


# Account statuses (as the providers name them) that make an account useless to link, with the reason shown.
BLOCKING_STATUSES: dict[str, str] = {
    "DISABLED": "Disabled by the provider: it cannot run ads.",
    "UNSETTLED": "Unpaid balance: settle it with the provider before linking.",
    "CLOSED": "Closed.",
    "PENDING_CLOSURE": "Being closed.",
    "CANCELED": "Cancelled.",
    "SUSPENDED": "Suspended by the provider.",
}
GOOD_STATUSES = frozenset({"ENABLED", "ACTIVE", ""})


async def _reachable_accounts(hub: ProviderHub, integration_id: int) -> list[Account]:
    """Accounts the stored token reaches right now; a refused token means Reconnection Required."""
    with session_scope() as session:
        name = registry.display_name(get_integration(session, integration_id).provider)
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
    status = (account.status or "").upper()
    return AccountChoice(
        id=account.id,
        name=account.name,
        currency=account.currency,
        timezone=account.timezone,
        manager=account.manager,
        parent_id=account.parent_id or "",
        selectable=not account.manager and status not in BLOCKING_STATUSES,
        status_label="" if status in GOOD_STATUSES else status.replace("_", " ").capitalize(),
        reason=BLOCKING_STATUSES.get(status, ""),
    )


async def select_account(
    hub: ProviderHub, integration_id: int, account_id: str, *, actor: Actor = SYSTEM
) -> Integration:
    """Link the chosen account (it must be one the token can reach) and make the integration Active."""
    accounts = await _reachable_accounts(hub, integration_id)
    account = next((a for a in accounts if a.id == account_id), None)
    if account is None:
        raise ConnectionProblem("That account is not reachable with this authorisation.", field="account")
    if account.manager:
        raise ConnectionProblem(
            "A manager account holds no campaigns; pick one of its client accounts.", field="account"
        )
    blocked = BLOCKING_STATUSES.get((account.status or "").upper())
    if blocked:
        raise ConnectionProblem(f"{account.name} cannot be linked: {blocked}", field="account")
    with session_scope() as session:
        integration = get_integration(session, integration_id)
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
        record_by(
            session,
            actor,
            AuditAction.ACCOUNT_SELECTED,
            integration_id=integration_id,
            source_id=integration.traffic_source_id,
            detail=f"{registry.display_name(integration.provider)}: {account.name} ({account.id})",
        )
        session.commit()
    rescheduling.reschedule(integration_id)
    return integration
