#!/usr/bin/env bash
# Restore herd's PostgreSQL, replacing what is there: from a dump, or to a point in time with pgBackRest.
#
#   scripts/restore-postgres.sh [--context CTX] [--namespace herd] [--name postgres] [--yes] SOURCE
#   scripts/restore-postgres.sh [--context CTX] [--namespace herd] [--name postgres] [--yes] --pitr [--target TIME]
#       [--redis redis] [--api api] [--timeout SECONDS]
#
# SOURCE is a dump the backup job wrote (pg_dump custom format): a local file, s3://bucket/key (needs the aws CLI)
# or gs://bucket/key (needs gcloud). It streams into `pg_restore --clean --if-exists --single-transaction` inside
# the database pod (<name>-0), so either every object is restored or nothing changes; the roles sidecar then
# re-applies the roles, so the restored tables belong to the owner role at once.
#
# --pitr restores from pgBackRest's WAL archive and backups: to the latest archived WAL, or with --target to a
# moment, a timestamp with its zone ('2026-11-30 14:05:00+00'): every transaction committed at or before it, none
# after. It scales the StatefulSet <name> to 0, runs the restore Job herd renders (CronJob <name>-pitr-restore,
# target from ConfigMap <name>-pitr-target), scales back to 1 and waits for it to be ready, starts a full backup
# (the new timeline's first), empties the Redis cache (every key, in <redis>-0) and rebuilds the search index
# (python -m herd_api.reindex in deploy/<api>): both may point at rows the restore took away. A failed restore
# leaves the StatefulSet at 0 and says what to do.
#
# Needs kubectl access to the namespace; nothing else is exposed. KUBECTL may name another kubectl binary.
set -euo pipefail

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
fail() { echo "restore-postgres: $*" >&2; exit 1; }

kubectl_bin=${KUBECTL:-kubectl}
# Seconds between looks at the restore Job (tests shorten it).
poll=${RESTORE_POLL_SECONDS:-10}
context="" namespace=herd name=postgres yes=false source="" pitr=false target="" redis=redis api=api timeout=21600
while [ $# -gt 0 ]; do
    case "$1" in
        --context) context=${2:?--context needs a value}; shift 2 ;;
        --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
        --name) name=${2:?--name needs a value}; shift 2 ;;
        --yes) yes=true; shift ;;
        --pitr) pitr=true; shift ;;
        --target) target=${2:?--target needs a value: a timestamp with zone, e.g. '2026-11-30 14:05:00+00'}; shift 2 ;;
        --redis) redis=${2:?--redis needs a value}; shift 2 ;;
        --api) api=${2:?--api needs a value}; shift 2 ;;
        --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) echo "restore-postgres: unknown option $1" >&2; usage ;;
        *) [ -z "$source" ] || { echo "restore-postgres: one SOURCE only" >&2; usage; }; source=$1; shift ;;
    esac
done

kube() { "$kubectl_bin" ${context:+--context "$context"} --namespace "$namespace" "$@"; }
pod="$name-0"

confirm() { # <what will be replaced, in words>
    [ "$yes" = true ] && return 0
    printf 'This replaces the contents of the database in %s/%s with %s.\nType the pod name to continue: ' "$namespace" "$pod" "$1" >&2
    read -r answer || answer=""
    [ "$answer" = "$pod" ] || fail "aborted"
}

if [ "$pitr" != true ]; then
    [ -z "$target" ] || { echo "restore-postgres: --target is for --pitr only" >&2; usage; }
    [ -n "$source" ] || { echo "restore-postgres: SOURCE is required (or --pitr)" >&2; usage; }
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    case "$source" in
        s3://*) aws s3 cp --only-show-errors "$source" "$work/restore.dump"; file="$work/restore.dump" ;;
        gs://*) gcloud storage cp --no-user-output-enabled "$source" "$work/restore.dump"; file="$work/restore.dump" ;;
        *) file=$source ;;
    esac
    [ -s "$file" ] || fail "$file does not exist or is empty"
    # A custom-format dump starts with PGDMP: refuse anything else before touching the database.
    [ "$(head -c 5 "$file")" = "PGDMP" ] || fail "$file is not a pg_dump custom-format file"
    confirm "$source"

    # PGUSER and PGDATABASE are set in the container; the password never leaves the cluster.
    kube exec -i "$pod" -c postgres -- sh -c \
        'pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error -d "$PGDATABASE"' < "$file"
    # The dump carries no owners: the roles sidecar's SQL gives the restored tables to the owner role and the app
    # role its grants now, not at the sidecar's next check.
    kube exec "$pod" -c roles -- psql -X -q -v ON_ERROR_STOP=1 -f /etc/herd/postgres-roles/apply.sql ||
        fail "restored $source into $namespace/$pod, but re-applying the roles failed: the sidecar retries every 30 s; see kubectl logs $pod -c roles"
    echo "restore-postgres: restored $source into $namespace/$pod" >&2
    exit 0
fi

# --pitr: check everything before changing anything.
[ -z "$source" ] || { echo "restore-postgres: --pitr takes no SOURCE (it restores from the pgBackRest repository)" >&2; usage; }
# The form herd-pg-restore accepts (pgBackRest and recovery_target_time read it); the zone is required.
if [ -n "$target" ] && ! printf '%s\n' "$target" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?[+-][0-9]{2}(:?[0-9]{2})?$'; then
    fail "--target '$target' is not a timestamp with zone: expected 'YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM]', e.g. '2026-11-30 14:05:00+00'"
