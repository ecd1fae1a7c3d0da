"""What one push run did, told truthfully: its status from the rows' outcomes, the run's text with counts
per reason, and what it means for the integration.

- every row it tried failed -> the run is "failed" and the integration records a failure with the
  summarised reason (three in a row: Needs attention), and last success does not move;
- some rows failed -> "partial", with counts per reason on the run and on the integration's card;
- nothing failed -> "success" (skipped rows are the engine's rules at work, not failures).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from routy_app.services import integrations, runs
from routy_app.services.wording import number, sentence
from routy_app.statuses import RunStatus

REASONS_SHOWN = 3
REASON_CHARS = 200  # per reason in the run's text; the row keeps the provider's whole answer


@dataclass
class Tally:
    """Counts of one run, with the reasons behind its failed and skipped rows."""

    read: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    fail_reasons: Counter[str] = dataclasses.field(default_factory=Counter)
    skip_reasons: Counter[str] = dataclasses.field(default_factory=Counter)
    errors: list[str] = dataclasses.field(default_factory=list)  # what stopped or hindered the run as a whole

    def fail(self, reason: str | None, n: int = 1) -> None:
        self.failed += n
        self.fail_reasons[(reason or "no reason given").strip()[:REASON_CHARS]] += n

    def skip(self, reason: str, n: int) -> None:
        self.skipped += n
        self.skip_reasons[reason] += n

    def text(self) -> str:
        parts = []
        if self.failed:
            parts.append(f"{number(self.failed)} failed ({_counts(self.fail_reasons)})")
        if self.skipped:
            parts.append(f"{number(self.skipped)} skipped ({_counts(self.skip_reasons)})")
        parts += [e for e in dict.fromkeys(self.errors) if e not in self.fail_reasons]
        return " | ".join(parts)

    def status(self, outcome: str) -> RunStatus:
        if outcome == "auth" or (self.failed and not self.sent):
            return RunStatus.FAILED
        if self.failed or (self.errors and self.sent):
            return RunStatus.PARTIAL
        return RunStatus.FAILED if self.errors else RunStatus.SUCCESS


def _counts(reasons: Counter[str]) -> str:
    shown = "; ".join(f"{number(n)}: {reason}" for reason, n in reasons.most_common(REASONS_SHOWN))
    more = len(reasons) - REASONS_SHOWN
    return shown + (f"; and {more} more reason{'s' if more > 1 else ''}" if more > 0 else "")


def for_the_card(tally: Tally, status: str) -> str:
    """The integration's last error after a failed or partial run: counts and the main reasons."""
    if tally.failed:
        failed = f"{number(tally.failed)} of {number(tally.read)} conversions failed: " + "; ".join(
            f"{reason.rstrip('.')} (x{number(n)})" for reason, n in tally.fail_reasons.most_common(REASONS_SHOWN)
        )
        done = (
            f" {number(tally.sent)} sent" + (f", {number(tally.skipped)} skipped" if tally.skipped else "") + "."
            if status == "partial"
            else ""
        )
        return f"Push {status}: {sentence(failed)}{done} Failed ones wait in Push History (Retry all failed)."
    return f"Push {status}: " + sentence("; ".join(dict.fromkeys(tally.errors)) or "no reason given")


def close(integration_id: int, run_id: int, tally: Tally, outcome: str) -> tuple[RunStatus, str]:
    """Close the run and record its outcome on the integration; returns (status, message for the UI)."""
    status = tally.status(outcome)
    text = tally.text() or None
    runs.close_run(run_id, status, read=tally.read, inserted=tally.sent, updated=0, failed=tally.failed, error=text)
    if outcome == "auth":
        pass  # integrations.mark_auth_failed already ran
    elif status == "failed":
        integrations.record_failure(integration_id, for_the_card(tally, status))
    elif status == "partial":
        integrations.record_partial(integration_id, for_the_card(tally, status))
    elif tally.read:
        integrations.record_success(integration_id)
    counts = [f"{number(tally.failed)} failed"] if tally.failed else []
    counts += [f"{number(tally.skipped)} skipped"] if tally.skipped else []
    message = (
        f"Pushed {number(tally.sent)} conversion{'s' if tally.sent != 1 else ''}"
        + "".join(f", {c}" for c in counts)
        + "."
    )
    if text:
        message += f" {text}"
    return status, message
