"""An offline emulator of the Google Ads, Data Manager, Meta Graph and GA4 APIs Routy speaks.

Mounted under /sandbox on our backend in sandbox mode, and used in-process by tests through
httpx.ASGITransport. Adapters must not be able to tell it from the real hosts for what Routy uses.
"""