fi
case "$timeout" in ''|*[!0-9]*) fail "--timeout expected whole seconds, got '$timeout'" ;; esac
[ "$timeout" -gt 0 ] || fail "--timeout expected at least 1 second, got '$timeout'"
kube get cronjob "$name-pitr-restore" >/dev/null ||
    fail "no CronJob $namespace/$name-pitr-restore: this stack has no point-in-time recovery (deploy herd with archiving first)"
confirm "its state at ${target:-the latest archived WAL} (point-in-time recovery)"

targetMap="$name-pitr-target"
kube delete configmap "$targetMap" --ignore-not-found >/dev/null
if [ -n "$target" ]; then
    kube create configmap "$targetMap" --from-literal=target="$target" >/dev/null
fi

echo "restore-postgres: stopping PostgreSQL (statefulset/$name to 0 replicas)" >&2
kube scale "statefulset/$name" --replicas=0 >/dev/null || fail "could not scale statefulset/$name to 0: nothing was changed but the target ConfigMap"
kube wait --for=delete "pod/$pod" --timeout="${timeout}s" >/dev/null ||
    fail "pod $pod did not stop in ${timeout} s; statefulset/$name is at 0 replicas and nothing was restored. Run this again once it is gone, or scale back: ${kubectl_bin} --namespace $namespace scale statefulset/$name --replicas=1"

job="$name-pitr-restore-$(date -u +%Y%m%d%H%M%S)"
echo "restore-postgres: restoring ${target:+to $target }in job/$job" >&2
kube create job "$job" --from="cronjob/$name-pitr-restore" >/dev/null ||
    fail "could not start the restore job; statefulset/$name is at 0 replicas and nothing was restored. Scale back with: ${kubectl_bin} --namespace $namespace scale statefulset/$name --replicas=1"
waited=0
while :; do
    # A failed look (the API server busy) is not a failed restore: look again.
    status=$(kube get job "$job" -o 'jsonpath={.status.succeeded}/{.status.failed}') || status="?"
    case "$status" in
        [1-9]*/*) break ;;
        */[1-9]*)
            kube logs "job/$job" --tail=-1 >&2 || true
            fail "the restore failed (its log is above). PostgreSQL stays stopped: statefulset/$name is at 0 replicas. Fix the cause and run this again, or start the server on its volume as the restore left it with: ${kubectl_bin} --namespace $namespace scale statefulset/$name --replicas=1"
            ;;
    esac
    if [ "$waited" -ge "$timeout" ]; then
        kube logs "job/$job" --tail=50 >&2 || true
        fail "the restore job/$job did not finish in ${timeout} s. PostgreSQL stays stopped: statefulset/$name is at 0 replicas. Watch the job, then scale it back to 1 when it has succeeded: ${kubectl_bin} --namespace $namespace scale statefulset/$name --replicas=1"
    fi
    sleep "$poll"
    waited=$((waited + poll))
done
kube delete configmap "$targetMap" --ignore-not-found >/dev/null

echo "restore-postgres: starting PostgreSQL: it replays the archived WAL ${target:+up to $target }and promotes" >&2
kube scale "statefulset/$name" --replicas=1 >/dev/null
kube rollout status "statefulset/$name" --timeout="${timeout}s" >/dev/null ||
    fail "statefulset/$name did not become ready in ${timeout} s after the restore: see kubectl --namespace $namespace logs $pod -c postgres"

# The restored server is on a new timeline: its first full backup, now, not at the next schedule.
kube create job "$name-pitr-full-$(date -u +%Y%m%d%H%M%S)" --from="cronjob/$name-pitr-full" >/dev/null ||
    echo "restore-postgres: warning: could not start a full backup (cronjob/$name-pitr-full): start one by hand" >&2

# Redis may cache rows the restore took away: empty it. herd's Redis has FLUSHALL/FLUSHDB/KEYS removed, so every key
# is walked with SCAN and unlinked (the whole instance is herd's cache). redis-cli reads the password from
# REDISCLI_AUTH, which the container has: it is on no command line. Redis speaks only TLS, verified against herd's CA
# (the ca.crt of the server's own certificate Secret, mounted in the container).
# The keys are listed first so that a scan that cannot connect fails the step (a pipe would hide its exit status).
empty_redis='keys=$(redis-cli --tls --cacert /etc/redis/tls/ca.crt -h 127.0.0.1 -p "$1" --scan) && printf "%s\n" "$keys" | xargs -r -d "\n" redis-cli --tls --cacert /etc/redis/tls/ca.crt -h 127.0.0.1 -p "$1" UNLINK >/dev/null'
kube exec "$redis-0" -c redis -- sh -c "$empty_redis" sh 6379 ||
    fail "PostgreSQL is restored, but emptying Redis failed: run ${kubectl_bin} --namespace $namespace exec $redis-0 -c redis -- sh -c '$empty_redis' sh 6379"
# The search index may hold items that no longer exist, and lack restored ones: rebuild it from PostgreSQL.
kube exec "deploy/$api" -c api -- python -m herd_api.reindex ||
    fail "PostgreSQL is restored and Redis emptied, but rebuilding the search index failed: run ${kubectl_bin} --namespace $namespace exec deploy/$api -c api -- python -m herd_api.reindex"
echo "restore-postgres: restored $namespace/$pod to ${target:-the latest archived WAL}; Redis emptied, search index rebuilt" >&2
