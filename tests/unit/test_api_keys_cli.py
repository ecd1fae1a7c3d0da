"""`python -m routy_app api-keys create|rotate --source ID` (issue 12, item 15), on a temp database."""

from __future__ import annotations

from sqlmodel import select

from routy_app.__main__ import main
from routy_app.db import session_scope
from routy_app.models import AuditEvent, TrafficSource
from routy_app.services import conversions


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _source_for(key: str) -> int | None:
    with session_scope() as session:
        source = conversions.source_for_key(session, key)
        return int(source.id) if source else None


def test_create_prints_the_key_once_and_stores_only_its_hash(db, capsys):
    code, out, err = _run(capsys, ["api-keys", "create", "--source", "1"])
    key = out.strip()
    assert code == 0 and key.startswith("rk_live_") and out.count("\n") == 1  # alone on stdout, for a pipe
    assert key not in err and "shown only this once" in err
    assert _source_for(key) == 1
    with session_scope() as session:
        source = session.get(TrafficSource, 1)
        assert key not in (source.api_key_hash or "") and source.api_key_last4 == key[-4:]
        audit = session.exec(select(AuditEvent)).one()
        assert (audit.user_email, audit.action, audit.traffic_source_id) == ("cli", "api_key_rotated", 1)


def test_create_refuses_when_a_key_exists_and_rotate_replaces_it(db, capsys):
    first = _run(capsys, ["api-keys", "create", "--source", "1"])[1].strip()
    code, out, err = _run(capsys, ["api-keys", "create", "--source", "1"])
    assert code == 1 and out == "" and "rotate" in err
    assert _source_for(first) == 1
    code, out, _ = _run(capsys, ["api-keys", "rotate", "--source", "1"])
    second = out.strip()
    assert code == 0 and second != first
    assert _source_for(first) is None and _source_for(second) == 1


def test_unknown_source_is_a_one_line_refusal(db, capsys):
    for source in ("99", str(2**64)):
        code, out, err = _run(capsys, ["api-keys", "rotate", "--source", source])
        assert code == 1 and out == "" and err.strip() == f"routy: no traffic source with id {source}"
