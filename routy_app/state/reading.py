"""Reading another state's value without loading that whole state (Reflex's `get_var_value`)."""

from __future__ import annotations

from typing import Any

import reflex as rx


async def integer(state: rx.State, var: Any) -> int:
    """`var` (e.g. `SettingsState.integration_id`) as seen by `state`'s client. Typed Any: at class level
    Reflex presents a state field as its value's type, while `get_var_value` wants the field's Var."""
    return int(await state.get_var_value(var))
