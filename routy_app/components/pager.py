"""Previous/next controls for lists paginated in SQL (only one page is ever in state)."""

from __future__ import annotations

import reflex as rx


def pager(
    page, total, page_size: int, go, noun: str, back: str = "Newer", forward: str = "Older", total_text=None
) -> rx.Component:
    """`go(delta)` is the state's event moving by one page; page/total are state vars; `total_text` is the
    total as every count is written (services/wording.number)."""
    return rx.hstack(
        rx.button(back, size="1", variant="soft", on_click=go(-1), disabled=page <= 1),
        rx.text(
            "Page ",
            page,
            " · ",
            total if total_text is None else total_text,
            rx.cond(total == 1, f" {noun.removesuffix('s')}", f" {noun}"),  # "1 run", "2 runs"
            size="1",
        ),
        rx.button(forward, size="1", variant="soft", on_click=go(1), disabled=page * page_size >= total),
        align="center",
        spacing="3",
    )
