"""Command line: `python -m routy_app migrate|check-config|doctor|backup|restore|users ...|api-keys ...`.

Run before the server starts (the Makefile does), so workers never race on DDL and a bad setting
stops start-up with one clear line instead of a traceback. `migrate` and `check-config` also say
when a configured provider API version has sunset or sunsets soon. `doctor` checks each connected
integration against its provider (see services/doctor.py). `backup` and `restore` copy the SQLite
database while the app runs and back, checking the secret key (ops/backup.py). `users` manages
sign-in accounts from a shell (passwords come from a hidden prompt or stdin, never from the command line).
`api-keys` creates or rotates a traffic source's ingest key for automated set-ups: the key is printed
once, alone on standard output, and only its hash is stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from routy_app.config import ConfigError, Settings, get_settings

CLI_ACTOR = "cli"


class CliError(Exception):
    """A one-line refusal printed as `routy: <message>` with exit status 1."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m routy_app")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="check configuration, apply database migrations, create the default source")
    sub.add_parser("check-config", help="check configuration and the secret key only")
    doctor = sub.add_parser(
        "doctor", help="check every connected integration against its provider; exit status 1 when anything fails"
    )
    doctor.add_argument("--source", type=int, default=None, help="only this traffic source's integrations")
    backup = sub.add_parser(
        "backup",
        help="write a consistent copy of the SQLite database to PATH while the app "
        "runs (PostgreSQL: prints the pg_dump line)",
    )
    backup.add_argument("path")
    restore = sub.add_parser(
        "restore",
        help="replace the SQLite database with the backup at PATH (stop the app "
        "first; needs the secret key the backup was made with)",
    )
    restore.add_argument("path")
    restore.add_argument(
        "--forget-secrets",
        action="store_true",
        help="the backup's secret key is lost: restore without its tokens (reconnect afterwards)",
    )
    users = sub.add_parser("users", help="manage sign-in accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user")
    add.add_argument("email")
    add.add_argument("--role", choices=["admin", "viewer"], default="viewer")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    reset = users_sub.add_parser("reset-password", help="set a new password (signs the user out everywhere)")
    reset.add_argument("email")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    users_sub.add_parser("list", help="list users")
    disable = users_sub.add_parser("disable", help="disable a user (signs them out everywhere)")
    disable.add_argument("email")
    enable = users_sub.add_parser("enable", help="enable a disabled user")
    enable.add_argument("email")
    keys = sub.add_parser("api-keys", help="create or rotate a traffic source's ingest API key")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    for name, text in (
        ("create", "create the source's first key (refused when it has one)"),
        ("rotate", "replace the source's key (the old one stops working at once)"),
    ):
        cmd = keys_sub.add_parser(name, help=text)
        cmd.add_argument("--source", type=int, required=True, metavar="ID", help="the traffic source's id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        settings = get_settings()
        from routy_app.crypto import get_box

        get_box()
        if args.command in ("migrate", "check-config"):
            from routy_app.ops.workers import check_workers

            check_workers(settings)
        if args.command == "migrate":
            from routy_app.db import migrate

            migrate()
            where = settings.database_url.split("@")[-1]
            print(f"routy: database ready ({where}), provider mode {settings.provider_mode}")
            _admin_from_env()
            _print_api_versions(settings)
        elif args.command == "users":
            _users(args)
        elif args.command == "api-keys":
            _api_keys(args)
        elif args.command == "doctor":
            return _doctor(args)
        elif args.command in ("backup", "restore"):
            _backup_or_restore(args, settings)
        else:
            print("routy: configuration OK")
            _print_api_versions(settings)
            _print_key_check()
    except ConfigError as exc:
        print(f"routy: {exc}", file=sys.stderr)
        return 2
    except CliError as exc:
        print(f"routy: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_key_check() -> None:
    """After restoring a database (pg_restore, a copied file): say when the secret key cannot read its tokens."""
    from routy_app.crypto import get_box
    from routy_app.ops.backup import undecryptable_in_database

    bad = undecryptable_in_database(get_box())
    if bad:
        print(
            f"routy: warning: the secret key cannot decrypt the stored tokens of {len(bad)} integration(s) "
            f"(ids {', '.join(map(str, bad))}): they were saved under another ROUTY_SECRET_KEY (or secret.key). "
            "Use that key, or reconnect those integrations.",
            file=sys.stderr,
        )


def _print_api_versions(settings: Settings) -> None:
    """One line per configured API version that has sunset (error) or sunsets soon (warning), on stderr."""
    for status in settings.api_versions():
        if status.level != "ok":
            print(f"routy: {status.level}: {status.setting}={status.version}: {status.message}", file=sys.stderr)


def _doctor(args: argparse.Namespace) -> int:
    """Print one line per check of every connected integration; 1 when any check failed."""
    import asyncio

    from sqlalchemy import inspect

    from routy_app.db import get_engine
    from routy_app.services import doctor

    if "integration" not in inspect(get_engine()).get_table_names():
        raise CliError("the database has no tables yet; run `python -m routy_app migrate` first")
    report = asyncio.run(doctor.run_cli(source_id=args.source))
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _backup_or_restore(args: argparse.Namespace, settings: Settings) -> None:
    from pathlib import Path

    from routy_app.crypto import get_box
    from routy_app.ops import backup

    try:
        if args.command == "backup":
            info = backup.backup(settings, get_box(), Path(args.path))
            print(
                f"routy: backup written to {info.path} (schema {info.revision}, {info.integrations_with_secrets} "
                f"integration(s) with encrypted tokens, secret key id {info.key_id}). The key is not in the "
                "backup: keep ROUTY_SECRET_KEY (or the data dir's secret.key) somewhere safe, apart from it."
            )
            return
        info, kept = backup.restore(settings, get_box(), Path(args.path), forget_secrets=args.forget_secrets)
    except backup.BackupError as exc:
        raise CliError(str(exc)) from None
    from routy_app.db import migrate, reset_engine

    reset_engine()
    migrate()
    print(
        f"routy: restored {info.path} (made {info.created_at}, schema {info.revision}); the previous database "
        f"is kept as {kept}. {info.other_key_note(get_box())}".rstrip()
    )


def _admin_from_env() -> None:
    from routy_app.db import session_scope
    from routy_app.services.auth import AuthError, ensure_admin_from_env

    with session_scope() as session:
        try:
            user = ensure_admin_from_env(session)
        except AuthError as exc:
            raise ConfigError(str(exc)) from None
    if user is not None:
        print(f"routy: admin {user.email} created from ROUTY_ADMIN_EMAIL")


def _users(args: argparse.Namespace) -> None:
    from sqlalchemy import inspect

    from routy_app.db import get_engine, session_scope
    from routy_app.services import auth

    if "user" not in inspect(get_engine()).get_table_names():
        raise CliError("the database has no users table yet; run `python -m routy_app migrate` first")
    with session_scope() as session:
        try:
            if args.users_command == "add":
                user = auth.add_user(session, args.email, _password(args.password_stdin, args.email), args.role)
                print(f"routy: added {user.email} ({user.role})")
            elif args.users_command == "reset-password":
                found = auth.get_user(session, args.email)
                if found is None:  # say so before asking for a password
                    raise auth.AuthError(f"No user with email {args.email.strip().lower()}.")
                auth.set_password(session, found.email, _password(args.password_stdin, found.email))
                print(f"routy: password changed for {found.email}; their sessions were signed out")
            elif args.users_command in ("disable", "enable"):
                user = auth.set_disabled(session, args.email, args.users_command == "disable")
                print(f"routy: {user.email} {args.users_command}d")
            else:
                _print_users(auth.list_users(session))
        except auth.AuthError as exc:
            raise CliError(str(exc)) from None


def _api_keys(args: argparse.Namespace) -> None:
    """Print the new key once on stdout (for a pipe into a secret store); the rest goes to stderr."""
    from sqlalchemy import inspect

    from routy_app.db import get_engine, session_scope
    from routy_app.models import TrafficSource
    from routy_app.services import audit, conversions

    if "trafficsource" not in inspect(get_engine()).get_table_names():
        raise CliError("the database has no traffic sources yet; run `python -m routy_app migrate` first")
    with session_scope() as session:
        source = session.get(TrafficSource, args.source) if 0 < args.source < 2**63 else None
        if source is None:
            raise CliError(f"no traffic source with id {args.source}")
        if args.keys_command == "create" and source.api_key_hash:
            raise CliError(f"traffic source {args.source} already has a key; use `api-keys rotate` to replace it")
        key = conversions.create_api_key(session, args.source)
        audit.record(
            session,
            CLI_ACTOR,
            audit.AuditAction.API_KEY_ROTATED,
            source_id=args.source,
            detail=f"{args.keys_command}d from the command line",
        )
    print(key)
    print(
        f"routy: {args.keys_command}d the API key of traffic source {args.source} ({source.name}); "
        "it is shown only this once",
        file=sys.stderr,
    )


def _password(from_stdin: bool, email: str) -> str:
    """The new password from stdin (first line) or a hidden prompt asked twice."""
    from routy_app.services.auth import check_password_strength

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password; pipe it in with --password-stdin")
    password = getpass.getpass("New password: ")
    problem = check_password_strength(password, email)
    if problem:
        raise CliError(problem)
    if getpass.getpass("Repeat the password: ") != password:
        raise CliError("the two passwords differ")
    return password


def _print_users(users: list) -> None:
    if not users:
        print("routy: no users yet; open the app to create the admin, or run `users add EMAIL --role admin`")
        return
    width = max(len(u.email) for u in users)
    for u in users:
        state = "disabled" if u.disabled else "active"
        last = u.last_sign_in_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_sign_in_at else "never signed in"
        print(f"{u.email:<{width}}  {u.role:<6}  {state:<8}  {last}")


if __name__ == "__main__":
    sys.exit(main())
