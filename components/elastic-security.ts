/**
 * ElasticCluster's deploy-time Jobs, the only things that log in as the `elastic` superuser:
 *
 * - `<name>-setup` waits for the cluster, then (idempotently) creates the API's role, with privileges on the API's
 *   index only, and the API's user with the generated password from `<name>-api-credentials`; registers the snapshot
 *   repository and the snapshot lifecycle policy (elastic-snapshots.ts); and after a shrink clears the exclusions
 *   `<name>-shrink` set once the leaving nodes have gone.
 * - `<name>-shrink` runs before the StatefulSet changes (the StatefulSet depends on it). When the new replica count
 *   leaves nodes out, it excludes them from the voting configuration (so the masters that stay keep a quorum when
 *   Parallel pod management stops every leaving pod at once) and from shard allocation, and waits until every shard
 *   has a started copy on a node that stays. It cannot, the exclusions are undone and the Job fails: the StatefulSet
 *   is then not changed, and `pulumi up` says why. With nothing to remove (a first deploy, a grow, an unchanged
 *   count) it does nothing.
 *
 * Why a Job and not a config error: the program cannot see the previous replica count (config holds only the new
 * one, and a stack's state is not an input to the program), but a Job can see the cluster itself, which is the
 * authority on which nodes exist and where the shards are. It makes every shrink safe (5 -> 3 as much as 3 -> 1),
 * not just the ones a rule about config values could recognise, and costs nothing when nothing shrinks.
 *
 * Both scripts are plain sh with curl from the Elasticsearch image (pinned, already pulled by the nodes): no other
 * image, and nothing that waits for the API's image build. They speak HTTPS only and verify the server against herd's
 * internal CA (its ConfigMap mounted at CA_MOUNT_PATH, `curl --cacert`): never `-k`. The `elastic` password reaches them only through
 * `secretKeyRef` and is handed to curl in a config file on the pod's own tmpfs, never on a command line; the API
 * user's password goes in a request body written the same way.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import { waitOptions } from "../lib/waits";
import { credentials, Scope } from "./data-tier";
import { DNS_EGRESS, networkPolicy, podsWith } from "./network-policy";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements } from "./pod-security";
import { ELASTIC_HTTP_PORT, ELASTIC_UID, ElasticResolved } from "./elastic-settings";
import type { SnapshotSetup } from "./elastic-snapshots";
import { CA_FILE, CA_MOUNT_PATH } from "./internal-ca";

/** The role the API's user holds. */
export const ELASTIC_API_ROLE = "herd_api";

/**
 * The API's role: its own index (and `<index>-*`, the concrete indices `python -m herd_api.reindex` builds behind
 * the alias of that name) with read, write, create_index and manage (mappings, refresh, aliases, deleting an old
 * index), and `monitor` on the cluster, which its readiness report needs for `_cluster/health`. Nothing else: no
 * other index, no security, snapshot or cluster settings API.
 */
export function apiRole(index: string): { cluster: string[]; indices: { names: string[]; privileges: string[]; allow_restricted_indices: boolean }[] } {
    return {
        cluster: ["monitor"],
        indices: [{ names: [index, `${index}-*`], privileges: ["read", "write", "create_index", "manage"], allow_restricted_indices: false }],
    };
}

/** The metrics exporter's user and role (with metrics on). */
export const ELASTIC_METRICS_USER = "herd_metrics";
export const ELASTIC_METRICS_ROLE = "herd_metrics";

/**
 * The exporter's role: `monitor` on the cluster (health, node stats) and on every index (index stats), read-only
 * statistics. No document can be read or written, and nothing configured.
 */
export function metricsRole(): { cluster: string[]; indices: { names: string[]; privileges: string[]; allow_restricted_indices: boolean }[] } {
    return { cluster: ["monitor"], indices: [{ names: ["*"], privileges: ["monitor"], allow_restricted_indices: false }] };
}

/**
 * What both Jobs start with: `es METHOD PATH [BODY_FILE]` (the answer in /tmp/es-out, the HTTP status in $status,
 * 000 when nothing answered, curl's exit status in $curl_exit; returns 0 on a 2xx answer), `unreachable` (nothing
 * listens at ES_URL: no DNS record, connection refused, or a timeout), `tls_failed` (a TLS handshake or certificate
 * check failed), `fail MESSAGE` and `retry WHAT COMMAND...`. ES_URL must be https:// and ES_CA_FILE (the internal
 * CA) a readable file: curl verifies the server's certificate and name against it (`--cacert`), never `-k`. The
 * `elastic` credentials go to curl as a config file (`-K`), written by printf (a shell builtin): never in any
 * argument list.
 */
