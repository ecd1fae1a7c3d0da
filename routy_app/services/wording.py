"""Small helpers for the sentences Routy writes to people (run summaries, toasts, card notices)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def sentence(text: str) -> str:
    """`text` ending in exactly one full stop (provider messages often end in their own)."""
    text = text.strip()
    return text if text.endswith(("!", "?")) else text.rstrip(".").rstrip() + "."


def number(value: int | Decimal) -> str:
    """Every count the app shows, one way: thousands separators, and one decimal only when the value is
    fractional ("792", "278.1", "15,074,880")."""
    tenths = Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{tenths:,.1f}" if tenths % 1 else f"{tenths:,.0f}"
