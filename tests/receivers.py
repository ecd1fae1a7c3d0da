"""Real receivers for outbound alerts, run in the test process: an SMTP server (aiosmtpd) and an HTTP
endpoint that records every request. Used by the integration tests and by e2e (the app under test
connects to them over the loopback interface like it would to a real mail server or webhook).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Recorder:
    """A list that a test can wait on (no sleeping: a condition variable with a deadline)."""

    def __init__(self) -> None:
        self.items: list = []
        self._cond = threading.Condition()

    def add(self, item) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = 20.0):
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.items), timeout=timeout):
                raise AssertionError(f"condition not met within {timeout}s; got {len(self.items)} item(s)")
            return list(self.items)


# ---------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    """Records every request; answers with queued statuses (then 200), or always with the status of a
    path prefix in `fixed` (a receiver that is gone, say). Use as a context manager."""

    def __init__(self) -> None:
        self.requests = _Recorder()
        self.answers: list[int] = []
        self.fixed: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.requests.add(
                    Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                fixed = next((code for prefix, code in receiver.fixed.items() if self.path.startswith(prefix)), None)
                status = fixed or (receiver.answers.pop(0) if receiver.answers else 200)
                payload = b'{"ok": true}' if status < 300 else b'{"error": "receiver says no"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- SMTP


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost that is its own authority (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None


@dataclass
class SmtpReceiver:
    """aiosmtpd on a free port: optional STARTTLS (required when `cert` is given) and AUTH LOGIN/PLAIN."""

    cert: tuple[Path, Path] | None = None
    username: str | None = None
    password: str | None = None
    refuse_with: str | None = None  # e.g. "451 4.3.0 Try again later" answers every DATA with that
    mails: _Recorder = field(default_factory=_Recorder)

    def __post_init__(self) -> None:
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                if receiver.refuse_with:
                    return receiver.refuse_with
                message = email.message_from_bytes(
                    envelope.original_content or envelope.content, policy=email.policy.default
                )
                login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
                receiver.mails.add(
                    Mail(envelope.mail_from, list(envelope.rcpt_tos), message, tls=session.ssl is not None, login=login)
                )
                return "250 Message accepted for delivery"

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == receiver.username
                and auth_data.password.decode() == receiver.password
            )
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs: dict = {}
        if self.cert:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
            kwargs.update(tls_context=context, require_starttls=True)
        if self.username:
            kwargs.update(authenticator=authenticate, auth_require_tls=bool(self.cert))
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)

    def client_tls_context(self) -> ssl.SSLContext:
        """What Routy's sender must use to trust this server (its own certificate as the authority)."""
        return ssl.create_default_context(cafile=str(self.cert[0])) if self.cert else ssl.create_default_context()

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
