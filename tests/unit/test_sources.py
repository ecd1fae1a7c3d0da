"""Traffic sources created and renamed by admins (services/sources.py)."""

from __future__ import annotations

import pytest

from routy_app.db import session_scope
from routy_app.errors import Conflict, NotFound, UserFacingError
from routy_app.models import TrafficSource
from routy_app.services import audit, sources
from routy_app.services.audit import Actor

ADMIN = Actor("admin@example.com", 1)


def test_create_then_rename_a_source_with_audit_rows(db):
    source_id = sources.create_source("  Summer   sale ", actor=ADMIN)
    assert sources.rename_source(source_id, "Summer sale 2027", actor=ADMIN) == "Summer sale 2027"
    with session_scope() as session:
        assert session.get(TrafficSource, source_id).name == "Summer sale 2027"
        actions = [e.action for e in audit.recent(session, source_id=source_id)]
    assert actions == ["source_renamed", "source_created"]


def test_names_are_required_bounded_and_unique_whatever_their_case(db):
    sources.create_source("Newsletter", actor=ADMIN)
    with pytest.raises(UserFacingError, match="name"):
        sources.create_source("   ", actor=ADMIN)
    with pytest.raises(UserFacingError, match="At most 200"):
        sources.create_source("x" * 201, actor=ADMIN)
    with pytest.raises(Conflict):
        sources.create_source("NEWSLETTER", actor=ADMIN)
    other = sources.create_source("Affiliates", actor=ADMIN)
    with pytest.raises(Conflict):
        sources.rename_source(other, "newsletter", actor=ADMIN)
    assert sources.rename_source(other, "affiliates", actor=ADMIN) == "affiliates"  # its own name, recased
    with pytest.raises(NotFound):
        sources.rename_source(99999, "Nope", actor=ADMIN)
