"""Integrations: connecting a provider to a traffic source, its credentials, its health, and the one door
for its authorised calls.

- `access`: `provider_session(hub, integration_id)`, the door (see docs/architecture.md), token refresh job.
- `credentials`: credentials at rest, the account, `ConnectionProblem`.
- `oauth` / `setup`: connecting with a provider's consent page, or with its set-up form.
- `accounts`: the account picker; `manage`: test, pause and resume, disconnect.
- `health`: what provider answers do to an integration's status.
- `sync_settings`: direction and schedule.
"""

from __future__ import annotations

from routy_app.services.integrations.access import ProviderSession, provider_session, refresh_expiring_tokens
from routy_app.services.integrations.accounts import AccountChoice, list_account_choices, select_account
from routy_app.services.integrations.credentials import (
    ConnectionProblem,
    account_of,
    load_credentials,
    persist_refreshed,
    save_credentials,
)
from routy_app.services.integrations.health import (
    describe_error,
    mark_auth_failed,
    record_failure,
    record_partial,
    record_success,
)
from routy_app.services.integrations.manage import (
    TestOutcome,
    check_connection,
    describe_removal,
    disconnect,
    set_paused,
)
from routy_app.services.integrations.oauth import (
    CALLBACK_MESSAGES,
    CallbackOutcome,
    callback_message,
    complete_oauth,
    start_oauth,
)
from routy_app.services.integrations.setup import setup_defaults, setup_manual

__all__ = [
    "CALLBACK_MESSAGES",
    "AccountChoice",
    "CallbackOutcome",
    "ConnectionProblem",
    "ProviderSession",
    "TestOutcome",
    "account_of",
    "callback_message",
    "check_connection",
    "complete_oauth",
    "describe_error",
    "describe_removal",
    "disconnect",
    "list_account_choices",
    "load_credentials",
    "mark_auth_failed",
    "persist_refreshed",
    "provider_session",
    "record_failure",
    "record_partial",
    "record_success",
    "refresh_expiring_tokens",
    "save_credentials",
    "select_account",
    "set_paused",
    "setup_defaults",
    "setup_manual",
    "start_oauth",
]
