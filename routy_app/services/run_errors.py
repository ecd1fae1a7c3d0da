"""A run's error as a person reads it: one summary line, and the provider's words behind "Details".

A pull that fails on several levels stores one error per level ("campaign: …; ad_group: …"), most often
the same words four times (a quota is per account, not per level). The card and the Connection page
show one line ("Google Ads rate limit reached on 4 levels; next attempt after 08:00 UTC") and keep
each distinct provider text, with the levels it hit, for the Details toggle.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

_WAIT = re.compile(r"\s*It asked to wait (\d+) s;[^.]*\.?")
MAX_SUMMARY = 160


@dataclass(frozen=True)
class ErrorSummary:
    summary: str  # one line ("" when there is no error)
    details: list[str]  # each distinct text once, with the levels it hit

    @property
    def has_details(self) -> bool:
        return bool(self.details) and self.details != [self.summary]


def _split(error: str, levels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(level, text) per "level: text" part; the whole error under "" when it is not per level."""
    if not levels:
        return [("", error)]
    names = "|".join(re.escape(level) for level in sorted(levels, key=len, reverse=True))
    marks = list(re.finditer(rf"(?:^|;\s+)({names}): ", error))
    if not marks or marks[0].start() != 0:
        return [("", error)]
    parts = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(error)
        parts.append((mark.group(1), error[mark.end() : end].strip()))
    return parts


def _clock(at: dt.datetime, now: dt.datetime) -> str:
    if at.date() == now.date():
        return at.strftime("%H:%M UTC")
    return at.strftime("%Y-%m-%d %H:%M UTC")


def summarise(
    error: str, levels: Mapping[str, str], at: dt.datetime | None = None, now: dt.datetime | None = None
) -> ErrorSummary:
    """`error` as stored by a run (or an integration's last_error); `levels` maps level keys to labels;
    `at` is when the error happened (turns "asked to wait N s" into a clock time)."""
    error = (error or "").strip()
    if not error:
        return ErrorSummary("", [])
    now = now or dt.datetime.now(dt.UTC)
    groups: dict[str, list[str]] = {}
    wait_s = 0
    for level, text in _split(error, levels):
        wait = _WAIT.search(text)
        if wait:
            wait_s = max(wait_s, int(wait.group(1)))
            text = _WAIT.sub("", text).strip()
        groups.setdefault(text, []).append(level)
    details = []
    for text, hit in groups.items():
        named = [levels.get(level, level) for level in hit if level]
        details.append(f"{', '.join(named)}: {text}" if named else text)
    first_text, first_levels = next(iter(groups.items()))
    head = first_text.split(": ", 1)[0].rstrip(".") if ": " in first_text else first_text
    if len(head) > MAX_SUMMARY:
        head = head[: MAX_SUMMARY - 1].rstrip() + "…"
    count = sum(1 for level in first_levels if level)
    if count > 1:
        head += f" on {count} levels"
    elif count == 1:
        head += f" ({levels.get(first_levels[0], first_levels[0]).lower()})"
    if len(groups) > 1:
        head += f", and {len(groups) - 1} other error" + ("s" if len(groups) > 2 else "")
    if wait_s and at is not None:
        head += f"; next attempt after {_clock(at + dt.timedelta(seconds=wait_s), now)}"
    return ErrorSummary(head, details)
