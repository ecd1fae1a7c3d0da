"""A request-body cap enforced while the body streams in, for every route (ours, the sandbox's).

Why here and not in each route: `await request.body()` buffers everything before any check can run,
so a 200 MB upload would sit in memory first. This layer refuses a too-large Content-Length before
the app runs, counts the bytes of a body without one (chunked), and answers 413 the moment the count
passes the cap; the app then sees the client as gone. A body that trickles in (slowloris) is cut
off with 408 once it stalls or takes too long overall.
"""

from __future__ import annotations

import asyncio
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 5 * 1024 * 1024  # 1,000 conversions of a few kB each
STALL_SECONDS = 30.0  # longest wait for the next chunk
BODY_SECONDS = 120.0  # longest time for a whole body


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        stall_seconds: float = STALL_SECONDS,
        body_seconds: float = BODY_SECONDS,
    ) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.stall_seconds, self.body_seconds = stall_seconds, body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _answer(send, 400, "The Content-Length header is not a number.")
            return
        if declared is not None and declared > self.max_bytes:
            await _answer(send, 413, self.too_large())
            return
        await _Guarded(self, scope, receive, send).run()

    def too_large(self) -> str:
        size = self.max_bytes
        limit = f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size} bytes"
        return f"The request body is larger than {limit}."


class _Guarded:
    """One request: counts body bytes and answers for the app when the body is refused."""

    def __init__(self, limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit, self.scope, self._receive, self._send = limit, scope, receive, send
        self.received = 0
        self.body_done = False
        self.refused = self.started = False
        self.deadline: float | None = None

    async def run(self) -> None:
        try:
            await self.limit.app(self.scope, self.receive, self.send)
        except Exception:
            if not self.refused:  # the app's own error: not ours to hide
                raise

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        if self.body_done:  # after the body, e.g. a streaming answer listening for disconnect
            return await self._receive()
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.limit.body_seconds
        wait = min(self.limit.stall_seconds, self.deadline - now)
        try:
            message = await asyncio.wait_for(self._receive(), timeout=max(wait, 0.001))
        except TimeoutError:
            await self._refuse(408, "The request body arrived too slowly.")
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_bytes:
                await self._refuse(413, self.limit.too_large())
                return {"type": "http.disconnect"}
            if not message.get("more_body", False):
                self.body_done = True
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # we answered already; whatever the app says next goes nowhere
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def _refuse(self, status: int, text: str) -> None:
        self.refused = True
        if not self.started:
            await _answer(self._send, status, text)


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent, -1 when unreadable."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None


async def _answer(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
