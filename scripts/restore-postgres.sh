#!/usr/bin/env bash
# Restore a herd PostgreSQL backup into the running database, replacing what is there.
#
#   scripts/restore-postgres.sh [--context CTX] [--namespace herd] [--name postgres] [--yes] SOURCE
#
# SOURCE is a dump the backup job wrote (pg_dump custom format): a local file, s3://bucket/key (needs the aws CLI)
# or gs://bucket/key (needs gcloud). The dump streams into `pg_restore --clean --if-exists --single-transaction`
# inside the database pod (<name>-0), so either every object is restored or nothing changes. Needs kubectl access to
# the namespace; nothing else is exposed. KUBECTL may name another kubectl binary.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

kubectl_bin=${KUBECTL:-kubectl}
context="" namespace=herd name=postgres yes=false source=""
while [ $# -gt 0 ]; do
    case "$1" in
        --context) context=${2:?--context needs a value}; shift 2 ;;
        --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
        --name) name=${2:?--name needs a value}; shift 2 ;;
        --yes) yes=true; shift ;;
        -h|--help) usage 0 ;;
        -*) echo "restore-postgres: unknown option $1" >&2; usage ;;
        *) [ -z "$source" ] || { echo "restore-postgres: one SOURCE only" >&2; usage; }; source=$1; shift ;;
    esac
done
[ -n "$source" ] || { echo "restore-postgres: SOURCE is required" >&2; usage; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case "$source" in
    s3://*) aws s3 cp --only-show-errors "$source" "$work/restore.dump"; file="$work/restore.dump" ;;
    gs://*) gcloud storage cp --no-user-output-enabled "$source" "$work/restore.dump"; file="$work/restore.dump" ;;
    *) file=$source ;;
esac
[ -s "$file" ] || { echo "restore-postgres: $file does not exist or is empty" >&2; exit 1; }
# A custom-format dump starts with PGDMP: refuse anything else before touching the database.
[ "$(head -c 5 "$file")" = "PGDMP" ] || { echo "restore-postgres: $file is not a pg_dump custom-format file" >&2; exit 1; }

kube() { "$kubectl_bin" ${context:+--context "$context"} --namespace "$namespace" "$@"; }
pod="$name-0"
if [ "$yes" != true ]; then
    printf 'This replaces the contents of the database in %s/%s with %s.\nType the pod name to continue: ' "$namespace" "$pod" "$source" >&2
    read -r answer
    [ "$answer" = "$pod" ] || { echo "restore-postgres: aborted" >&2; exit 1; }
fi

# PGUSER and PGDATABASE are set in the container; the password never leaves the cluster.
kube exec -i "$pod" -c postgres -- sh -c \
    'pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error -d "$PGDATABASE"' < "$file"
echo "restore-postgres: restored $source into $namespace/$pod" >&2
