"""The audit log (services/audit.py) and the secrets scan used by the end-to-end checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import AuditEvent, Integration
from routy_app.services import audit
from routy_app.services.audit import AuditAction


def _integration() -> int:
    with session_scope() as s:
        row = Integration(traffic_source_id=1, provider="google_ads")
        s.add(row)
        s.commit()
        return int(row.id)


def test_record_and_list_newest_first(db):
    iid = _integration()
    with session_scope() as s:
        audit.record(
            s, "boss@example.com", "connected", integration_id=iid, source_id=1, detail="Google Ads 1234567890"
        )
        audit.record(s, "boss@example.com", AuditAction.PAUSED, integration_id=iid, source_id=1)
        audit.record(s, "boss@example.com", "api_key_rotated", source_id=1, detail="key ending 9f3a")
        events = audit.recent_for_integration(s, iid)
        assert [e.action for e in events] == ["paused", "connected"]
        assert events[1].detail == "Google Ads 1234567890" and events[1].traffic_source_id == 1
        assert events[0].at.tzinfo is not None
        assert [e.action for e in audit.recent(s)] == ["api_key_rotated", "paused", "connected"]
        assert [e.action for e in audit.recent(s, source_id=2)] == []
        assert len(audit.recent_for_integration(s, iid, limit=1)) == 1


def test_events_outlive_a_deleted_integration(db):
    iid = _integration()
    with session_scope() as s:
        audit.record(s, "boss@example.com", "disconnected", integration_id=iid, source_id=1)
        s.delete(s.get(Integration, iid))
        s.commit()
        assert [e.action for e in audit.recent_for_integration(s, iid)] == ["disconnected"]


def test_unknown_action_fails_loudly(db):
    with session_scope() as s:
        with pytest.raises(ValueError, match="unknown audit action 'pasued'"):
            audit.record(s, "boss@example.com", "pasued")
        assert s.exec(select(AuditEvent)).all() == []


def test_commit_false_leaves_the_row_in_the_callers_transaction(db):
    with session_scope() as s:
        audit.record(s, "boss@example.com", "settings_changed", detail="schedule 60 -> 30 min", commit=False)
        s.rollback()
        assert s.exec(select(AuditEvent)).all() == []


def test_token_like_strings_are_masked_and_detail_is_capped(db):
    token = "ya29.a0AfB_byC3xJk2lM9nQ8rS7tU6vW5xY4zA1bC2dE3fG4h"
    with session_scope() as s:
        event = audit.record(
            s,
            "boss@example.com",
            "settings_changed",
            detail=f"token {token} action customers/1234567890/conversionActions/987 "
            "by a.very.long.email.local.part.1234567@example.com",
        )
        assert token not in event.detail and "[redacted" in event.detail
        assert "customers/1234567890/conversionActions/987" in event.detail
        assert "a.very.long.email.local.part.1234567@example.com" in event.detail
        long = audit.record(s, "x", "settings_changed", detail="word " * 1000)
        assert len(long.detail) == audit.MAX_DETAIL


def test_scan_for_secrets_reads_bytes_and_encoded_forms(tmp_path):
    db_file = tmp_path / "routy.db"
    db_file.write_bytes(b"\x00\x01header tok/en+1\x00" + b"rest")
    log = tmp_path / "app.log"
    log.write_text('{"url": "https://x/?t=abc%2Fdef"}\n')
    found = audit.scan_for_secrets([db_file, log, tmp_path / "missing.log"], ["tok/en+1", "abc/def", "absent", ""])
    assert found == [(db_file, "tok/en+1"), (log, "abc/def")]
    assert audit.scan_for_secrets([Path(db_file)], ["nothing"]) == []
