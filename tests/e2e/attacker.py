"""A second origin for e2e attacks: a tiny web server on another port of the same host.

`http://localhost:<other port>` is another *origin* than the app but the same *site*, so the
browser sends the app's SameSite=Lax session cookie along with its requests: the setting of the
cross-site WebSocket hijacking and login CSRF attacks of issue 12.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

REFLEX_STATE = "reflex___state____state.routy_app___state___"
SOURCE_LOAD = REFLEX_STATE + "source____source_state.load"
ROTATE_KEY = REFLEX_STATE + "conversions____conversions_state.rotate_key"

# Speaks Engine.IO 4 / Socket.IO 5 by hand (no client library on the attacker's page): connect to
# the event namespace, open the source page's state, then rotate its API key and read the answer.
SOCKET_ATTACK = """
window.__log = []; window.__opened = false; window.__closed = null;
const ws = new WebSocket("ws://localhost:%(port)d/_event/?EIO=4&transport=websocket&token=" + crypto.randomUUID());
const ev = (name) => '42/_event,' + JSON.stringify(["event", {name, payload: {}, router_data: {
  pathname: "/sources/%(source)d", asPath: "/sources/%(source)d", query: {source_id: "%(source)d"}}}]);
ws.onopen = () => { window.__opened = true; };
ws.onclose = (e) => { window.__closed = e.code; };
ws.onmessage = (m) => {
  window.__log.push(m.data);
  if (m.data[0] === "0") ws.send("40/_event,{}");
  else if (m.data === "2") ws.send("3");
  else if (m.data.startsWith("40/_event")) {
    ws.send(ev("%(load)s")); setTimeout(() => ws.send(ev("%(rotate)s")), 1000);
  }
};
window.__csv = null;
fetch("http://localhost:%(port)d/api/metrics/1/export.csv?start=2026-01-01&end=2026-01-02", {credentials: "include"})
  .then(r => r.text()).then(t => { window.__csv = "read: " + t; }).catch(e => { window.__csv = "blocked: " + e; });
window.__control = null;
fetch("http://localhost:%(port)d/sandbox/_control/tokens", {credentials: "include"})
  .then(r => r.text()).then(t => { window.__control = "read: " + t; })
  .catch(e => { window.__control = "blocked: " + e; });
window.__forged = null;  // a simple request (no preflight) that would add a fault if the cookie sufficed
fetch("http://localhost:%(port)d/sandbox/_control/faults", {
  method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"},
  body: '{"operation": "google_ads.search", "condition": "auth_error", "times": 77}'})
  .then(() => { window.__forged = "sent"; }).catch(e => { window.__forged = "failed: " + e; });
"""

AUTO_SUBMIT = """<form id="f" method="post" action="http://localhost:%(port)d%(path)s">%(fields)s</form>
<script>document.getElementById("f").submit();</script>"""


def socket_attack_page(port: int, source_id: int) -> str:
    script = SOCKET_ATTACK % {"port": port, "source": source_id, "load": SOURCE_LOAD, "rotate": ROTATE_KEY}
    return f"<!doctype html><html><body><h1>Cute cats</h1><script>{script}</script></body></html>"


def auto_submit_page(port: int, path: str, fields: dict[str, str] | None = None) -> str:
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in (fields or {}).items())
    return (
        "<!doctype html><html><body>" + AUTO_SUBMIT % {"port": port, "path": path, "fields": inputs} + "</body></html>"
    )


class EvilSite:
    """Serves whatever page a test puts in `pages` (path -> HTML)."""

    def __init__(self, port: int) -> None:
        self.port, self.pages = port, {}

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"


@contextmanager
def evil_site() -> Iterator[EvilSite]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site = EvilSite(port)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = site.pages.get(self.path.split("?")[0], "<!doctype html><p>nothing here</p>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
