#!/usr/bin/env bash
# Install what the app (with `test`, the test suite; with `scale`, also the multi-replica test's
# PostgreSQL, Redis and HAProxy) needs. Idempotent and quick when done: a stamp of pyproject.toml skips
# pip when nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PURPOSE="${1:-run}"
BUN_VERSION="1.4.5"

log() { printf 'bootstrap: %s\n' "$*"; }

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "bootstrap: Python 3.11 or newer is required" >&2; return 1
}

# 1. Python virtualenv and dependencies.
if [ ! -x .venv/bin/python ]; then
  PY="$(find_python)"
  log "creating .venv with $PY"
  "$PY" -m venv .venv
fi
STAMP=.venv/.routy-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  log "installing Python dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$WANT" > "$STAMP"
fi

# 2. The JS runtime Reflex needs: bun from the npm registry (bun.sh may be unreachable; Node 20 is too old).
if [ ! -x .tools/node_modules/.bin/bun ] || [ "$(.tools/node_modules/.bin/bun --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { echo "bootstrap: npm is required to install bun" >&2; exit 1; }
  log "installing bun $BUN_VERSION"
  npm install --silent --no-audit --no-fund --prefix .tools "bun@$BUN_VERSION"
fi

# 3. For tests: a Chromium for Playwright (an existing one, Debian's package when root, else Playwright's).
if [ "$PURPOSE" = "test" ] || [ "$PURPOSE" = "scale" ]; then
  if [ -z "${ROUTY_CHROMIUM:-}" ]; then
    for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
      [ -x "$candidate" ] && export ROUTY_CHROMIUM="$candidate" && break
    done
  fi
  if [ -z "${ROUTY_CHROMIUM:-}" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      log "installing Debian chromium"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      log "installing Playwright's chromium"
      .venv/bin/python -m playwright install chromium
    fi
  fi
fi
# 4. For `make test-scale`: PostgreSQL, Redis and HAProxy binaries (Debian's packages when root). The test
#    starts them itself on free ports as ordinary processes; no system service is used or started.
if [ "$PURPOSE" = "scale" ]; then
  missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      log "installing Debian ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "bootstrap: make test-scale needs ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2; exit 1
    fi
  fi
fi
log "ready"
