"""The multi-replica set-up of `make test-scale`, as ordinary processes on free ports:

PostgreSQL (initdb into a temporary folder; as the `postgres` user when the test runs as root, since
PostgreSQL refuses root), Redis (no persistence), the provider sandbox as its own process (so killing a
replica does not wipe what "the provider" received), two app replicas and HAProxy in front.

The deployment files are the ones the docs show: HAProxy runs deploy/haproxy.cfg as it is (addresses
from the environment), each replica is started with the ExecStart and Environment lines of
deploy/systemd/routy@.service (%i = its port) and the settings of deploy/routy.env.example, whose
host-specific values (database, Redis, URLs, secrets, data dir, proxy address) are replaced by the
test's. Nothing is started as a system service.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "systemd" / "routy@.service"
ENV_FILE = DEPLOY / "routy.env.example"
HAPROXY_CFG = DEPLOY / "haproxy.cfg"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@routy.test", "Scale-Lead-pass-4412"
SECRET_KEY = "scale-test-secret-key"
METRICS_TOKEN = "scale-metrics-token"
# Knobs the test sets beyond the env file, and why: the sandbox instead of real providers, the admin made
# by `migrate`, each replica's build folder kept warm between runs, pushes every 10 s instead of every
# minute (so the test waits less; takeover and leases keep their production defaults).
TEST_ONLY = {
    "ROUTY_PROVIDER_MODE": "sandbox",
    "ROUTY_ADMIN_EMAIL": ADMIN_EMAIL,
    "ROUTY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "ROUTY_PUSH_EVERY_SECONDS": "10",
    "ROUTY_LOG_LEVEL": "INFO",
    "REFLEX_TELEMETRY_ENABLED": "false",
}
REPLICA_START_TIMEOUT = 420


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(condition, timeout: float, what: str, every: float = 0.2):
    """Poll `condition()` until it returns something truthy; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop_group(proc: subprocess.Popen | None, sig: int = signal.SIGINT, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# ---------------------------------------------------------------- PostgreSQL, Redis, sandbox, HAProxy


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else (shutil.which(name) or name)


@dataclass
class Postgres:
    """A throwaway cluster in a folder of its own under /tmp (the `postgres` user must reach it when the
    test runs as root, and pytest's folders are private to root)."""

    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="routy-scale-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://routy@127.0.0.1:{self.port}/routy"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", "postgres", "--", *argv]

    def start(self) -> Postgres:
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        data = self.base / "data"

        def run(argv):
            return subprocess.run(self._as_owner(argv), check=True, capture_output=True, text=True)

        run([_pg_bin("initdb"), "-D", str(data), "-U", "routy", "-A", "trust", "-E", "UTF8", "--no-sync"])
        run(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.base / "postgres.log"),
                "-w",
                "-t",
                "60",
                "start",
                "-o",
                f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            ]
        )
        run([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "routy", "routy"])
        return self

    def stop(self) -> None:
        subprocess.run(
            self._as_owner([_pg_bin("pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class Redis:
    base: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        self.base.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "redis.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.base),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        until(lambda: _redis_ping(self.port), 30, "redis to answer PING")
        return self

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGTERM)


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Sandbox:
    """tests/scale/sandbox_server.py: the emulator under /sandbox plus a watch on report requests."""

    base: Path
    public_url: str = ""  # the app's PUBLIC_URL: its /oauth/<provider>/callback are the registered redirect URIs
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sandbox"

    def start(self) -> Sandbox:
        log = open(self.base / "sandbox.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.scale.sandbox_server:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, "PUBLIC_URL": self.public_url} if self.public_url else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        until(lambda: _get(f"{self.url}/") == 200, 60, "the sandbox to listen")
        return self

    def control(self, method: str, path: str, **body):
        answer = httpx.request(method, f"{self.url}/_control{path}", json=body or None, timeout=60)
        assert answer.status_code < 300, answer.text
        return answer.json()

    def watch(self) -> dict:
        return httpx.get(f"http://127.0.0.1:{self.port}/_watch", timeout=30).json()

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGTERM)


def _get(url: str, timeout: float = 3) -> int | None:
    try:
        return httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError:
        return None


@dataclass
class Balancer:
    """HAProxy running deploy/haproxy.cfg in the foreground; its runtime API drains and readies replicas."""

    base: Path
    replicas: list[str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def socket_path(self) -> Path:
        return self.base / "haproxy.sock"

    def start(self) -> Balancer:
        env = {
            **os.environ,
            "ROUTY_LB_BIND": f"127.0.0.1:{self.port}",
            "ROUTY_LB_RUNTIME": str(self.socket_path),
            **{f"ROUTY_APP{i + 1}": addr for i, addr in enumerate(self.replicas)},
        }
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        check = subprocess.run([haproxy, "-c", "-f", str(HAPROXY_CFG)], env=env, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        log = open(self.base / "haproxy.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [haproxy, "-db", "-f", str(HAPROXY_CFG)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        until(self.socket_path.exists, 20, "HAProxy's runtime socket")
        return self

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def only(self, name: str, cut: bool = True) -> None:
        """Route new requests to replica `name` only; with `cut`, also close the other's open connections
        (its event sockets reconnect through the balancer, to `name`)."""
        self.command(f"set server routy/{name} state ready")
        for server in ("app1", "app2"):
            if server != name:  # drain: no new requests, open ones go on (maint would count as marked down)
                self.command(f"set server routy/{server} state {'maint' if cut else 'drain'}")
                if cut:
                    self.command(f"shutdown sessions server routy/{server}")

    def both(self) -> None:
        for server in ("app1", "app2"):
            self.command(f"set server routy/{server} state ready")

    def status(self) -> dict[str, str]:
        """Server name -> HAProxy's status (UP, DOWN, MAINT, ...)."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {r["svname"]: r["status"] for r in rows if r["pxname"] == "routy" and r["svname"].startswith("app")}

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGTERM)


# ---------------------------------------------------------------- replicas, from the systemd unit


def unit_command(port: int, runtime_root: Path) -> tuple[list[str], dict[str, str], list[Path]]:
    """(argv, Environment= values, runtime dirs) of routy@<port>.service, with /run/ under `runtime_root`."""
    argv: list[str] = []
    env: dict[str, str] = {}
    runtime: list[Path] = []
    for raw in UNIT.read_text().splitlines():
        line = raw.strip().replace("%i", str(port))
        if line.startswith("ExecStart="):
            argv = shlex.split(line.removeprefix("ExecStart="))
        elif line.startswith("Environment="):
            key, _, value = line.removeprefix("Environment=").partition("=")
            env[key] = value.replace("/run/", f"{runtime_root}/")
        elif line.startswith("RuntimeDirectory="):
            runtime += [runtime_root / name for name in line.removeprefix("RuntimeDirectory=").split()]
    assert argv, f"no ExecStart in {UNIT}"
    if not os.path.exists(argv[0]):
        argv[0] = shutil.which(os.path.basename(argv[0])) or argv[0]
    return argv, env, runtime


def env_file(overrides: dict[str, str]) -> dict[str, str]:
    """deploy/routy.env.example with `overrides` applied; every override must name a key the file has."""
    values: dict[str, str] = {}
    for raw in ENV_FILE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    unknown = sorted(set(overrides) - set(values))
    assert not unknown, f"{ENV_FILE.name} does not list {unknown}"
    return {**values, **overrides}


@dataclass
class Replica:
    name: str
    base: Path
    settings: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.base / f"{self.name}.log"

    def start(self) -> Replica:
        argv, unit_env, runtime = unit_command(self.port, self.base / "run")
        for folder in runtime:  # systemd makes RuntimeDirectory afresh at each start and removes it at stop
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ROUTY_", "REFLEX_", "GRANIAN_", "PROMETHEUS_", "GOOGLE_", "META_", "GA4_"))
            and k not in ("DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "TRUSTED_PROXIES", "WEB_DIR", "PORT")
        }
        env = {**keep, **self.settings, **unit_env, "WEB_DIR": f".web-scale-{self.name}"}
        self.starts += 1
        with open(self.log_path, "a") as log:
            log.write(f"\n===== start {self.starts}: {shlex.join(argv)}\n")
            log.flush()
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self, timeout: float = REPLICA_START_TIMEOUT) -> None:
        def ready() -> bool:
            if self.proc is None or self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{_tail(self.log_path)}")
            return _get(f"{self.url}/readyz") == 200 and _get(f"{self.url}/", 10) == 200

        try:
            until(ready, timeout, f"{self.name} to be ready", every=1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_tail(self.log_path)}") from None

    def pids(self) -> set[int]:
        """Every process of this replica (make, the Reflex CLI, Granian's supervisor and workers)."""
        if self.proc is None or self.proc.poll() is not None:
            return set()
        try:
            root = psutil.Process(self.proc.pid)
            return {root.pid, *(child.pid for child in root.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()

    def kill9(self) -> float:
        """SIGKILL every process of the replica at once (a machine or container dying); monotonic time of it."""
        assert self.proc is not None
        pids = self.pids()
        os.killpg(self.proc.pid, signal.SIGKILL)
        at = time.monotonic()
        for pid in pids:  # Granian may have put workers elsewhere: make sure none survives
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        until(
            lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids),
            10,
            f"{self.name}'s processes to die",
        )
        return at

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGINT, timeout=30)


def holder_pid(holder: str | None) -> int | None:
    """The pid in a lease holder name (host:pid:random)."""
    match = re.match(r"^[^:]*:(\d+):", holder or "")
    return int(match.group(1)) if match else None
