"""What the Integrations tab shows: traffic sources and one card per provider with its status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from routy_app import routes
from routy_app.config import get_settings
from routy_app.models import AuditEvent, Integration, IntegrationStatus, SyncRun, TrafficSource, saved_id
from routy_app.providers import registry
from routy_app.providers.definition import Capability, ProviderDefinition
from routy_app.providers.versions import for_provider
from routy_app.services import run_progress
from routy_app.services.run_errors import ErrorSummary, summarise
from routy_app.timeutil import utcnow

NOT_CONNECTED = "not_connected"


@dataclass(frozen=True)
class StatusDisplay:
    """How a card shows an integration status: its badge, its main button, the colour of its notice."""

    label: str
    color: str
    action_label: str
    action: str  # what the main button does: connect | select_account | reconnect | settings
    action_color: str = "indigo"
    notice_color: str = "red"


STATUS_DISPLAY: dict[str, StatusDisplay] = {
    NOT_CONNECTED: StatusDisplay("Not Connected", "gray", "Connect", "connect"),
    IntegrationStatus.PENDING_ACCOUNT: StatusDisplay(
        "Pending account selection", "amber", "Select account", "select_account", notice_color="amber"
    ),
    IntegrationStatus.ACTIVE: StatusDisplay("Active", "green", "Settings", "settings"),
    IntegrationStatus.PAUSED: StatusDisplay("Paused", "blue", "Settings", "settings"),
    IntegrationStatus.RECONNECT_REQUIRED: StatusDisplay(
        "Error — Reconnection Required", "red", "Reconnect", "reconnect", action_color="red"
    ),
    IntegrationStatus.NEEDS_ATTENTION: StatusDisplay("Error — Needs attention", "orange", "Settings", "settings"),
}
# Push History's row statuses and Sync History's run statuses, with their badge colours.
PUSH_STATUS_COLORS: dict[str, str] = {"pending": "gray", "sent": "green", "failed": "red", "skipped": "amber"}
RUN_STATUS_COLORS: dict[str, str] = {
    "running": "blue",
    "success": "green",
    "partial": "amber",
    "failed": "red",
    "interrupted": "orange",
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
    action: str  # connect | select_account | reconnect | settings (StatusDisplay.action)
    action_color: str
    notice_color: str
    integration_id: int
    account_label: str
    last_error: str
    notice: str
    href: str  # the traffic source's page
    settings_href: str = ""  # the integration's page ("" when not connected)
    status_line: str = ""  # the card's one line under the badge: "Last synced 5 min ago", "Syncing…", …
    syncing: bool = False
    error_summary: str = ""  # the last error in one line ("" when none)
    error_details: list[str] = field(default_factory=list)  # each distinct provider text, for Details


def list_sources(session: Session) -> list[SourceItem]:
    rows = session.exec(select(TrafficSource).order_by(col(TrafficSource.id))).all()
    return [SourceItem(id=saved_id(r), name=r.name, href=routes.source(saved_id(r))) for r in rows]


def cards_for_source(session: Session, source_id: int) -> list[ProviderCard]:
    """One card per registered provider, in registry order, with the integration's status."""
    integrations = {
        i.provider: i for i in session.exec(select(Integration).where(Integration.traffic_source_id == source_id)).all()
    }
    return [_card(session, info, integrations.get(info.key), source_id) for info in registry.all_definitions()]


def card_of(session: Session, integration_id: int) -> ProviderCard | None:
    """The card of one integration (None when it is gone, or of a provider Routy no longer has)."""
    integration = session.get(Integration, integration_id)
    info = registry.find(integration.provider) if integration else None
    if integration is None or info is None:
        return None
    return _card(session, info, integration, integration.traffic_source_id)


def _card(session: Session, info: ProviderDefinition, integration: Integration | None, source_id: int) -> ProviderCard:
    status = integration.status if integration else NOT_CONNECTED
    display = STATUS_DISPLAY[status]
    line, syncing = _status_line(session, integration)
    errors = _error_summary(info, integration)
    account = account_label(integration.account_name, integration.account_id) if integration else ""
    return ProviderCard(
        key=info.key,
        name=info.name,
        description=info.description,
        logo=info.logo,
        auth=info.auth.value,
        status=status,
        status_label=display.label,
        status_color=display.color,
        action_label=display.action_label,
        action=display.action,
        action_color=display.action_color,
        notice_color=display.notice_color,
        integration_id=int(integration.id or 0) if integration else 0,
        account_label=account,
        last_error=(integration.last_error or "") if integration else "",
        notice=_notice(integration),
        href=routes.source(source_id),
        settings_href=routes.integration(source_id, int(integration.id or 0)) if integration else "",
        status_line=line,
        syncing=syncing,
        error_summary=errors.summary,
        error_details=errors.details if errors.has_details else [],
    )