function prelude(): string[] {
    return [
        "set -eu",
        "umask 077",
        'RETRY_SECONDS="${RETRY_SECONDS:-5}"',
        'ATTEMPTS="${ATTEMPTS:-6}"',
        'case "$ES_URL" in https://?*) ;; *) echo "herd: ES_URL must be an https:// URL (Elasticsearch serves HTTPS only), got $ES_URL" >&2; exit 1 ;; esac',
        '[ -f "$ES_CA_FILE" ] && [ -r "$ES_CA_FILE" ] || { echo "herd: ES_CA_FILE=$ES_CA_FILE is not a readable file (herd\'s internal CA, which verifies Elasticsearch\'s certificate)" >&2; exit 1; }',
        `printf 'user = "elastic:%s"\\n' "$ELASTIC_PASSWORD" > /tmp/es-auth`,
        "curl_exit=0",
        "es() {",
        '    set -- "$1" "$2" "${3:-}"',
        "    : > /tmp/es-out",
        "    curl_exit=0",
        '    if [ -n "$3" ]; then',
        `        status=$(curl -sS -K /tmp/es-auth --cacert "$ES_CA_FILE" --max-time 60 -o /tmp/es-out -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' --data-binary "@$3" "$ES_URL$2" 2>/tmp/es-err) || { curl_exit=$?; status=000; }`,
        "    else",
        `        status=$(curl -sS -K /tmp/es-auth --cacert "$ES_CA_FILE" --max-time 60 -o /tmp/es-out -w '%{http_code}' -X "$1" "$ES_URL$2" 2>/tmp/es-err) || { curl_exit=$?; status=000; }`,
        "    fi",
        '    case "$status" in 2??) return 0 ;; esac',
        "    return 1",
        "}",
        // curl's exit codes: 6 could not resolve the host, 7 could not connect, 28 timed out.
        'unreachable() { [ "$status" = 000 ] && case "$curl_exit" in 6 | 7 | 28) true ;; *) false ;; esac; }',
        // 35 handshake, 51/60 the server's certificate or name did not verify, 53/54/58/59/66 TLS setup, 77 the CA file,
        // 80/82/83/90/91 TLS shutdown, CRL, issuer, pinned key, certificate status.
        'tls_failed() { [ "$status" = 000 ] && case "$curl_exit" in 35 | 51 | 53 | 54 | 58 | 59 | 60 | 66 | 77 | 80 | 82 | 83 | 90 | 91) true ;; *) false ;; esac; }',
        // The handshake failed because the node still speaks plain HTTP: a node not yet restarted by the update that
        // turns HTTPS on. Told by asking it once more in plain HTTP with no credentials (any HTTP status, such as 401,
        // says so); nothing secret ever goes over plain HTTP.
        `plain_http() { [ "$status" = 000 ] && [ "$curl_exit" = 35 ] && plain=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://\${ES_URL#https://}/" 2>/dev/null) && [ "$plain" != 000 ]; }`,
        `answer() { if plain_http; then printf 'Elasticsearch answered in plain HTTP, not HTTPS (a node the update has not restarted with HTTPS yet)'; elif tls_failed; then printf 'the TLS handshake or certificate check failed (curl exit %s; is ES_CA_FILE the CA that signed the certificate in the <name>-http-tls Secret, and is the host of %s one of its names?): %s' "$curl_exit" "$ES_URL" "$(cat /tmp/es-err)"; elif [ "$status" = 000 ]; then printf 'no answer (curl exit %s): %s' "$curl_exit" "$(cat /tmp/es-err)"; else printf 'HTTP %s: %s' "$status" "$(head -c 600 /tmp/es-out)"; fi; }`,
        `fail() { echo "herd: $1: $(answer)" >&2; exit 1; }`,
        // A node still on plain HTTP (while the update that turns HTTPS on rolls the nodes) does not use up an attempt
        // before the Job's deadline: the roll replaces it.
        'retry() { what="$1"; shift; n=1; until "$@"; do if plain_http && [ "$(date +%s)" -lt "${deadline:-0}" ]; then sleep "$RETRY_SECONDS"; continue; fi; [ "$n" -lt "$ATTEMPTS" ] || fail "$what (tried $n times)"; n=$((n + 1)); sleep "$RETRY_SECONDS"; done; }',
        // A node of this StatefulSet whose ordinal is at or above the target count: it leaves (or has left).
        'leaves() { case "$1" in "$STS_NAME"-*) n="${1#"$STS_NAME"-}" ;; *) return 1 ;; esac; case "$n" in "" | *[!0-9]*) return 1 ;; esac; [ "$n" -ge "$TARGET_REPLICAS" ]; }',
    ];
}

