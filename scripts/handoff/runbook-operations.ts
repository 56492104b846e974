/** The runbook's sections on running the deployment: scaling, upgrades, and what to check when something fails. */
import { str } from "./outputs";
import { code, type RunbookContext } from "./runbook-context";

/** The scaling table's rows: what, its config keys, and the value now. */
function scalingRows(c: RunbookContext): string[] {
    const { config } = c;
    const now = (v: string | number | undefined) => (v === undefined ? "see `pulumi config`" : `\`${String(v)}\``);
    const pair = (a: string, b: string) => `\`${a}\` / \`${b}\``;
    const api = config?.app.api;
    const d = config?.data;
    const rows = [
        `| API pods: the autoscaler's floor | \`herd:apiReplicas\` | ${now(api?.replicas)} |`,
        `| API pods: the autoscaler's ceiling | \`herd:apiMaxReplicas\` | ${now(api?.maxReplicas)} |`,
        `| API CPU use (% of request) that scales out | \`herd:apiCpuTargetPercent\` | ${now(api?.cpuTargetPercent)} |`,
        `| API CPU request / memory per pod | \`herd:apiCpu\`, \`herd:apiMemory\` | ${api === undefined ? now(undefined) : pair(api.cpu, api.memory)} |`,
        `| front-end pods | \`herd:frontendReplicas\` | ${now(config?.app.frontend.replicas)} |`,
        `| Elasticsearch nodes (1, or 3 and more) | \`herd:elasticReplicas\` | ${now(config?.data.elastic.replicas)} |`,
        `| PostgreSQL memory / CPU | \`herd:postgresMemory\`, \`herd:postgresCpu\` | ${d === undefined ? now(undefined) : pair(d.postgres.memory, d.postgres.cpu)} |`,
        `| Redis memory / CPU | \`herd:redisMemory\`, \`herd:redisCpu\` | ${d === undefined ? now(undefined) : pair(d.redis.memory, d.redis.cpu)} |`,
        `| Elasticsearch memory / CPU per node | \`herd:elasticMemory\`, \`herd:elasticCpu\` | ${d === undefined ? now(undefined) : pair(d.elastic.memory, d.elastic.cpu)} |`,
    ];
    if (config?.platform === "aws") {
        const n = config.aws.nodes;
        rows.push(`| nodes (min / desired / max) | \`herd:awsNodeMin\`, \`herd:awsNodeDesired\`, \`herd:awsNodeMax\` | \`${n.min}\` / \`${n.desired}\` / \`${n.max}\` |`);
    } else if (config?.platform === "gcp") {
        const n = config.gcp.nodes;
        rows.push(`| nodes per zone (min / max) | \`herd:gcpNodeMinPerZone\`, \`herd:gcpNodeMaxPerZone\` | \`${n.minPerZone}\` / \`${n.maxPerZone}\` |`);
    }
    return rows;
}

/** 5. What can be scaled, through which config key, and how. */
export function scalingSection(c: RunbookContext): string[] {
    const { stack } = c;
    return [
        "## 5. Scaling",
        "",
        "Everything is scaled through the stack's configuration, then `pulumi up`; changes made with `kubectl scale` or",
        "`kubectl edit` are reverted by the next update. The API's replica count belongs to its HorizontalPodAutoscaler.",
        "",
        "| what | config key | now |",
        "|---|---|---|",
        ...scalingRows(c),
        "",
        code([
            `pulumi config set --stack ${stack} herd:apiMaxReplicas 10`,
            `pulumi preview --stack ${stack}     # shows exactly what changes`,
            `pulumi up --stack ${stack}`,
            `${c.k} get hpa api                   # current / desired replicas and CPU use`,
        ]),
        "",
        "Raising a data service's memory restarts its pod (one at a time for Elasticsearch); PostgreSQL and Redis run one",
        "pod each, so plan a short maintenance window.",
        "",
    ];
}

/** The upgrades bullet for a new app version: built from images/, or prebuilt images pinned by digest. */
function appVersionBullet(c: RunbookContext): string[] {
    const { stack } = c;
    const apply = `pulumi preview --stack ${stack} && pulumi up --stack ${stack}`;
    if (c.onprem?.images.mode === "prebuilt") {
        return [
            "- **A new app version.** This stack deploys prebuilt images pinned by digest. Set the new references, then update:",
            "",
            code(
                [
                    `pulumi config set --stack ${stack} herd:apiImage <registry>/api@sha256:<digest>`,
                    `pulumi config set --stack ${stack} herd:frontendImage <registry>/frontend@sha256:<digest>`,
                    apply,
                ],
                2,
            ),
        ];
    }
    return [
        "- **A new app version.** `pulumi up` builds the API and front-end images from `images/`, pushes them to the",
        "  registry and deploys them by digest, so a code change always rolls the pods and nothing mutable is",
        "  referenced. Merge the change and let CI apply it, or run:",
        "",
        code([apply], 2),
    ];
}

/** The upgrades bullet for a stack that writes YAML to a directory instead of applying it. */
function renderedYamlBullet(c: RunbookContext): string[] {
    const { onprem, platform } = c;
    if (onprem?.renderDirectory === undefined && str(platform["renderDirectory"]) === undefined) {
        return [];
    }
    const dir = onprem?.renderDirectory ?? str(platform["renderDirectory"]) ?? "<renderDirectory>";
    return [
        `- **Rendered YAML (air-gapped).** This stack writes its objects to \`${dir}\` instead of applying them: after each`,
        "  `pulumi up`, apply the objects and then the Secrets as \"Rendered YAML: the Secrets\" below says.",
        "",
    ];
}

