#!/usr/bin/env bash
# npm run setup: everything herd's tests need on a fresh machine, in one command (idempotent, quick when done).
#   1. the Debian packages of the real-process tests (scripts/system-packages.sh install; root or sudo)
#   2. npm ci for the program, the policy pack (policy/) and the front end (images/frontend/)
#   3. the API's Python venv (images/api/setup.sh)
# Then `npm test` runs every test. `npm run setup -- --check` only checks, and names what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-}" in
-h | --help)
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
--check)
    # What `npm test` runs first: stop at once, naming what is missing and how to get it.
    scripts/system-packages.sh check
    problems=()
    for dir in . policy images/frontend; do
        [ -d "$dir/node_modules" ] || problems+=("$dir/node_modules")
    done
    [ -x images/api/.venv/bin/python ] || problems+=("images/api/.venv")
    if [ ${#problems[@]} -gt 0 ]; then
        echo "herd: not set up: ${problems[*]} missing; run: npm run setup" >&2
        exit 1
    fi
    exit 0
    ;;
"") ;;
*)
    echo "setup: unknown option '$1': expected --check or --help" >&2
    exit 2
    ;;
esac

echo "setup: node $(node --version), npm $(npm --version)"
scripts/system-packages.sh install
# Provider plugins are not needed offline, so dependency install scripts stay off (npm 11 runs none unless allowed).
npm ci --no-audit --no-fund
# The CrossGuard policy pack has its own dependencies (pulumi preview --policy-pack policy loads them).
npm ci --prefix policy --no-audit --no-fund
# The front end's own dependencies (React, Vite, its tests' jsdom and playwright-core driving Debian's chromium).
npm ci --prefix images/frontend --no-audit --no-fund
# The API's Python environment, for its tests under Debian's uwsgi.
images/api/setup.sh
echo "setup: done; run the tests with: npm test"