/**
 * The setup Job's script. Env: ES_URL (https://), ES_CA_FILE, ELASTIC_PASSWORD, API_USER, API_PASSWORD (letters and digits), API_ROLE,
 * ROLE_JSON, STS_NAME, TARGET_REPLICAS, WAIT_SECONDS; when snapshots are on, SNAPSHOT_REPOSITORY, REPOSITORY_JSON,
 * SLM_POLICY and SLM_JSON; optionally RETRY_SECONDS and ATTEMPTS. Every step is a PUT of the whole object (or a
 * no-op), so running it again changes nothing.
 */
export function elasticSetupScript(): string {
    return [
        ...prelude(),
        'case "$API_PASSWORD" in "" | *[!A-Za-z0-9]*) echo "herd: API_PASSWORD must be letters and digits (it goes into a JSON body as is)" >&2; exit 1 ;; esac',
        'deadline=$(( $(date +%s) + WAIT_SECONDS ))',
        'echo "herd: waiting up to ${WAIT_SECONDS}s for Elasticsearch at $ES_URL to be ready (yellow)"',
        "until es GET '/_cluster/health?wait_for_status=yellow&timeout=10s'; do",
        // Waiting does not fix a certificate that does not verify: say so now. A node still on plain HTTP is rolled
        // onto HTTPS by the same update: wait for it.
        '    if tls_failed && ! plain_http; then fail "connecting to Elasticsearch at $ES_URL"; fi',
        '    [ "$(date +%s)" -lt "$deadline" ] || fail "Elasticsearch at $ES_URL was not ready (yellow) within ${WAIT_SECONDS}s"',
        '    sleep "$RETRY_SECONDS"',
        "done",
        "printf '%s' \"$ROLE_JSON\" > /tmp/role.json",
        'retry "creating the role $API_ROLE" es PUT "/_security/role/$API_ROLE" /tmp/role.json',
        `printf '{"password":"%s","roles":["%s"],"full_name":"herd API","metadata":{"managed_by":"herd"}}' "$API_PASSWORD" "$API_ROLE" > /tmp/user.json`,
        'retry "creating the user $API_USER" es PUT "/_security/user/$API_USER" /tmp/user.json',
        "rm -f /tmp/user.json",
        'echo "herd: user $API_USER holds role $API_ROLE: $ROLE_JSON"',
        // The metrics exporter's user, with metrics on (herd:metrics).
        'if [ -n "${METRICS_USER:-}" ]; then',
        '    case "$METRICS_PASSWORD" in "" | *[!A-Za-z0-9]*) echo "herd: METRICS_PASSWORD must be letters and digits (it goes into a JSON body as is)" >&2; exit 1 ;; esac',
        "    printf '%s' \"$METRICS_ROLE_JSON\" > /tmp/metrics-role.json",
        '    retry "creating the role $METRICS_ROLE" es PUT "/_security/role/$METRICS_ROLE" /tmp/metrics-role.json',
        `    printf '{"password":"%s","roles":["%s"],"full_name":"herd metrics exporter","metadata":{"managed_by":"herd"}}' "$METRICS_PASSWORD" "$METRICS_ROLE" > /tmp/metrics-user.json`,
        '    retry "creating the user $METRICS_USER" es PUT "/_security/user/$METRICS_USER" /tmp/metrics-user.json',
        "    rm -f /tmp/metrics-user.json",
        '    echo "herd: user $METRICS_USER holds role $METRICS_ROLE: $METRICS_ROLE_JSON"',
        "fi",
        'if [ -n "${SNAPSHOT_REPOSITORY:-}" ]; then',
        "    printf '%s' \"$REPOSITORY_JSON\" > /tmp/repository.json",
        // PUT _snapshot verifies the repository from every node: a store the nodes cannot write to fails here, loudly.
        '    retry "registering the snapshot repository $SNAPSHOT_REPOSITORY (can every node reach and write to the store?)" es PUT "/_snapshot/$SNAPSHOT_REPOSITORY" /tmp/repository.json',
        "    printf '%s' \"$SLM_JSON\" > /tmp/slm.json",
        '    retry "creating the snapshot lifecycle policy $SLM_POLICY" es PUT "/_slm/policy/$SLM_POLICY" /tmp/slm.json',
        '    echo "herd: snapshot repository $SNAPSHOT_REPOSITORY and lifecycle policy $SLM_POLICY: $SLM_JSON"',
        "fi",
        // After a shrink: wait until the nodes excluded from voting have left, then lift the exclusions.
        "es GET '/_cluster/state/metadata?filter_path=metadata.cluster_coordination.voting_config_exclusions' || fail 'reading the voting exclusions'",
        "if grep -q '\"node_name\"' /tmp/es-out; then",
        '    echo "herd: waiting for the nodes a shrink excluded from voting to leave, then clearing the exclusions"',
        // Each request waits (up to its master_timeout) for the excluded nodes to leave; a leaving pod may take its
        // whole termination grace period, so ask again until the Job's own deadline.
        '    until es DELETE "/_cluster/voting_config_exclusions?wait_for_removal=true&master_timeout=60s"; do',
        '        [ "$(date +%s)" -lt "$deadline" ] || fail "clearing the voting exclusions (a node excluded from voting is still in the cluster after ${WAIT_SECONDS}s)"',
        '        sleep "$RETRY_SECONDS"',
        "    done",
        "fi",
        "es GET '/_cluster/settings?flat_settings=true&filter_path=persistent' || fail 'reading the cluster settings'",
        `excluded=$(sed -n 's/.*"cluster\\.routing\\.allocation\\.exclude\\._name":"\\([^"]*\\)".*/\\1/p' /tmp/es-out)`,
        'if [ -n "$excluded" ]; then',
        "    ours=yes",
        '    for node in $(printf \'%s\' "$excluded" | tr \',\' \' \'); do leaves "$node" || ours=no; done',
        '    if [ "$ours" = yes ]; then',
        `        printf '{"persistent":{"cluster.routing.allocation.exclude._name":null}}' > /tmp/settings.json`,
        '        es PUT /_cluster/settings /tmp/settings.json || fail "clearing the allocation exclusion of $excluded"',
        '        echo "herd: cleared the allocation exclusion of $excluded (they have left)"',
        "    else",
        '        echo "herd: left cluster.routing.allocation.exclude._name=$excluded alone: not set by a herd shrink"',
        "    fi",
        "fi",
        'echo "herd: Elasticsearch set up"',
    ].join("\n");
}

