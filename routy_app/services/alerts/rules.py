"""Each traffic source's alert choices: every kind on or off, with its thresholds.

A source without rows gets every kind's defaults (all on), so a new source is watched from the start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlmodel import Session, select

from routy_app.errors import InvalidInput
from routy_app.models import AlertRule
from routy_app.services.alerts.kinds import BY_KEY, KINDS
from routy_app.timeutil import utcnow


@dataclass(frozen=True)
class Rule:
    kind: str
    enabled: bool
    params: dict[str, int] = field(default_factory=dict)


class RuleProblem(InvalidInput):
    """Some thresholds are out of bounds; `field_errors` maps form field name -> message."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__("; ".join(field_errors.values()))
        self.field_errors = field_errors


def field_name(kind: str, param: str) -> str:
    """The form field of one threshold (also used by the page)."""
    return f"{kind}__{param}"


def _rule(kind: str, row: AlertRule | None) -> Rule:
    params = BY_KEY[kind].defaults()
    if row is None:
        return Rule(kind, True, params)
    stored = json.loads(row.params_json or "{}")
    params.update({k: int(v) for k, v in stored.items() if k in params})
    return Rule(kind, bool(row.enabled), params)


def rules_for_source(session: Session, source_id: int) -> dict[str, Rule]:
    """kind -> Rule for one source, defaults filled in."""
    rows = {r.kind: r for r in session.exec(select(AlertRule).where(AlertRule.traffic_source_id == source_id)).all()}
    return {kind.key: _rule(kind.key, rows.get(kind.key)) for kind in KINDS}


def all_rules(session: Session) -> dict[int, dict[str, Rule]]:
    """source id -> kind -> Rule for every source with stored rules (others: `defaults()`)."""
    by_source: dict[int, dict[str, AlertRule]] = {}
    for row in session.exec(select(AlertRule)).all():
        by_source.setdefault(row.traffic_source_id, {})[row.kind] = row
    return {source: {k.key: _rule(k.key, rows.get(k.key)) for k in KINDS} for source, rows in by_source.items()}


def defaults() -> dict[str, Rule]:
    return {kind.key: _rule(kind.key, None) for kind in KINDS}


def parse_form(enabled: dict[str, bool], form: dict[str, str]) -> dict[str, Rule]:
    """Rules from the page's form; raises RuleProblem naming each bad threshold."""
    errors: dict[str, str] = {}
    parsed: dict[str, Rule] = {}
    for kind in KINDS:
        params: dict[str, int] = {}
        for param in kind.params:
            name = field_name(kind.key, param.name)
            raw = str(form.get(name, param.default)).strip()
            try:
                value = int(raw)
            except ValueError:
                errors[name] = f"{param.label} must be a whole number."
                continue
            if not param.minimum <= value <= param.maximum:
                errors[name] = f"Between {param.minimum:,} and {param.maximum:,} {param.unit}."
                continue
            params[param.name] = value
        parsed[kind.key] = Rule(kind.key, bool(enabled.get(kind.key, True)), params)
    if errors:
        raise RuleProblem(errors)
    return parsed


def save_rules(session: Session, source_id: int, rules: dict[str, Rule]) -> list[str]:
    """Store one source's rules; returns a description of what changed (for the audit log)."""
    current = rules_for_source(session, source_id)
    rows = {r.kind: r for r in session.exec(select(AlertRule).where(AlertRule.traffic_source_id == source_id)).all()}
    changes: list[str] = []
    for kind, rule in rules.items():
        before = current[kind]
        if before == rule:
            continue
        label = BY_KEY[kind].label
        if before.enabled != rule.enabled:
            changes.append(f"{label}: {'on' if rule.enabled else 'off'}")
        for name, value in rule.params.items():
            if before.params.get(name) != value:
                changes.append(f"{label}: {name} {before.params.get(name)} → {value}")
        row = rows.get(kind) or AlertRule(traffic_source_id=source_id, kind=kind)
        row.enabled, row.params_json, row.updated_at = rule.enabled, json.dumps(rule.params, sort_keys=True), utcnow()
        session.add(row)
    session.commit()
    return changes
