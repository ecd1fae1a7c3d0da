"""API versions as data: which versions of each provider API exist, and when each stops working.

Why: a version is a date, not a constant. Google switches a Google Ads API major off about a year
after its release ("all requests will begin to fail"), and Meta expires a Marketing API version
about a year after the next one ships. A default that names a dead version breaks every live call
while every offline test stays green, so the configured versions are judged against these tables at
start-up, in /healthz, in `doctor` and on Settings → Connection: sunset is an error, a sunset within
`ROUTY_VERSION_WARNING_DAYS` (60) days is a warning naming the date.

The tables themselves belong to their providers (`google_ads/versions.py`, `meta_ads/versions.py`, each
with its sources); this module holds their shape and the judgement.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

Level = Literal["ok", "warning", "error"]
DEFAULT_WARNING_DAYS = 60


@dataclass(frozen=True)
class ApiVersion:
    """One published version. `sunset` None = no date announced yet.

    `projected`: the provider gave only a month (Google publishes the exact day a few weeks ahead);
    `sunset` is then the first day of that month, so a warning comes early rather than late.
    """

    name: str
    released: dt.date | None
    sunset: dt.date | None
    projected: bool = False

    def sunset_text(self) -> str:
        if self.sunset is None:
            return "no sunset announced"
        return f"about {self.sunset:%B %Y}" if self.projected else self.sunset.isoformat()


@dataclass(frozen=True)
class VersionTable:
    """The versions of one API, oldest first, and where that schedule is published."""

    provider: str  # provider key (google_ads, meta_ads)
    api: str  # the API's name as its owner writes it
    setting: str  # the environment variable that picks the version
    versions: tuple[ApiVersion, ...]
    schedule_url: str

    @property
    def newest(self) -> ApiVersion:
        return self.versions[-1]

    def find(self, name: str) -> ApiVersion | None:
        return next((v for v in self.versions if v.name == name), None)


@dataclass(frozen=True)
class VersionStatus:
    """How a configured version stands today; `message` is a sentence for a person."""

    provider: str
    api: str
    setting: str
    version: str
    level: Level
    sunset: str  # display text: a date, "about February 2027" or "no sunset announced"
    message: str
    newest: str


_NUMBER = re.compile(r"v(\d+)(?:\.(\d+))?")


def _number(name: str) -> tuple[int, int] | None:
    match = _NUMBER.fullmatch(name)
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def assess(
    table: VersionTable, configured: str, today: dt.date, warning_days: int = DEFAULT_WARNING_DAYS
) -> VersionStatus:
    """ok / warning (sunsets within `warning_days`) / error (sunset, or older than every known version)."""
    newest = table.newest.name
    known = table.find(configured)

    def status(level: Level, sunset: str, message: str) -> VersionStatus:
        return VersionStatus(table.provider, table.api, table.setting, configured, level, sunset, message, newest)

    if known is None:
        number, oldest = _number(configured), _number(table.versions[0].name)
        if number is not None and oldest is not None and number < oldest:
            return status(
                "error", "sunset", f"{table.api} {configured} was switched off long ago; set {table.setting}={newest}."
            )
        return status(
            "warning",
            "unknown",
            f"{table.api} {configured} is not in Routy's version table (newest "
            f"known: {newest}); Routy has not been checked against it.",
        )
    when = known.sunset_text()
    if known.sunset is not None and known.sunset <= today and not known.projected:
        return status(
            "error",
            when,
            f"{table.api} {configured} was switched off on {when}: every call fails. Set {table.setting}={newest}.",
        )
    if known.sunset is not None and (known.sunset - today).days <= warning_days:
        days = (known.sunset - today).days
        lead = "is projected to sunset" if known.projected else "sunsets"
        left = f"in {days} days" if days > 0 else "any day now"
        advice = (
            f"Move to {newest} before then ({table.setting})."
            if configured != newest
            else "It is the newest version Routy knows: update Routy before then for the next one."
        )
        return status("warning", when, f"{table.api} {configured} {lead} on {when} ({left}). {advice}")
    until = f"works until {when}" if known.sunset is not None else "has no sunset announced"
    if configured != newest:
        return status("ok", when, f"{table.api} {configured} {until}; {newest} is the newest.")
    return status("ok", when, f"{table.api} {configured} is the newest version and {until}.")


def configured_statuses(
    configured: list[tuple[VersionTable, str]], today: dt.date | None = None, warning_days: int = DEFAULT_WARNING_DAYS
) -> list[VersionStatus]:
    """Each (table, configured version) judged today (UTC)."""
    today = today or dt.datetime.now(dt.UTC).date()
    return [assess(table, version, today, warning_days) for table, version in configured]


def worst(statuses: list[VersionStatus]) -> Level:
    levels = {s.level for s in statuses}
    return "error" if "error" in levels else "warning" if "warning" in levels else "ok"


def for_provider(statuses: list[VersionStatus], provider: str) -> list[VersionStatus]:
    """The statuses that concern one provider's integrations (Google Ads, Meta; GA4 has none to set)."""
    return [s for s in statuses if s.provider == provider]