def _notice(integration: Integration | None) -> str:
    """The warning a card shows when the integration needs the user (the provider's words are in
    `error_summary` / `error_details`, shown once under it)."""
    if integration is None:
        return ""
    if integration.status == IntegrationStatus.RECONNECT_REQUIRED:
        return (
            "Reconnection Required: the provider's authorisation expired or was revoked. Reconnect to resume syncing."
        )
    if integration.status == IntegrationStatus.NEEDS_ATTENTION:
        return f"Needs attention: {integration.consecutive_failures} syncs failed in a row."
    return ""  # Pending account selection: the card's status line says what to do


def ago(value: dt.datetime, now: dt.datetime | None = None) -> str:
    """ "just now", "5 min ago", "3 h ago", "2 days ago"."""
    seconds = max(0, int(((now or utcnow()) - value).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _clock(value: dt.datetime, now: dt.datetime | None = None) -> str:
    """HH:MM UTC today, else the date too."""
    now = now or utcnow()
    return value.strftime("%H:%M UTC" if value.date() == now.date() else "%Y-%m-%d %H:%M UTC")


def _status_line(session: Session, integration: Integration | None) -> tuple[str, bool]:
    """The card's one status line, and whether a pull is running now (whoever started it)."""
    if integration is None:
        return "Not connected yet.", False
    status = integration.status
    if status == IntegrationStatus.PENDING_ACCOUNT:
        return "Authorised: pick the ad account to link to finish connecting.", False
    running = session.exec(
        select(SyncRun)
        .where(SyncRun.integration_id == integration.id, SyncRun.status == "running", SyncRun.kind == "pull")
        .order_by(col(SyncRun.id).desc())
    ).first()
    if running is not None:
        return run_progress.estimate(session, running).status_line, True
    if status == IntegrationStatus.RECONNECT_REQUIRED:
        return f"Reconnection required since {_clock(integration.updated_at)}", False
    if status == IntegrationStatus.PAUSED:
        event = session.exec(
            select(AuditEvent)
            .where(AuditEvent.integration_id == integration.id, AuditEvent.action == "paused")
            .order_by(col(AuditEvent.at).desc())
        ).first()
        if event is None:
            return "Paused", False
        return f"Paused by {event.user_email or 'Routy'} at {_clock(event.at)}", False
    pulls = registry.get(integration.provider).can(Capability.PULL)
    if integration.last_success_at is not None:
        return f"Last {'synced' if pulls else 'pushed'} {ago(integration.last_success_at)}", False
    if not pulls:  # a push-only card (the Webhook): nothing is pulled, conversions go out as they come
        return "Ready: conversions are pushed as they arrive.", False
    return "Waiting for the first sync.", False


def _error_summary(info: ProviderDefinition, integration: Integration | None) -> ErrorSummary:
    if integration is None or not integration.last_error or integration.status == IntegrationStatus.PENDING_ACCOUNT:
        return summarise("", {})
    labels = {str(level): label for level, label in info.level_labels.items()}
    return summarise(integration.last_error, labels, at=integration.last_sync_at or integration.updated_at)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


@dataclass(frozen=True)
class ConnectionDetails:
    """Everything the Settings → Connection tab shows (display-ready strings, no secrets)."""

    integration_id: int
    source_id: int
    provider: str
    provider_name: str
    auth: str
    status: str
    status_label: str
    status_color: str
    account_name: str
    account_id: str
    account_currency: str
    account_timezone: str
    last_success: str
    last_sync: str
    consecutive_failures: int
    last_error: str
    notice: str
    token_expires: str
    connected_since: str
    can_pause: bool
    can_resume: bool
    notice_color: str  # the Connection tab's notice: red when only reconnecting helps
    reconnect_label: str  # the OAuth button: Reconnect, or Refresh Auth / Reconnect
    reconnect_color: str
    error_summary: str = ""  # last_error in one line
    error_details: list[str] = field(default_factory=list)  # its distinct provider texts
    status_line: str = ""
    account_label: str = ""
    failures_text: str = ""  # "2", or what stopped syncing when failures are not what counts


def connection_details(session: Session, integration_id: int) -> ConnectionDetails | None:
    integration = session.get(Integration, integration_id)
    if integration is None:
        return None
    info = registry.get(integration.provider)
    display = STATUS_DISPLAY[integration.status]
    label, color = display.label, display.color
    lost = integration.status == IntegrationStatus.RECONNECT_REQUIRED
    errors = _error_summary(info, integration)
    return ConnectionDetails(
        integration_id=saved_id(integration),
        source_id=integration.traffic_source_id,
        provider=integration.provider,
        provider_name=info.name,
        auth=info.auth.value,
        status=integration.status,
        status_label=label,
        status_color=color,
        account_name=integration.account_name or "",
        account_id=integration.account_id or "",
        account_currency=integration.account_currency or "",
        account_timezone=integration.account_timezone or "",
        last_success=_when(integration.last_success_at),
        last_sync=_when(integration.last_sync_at),
        consecutive_failures=integration.consecutive_failures,
        last_error=integration.last_error or "",
        notice=_notice(integration),
        token_expires=(
            "no longer valid: reconnect"
            if lost
            else "expires " + _when(integration.token_expires_at)
            if integration.token_expires_at
            else "does not expire"
        ),
        connected_since=_when(integration.created_at),
        can_pause=integration.status in (IntegrationStatus.ACTIVE, IntegrationStatus.NEEDS_ATTENTION),
        can_resume=integration.status == IntegrationStatus.PAUSED,
        notice_color="red" if lost else "orange",
        reconnect_label="Reconnect" if lost else "Refresh Auth / Reconnect",
        reconnect_color="red" if lost else "indigo",
        error_summary=errors.summary,
        error_details=errors.details,
        status_line=_status_line(session, integration)[0],
        account_label=account_label(integration.account_name, integration.account_id),
        failures_text="syncing stopped until you reconnect" if lost else f"{integration.consecutive_failures:,}",
    )


@dataclass(frozen=True)
class VersionRow:
    """One API the integration talks to: its version, whether that version is alive, until when."""

    api: str
    version: str
    setting: str  # the environment variable that picks it ("" when Routy fixes the version)
    status: str  # ok | warning | error
    status_label: str
    color: str
    sunset: str
    message: str


VERSION_DISPLAY = {"ok": ("Supported", "green"), "warning": ("Sunsets soon", "orange"), "error": ("Sunset", "red")}


def api_versions(provider: str) -> tuple[list[VersionRow], str, str]:
    """The version table of Settings → Connection, and its notice (text, colour) when a version needs action."""
    rows, notices, worst = [], [], "ok"
    for status in for_provider(get_settings().api_versions(), provider):
        label, color = VERSION_DISPLAY[status.level]
        rows.append(
            VersionRow(
                status.api, status.version, status.setting, status.level, label, color, status.sunset, status.message
            )
        )
        if status.level != "ok":
            notices.append(status.message)
            worst = "error" if status.level == "error" else worst if worst == "error" else "warning"
    for api, version in registry.get(provider).fixed_versions:
        rows.append(
            VersionRow(
                api,
                version,
                "",
                "ok",
                "Supported",
                "green",
                "no sunset announced",
                f"{api} {version}: fixed by Routy; no sunset announced.",
            )
        )
    return rows, " ".join(notices), VERSION_DISPLAY[worst][1] if notices else ""


@dataclass(frozen=True)
class ActivityRow:
    when: str
    who: str
    action: str
    detail: str


def activity(session: Session, integration_id: int, limit: int = 10) -> list[ActivityRow]:
    """Who connected, paused, changed settings or mappings, newest first (the audit log).

    Only events since this integration was created: SQLite may hand a disconnected integration's
    id to a new one, and the old one's history must not show up there.
    """
    from routy_app.services import audit

    integration = session.get(Integration, integration_id)
    since = integration.created_at if integration else None
    events = [
        e
        for e in audit.recent_for_integration(session, integration_id, limit * 3)
        if since is None or e.at >= since - dt.timedelta(seconds=5)
    ][:limit]
    return [
        ActivityRow(
            when=_when(e.at),
            who=e.user_email or "system",
            action=e.action.replace("_", " "),
            detail=_readable_detail(e.detail or ""),
        )
        for e in events
    ]


def _readable_detail(detail: str) -> str:
    """An audit detail that is a provider's key reads as its name ("Google Ads", not the registry key)."""
    info = registry.find(detail.strip())
    return info.name if info is not None else detail


def account_label(name: str | None, account_id: str | None) -> str:
    """ "Shop (123)"; the id once when the name is the id or already shows it."""
    name, account_id = (name or "").strip(), (account_id or "").strip()
    if not account_id:
        return name
    if not name or name == account_id:
        return account_id
    if account_id in name:
        return name
    return f"{name} ({account_id})"
