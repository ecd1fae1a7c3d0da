"""Small helpers for the sentences Routy writes to people (run summaries, toasts, card notices)."""

from __future__ import annotations


def sentence(text: str) -> str:
    """`text` ending in exactly one full stop (provider messages often end in their own)."""
    text = text.strip()
    return text if text.endswith(("!", "?")) else text.rstrip(".").rstrip() + "."