/** 6. New app versions, configuration changes, Kubernetes versions, bigger volumes. */
export function upgradesSection(c: RunbookContext): string[] {
    const { k, postgres } = c;
    const elastic = c.services[2];
    const kubernetes =
        c.platformName === "aws" || c.platformName === "gcp"
            ? [
                  "- **Kubernetes itself:** raise `herd:kubernetesVersion` one minor version at a time (e.g. 1.33 to 1.34) and",
                  "  `pulumi up`; the control plane upgrades first, then the nodes.",
              ]
            : [];
    return [
        "## 6. Upgrades",
        "",
        ...appVersionBullet(c),
        "",
        "  Database migrations run first, as the Job `api-migrate`; the API's Deployment rolls only after it succeeds, with",
        "  no pod unavailable during the roll.",
        "- **A configuration change** is the same: `pulumi config set ...`, `pulumi preview`, `pulumi up`. In CI, a pull",
        "  request shows the preview, and the merge applies exactly the plan that was previewed.",
        ...kubernetes,
        "- **A bigger volume.** Volume sizes in the config size only volumes created in the future; changing them for an",
        "  existing StatefulSet would make Pulumi replace it, which data protection refuses. Grow the claim in place (every",
        "  StorageClass herd uses allows expansion) and leave the config key as it is:",
        "",
        code(
            [
                `${k} patch pvc data-${postgres.workload}-0 --type merge -p '{"spec":{"resources":{"requests":{"storage":"50Gi"}}}}'`,
                `${k} get pvc data-${postgres.workload}-0 -w      # wait until CAPACITY shows 50Gi`,
            ],
            2,
        ),
        "",
        `  For Elasticsearch, patch every node's claim: \`data-${elastic.workload}-0\`, \`data-${elastic.workload}-1\`, ... Volumes grow, never shrink.`,
        "- **Never** delete the namespace, a StatefulSet or a PersistentVolumeClaim to \"start fresh\": deleting the",
        "  namespace deletes every claim in it. `pulumi destroy` leaves the namespace, the data and the backups in place.",
        "",
        ...renderedYamlBullet(c),
    ];
}

/** 7. The checks to work through when something fails, each with its command. */
export function troubleshootingSection(c: RunbookContext): string[] {
    const { k, backupCron } = c;
    return [
        "## 7. When something fails",
        "",
        "Work down this list; each step names the command that shows the answer.",
        "",
        "1. **Pods.** Which are not Running and Ready, and why:",
        "",
        code([`${k} get pods -o wide`, `${k} describe pod <pod>          # the Events at the bottom say why`], 3),
        "",
        "2. **Events**, newest last (scheduling failures, image pulls, probe failures, volume attach errors):",
        "",
        code([`${k} get events --sort-by=.lastTimestamp | tail -40`], 3),
        "",
        "3. **Logs**, including the previous run of a container that keeps restarting:",
        "",
        code([`${k} logs <pod> -c <container>`, `${k} logs <pod> -c <container> --previous`], 3),
        "",
        "4. **Probes.** `describe pod` shows `Readiness probe failed` / `Liveness probe failed` with the reason. What each",
        "   probe checks: PostgreSQL `pg_isready` (start, ready) and a real query (alive); Redis an authenticated `PING`;",
        "   Elasticsearch cluster health at least yellow; the API `/readyz`; the front end `/healthz`.",
        "5. **Storage.** A claim stuck in `Pending` keeps its pod from starting:",
        "",
        code([`${k} get pvc`, `${k} describe pvc <claim>`, `kubectl get storageclass`], 3),
        "",
        "   The StorageClass binds a volume only once the pod is scheduled (`WaitForFirstConsumer`), so `Pending` for a",
        "   moment is normal; for longer, the events name the cause (no such class, CSI driver errors, quota).",
        "6. **NetworkPolicies.** Traffic is denied unless a policy admits it: the data services admit only the API's pods,",
        "   the API admits only the front end's. A new client needs its own policy; look at what is admitted with:",
        "",
        code([`${k} get networkpolicy`, `${k} describe networkpolicy ${c.postgres.workload}`], 3),
        "",
        "7. **The last deployment.** A failed migration holds the API back:",
        "",
        code([`${k} get job api-migrate`, `${k} logs job/api-migrate`, `${k} rollout status deployment/api`], 3),
        "",
        "8. **Backups.** When the last successful backup ran, and the history of the backup job:",
        "",
        code([`${k} get cronjob ${backupCron} -o jsonpath='{.status.lastSuccessfulTime}{"\\n"}'`, `${k} get jobs -l app.kubernetes.io/name=${backupCron}`], 3),
        "",
        "9. **Capacity.** Pods `Pending` with `Insufficient cpu` or `memory` need more nodes (Scaling) or smaller requests;",
        `   the autoscaler's view is in \`${k} get hpa api\`.`,
        "10. **Drift.** Whether the cluster still matches what Pulumi applied (someone edited it by hand):",
        "",
        code([`pulumi preview --stack ${c.stack} --refresh --expect-no-changes`], 4),
        "",
        "When you contact support, include the output of steps 1 to 3 for the failing pod and the time it started; never",
        "include the contents of a Secret.",
        "",
    ];
}
