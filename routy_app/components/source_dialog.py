"""The traffic source name dialog: New traffic source (sidebar / menu) and Rename (the source page), admins only."""

from __future__ import annotations

import reflex as rx

from routy_app import styles
from routy_app.state.source import SourceState


def source_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(SourceState.source_dialog == "new", "New traffic source", "Rename traffic source")),
            rx.dialog.description("Each traffic source has its own integrations, conversions and API key.", size="2"),
            rx.form(
                rx.vstack(
                    rx.el.label(rx.text("Name", size="2", weight="medium"), html_for="source-name"),
                    rx.input(
                        name="name",
                        id="source-name",
                        default_value=rx.cond(SourceState.source_dialog == "rename", SourceState.source_name, ""),
                        max_length=200,
                        required=True,
                        width="100%",
                    ),
                    rx.cond(
                        SourceState.source_error != "",
                        rx.text(
                            SourceState.source_error, size="1", color_scheme="red", role="alert", id="source-error"
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                        rx.button(rx.cond(SourceState.source_dialog == "new", "Create", "Rename"), type="submit"),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="2",
                    padding_top="0.75em",
                    width="100%",
                ),
                on_submit=SourceState.save_source,
                reset_on_submit=False,
            ),
            max_width=styles.DIALOG_WIDTH,
        ),
        open=SourceState.source_dialog != "",
        on_open_change=SourceState.source_dialog_changed,
    )
