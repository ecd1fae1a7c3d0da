"""Reading another state's value without loading that whole state (Reflex's `get_var_value`)."""

from __future__ import annotations

from typing import Any

import reflex as rx


async def integer(state: rx.State, var: Any) -> int:
    """`var` (e.g. `SettingsState.integration_id`) as seen by `state`'s client. Typed Any: at class level
    Reflex presents a state field as its value's type, while `get_var_value` wants the field's Var."""
    return int(await state.get_var_value(var))


def url_id(value: object) -> int:
    """An id from a URL or a page parameter, or 0. Only ASCII digits, at most 18 of them: `str.isdigit` also
    accepts "²" and "٣", and int() refuses a 5,000-digit string, so a hand-typed URL could raise."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0
