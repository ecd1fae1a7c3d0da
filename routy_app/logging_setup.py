"""Logging with a filter that masks anything looking like a token, so secrets never reach logs."""

from __future__ import annotations

import logging
import re

from routy_app.config import get_settings

_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"ya29\.[\w.-]+|1//[\w.-]+|EAA\w+|sandbox-[\w-]*secret[\w-]*"), "[redacted]"),
    (
        re.compile(
            r"\b(access_token|refresh_token|client_secret|api_secret|fb_exchange_token|input_token|code|key)=[^&\s\"']+"
        ),
        r"\1=[redacted]",
    ),
    (re.compile(r"(Bearer\s+)\S+"), r"\1[redacted]"),
    (re.compile(r"rk_live_[\w-]+"), "[redacted]"),
]


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with token-like substrings replaced by [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for pattern, replacement in _SECRET_PATTERNS:
            redacted = pattern.sub(replacement, redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def configure_logging() -> None:
    root = logging.getLogger("routy")
    if getattr(root, "_routy_configured", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root.addHandler(handler)
    root.setLevel(get_settings().log_level.upper())
    root.propagate = False
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)  # httpx logs full URLs, which can carry tokens
    for name in ("granian.access", "uvicorn.access", "granian", "uvicorn"):
        logging.getLogger(name).addFilter(RedactSecrets())  # access logs carry /postback?key=…
    root._routy_configured = True  # type: ignore[attr-defined]  # noqa: SLF001 - our mark on the root logger: configure once
