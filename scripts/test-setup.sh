#!/usr/bin/env bash
# What the test suite needs beyond the Python packages, installed only when missing (safe to run again):
#   - PostgreSQL's server binaries: the service tests start a throw-away cluster (initdb/pg_ctl);
#   - poppler-utils: the tests render the certificate PDF to PNG (pdftoppm);
#   - Chromium: the web pages' browser tests drive Debian's chromium (/usr/bin/chromium) with Playwright (no browser
#     download is possible);
#   - Node.js and npm, then the independent verifier's packages from verifier/package-lock.json (Digital Bazaar).
# Debian packages need root: run as root, or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: ${missing[*]}" >&2
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
if [ -f verifier/package-lock.json ]; then
    (cd verifier && npm ci --no-audit --no-fund --silent)
fi
