#!/usr/bin/env bash
# Creates or updates images/api/.venv from requirements.txt + requirements-dev.txt.
# Idempotent and quick when nothing changed: the venv is rebuilt from scratch only when the
# requirement files or the Python interpreter changed (a stamp file records both), so it never
# drifts from the pins. Usage: images/api/setup.sh   (env PYTHON=/path/to/python3.11 to override;
# Debian needs the python3-venv package for `python3 -m venv`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
# Default: the distribution's /usr/bin/python3. The tests run the app under Debian's uwsgi, whose
# python3 plugin embeds that interpreter's libpython: a venv from another build of 3.11 (pyenv, say)
# would load C extensions compiled for a different patch release and fail to import.
if [[ -z "${PYTHON:-}" && -x /usr/bin/python3 ]]; then
    python=/usr/bin/python3
else
    python="${PYTHON:-python3}"
fi
stamp_file="$venv/.herd-requirements.sha256"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup.sh: $python not found (set PYTHON to a Python 3.11 interpreter)" >&2
    exit 1
fi

stamp="$(
    {
        "$python" -c 'import sys; print(sys.executable, sys.version)'
        cat "$here/requirements.txt" "$here/requirements-dev.txt"
    } | sha256sum | cut -d' ' -f1
)"

if [[ -x "$venv/bin/python" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]] \
    && "$venv/bin/python" -c 'import flask, psycopg, redis, pytest' >/dev/null 2>&1; then
    echo "setup.sh: $venv is up to date"
    exit 0
fi

echo "setup.sh: building $venv with $("$python" --version 2>&1)"
rm -rf "$venv"
"$python" -m venv "$venv"
# The requirement files pin every package, transitive ones included, so they are installed as a lock
# (--no-deps): nothing unpinned sneaks in, and `pip check` below proves the lock is complete.
# A registry that cannot be reached costs 5 retries with back-off per package by default; one is
# plenty for CI and a developer's machine (override with PIP_RETRIES).
PIP_RETRIES="${PIP_RETRIES:-1}" "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
    --no-deps -r "$here/requirements-dev.txt"

# redis-py needs the async-timeout backport on Python < 3.11.3 (it imports it even for the sync
# client). Debian bookworm's python3 is 3.11.2 and the local pip mirror has no async-timeout, so
# when pip cannot get it, expose Debian's python3-async-timeout to the venv: that one package only.
allowed_check_failure='^$'
if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11, 3))'; then
    if ! PIP_RETRIES="${PIP_RETRIES:-1}" "$venv/bin/python" -m pip install --disable-pip-version-check \
        --no-input --quiet --no-deps 'async-timeout==4.0.3' 2>/dev/null; then
        debian_pkg=/usr/lib/python3/dist-packages/async_timeout
        if [[ ! -d "$debian_pkg" ]]; then
            echo "setup.sh: Python < 3.11.3 needs async-timeout: pip cannot get it here;" \
                "apt-get install python3-async-timeout" >&2
            exit 1
        fi
        site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
        ln -sfn "$debian_pkg" "$site/async_timeout"
        echo "setup.sh: using Debian's python3-async-timeout for redis-py on Python < 3.11.3"
        allowed_check_failure='^redis [0-9.]+ requires async-timeout, which is not installed\.$'
    fi
fi
"$venv/bin/python" -c 'import flask, psycopg, redis, pytest'
if ! check="$("$venv/bin/python" -m pip check 2>&1)"; then
    if grep -v -E "$allowed_check_failure" <<<"$check" | grep -q .; then
        echo "$check" >&2
        exit 1
    fi
fi
echo "$stamp" >"$stamp_file"
echo "setup.sh: $venv ready"
