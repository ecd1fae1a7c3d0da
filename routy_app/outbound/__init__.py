"""Outbound HTTP to URLs people choose: alert webhooks today, the Webhook card's conversion requests next.

No database and no Reflex here, only the pieces every such sender needs:
- `send.send_request`: one request, never raising for network trouble; the answer classified as
  delivered / retry later / do not retry, with status, latency and the first 2 KB of the answer.
- `signing`: HMAC-SHA256 signatures (`X-Routy-Signature: t=<unix time>,v1=<hex>`) and their check.
- `backoff.delay`: exponential backoff with jitter that honours a Retry-After hint.
- `guard`: no requests to link-local or cloud metadata addresses (nor loopback, unless allowed).
- `templates`: `{macro}` templates rendered for a URL (percent-encoded), JSON (escaped by context) or text.
"""
