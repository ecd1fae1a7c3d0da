"""The Conversions tab's list: recent events of a traffic source with their push status, paginated."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from routy_app.models import Conversion, ConversionPush, saved_id
from routy_app.services.conversions.validation import CLICK_FIELDS, MICRO


@dataclass(frozen=True)
class ConversionRow:
    """A row of the Conversions tab."""

    id: int
    external_id: str
    event_type: str
    occurred_at: str
    received_at: str
    value: str
    click_ids: str
    identifiers: str
    pushes: str


def format_money(micros: int, currency: str) -> str:
    amount = (Decimal(micros) / MICRO).quantize(Decimal("0.01")) if micros % 10_000 == 0 else Decimal(micros) / MICRO
    return f"{amount} {currency}".strip()


def recent_conversions(
    session: Session, source_id: int, page: int = 1, page_size: int = 50
) -> tuple[list[ConversionRow], int]:
    """Newest first, paginated in SQL; each row says how many pushes it has in which status."""
    page, page_size = max(1, page), max(1, min(page_size, 500))
    total = int(
        session.exec(
            select(func.count()).select_from(Conversion).where(Conversion.traffic_source_id == source_id)
        ).one()
    )
    convs = session.exec(
        select(Conversion)
        .where(Conversion.traffic_source_id == source_id)
        .order_by(col(Conversion.received_at).desc(), col(Conversion.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    ids = [saved_id(c) for c in convs]
    statuses: dict[int, dict[str, int]] = {}
    if ids:
        for cid, status, n in session.exec(
            select(ConversionPush.conversion_id, ConversionPush.status, func.count())
            .where(col(ConversionPush.conversion_id).in_(ids))
            .group_by(col(ConversionPush.conversion_id), col(ConversionPush.status))
        ):
            statuses.setdefault(int(cid), {})[status] = int(n)
    rows = []
    for c in convs:
        clicks = ", ".join(name for name in CLICK_FIELDS if getattr(c, name))
        idents = ", ".join(n for n, v in (("email", c.email_sha256), ("phone", c.phone_sha256)) if v)
        per = statuses.get(saved_id(c), {})
        rows.append(
            ConversionRow(
                id=saved_id(c),
                external_id=c.external_id,
                event_type=c.event_type,
                occurred_at=c.occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                received_at=c.received_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                value=format_money(c.value_micros, c.currency) if c.value_micros or c.currency else "",
                click_ids=clicks or "none",
                identifiers=(idents + " (hashed)") if idents else "none",
                pushes=", ".join(f"{n} {s}" for s, n in sorted(per.items())) or "not queued",
            )
        )
    return rows, total
