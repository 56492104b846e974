#!/usr/bin/env bash
# The Debian packages herd's real-process tests run (PostgreSQL and pgBackRest, Redis, uwsgi + its Python 3
# plugin, nginx, headless Chromium and fonts, promtool, the PostgreSQL, Redis and Elasticsearch metrics exporters,
# and openssl and curl for the TLS tests): the one place that lists them.
#
#   scripts/system-packages.sh check     exit 1 naming every missing package and the command that installs it
#   scripts/system-packages.sh install   install what is missing (apt-get; as root, or through sudo)
#   scripts/system-packages.sh list      print the package names
#   scripts/system-packages.sh --help
set -euo pipefail

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# package|how to tell it is installed (a shell test)
PACKAGES=(
    "postgresql|ls /usr/lib/postgresql/*/bin/initdb"
    "pgbackrest|command -v pgbackrest"
    "redis-server|command -v redis-server"
    "uwsgi|command -v uwsgi"
    "uwsgi-plugin-python3|test -e /usr/lib/uwsgi/plugins/python3_plugin.so"
    "python3-venv|/usr/bin/python3 -c 'import venv, ensurepip'"
    "python3-async-timeout|/usr/bin/python3 -c 'import async_timeout'"
    "nginx|command -v nginx || test -x /usr/sbin/nginx"
    "chromium|test -x /usr/bin/chromium"
    "fonts-dejavu-core|test -d /usr/share/fonts/truetype/dejavu"
    "prometheus|command -v promtool"
    "prometheus-postgres-exporter|command -v prometheus-postgres-exporter"
    "prometheus-redis-exporter|command -v prometheus-redis-exporter"
    "prometheus-elasticsearch-exporter|command -v prometheus-elasticsearch-exporter"
    "openssl|command -v openssl"
    "curl|command -v curl"
)

# More entries in the same form, for the tests of this script only (e.g. a package that can never be found).
if [ -n "${HERD_EXTRA_SYSTEM_PACKAGES:-}" ]; then
    IFS=';' read -r -a extra <<<"$HERD_EXTRA_SYSTEM_PACKAGES"
    PACKAGES+=("${extra[@]}")
fi

missing() {
    local entry name probe
    for entry in "${PACKAGES[@]}"; do
        name="${entry%%|*}"
        probe="${entry#*|}"
        if ! bash -c "$probe" >/dev/null 2>&1; then
            printf '%s\n' "$name"
        fi
    done
}

cmd="${1:-check}"
case "$cmd" in
-h | --help | help)
    usage
    exit 0
    ;;
list)
    for entry in "${PACKAGES[@]}"; do printf '%s\n' "${entry%%|*}"; done
    ;;
check)
    mapfile -t need < <(missing)
    if [ ${#need[@]} -gt 0 ]; then
        echo "herd: missing system packages the tests need: ${need[*]}" >&2
        echo "herd: install them with: sudo scripts/system-packages.sh install   (or: sudo apt-get install -y ${need[*]})" >&2
        exit 1
    fi
    ;;
install)
    mapfile -t need < <(missing)
    if [ ${#need[@]} -eq 0 ]; then
        echo "system-packages: all present (${#PACKAGES[@]} packages)"
        exit 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "system-packages: apt-get not found: this script installs Debian/Ubuntu packages; install these by hand: ${need[*]}" >&2
        exit 1
    fi
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "system-packages: not root and no sudo: run as root: apt-get install -y ${need[*]}" >&2
            exit 1
        fi
        sudo=(sudo)
    fi
    echo "system-packages: installing ${need[*]}"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
    mapfile -t still < <(missing)
    if [ ${#still[@]} -gt 0 ]; then
        echo "system-packages: still missing after apt-get install: ${still[*]}" >&2
        exit 1
    fi
    ;;
*)
    echo "system-packages: unknown command '$cmd': expected check, install or list" >&2
    usage >&2
    exit 2
    ;;
esac
