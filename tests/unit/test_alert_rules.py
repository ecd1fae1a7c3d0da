"""Alert kinds and per-source rules: defaults, bounds, what the page's form may send."""

from __future__ import annotations

import pytest

from routy_app.db import session_scope
from routy_app.services.alerts import kinds, rules


def test_every_kind_is_on_by_default_with_the_issues_thresholds():
    defaults = rules.defaults()
    assert all(rule.enabled for rule in defaults.values())
    assert defaults[kinds.PUSH_REJECTIONS].params == {"percent": 5, "count": 50}
    assert defaults[kinds.ACCESS_EXPIRING].params == {"days": 7}
    assert defaults[kinds.API_SUNSET].params == {"days": 30}
    assert defaults[kinds.SYNC_STALE].params == {"factor": 2}


def test_the_form_is_parsed_with_a_message_per_bad_threshold():
    form = {
        "push_rejections__percent": "abc",
        "push_rejections__count": "0",
        "outbox_lag__minutes": "45",
        "access_expiring__days": "61",
    }
    with pytest.raises(rules.RuleProblem) as refused:
        rules.parse_form({}, form)
    assert refused.value.field_errors == {
        "push_rejections__percent": "More than must be a whole number.",
        "push_rejections__count": "Between 1 and 1,000,000 events.",
        "access_expiring__days": "Between 1 and 60 days.",
    }
    parsed = rules.parse_form({kinds.SYNC_STALE: False}, {"outbox_lag__minutes": " 45 "})
    assert parsed[kinds.OUTBOX_LAG].params == {"minutes": 45} and not parsed[kinds.SYNC_STALE].enabled
    assert parsed[kinds.API_SUNSET].params == {"days": 30}  # missing fields keep the defaults


def test_rules_are_saved_per_source_and_describe_what_changed(db):
    with session_scope() as session:
        changed = rules.save_rules(
            session, 1, rules.parse_form({kinds.SYNC_STALE: False}, {"outbox_lag__minutes": "45"})
        )
        assert changed == ["Conversions waiting to be pushed: minutes 30 → 45", "Sync overdue: off"]
        assert rules.rules_for_source(session, 1)[kinds.OUTBOX_LAG].params == {"minutes": 45}
        assert rules.save_rules(session, 1, rules.rules_for_source(session, 1)) == []
        assert set(rules.all_rules(session)) == {1}
