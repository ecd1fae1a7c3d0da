"""JSON log lines (ROUTY_LOG_FORMAT=json): one object per line, with the run and integration a line
belongs to, and every secret redacted.

The run context is a context variable set when a sync run opens (services/runs.py calls `bind_run`),
so every line logged by that run's task carries `run_id`, `integration_id` and `run_kind` without the
engines passing them around. Redaction covers every string of the record (message, exception text,
extra fields), not only the message, and fields whose name says they hold a secret are dropped
whatever their value looks like.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_run: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("routy_run", default=None)

# Field names whose value is a secret whatever it looks like (extra={"access_token": ...}).
_SECRET_FIELD = re.compile(r"(token|secret|password|passwd|authorization|cookie|api_key|credential)", re.IGNORECASE)


def bind_run(run_id: int, integration_id: int, kind: str) -> None:
    """Tag this task's (and its children's) log lines with the run until the task ends."""
    _run.set({"run_id": run_id, "integration_id": integration_id, "run_kind": kind})


@contextmanager
def run_context(run_id: int, integration_id: int, kind: str) -> Iterator[None]:
    """The same as bind_run for a block (restores what was bound before)."""
    token = _run.set({"run_id": run_id, "integration_id": integration_id, "run_kind": kind})
    try:
        yield
    finally:
        _run.reset(token)


class JsonLines(JsonFormatter):
    """python-json-logger's formatter with our field names, the run context and redaction."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__("%(message)s", reserved_attrs=_RESERVED)
        self._redact = redact

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["time"] = dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        super().add_fields(log_data, record, message_dict)
        run = _run.get()
        if run:
            for key, value in run.items():
                log_data.setdefault(key, value)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {
            key: "[redacted]" if _SECRET_FIELD.search(key) and value not in (None, "") else self._clean(value)
            for key, value in log_data.items()
        }

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return self.process_log_record(value)
        if isinstance(value, (list, tuple)):
            return [self._clean(item) for item in value]
        return value


# LogRecord attributes that are not worth a JSON field (python-json-logger adds every other attribute,
# which is how `extra={...}` fields arrive).
_RESERVED = [
    "args",
    "asctime",
    "created",
    "exc_info",
    "exc_text",
    "filename",
    "funcName",
    "levelname",
    "levelno",
    "lineno",
    "module",
    "msecs",
    "msg",
    "name",
    "pathname",
    "process",
    "processName",
    "relativeCreated",
    "stack_info",
    "thread",
    "threadName",
    "taskName",
    "message",
    "rich",
    "color_message",
]
