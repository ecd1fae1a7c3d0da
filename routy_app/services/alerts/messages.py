"""The words of an alert: one payload per notice (the signed webhook's JSON body), rendered for email and Slack.

The payload is built when a notice is queued and stored with it, so every retry sends the same text
and the same event id; receivers deduplicate on `id`. Its shape is documented in the README.
"""

from __future__ import annotations

import datetime as dt
import json
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlsplit

from routy_app.models import Incident, saved_id
from routy_app.outbound.templates import render_text
from routy_app.services.alerts.kinds import BY_KEY

OPENED, REMINDER, RESOLVED, TEST = "opened", "reminder", "resolved", "test"
EVENT_TYPES = {OPENED: "incident.opened", REMINDER: "incident.reminder", RESOLVED: "incident.resolved", TEST: "test"}
SUBJECT = "[Routy] {state}: {title}"
STATE_WORDS = {OPENED: "Opened", REMINDER: "Still open", RESOLVED: "Resolved", TEST: "Test"}
SLACK_ICONS = {OPENED: ":rotating_light:", REMINDER: ":warning:", RESOLVED: ":white_check_mark:", TEST: ":bell:"}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def event_id(incident_id: int, event: str, notice: int) -> str:
    """Stable per notice: the same on every channel and every retry."""
    return f"inc{incident_id}-{event}-{max(notice, 0)}"


def incident_payload(
    incident: Incident,
    *,
    event: str,
    notice: int,
    now: dt.datetime,
    public_url: str,
    source_name: str,
    integration: dict[str, Any] | None,
) -> dict[str, Any]:
    """The webhook body for one notice of an incident (also what email and Slack are written from)."""
    kind = BY_KEY.get(incident.kind)
    source_url = f"{public_url}/sources/{incident.traffic_source_id}" if incident.traffic_source_id else public_url
    return {
        "id": event_id(saved_id(incident), event, notice),
        "type": EVENT_TYPES[event],
        "created_at": _iso(now),
        "incident": {
            "id": incident.id,
            "kind": incident.kind,
            "kind_label": kind.label if kind else incident.kind,
            "status": incident.status,
            "title": incident.title,
            "detail": incident.detail,
            "first_seen_at": _iso(incident.first_seen_at),
            "last_seen_at": _iso(incident.last_seen_at),
            "resolved_at": _iso(incident.resolved_at),
            "resolution": incident.resolution,
            "reminder": notice if event == REMINDER else 0,
            "traffic_source": {"id": incident.traffic_source_id, "name": source_name},
            "integration": integration,
            "url": source_url,
        },
        "notifications_url": f"{public_url}/notifications",
    }


def test_payload(channel_name: str, now: dt.datetime, public_url: str) -> dict[str, Any]:
    stamp = int(now.timestamp())
    return {
        "id": f"test-{stamp}",
        "type": EVENT_TYPES[TEST],
        "created_at": _iso(now),
        "incident": None,
        "message": f'A test alert from Routy for the channel "{channel_name}". If you can read this, it works.',
        "notifications_url": f"{public_url}/notifications",
    }


def event_of(payload: dict[str, Any]) -> str:
    return next((e for e, t in EVENT_TYPES.items() if t == payload.get("type")), TEST)


def title_of(payload: dict[str, Any]) -> str:
    incident = payload.get("incident")
    return incident["title"] if incident else "Test alert"


def subject(payload: dict[str, Any]) -> str:
    return render_text(SUBJECT, {"state": STATE_WORDS[event_of(payload)], "title": title_of(payload)})


def _when(value: str | None) -> str:
    if not value:
        return ""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def text_lines(payload: dict[str, Any]) -> list[str]:
    """The message body as plain lines (email; Slack adds its own markup)."""
    incident = payload.get("incident")
    if incident is None:
        return [payload.get("message", ""), "", f"Notifications: {payload['notifications_url']}"]
    event = event_of(payload)
    lines = [incident["title"], ""]
    if event == RESOLVED:
        lines.append(f"Resolved {_when(incident['resolved_at'])}: {incident['resolution'] or 'cleared'}.")
        lines.append(f"It was open since {_when(incident['first_seen_at'])}.")
    else:
        if incident["detail"]:
            lines.append(incident["detail"])
        since = f"Open since {_when(incident['first_seen_at'])}"
        lines.append(since + (" (daily reminder)." if event == REMINDER else "."))
    source = incident["traffic_source"]
    integration = incident.get("integration")
    where = f"Traffic source: {source['name']}"
    if integration:
        account = (
            f" · {integration['account_name']} ({integration['account_id']})" if integration.get("account_id") else ""
        )
        where += f" · {integration['provider_name']}{account}"
    lines += ["", where, f"Open in Routy: {incident['url']}", f"All alerts: {payload['notifications_url']}"]
    return lines


def slack_body(payload: dict[str, Any]) -> dict[str, Any]:
    """An incoming-webhook body: `text` in Slack's mrkdwn, which Slack-compatible receivers also take."""
    event = event_of(payload)
    lines = text_lines(payload)
    incident = payload.get("incident")
    url = incident["url"] if incident else payload["notifications_url"]
    head = f"{SLACK_ICONS[event]} *{STATE_WORDS[event]}* · {_escape_slack(title_of(payload))}"
    body = (
        [_escape_slack(line) for line in lines[2:] if line and not line.startswith(("Open in Routy", "All alerts"))]
        if incident
        else [_escape_slack(lines[0])]
    )
    return {"text": "\n".join([head, *body, f"<{url}|Open in Routy>"])}


def _escape_slack(text: str) -> str:
    """Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def email_message(
    payload: dict[str, Any], *, from_addr: str, to_addrs: str, now: dt.datetime, public_url: str
) -> EmailMessage:
    """A plain-text email; notices of one incident share a thread (Message-ID / In-Reply-To)."""
    msg = EmailMessage()
    msg["Subject"] = subject(payload)
    msg["From"] = from_addr
    msg["To"] = to_addrs
    msg["Date"] = format_datetime(now)
    domain = urlsplit(public_url).hostname or parseaddr(from_addr)[1].rpartition("@")[2] or "routy.local"
    msg["Message-ID"] = f"<{payload['id']}.{int(now.timestamp())}@{domain}>"
    incident = payload.get("incident")
    if incident and event_of(payload) != OPENED:
        thread = f"<inc{incident['id']}-opened-0@{domain}>"
        msg["In-Reply-To"] = thread
        msg["References"] = thread
    elif incident:
        msg.replace_header("Message-ID", f"<{payload['id']}@{domain}>")
    msg["X-Routy-Event"] = payload["type"]
    msg.set_content("\n".join(text_lines(payload)) + "\n")
    return msg
