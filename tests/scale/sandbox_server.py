"""The provider sandbox as a process of its own for `make test-scale` (`uvicorn tests.scale.sandbox_server:app`).

The emulator is mounted at /sandbox as the app mounts it. A watch in front counts the Google Ads report
requests (searchStream / search) per customer and the most that were ever in flight at once for one
customer: a pull reads its levels one after another, so two at once means two pulls of one integration
ran at the same time (GET /_watch).
"""

from __future__ import annotations

import re
import threading

from starlette.responses import JSONResponse

from routy_app.sandbox.app import mounted_sandbox
from routy_app.sandbox.core.state import SandboxConfig, SandboxState

_REPORT = re.compile(r"/sandbox/googleads/[^/]+/customers/(\d+)/googleAds:search")


class Watch:
    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.requests: dict[str, int] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/_watch":
            with self.lock:
                body = {"report_requests": dict(self.requests), "most_in_flight": dict(self.most)}
            await JSONResponse(body)(scope, receive, send)
            return
        match = _REPORT.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        customer = match.group(1)
        with self.lock:
            self.in_flight[customer] = self.in_flight.get(customer, 0) + 1
            self.most[customer] = max(self.most.get(customer, 0), self.in_flight[customer])
            self.requests[customer] = self.requests.get(customer, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                self.in_flight[customer] -= 1


app = Watch(mounted_sandbox(SandboxState(SandboxConfig())))
