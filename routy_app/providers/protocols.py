"""What the services call on an adapter: a small required core and optional abilities.

Why: abilities used to be probed with `hasattr`/`getattr` (does it check verdicts? can it be set up with a
form?). Each is now a runtime-checkable Protocol, the definition says which ones the adapter has, and
`ability()` narrows an adapter to one for the type checker (failing loudly if a definition promised more
than its adapter has; tests/unit/test_provider_definitions.py keeps them in step).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar, runtime_checkable

from routy_app.providers.values import (
    Account,
    ConversionAction,
    Credentials,
    Level,
    MetricRecord,
    OutgoingConversion,
    PushResult,
    Verdict,
)

if TYPE_CHECKING:
    from routy_app.providers.definition import ProviderDefinition
    from routy_app.providers.setup_checks import CheckResult
    from routy_app.providers.versions import VersionStatus


@runtime_checkable
class Provider(Protocol):
    """Every adapter: list the accounts a credential reaches, prove access to one, refresh and revoke."""

    definition: ClassVar[ProviderDefinition]

    async def list_accounts(self, creds: Credentials) -> list[Account]: ...

    async def test_connection(self, creds: Credentials, account: Account) -> None: ...

    async def refresh(self, creds: Credentials) -> Credentials:
        """Fresh credentials (manual set-ups return `creds`); AuthExpired when the grant is gone."""
        ...

    async def revoke(self, creds: Credentials) -> None:
        """End Routy's access where the provider allows it (manual set-ups: nothing to do)."""
        ...


@runtime_checkable
class OAuthFlow(Protocol):
    def authorization_url(self, state: str, code_verifier: str, redirect_uri: str) -> str: ...

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> Credentials: ...

    def missing_scopes(self, creds: Credentials) -> list[str]:
        """Scopes Routy asked for that the user did not grant (granular consent)."""
        ...


@runtime_checkable
class ManualSetup(Protocol):
    async def validate_setup(self, fields: Mapping[str, str]) -> tuple[Account, Credentials]:
        """Check the set-up form live; SetupFieldError names a bad field, ProviderError a failed live check."""
        ...


@runtime_checkable
class MetricsSource(Protocol):
    def fetch_metrics(
        self, creds: Credentials, account: Account, level: Level, start: dt.date, end: dt.date
    ) -> AsyncIterator[list[MetricRecord]]:
        """Daily records of `level`, one list per provider page (never the whole report at once)."""
        ...


@runtime_checkable
class ConversionSink(Protocol):
    async def push_conversions(
        self, creds: Credentials, account: Account, batch: list[OutgoingConversion], *, validate_only: bool = False
    ) -> list[PushResult]:
        """One request's worth of events; one result per event, in batch order (see PushResult)."""
        ...


@runtime_checkable
class ActionCatalog(Protocol):
    async def list_conversion_actions(self, creds: Credentials, account: Account) -> list[ConversionAction]: ...


@runtime_checkable
class ActionCheck(Protocol):
    async def check_action(self, creds: Credentials, account: Account, action_id: str) -> ConversionAction:
        """The live action a new mapping targets; SetupFieldError says why it cannot take conversions."""
        ...


@runtime_checkable
class VerdictSource(Protocol):
    async def check_verdict(self, creds: Credentials, request_id: str) -> Verdict:
        """The processing verdict of a sent request; a request id the provider does not know is UNKNOWN."""
        ...

    def describe_verdict(self, verdict: Verdict) -> tuple[str, str]:
        """(short text for the Push History column, the full sentence for the row's detail)."""
        ...


@runtime_checkable
class SetupChecks(Protocol):
    async def check_setup(
        self,
        creds: Credentials,
        account: Account,
        version: VersionStatus | None,
        mapped: dict[str, str],
        *,
        sandbox: bool,
    ) -> list[CheckResult]:
        """Every set-up check (doctor, Check set-up), in order; `mapped` is action id -> Routy event type."""
        ...


A = TypeVar("A")


def ability(provider: Provider, kind: type[A]) -> A:
    """`provider` as one of its abilities; TypeError naming it when its definition promised one it lacks."""
    if not isinstance(provider, kind):
        raise TypeError(f"{type(provider).__name__} does not implement {kind.__name__}")
    return provider
