"""What went wrong, said to a person: one base for every refusal a user can see, grouped by what the caller does.

Why: services refuse bad input, missing things and impossible moves in words a person reads as they are
(a toast, a field message, an API's 4xx). One base lets a state handler, a route or the CLI catch them all
the same way, and `field` says which form input a message belongs under. No imports: every layer,
providers included, can subclass these.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """A refusal whose `message` is shown as is; `field` names the form input it belongs to, when one does."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(UserFacingError):
    """The thing asked for does not exist (any more): an integration, a mapping, a push record."""

    status_code = 404


class Conflict(UserFacingError):
    """It exists already, or something else is using it right now (a run in progress): try again later."""

    status_code = 409


class Refused(UserFacingError):
    """Not possible in the current state (paused, needs reconnecting, no account yet): the message says what to do."""

    status_code = 409


class InvalidInput(UserFacingError):
    """A value the user gave is wrong; `field` names it when it is one field."""

    status_code = 400


class Forbidden(UserFacingError):
    """The signed-in user may not do this (a viewer trying to change something)."""

    status_code = 403
