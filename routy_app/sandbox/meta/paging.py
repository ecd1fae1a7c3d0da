"""Graph's cursor paging: `paging.cursors`, an absolute `paging.next`, and the `after` / `limit` parameters.

Cursors are the row index in base64 with '=' written as 'ZD', the form Graph's own cursors take; a cursor
the emulator never issued is refused.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request

from routy_app.sandbox.meta.graph import param


def encode_cursor(index: int) -> str:
    """Meta-style cursor: base64 of the row index with '=' written as 'ZD' (e.g. 24 -> 'MjQZD')."""
    return base64.b64encode(str(index).encode()).decode().replace("=", "ZD")


def decode_cursor(cursor: str) -> int | None:
    text = cursor
    pad = 0
    while text.endswith("ZD"):
        text, pad = text[:-2], pad + 1
    try:
        value = base64.b64decode(text + "=" * pad, validate=True).decode()
    except ValueError:
        return None
    return int(value) if value.isdigit() else None


def page(request: Request, rows: list[dict[str, Any]], offset: int, limit: int) -> dict[str, Any]:
    """A Graph page: `paging.cursors` and an absolute `paging.next` while the page was full.

    Like the real API, a full last page still carries `next`, which then answers `data: []`.
    """
    if not rows:
        return {"data": []}
    cursors = {"before": encode_cursor(offset), "after": encode_cursor(offset + len(rows) - 1)}
    paging: dict[str, Any] = {"cursors": cursors}
    if len(rows) >= limit:
        paging["next"] = str(request.url.include_query_params(after=paging["cursors"]["after"], limit=limit))
    return {"data": rows, "paging": paging}


def start_offset(request: Request, form: dict[str, str] | None = None) -> int | None:
    """Row offset from the `after` cursor (0 without one; None for a cursor we never issued)."""
    after = param(request, form or {}, "after")
    if not after:
        return 0
    index = decode_cursor(after)
    return None if index is None else index + 1


def limit_of(request: Request, form: dict[str, str] | None = None, default: int = 25) -> int | None:
    raw = param(request, form or {}, "limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None
