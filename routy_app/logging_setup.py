"""Logging with a filter that masks anything looking like a token, so secrets never reach logs.

ROUTY_LOG_FORMAT=json writes one JSON object per line instead (routy_app/observability/logs.py), with the
run and integration ids of the sync run a line belongs to.
"""

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


def redact(text: str) -> str:
    """`text` with token-like substrings replaced by [redacted]."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactedText(logging.Formatter):
    """The text format, with exception tracebacks redacted too (a provider error's text can carry a URL)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with token-like substrings replaced by [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def _formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        from routy_app.observability.logs import JsonLines

        return JsonLines(redact)
    return RedactedText("%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure_logging() -> None:
    root = logging.getLogger("routy")
    if getattr(root, "_routy_configured", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter(get_settings().log_format))
    handler.addFilter(RedactSecrets())
    root.addHandler(handler)
    root.setLevel(get_settings().log_level.upper())
    root.propagate = False
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)  # httpx logs full URLs, which can carry tokens
    for name in ("granian.access", "uvicorn.access", "granian", "uvicorn"):
        logging.getLogger(name).addFilter(RedactSecrets())  # access logs carry /postback?key=…
    root._routy_configured = True  # type: ignore[attr-defined]  # noqa: SLF001 - our mark on the root logger: configure once
