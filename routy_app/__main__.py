"""Command line: `python -m routy_app migrate|check-config`.

Run before the server starts (the Makefile does), so workers never race on DDL and a bad setting
stops start-up with one clear line instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys

from routy_app.config import ConfigError, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routy_app")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="check configuration, apply database migrations, create the default source")
    sub.add_parser("check-config", help="check configuration and the secret key only")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        from routy_app.crypto import get_box

        get_box()
        if args.command == "migrate":
            from routy_app.db import migrate

            migrate()
            print(f"routy: database ready ({settings.database_url.split('@')[-1]}), provider mode {settings.provider_mode}")
        else:
            print("routy: configuration OK")
    except ConfigError as exc:
        print(f"routy: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
