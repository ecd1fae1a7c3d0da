"""An integration's Metrics tab: tiles, a daily chart and a sortable drill-down table with CSV export, showing
the metrics the provider reports under its names (GA4: sessions, key events, revenue; metrics_view.layout)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import reflex as rx

from routy_app.components.pager import pager
from routy_app.state.metrics import PAGE_SIZE, MetricsState

if TYPE_CHECKING:
    from reflex.vars import ObjectVar

    from routy_app.state.metrics import LevelOption

# (metric, the column it sorts by, the TableRow field it shows)
COLUMNS = (
    ("impressions", "impressions", "impressions"),
    ("clicks", "clicks", "clicks"),
    ("ctr", "ctr", "ctr"),
    ("cost", "cost_micros", "cost"),
    ("cpc", "cpc_micros", "cpc"),
    ("conversions", "conversions_micros", "conversions"),
    ("value", "conversion_value_micros", "value"),
    ("cost_per_conversion", "cost_per_conversion_micros", "cost_per_conversion"),
)


PRESETS = (
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
)


def _date_input(name: str, value) -> rx.Component:
    """ISO dates (YYYY-MM-DD, UTC) like every other date of the app, not the browser's locale format."""
    return rx.input(
        type="text",
        name=name,
        id=f"metrics-{name}",
        default_value=value,
        key=value,
        placeholder="YYYY-MM-DD",
        max_length=10,
        input_mode="numeric",
        width="8.5em",
    )


def _tile(tile) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(tile.label, size="1", color_scheme="gray"),
            rx.text(tile.value, size="4", weight="bold"),
            spacing="1",
        ),
        class_name="metric-tile",
        size="1",
    )


def _chart() -> rx.Component:
    return rx.box(
        rx.recharts.composed_chart(
            rx.recharts.bar(
                data_key=MetricsState.bar_key, name=MetricsState.bar_label, y_axis_id="cost", fill=rx.color("indigo", 8)
            ),
            rx.recharts.line(
                data_key="clicks",
                name=MetricsState.line_label,
                y_axis_id="clicks",
                stroke=rx.color("amber", 9),
                dot=False,
                type_="monotone",
            ),
            rx.recharts.x_axis(data_key="date"),
            rx.recharts.y_axis(y_axis_id="cost", orientation="left"),
            rx.recharts.y_axis(y_axis_id="clicks", orientation="right"),
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(),
            data=MetricsState.points,
            height=240,
            width="100%",
        ),
        id="metrics-chart",
        width="100%",
    )


def _header(label, column: str) -> rx.Component:
    arrow = rx.cond(MetricsState.sort_by == column, rx.cond(MetricsState.descending, " ↓", " ↑"), "")
    return rx.table.column_header_cell(
        rx.button(label, arrow, variant="ghost", size="1", on_click=MetricsState.sort(column))
    )


def _first_child() -> ObjectVar[LevelOption]:
    """The first drill-down level; cast since Reflex's stubs type an item of a list-of-dataclass Var as any Var."""
    return cast("ObjectVar[LevelOption]", MetricsState.child_options[0])


def _row(row) -> rx.Component:
    name = rx.cond(
        MetricsState.child_options.length() > 0,
        rx.button(
            row.name,
            on_click=MetricsState.drill(row.id, row.name, _first_child().level),
            variant="ghost",
            size="1",
            title="Show what is inside",
            class_name="drill",
        ),
        rx.text(row.name),
    )
    return rx.table.row(
        rx.table.cell(name),
        rx.cond(MetricsState.detail_label != "", rx.table.cell(row.detail, class_name="breakdown-detail")),
        *[
            rx.cond(MetricsState.columns.contains(metric), rx.table.cell(getattr(row, field)))
            for metric, _, field in COLUMNS
        ],
        class_name="breakdown-row",
    )


