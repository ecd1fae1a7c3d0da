"""Toasts sent by event handlers, delivered through state instead of a script.

`rx.toast.*` returned from the server reaches the browser as a string of JavaScript that the
browser must `eval`, which our Content-Security-Policy forbids. Handlers return `toast.success(...)`
/ `toast.error(...)` instead: an event that stores the message here; `components/notices.py`
renders a hidden element keyed by `seq` whose mount (compiled into the page, no eval) shows it.
"""

from __future__ import annotations

import reflex as rx

MAX_TEXT = 500
KINDS = ("success", "error", "info", "warning")


class ToastState(rx.State):
    kind: str = ""
    text: str = ""
    seq: int = 0

    @rx.event
    def show(self, kind: str, text: str) -> None:
        self.kind = kind if kind in KINDS else "info"
        self.text, self.seq = str(text)[:MAX_TEXT], self.seq + 1

    @rx.event
    def shown(self, seq: int) -> None:
        """The browser showed toast `seq`: forget it, so a reload does not show it again."""
        if seq == self.seq:
            self.kind = ""


def success(text: str):
    return ToastState.show("success", text)


def error(text: str):
    return ToastState.show("error", text)


def info(text: str):
    return ToastState.show("info", text)


def warning(text: str):
    return ToastState.show("warning", text)
