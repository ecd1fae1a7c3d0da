"""Check the set-up of every connected integration against its provider, live, and say what to fix.

Why: `python -m routy_app doctor` (and Settings → Connection → Check set-up) is how a self-hoster with
real credentials proves the set-up before the first sync: API versions alive, token valid with its
scopes, the provider APIs reachable with this OAuth client, the account readable, somewhere to send
conversions. The checks themselves belong to each provider (providers/*_setup.py); this module finds
the integrations, loads their credentials, runs the checks and puts the report together. It changes
nothing but a refreshed access token, which it stores like any other refresh.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import col, select

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.models import ConversionMapping, Integration, IntegrationStatus, key_of
from routy_app.providers import registry
from routy_app.providers.protocols import SetupChecks
from routy_app.providers.setup_checks import CheckResult, fail, skip, version_check
from routy_app.providers.versions import VersionStatus, for_provider
from routy_app.services import integrations
from routy_app.services.audit import Actor, AuditAction, record_by
from routy_app.services.hub import ProviderHub

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


@dataclass(frozen=True)
class IntegrationReport:
    integration_id: int
    provider: str
    title: str  # e.g. "Google Ads · Routy Shop US (1234567890)"
    checks: list[CheckResult]

    @property
    def failed(self) -> bool:
        return any(c.failed for c in self.checks)

    @property
    def summary(self) -> str:
        """One line for people: how many checks failed or warned."""
        failed = sum(c.failed for c in self.checks)
        warned = sum(c.status == "warn" for c in self.checks)
        return (f"{failed} check(s) failed" if failed else "Every check passed") + (
            f", {warned} warning(s)." if warned else "."
        )


@dataclass
class Report:
    mode: str
    checked_at: dt.datetime
    configuration: list[CheckResult] = field(default_factory=list)
    integrations: list[IntegrationReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.configuration) and not any(i.failed for i in self.integrations)

    def lines(self) -> list[str]:
        """The report as printed by `doctor`: one line per check, fixes indented under failures."""
        out = [f"Routy set-up check · {self.mode} mode · {self.checked_at:%Y-%m-%d %H:%M} UTC", "", "Configuration"]
        out += _check_lines(self.configuration)
        if not self.integrations:
            out += ["", "No connected integrations yet: connect one in the app, then run this again."]
        for report in self.integrations:
            out += ["", report.title]
            out += _check_lines(report.checks)
        failed = sum(c.failed for c in self.configuration) + sum(c.failed for i in self.integrations for c in i.checks)
        warned = sum(c.status == "warn" for c in self.configuration) + sum(
            c.status == "warn" for i in self.integrations for c in i.checks
        )
        out += ["", f"{failed} check(s) failed, {warned} warning(s)." if failed or warned else "Everything checks out."]
        return out


def _check_lines(checks: list[CheckResult]) -> list[str]:
    width = max((len(c.name) for c in checks), default=0)
    out = []
    for c in checks:
        out.append(f"  [{MARKS[c.status]}] {c.name:<{width}}  {c.message}")
        if c.fix and c.status in ("fail", "warn"):
            out.append(f"         {'':<{width}}  → {c.fix}")
    return out


def _quick(hub: ProviderHub) -> ProviderHub:
    """The same adapters with a short retry budget: a check should answer in seconds, not back off for minutes."""
    retry = dataclasses.replace(
        hub.retry,
        max_attempts=min(hub.retry.max_attempts, 2),
        cap=min(hub.retry.cap, 2.0),
        max_hint=min(hub.retry.max_hint, 5.0),
    )
    return hub.with_retry(retry)


def _integration_ids(source_id: int | None) -> list[int]:
    with session_scope() as session:
        query = select(col(Integration.id)).order_by(col(Integration.traffic_source_id), col(Integration.id))
        if source_id is not None:
            query = query.where(Integration.traffic_source_id == source_id)
        return [key_of(i) for i in session.exec(query)]


def _mapped(integration_id: int) -> dict[str, str]:
    """Enabled mappings' provider action id -> Routy event type."""
    with session_scope() as session:
        rows = session.exec(
            select(ConversionMapping).where(
                ConversionMapping.integration_id == integration_id, ConversionMapping.enabled
            )
        )
        return {m.action_id: m.event_type for m in rows}


async def check_integration(
    hub: ProviderHub, integration_id: int, versions: list[VersionStatus] | None = None, *, actor: Actor | None = None
) -> IntegrationReport:
    """Every set-up check of one integration (the Check set-up button runs exactly this; a person's check,
    `actor`, is audited with its summary)."""
    settings = get_settings()
    versions = versions if versions is not None else settings.api_versions()
    hub = _quick(hub)
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            raise integrations.ConnectionProblem("This integration no longer exists.")
        provider_key, status = integration.provider, integration.status
        account = integrations.account_of(integration)
        has_creds = bool(integration.credentials_enc)
    title = f"{registry.display_name(provider_key)} · {account.name or 'no account'} ({account.id or '–'})"
    if status == IntegrationStatus.PENDING_ACCOUNT or not has_creds:
        return IntegrationReport(
            integration_id,
            provider_key,
            title,
            [skip("Set-up", "No account chosen yet: finish connecting in the app.")],
        )
    version = next(iter(for_provider(versions, provider_key)), None)
    async with integrations.provider_session(hub, integration_id, refresh_within=None) as (adapter, creds, account):
        if isinstance(adapter, SetupChecks):
            checks = await adapter.check_setup(
                creds, account, version, _mapped(integration_id), sandbox=settings.is_sandbox
            )
        else:
            checks = [fail("Set-up", f"No set-up checks for {registry.display_name(provider_key)}.")]
    if status == IntegrationStatus.PAUSED:
        checks = [skip("Status", "Paused: nothing syncs until it is resumed."), *checks]
    report = IntegrationReport(integration_id, provider_key, title, checks)
    if actor is not None:
        with session_scope() as session:
            record_by(session, actor, AuditAction.SETUP_CHECKED, integration_id=integration_id, detail=report.summary)
            session.commit()
    return report


async def run(hub: ProviderHub, source_id: int | None = None) -> Report:
    """The whole report: configuration (API versions), then every integration (of one source, if given)."""
    settings = get_settings()
    versions = settings.api_versions()
    report = Report(
        mode=str(settings.provider_mode),
        checked_at=dt.datetime.now(dt.UTC),
        configuration=[dataclasses.replace(version_check(v), name=v.api) for v in versions],
    )
    for integration_id in _integration_ids(source_id):
        report.integrations.append(await check_integration(hub, integration_id, versions))
    return report


async def run_cli(source_id: int | None = None) -> Report:
    """`python -m routy_app doctor`: the report through a hub of its own (closed afterwards)."""
    hub = ProviderHub.from_settings()
    try:
        return await run(hub, source_id)
    finally:
        await hub.aclose()