def _breadcrumbs() -> rx.Component:
    return rx.hstack(
        rx.foreach(
            MetricsState.crumbs,
            lambda crumb, i: rx.hstack(
                rx.button(crumb.label, variant="ghost", size="1", on_click=MetricsState.back_to(i), class_name="crumb"),
                rx.text("›"),
                spacing="1",
            ),
        ),
        rx.text(MetricsState.level_label, weight="bold", size="2", id="breakdown-level"),
        rx.foreach(
            MetricsState.sibling_options,
            lambda o: rx.button(
                o.label,
                size="1",
                variant=rx.cond(MetricsState.level == o.level, "solid", "soft"),
                on_click=MetricsState.switch_child(o.level),
            ),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def _presets() -> rx.Component:
    return rx.hstack(
        rx.text("Range:", size="1", color_scheme="gray"),
        *[
            rx.button(
                label, type="button", size="1", variant="soft", color_scheme="gray", on_click=MetricsState.preset(key)
            )
            for key, label in PRESETS
        ],
        spacing="2",
        wrap="wrap",
        align="center",
        aria_label="Date presets",
        role="group",
    )


def metrics_tab() -> rx.Component:
    return rx.vstack(
        _presets(),
        rx.form(
            rx.hstack(
                rx.vstack(
                    rx.el.label(rx.text("From", size="1"), html_for="metrics-start"),
                    _date_input("start", MetricsState.start),
                    spacing="1",
                ),
                rx.vstack(
                    rx.el.label(rx.text("To", size="1"), html_for="metrics-end"),
                    _date_input("end", MetricsState.end),
                    spacing="1",
                ),
                rx.button("Apply", type="submit", variant="soft"),
                rx.spacer(),
                # A document load with `download`: routed inside the single-page app, the URL is a 404 page.
                rx.button(
                    rx.el.a(
                        "Export CSV",
                        href=MetricsState.export_url,
                        download="",
                        reload_document=True,
                        id="metrics-export",
                    ),
                    as_child=True,
                    variant="outline",
                    size="2",
                ),
                align="end",
                spacing="3",
                width="100%",
                wrap="wrap",
            ),
            on_submit=MetricsState.set_range,
            reset_on_submit=False,
        ),
        rx.cond(
            MetricsState.range_error != "",
            rx.callout(MetricsState.range_error, icon="triangle_alert", color_scheme="red", role="alert"),
        ),
        rx.cond(
            MetricsState.empty_text != "",
            rx.callout(MetricsState.empty_text, icon="info", id="metrics-empty", width="100%"),
            rx.vstack(
                rx.text(
                    "Totals and chart: ",
                    rx.cond(MetricsState.scope_label != "", MetricsState.scope_label, "the whole account"),
                    size="1",
                    color_scheme="gray",
                    id="metrics-scope",
                ),
                rx.grid(
                    rx.foreach(MetricsState.tiles, _tile),
                    # as many columns as fit (at least 10em each): 7 tiles on a wide page, 3 for GA4, 2 on a phone
                    grid_template_columns="repeat(auto-fill, minmax(10em, 1fr))",
                    spacing="2",
                    width="100%",
                ),
                _chart(),
                _breadcrumbs(),
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            _header("Name", "name"),
                            rx.cond(
                                MetricsState.detail_label != "",
                                rx.table.column_header_cell(
                                    rx.text(MetricsState.detail_label, size="1", weight="medium")
                                ),
                            ),
                            *[
                                rx.cond(
                                    MetricsState.columns.contains(metric),
                                    _header(MetricsState.labels[metric], sort),
                                )
                                for metric, sort, _ in COLUMNS
                            ],
                        )
                    ),
                    rx.table.body(rx.foreach(MetricsState.rows, _row)),
                    size="1",
                    width="100%",
                    id="breakdown",
                ),
                pager(
                    MetricsState.page,
                    MetricsState.total_rows,
                    PAGE_SIZE,
                    MetricsState.go,
                    "rows",
                    back="Previous",
                    forward="Next",
                ),
                spacing="3",
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
        padding_top="1em",
        overflow_x="auto",
    )