/**
 * The shrink Job's script. Env: ES_URL (https://, the headless Service: it resolves to every pod, ready or not),
 * ES_CA_FILE, ELASTIC_PASSWORD,
 * STS_NAME, TARGET_REPLICAS, WAIT_SECONDS; optionally RETRY_SECONDS.
 */
export function elasticShrinkScript(): string {
    return [
        ...prelude(),
        "if ! es GET '/_cat/nodes?h=name'; then",
        // Only when nothing listens: a certificate that does not verify is a cluster we cannot see, not an absent one.
        '    if unreachable; then echo "herd: no Elasticsearch answers at $ES_URL: nothing to shrink (a first deploy, or the cluster is down): $(answer)"; exit 0; fi',
        // The update that turns HTTPS on: the nodes (unchanged until this Job ends) still speak plain HTTP, and the
        // elastic password never goes over it. Nothing can be checked: that update must not lower the node count
        // (README: Elasticsearch over HTTPS).
        '    if plain_http; then echo "herd: Elasticsearch at $ES_URL still serves plain HTTP (this update turns HTTPS on): the shrink check needs HTTPS and was skipped; do not lower elasticReplicas in the update that turns HTTPS on"; exit 0; fi',
        '    fail "listing the nodes of the cluster at $ES_URL"',
        "fi",
        'leaving=""',
        'for node in $(cat /tmp/es-out); do if leaves "$node"; then leaving="${leaving:+$leaving,}$node"; fi; done',
        'if [ -z "$leaving" ]; then echo "herd: $TARGET_REPLICAS node(s) wanted, none leaves: nothing to do"; exit 0; fi',
        'echo "herd: shrinking to $TARGET_REPLICAS node(s): $leaving leave(s); excluding them from voting and moving their shards"',
        `undo() { es DELETE '/_cluster/voting_config_exclusions?wait_for_removal=false' || true; printf '{"persistent":{"cluster.routing.allocation.exclude._name":null}}' > /tmp/settings.json; es PUT /_cluster/settings /tmp/settings.json || true; }`,
        'if ! es POST "/_cluster/voting_config_exclusions?node_names=$leaving&timeout=60s"; then why=$(answer); undo; echo "herd: excluding $leaving from voting: $why" >&2; exit 1; fi',
        `printf '{"persistent":{"cluster.routing.allocation.exclude._name":"%s"}}' "$leaving" > /tmp/settings.json`,
        'if ! es PUT /_cluster/settings /tmp/settings.json; then why=$(answer); undo; echo "herd: excluding $leaving from shard allocation: $why" >&2; exit 1; fi',
        'deadline=$(( $(date +%s) + WAIT_SECONDS ))',
        "while :; do",
        "    if ! es GET '/_cat/shards?h=index,shard,state,node'; then why=$(answer); undo; echo \"herd: listing the shards: $why\" >&2; exit 1; fi",
        // A shard is safe once one of its copies is STARTED on a node that stays (RELOCATING and INITIALIZING are not).
        "    missing=$(awk -v leaving=\",$leaving,\" '{ key = $1 \" shard \" $2; seen[key] = 1 } $3 == \"STARTED\" && index(leaving, \",\" $4 \",\") == 0 { ok[key] = 1 } END { for (k in seen) if (!(k in ok)) print k }' /tmp/es-out | sort | tr '\\n' ';')",
        '    [ -n "$missing" ] || break',
        '    if [ "$(date +%s)" -ge "$deadline" ]; then',
        "        undo",
        '        echo "herd: refusing to shrink to $TARGET_REPLICAS: after ${WAIT_SECONDS}s these shards still have no started copy on a node that stays: $missing (exclusions undone; nothing was stopped). Check disk space and GET _cluster/allocation/explain, or rebuild the index later with python -m herd_api.reindex." >&2',
        "        exit 1",
        "    fi",
        '    sleep "$RETRY_SECONDS"',
        "done",
        'echo "herd: every shard has a started copy on the nodes that stay; $leaving may stop now"',
    ].join("\n");
}

