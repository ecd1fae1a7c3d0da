"""The OAuth client the sandbox's emulated Google and Meta hosts accept, and that sandbox mode connects with.

Why its own module: both sides must agree on these values, but the sandbox stands in for the providers and
must not import our adapters (`routy_app.providers`), nor anything that does. This module imports nothing.
They are well-known test values, not secrets: the sandbox accepts no other client.
"""

SANDBOX_GOOGLE_CLIENT_ID = "sandbox-google-client-id.apps.googleusercontent.com"
SANDBOX_GOOGLE_CLIENT_SECRET = "sandbox-google-client-secret"
SANDBOX_META_APP_ID = "100000000000001"
SANDBOX_META_APP_SECRET = "sandbox-meta-app-secret"
