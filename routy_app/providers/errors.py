"""The errors adapters raise, grouped by what the caller should do about them.

- AuthExpired: the authorisation is gone; only the user reconnecting helps.
- RateLimited / TransientError: try again later (the shared retry policy already did, a few times).
- PermanentError: the request itself is wrong; retrying will not help.
- SetupFieldError: a manual set-up form's field is unusable (a user-facing InvalidInput naming the field).
"""

from __future__ import annotations

from typing import Any

from routy_app.errors import InvalidInput


class ProviderError(Exception):
    """Base of every adapter error; `message` is the provider's own text, shown to the user."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        # The request and answer behind the failure (the Webhook's attempt), kept on the failed outbox
        # rows beside the message; never a token or secret.
        self.detail = detail


class AuthExpired(ProviderError):
    """Authorisation is gone for good (invalid_grant, Meta 190, revoked): the user must reconnect."""


class RateLimited(ProviderError):
    """The provider throttled us; `retry_after` seconds is its own hint when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransientError(ProviderError):
    """5xx, timeouts, connection errors: safe to retry with backoff."""


class PermanentError(ProviderError):
    """The request itself is wrong (4xx validation, permission): retrying will not help."""


class SetupFieldError(InvalidInput):
    """A set-up (or mapping) field the provider cannot use; `field` is the form field's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)
