"""What the Integrations tab shows: traffic sources and one card per provider with its status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from routy_app.models import Integration, IntegrationStatus, TrafficSource
from routy_app.providers.registry import PROVIDERS

NOT_CONNECTED = "not_connected"

# status -> (badge label, badge colour, the card's main button)
STATUS_DISPLAY: dict[str, tuple[str, str, str]] = {
    NOT_CONNECTED: ("Not Connected", "gray", "Connect"),
    IntegrationStatus.PENDING_ACCOUNT: ("Pending account selection", "amber", "Select account"),
    IntegrationStatus.ACTIVE: ("Active", "green", "Settings"),
    IntegrationStatus.PAUSED: ("Paused", "blue", "Settings"),
    IntegrationStatus.RECONNECT_REQUIRED: ("Error — Reconnection Required", "red", "Reconnect"),
    IntegrationStatus.NEEDS_ATTENTION: ("Error — Needs attention", "orange", "Settings"),
}


@dataclass(frozen=True)
class SourceItem:
    id: int
    name: str
    href: str


@dataclass(frozen=True)
class ProviderCard:
    key: str
    name: str
    description: str
    logo: str
    auth: str
    status: str
    status_label: str
    status_color: str
    action_label: str
    integration_id: int
    account_label: str
    last_error: str


def list_sources(session: Session) -> list[SourceItem]:
    rows = session.exec(select(TrafficSource).order_by(TrafficSource.id)).all()
    return [SourceItem(id=int(r.id), name=r.name, href=f"/sources/{r.id}") for r in rows]


def cards_for_source(session: Session, source_id: int) -> list[ProviderCard]:
    """One card per registered provider, in registry order, with the integration's status."""
    integrations = {
        i.provider: i
        for i in session.exec(select(Integration).where(Integration.traffic_source_id == source_id)).all()
    }
    cards = []
    for info in PROVIDERS:
        integration = integrations.get(info.key)
        status = integration.status if integration else NOT_CONNECTED
        label, color, action = STATUS_DISPLAY[status]
        account = ""
        if integration and integration.account_id:
            account = f"{integration.account_name or ''} ({integration.account_id})".strip()
        cards.append(ProviderCard(
            key=info.key, name=info.name, description=info.description, logo=info.logo, auth=info.auth,
            status=status, status_label=label, status_color=color, action_label=action,
            integration_id=int(integration.id) if integration else 0, account_label=account,
            last_error=(integration.last_error or "") if integration else "",
        ))
    return cards
