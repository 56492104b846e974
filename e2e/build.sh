#!/usr/bin/env bash
# Builds (or finds in the cache) everything `npm run e2e` runs, from Go modules only:
#   e2e/build-pulumi.sh    the Pulumi CLI, its Node.js language host, the kubernetes/random/tls plugins
#   e2e/build-cluster.sh   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok
# Binaries are cached in ${HERD_E2E_CACHE:-~/.cache/herd-e2e}, keyed by version: a second run builds nothing.
# stdout: the KEY=value lines of both scripts (PULUMI_BIN_DIR, PLUGIN_*, CLUSTER_BIN_DIR, ...); progress on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in
-h | --help)
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
"") ;;
*)
    echo "e2e/build.sh: unknown argument '$1' (usage: e2e/build.sh [--help])" >&2
    exit 2
    ;;
esac
if ! command -v go >/dev/null 2>&1; then
    echo "e2e/build.sh: go not found on PATH: install Go >= 1.26 (the e2e toolchain is built from Go modules)" >&2
    exit 1
fi
started=$(date +%s)
bash "$here/build-pulumi.sh"
bash "$here/build-cluster.sh"
echo "e2e/build.sh: toolchain ready in $(($(date +%s) - started)) s" >&2