/** What the setup Jobs need from the component. */
export interface SetupArgs {
    readonly scope: Scope;
    readonly r: ElasticResolved;
    /** The Secret holding the `elastic` password, and its key. */
    readonly elasticSecret: k8s.core.v1.Secret;
    readonly passwordKey: string;
    readonly snapshots: SnapshotSetup | undefined;
    /** The metrics exporter's Secret (`username`, `password`): the setup Job creates that user; undefined: no user. */
    readonly metricsSecret?: k8s.core.v1.Secret;
    /** The internal CA's ConfigMap (InternalCa.configMapName): mounted at CA_MOUNT_PATH to verify the cluster's certificate. */
    readonly caConfigMapName: pulumi.Input<string>;
}

export interface ElasticSetup {
    /** The API user's Secret (`username`, `password`): what the component's endpoint names. */
    readonly apiSecret: k8s.core.v1.Secret;
    /** The shrink Job: the StatefulSet depends on it. */
    readonly shrinkJob: k8s.batch.v1.Job;
    /** Labels of both Jobs' pods, which the cluster's NetworkPolicy admits on 9200. */
    readonly podSelector: Readonly<Record<string, string>>;
}

/**
 * The API user's credentials and both Jobs, with a NetworkPolicy that lets their pods reach only DNS and the
 * cluster's HTTP port. Both are replaced (they run again) whenever what they do changes: the replica count, the
 * index, the user, the snapshot settings; otherwise an `up` leaves them alone.
 */
