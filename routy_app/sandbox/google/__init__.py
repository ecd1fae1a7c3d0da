"""Google's emulated hosts under the sandbox mount: identity (OAuth), Google Ads API, Data Manager API.

Mount points are the ones sandbox mode points the adapters at (SANDBOX_PATHS in the providers' endpoints).

Fault operations (state.faults / POST /sandbox/_control/faults):
  google.token; google_ads.list_customers, google_ads.search, google_ads.search_stream;
  datamanager.ingest, datamanager.status.
Conditions, answered in each API's own error dialect (errors.py): expired_token,
  unauthenticated_no_details, malformed, service_disabled (params: project), wrong_login_customer,
  quota_429 (params: retry_delay), daily_quota, http_500, http_503 (params: retry_after).
  google.token: revoked_refresh, malformed, http_500, http_503 (params: retry_after), quota_429.
  google_ads.search_stream also: stream_error (params: status, after_batches).
  datamanager.ingest also: answer_lost (params: seconds; the request is ingested, the answer held back).
  datamanager.status also: partial_failure (params: reason, count).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.google import ads_api, datamanager, identity


def routes(state: SandboxState) -> list[BaseRoute]:
    return [
        Mount("/google", routes=identity.routes(state)),
        Mount("/googleads", routes=ads_api.routes(state)),
        Mount("/datamanager", routes=datamanager.routes(state)),
    ]
