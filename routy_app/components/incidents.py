"""Incidents as cards (they read on a phone as well as on a desktop): the Notifications page and the
integration's Connection tab both list them."""

from __future__ import annotations

import reflex as rx


def _meta(label: str, value) -> rx.Component:
    return rx.cond(value != "", rx.text(rx.text.strong(label), " ", value, size="1", color_scheme="gray"))


def incident_card(row, show_source: bool = True) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(
                    rx.cond(row.status == "open", "Open", "Resolved"),
                    color_scheme=row.color,
                    class_name="incident-status",
                ),
                rx.text(row.kind_label, size="1", color_scheme="gray"),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(row.title, weight="bold", size="2", class_name="incident-title"),
            rx.cond(
                row.status == "open",
                rx.text(row.detail, size="2", style={"word_break": "break-word"}),
                rx.text(row.resolution, size="2", color_scheme="green"),
            ),
            rx.flex(
                *(
                    [
                        rx.cond(
                            row.source != "",
                            rx.text(
                                rx.text.strong("Source"),
                                " ",
                                rx.link(row.source, href=row.source_href),
                                size="1",
                                color_scheme="gray",
                            ),
                        )
                    ]
                    if show_source
                    else []
                ),
                _meta("First seen", row.first_seen),
                _meta("Last seen", row.last_seen),
                _meta("Last alert", row.last_notified),
                _meta("Resolved", row.resolved),
                spacing="3",
                wrap="wrap",
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
        class_name="incident",
    )


def incident_list(rows, empty: str, show_source: bool = True, list_id: str = "incidents") -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.vstack(rx.foreach(rows, lambda row: incident_card(row, show_source)), spacing="2", width="100%", id=list_id),
        rx.text(empty, size="2", color_scheme="gray", id=f"{list_id}-empty"),
    )