export function createSetupJobs(args: SetupArgs): ElasticSetup {
    const { scope, r } = args;
    const name = scope.name;
    const { secret: apiSecret } = credentials({ ...scope, name: `${name}-api` }, { username: r.apiUsername }, "password");

    const podSelector = selectorLabels({ name: "elasticsearch-setup", instance: name });
    const elasticPassword: k8s.types.input.core.v1.EnvVar = {
        name: "ELASTIC_PASSWORD",
        valueFrom: { secretKeyRef: { name: args.elasticSecret.metadata.name, key: args.passwordKey } },
    };
    // The script gives up (with its own message) two minutes before the engine would stop waiting for the Job.
    const waitSeconds = Math.max(60, scope.waits.data * 60 - 120);
    const job = (role: "setup" | "shrink", script: string, env: k8s.types.input.core.v1.EnvVar[], opts: pulumi.CustomResourceOptions) => {
        const labels = recommendedLabels({ name: "elasticsearch-setup", instance: name, component: role });
        return new k8s.batch.v1.Job(
            `${name}-${role}`,
            {
                metadata: { name: `${name}-${role}`, namespace: scope.namespace, labels },
                spec: {
                    backoffLimit: 1,
                    // Its own wait, plus room for the requests themselves.
                    activeDeadlineSeconds: waitSeconds + 600,
                    ttlSecondsAfterFinished: 7 * 24 * 3600,
                    template: {
                        metadata: { labels },
                        spec: {
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            restartPolicy: "Never",
                            securityContext: restrictedPodSecurityContext(ELASTIC_UID),
                            containers: [
                                {
                                    name: role,
                                    image: r.image,
                                    command: ["/bin/sh", "-c", script],
                                    env: [...env, elasticPassword, { name: "ES_CA_FILE", value: CA_FILE }, { name: "WAIT_SECONDS", value: String(waitSeconds) }],
                                    resources: resourceRequirements({ cpu: "50m", memory: "64Mi" }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    terminationMessagePolicy: "FallbackToLogsOnError",
                                    volumeMounts: [
                                        { name: "tmp", mountPath: "/tmp" },
                                        { name: "internal-ca", mountPath: CA_MOUNT_PATH, readOnly: true },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
                                { name: "internal-ca", configMap: { name: args.caConfigMapName, defaultMode: 0o444 } },
                            ],
                        },
                    },
                },
            },
            // A Job's template is immutable: a change replaces it (its name is fixed, so the old one goes first).
            { parent: scope.parent, deleteBeforeReplace: true, ...waitOptions(role === "setup" ? "elasticSetup" : "elasticShrink", scope.waits), ...opts },
        );
    };
    const common = [
        { name: "STS_NAME", value: name },
        { name: "TARGET_REPLICAS", value: String(r.replicas) },
    ];
    const shrinkJob = job(
        "shrink",
        elasticShrinkScript(),
        // Every pod, ready or not: a cluster that is red still has to be shrunk safely.
        [{ name: "ES_URL", value: pulumi.interpolate`https://${name}-headless.${scope.namespace}.svc.cluster.local:${ELASTIC_HTTP_PORT}` }, ...common],
        {},
    );
    const snapshotEnv = args.snapshots?.env ?? [];
    job(
        "setup",
        elasticSetupScript(),
        [
            { name: "ES_URL", value: pulumi.interpolate`https://${name}.${scope.namespace}.svc.cluster.local:${ELASTIC_HTTP_PORT}` },
            ...common,
            { name: "API_USER", value: r.apiUsername },
            { name: "API_ROLE", value: ELASTIC_API_ROLE },
            { name: "API_PASSWORD", valueFrom: { secretKeyRef: { name: apiSecret.metadata.name, key: "password" } } },
            { name: "ROLE_JSON", value: JSON.stringify(apiRole(r.apiIndex)) },
            ...(args.metricsSecret === undefined
                ? []
                : [
                      { name: "METRICS_USER", value: ELASTIC_METRICS_USER },
                      { name: "METRICS_ROLE", value: ELASTIC_METRICS_ROLE },
                      { name: "METRICS_PASSWORD", valueFrom: { secretKeyRef: { name: args.metricsSecret.metadata.name, key: "password" } } },
                      { name: "METRICS_ROLE_JSON", value: JSON.stringify(metricsRole()) },
                  ]),
            ...snapshotEnv,
        ],
        // After the shrink Job: a shrink's exclusions are set before this Job looks for them. It does not wait for
        // the StatefulSet (it waits for the cluster itself), so it adds no link to the chain of waits.
        { dependsOn: [shrinkJob] },
    );

    networkPolicy(scope, `${name}-setup`, podSelector, [], [DNS_EGRESS, { to: [podsWith(scope.selector)], ports: [{ protocol: "TCP", port: ELASTIC_HTTP_PORT }] }]);
    return { apiSecret, shrinkJob, podSelector };
}
