"""Alerts: tell people before a sync breaks, once per incident, by email, Slack or signed webhook.

How it fits together (no Reflex here; the Notifications page and the Connection tab call into it):
- `kinds`: the alert kinds, their thresholds and defaults; `rules`: each traffic source's choices.
- `detect`: reads the database (integrations, runs, outbox, API version table) and says which problems
  exist right now; `incidents`: turns that into incident rows (open once, remind daily, resolve) and
  queues one notice per channel in the `AlertDelivery` outbox.
- `delivery`: sends due notices with retries and backoff; `transports` speak SMTP, Slack-compatible
  webhooks and signed JSON webhooks (`routy_app.outbound` holds the reusable HTTP and signing parts).
- `channels`: admins' channel settings, secrets encrypted at rest; `job`: the scheduler's periodic run,
  woken early when an integration's status changes.
"""
