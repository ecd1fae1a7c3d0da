"""Routy's business logic: plain Python, no Reflex (import-linter keeps it so).

Who owns the database session, one rule for every service:
- Queries (read-only views for the UI) take a `Session` first and never commit: catalog, run_history,
  metrics_queries, metrics_view, push.history.push_history, mappings.list_mappings.
- Commands (a person changes something) take the acting user (`audit.Actor`) and never a session: they
  open their own, write the change and its audit row (`audit.record_by`) in it, commit once, then run
  after-commit effects (`rescheduling.reschedule`). Examples: integrations.set_paused, mappings.add_mapping,
  push.retry_row, integrations.sync_settings.save.
- Engines and jobs (pull, push, verdicts, token refresh) use many short transactions and never hold one
  across a provider call.
- Joiners write into the caller's transaction on purpose and say so: push.outbox.enqueue_*, audit.record_by.
- Commands on the caller's session, which they commit (the API route's or CLI's transaction is the unit):
  conversions.ingest_events, conversions.create_api_key.
- Not converted yet (docs/architecture.md): alerts.channels/rules/delivery.retry and auth.users take a
  session and commit; the state calling them writes their audit rows.

Authorised provider calls go through one door, `integrations.provider_session` (docs/architecture.md).
"""
