"""The Webhook adapter: each conversion is one request to the URL the user configured.

Answers are classified by `routy_app.outbound.send` (shared with the alert webhooks): 2xx delivered;
5xx, 408/425/429, timeouts and dropped connections retried (a few times within the run through the
shared retry policy, then by the outbox with backoff); any other answer, a redirect included, is a
permanent rejection recorded with the receiver's answer and not retried. Every send first checks where
the host resolves (outbound/guard.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import ClassVar

import httpx

from routy_app.config import Settings
from routy_app.outbound import templates
from routy_app.outbound.guard import Guard
from routy_app.outbound.send import send_request
from routy_app.providers.context import OnRefresh
from routy_app.providers.definition import ProviderDefinition
from routy_app.providers.errors import PermanentError, ProviderError, RateLimited, SetupFieldError, TransientError
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy, with_retries
from routy_app.providers.setup_checks import CheckResult, fail, ok
from routy_app.providers.values import Account, Credentials, OutgoingConversion, PushResult
from routy_app.providers.versions import VersionStatus
from routy_app.providers.webhook import DEFINITION
from routy_app.providers.webhook.request import exchange_text, render
from routy_app.providers.webhook.setup import WebhookSetup, credentials_for, parse_fields, setup_from

MAX_ATTEMPTS_IN_RUN = 3  # a receiver that is down is left to the outbox's backoff, not waited out here
TEST_NOTE = "Test push really sends: a webhook has no validate-only mode, so this request reached your URL."


class WebhookProvider:
    """A URL of the user's choosing (manual set-up, push only)."""

    definition: ClassVar[ProviderDefinition] = DEFINITION

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        retry: RetryPolicy = DEFAULT_POLICY,
        *,
        on_refresh: OnRefresh | None = None,  # nothing expires
    ) -> None:
        self.http = http
        self.retry = dataclasses.replace(retry, max_attempts=min(retry.max_attempts, MAX_ATTEMPTS_IN_RUN))
        self.guard = Guard(settings.webhooks_may_reach_local)

    async def refresh(self, creds: Credentials) -> Credentials:
        return creds

    async def revoke(self, creds: Credentials) -> None:
        """Nothing to revoke: the receiver's own credentials stay with it."""

    # ---- set-up

    def _setup(self, creds: Credentials) -> WebhookSetup:
        return setup_from(creds, allow_local=self.guard.allow_local)

    async def validate_setup(self, fields: Mapping[str, str]) -> tuple[Account, Credentials]:
        """Check every field, then where the URL's host resolves; nothing is sent."""
        setup = parse_fields(fields, allow_local=self.guard.allow_local)
        problem = await self.guard.resolved_problem(templates.MACRO.sub("x", setup.url_template))
        if problem:
            raise SetupFieldError("url_template", problem)
        return self._account(setup), credentials_for(setup)

    @staticmethod
    def _account(setup: WebhookSetup) -> Account:
        return Account(id=setup.host[:64], name=f"{setup.method} {setup.host}", currency="", timezone="UTC")

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        return [self._account(self._setup(creds))]

    async def test_connection(self, creds: Credentials, account: Account) -> None:
        """The set-up still checks and the host does not resolve to a refused address (nothing is sent)."""
        setup = self._setup(creds)
        problem = await self.guard.resolved_problem(templates.MACRO.sub("x", setup.url_template))
        if problem:
            raise PermanentError(problem, code="ADDRESS_REFUSED")

    async def check_setup(
        self,
        creds: Credentials,
        account: Account,
        version: VersionStatus | None,
        mapped: dict[str, str],
        *,
        sandbox: bool,
    ) -> list[CheckResult]:
        try:
            await self.test_connection(creds, account)
        except ProviderError as exc:
            return [fail("URL", exc.message, "Disconnect and set the Webhook up again with another URL.")]
        return [ok("URL", f"{account.name}: the templates render and the host is allowed (nothing was sent).")]

    # ---- push

    async def push_conversions(
        self, creds: Credentials, account: Account, batch: list[OutgoingConversion], *, validate_only: bool = False
    ) -> list[PushResult]:
        """One request per conversion. `validate_only` (Test push) sends for real: there is no dry run.

        A transient failure raises (the engine backs the row off and stops the run: the receiver is down)
        unless an earlier event of this batch was delivered; then the rest come back failed and retryable,
        so the delivered ones are not sent again.
        """
        setup = self._setup(creds)
        results: list[PushResult] = []
        for conv in batch:
            try:
                results.append(await self._send(setup, conv, validate_only))
            except (TransientError, RateLimited) as exc:
                if not any(r.status == "sent" for r in results):
                    raise
                results.append(PushResult("failed", error=exc.message, response=exc.detail, retryable=True))
        return results

    async def _send(self, setup: WebhookSetup, conv: OutgoingConversion, test: bool) -> PushResult:
        async def attempt() -> PushResult:
            try:
                request = render(setup, conv, timestamp=int(time.time()))
            except templates.TemplateError as exc:
                return PushResult("failed", error=f"The templates cannot be filled in: {exc.message}")
            outcome = await send_request(
                self.http, request.method, request.url, headers=request.headers, content=request.body, guard=self.guard
            )
            text = exchange_text(request, outcome)
            if test:
                text = f"{TEST_NOTE}\n\nRequest:\n{request.describe()}\n\n{text}"
            if outcome.ok:
                return PushResult("sent", response=text)
            if not outcome.retryable:
                return PushResult("failed", error=outcome.error, response=text)
            if outcome.status_code == 429:
                raise RateLimited(outcome.error, retry_after=outcome.retry_after, status_code=429, detail=text)
            raise TransientError(outcome.error, status_code=outcome.status_code, detail=text)

        return await with_retries(attempt, self.retry)
