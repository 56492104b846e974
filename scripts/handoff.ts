/**
 * npm run --silent handoff -- --stack <name> --out <dir> [--offline] [--outputs-file <path>] [--config-file <path>]
 *
 * Builds the bundle a customer's operator is handed for one stack:
 *   <dir>/outputs.json          the stack outputs, grouped (platform, app, images, data), with no secret value anywhere
 *   <dir>/RUNBOOK.md            endpoints, how to fetch credentials (the commands, never the values), backups and
 *                               restore, scaling, upgrades, and what to check when something fails
 *   <dir>/restore-postgres.sh   the restore script the runbook refers to
 *   <dir>/manifests.yaml        every Kubernetes object, Secret data redacted: offline, or when the stack renders
 *                               YAML to a directory (herd:renderDirectory) instead of applying it
 *
 * Where the outputs come from, first match wins:
 *   --outputs-file <path>   a file written by `pulumi stack output --json` (recorded elsewhere, or by the customer);
 *   the Pulumi CLI          `pulumi stack output --json --stack <name>` when `pulumi` is on PATH and --offline is not
 *                           given (never --show-secrets: the CLI masks secrets as "[secret]");
 *   offline                 the program evaluated under the harness's mocks (no CLI, cloud or credentials): real names,
 *                           ports, schedules and secret names, <computed:...> placeholders for what only `pulumi up` knows.
 * Whatever the source, values that look like credentials (a kubeconfig, a private key, a password or token field) are
 * replaced by "[secret]" before anything is written, and every file is checked for the stack's secret values before
 * the bundle is written at all.
 *
 * Exit 0 on success; 1 on an error (nothing is written); 2 on a usage error.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { HerdConfig } from "../config";
import { checkOutDir, CliError, parseCli, runCli, userPath, writeFilesAtomically } from "./cli";

const PROJECT_DIR = path.resolve(__dirname, "..");
const USAGE = `usage: npm run --silent handoff -- --stack <name> --out <dir> [--offline] [--outputs-file <path>] [--config-file <path>]

Writes the bundle a customer's operator is handed for one stack: RUNBOOK.md, outputs.json (no secret value),
restore-postgres.sh, and manifests.yaml when built offline or when the stack renders YAML.

  --stack <name>           the stack (Pulumi.<name>.yaml; org/project/stack for a Pulumi Cloud stack)
  --out <dir>              where to write (created if needed; relative to where you run the command)
  --outputs-file <path>    outputs from \`pulumi stack output --json\` instead of asking the CLI
  --offline                build from the program under mocks (placeholders for what only \`pulumi up\` knows)
  --config-file <path>     read this stack file instead of Pulumi.<stack>.yaml
  -h, --help               this text`;
export const REDACTED = "[secret]";

// ---------------------------------------------------------------------------------------------------------------
// Keeping secrets out.

/**
 * Output fields that hold a credential whatever their value looks like: `kubeconfig`, `secret`, `credentials`, and
 * anything ending in password, token or a kind of key (`registryPassword`, `apiToken`, `privateKey`). Names of
 * secrets are not secrets: `secretName`, `passwordKey`, `backupCredentialsSecret` are kept.
 */
const SECRET_FIELD = /^(kubeconfig(json)?|secret|credentials?)$|(password|passwd|token|privatekey|apikey|secretkey|accesskey|clientkey)$/i;

/** Text that is a credential whatever field it sits in: a private key, or a kubeconfig carrying a key or token. */
export function looksLikeCredential(text: string): boolean {
    if (/PRIVATE KEY-----/.test(text) || /client-key-data/.test(text)) {
        return true;
    }
    const kubeconfig = /\bkind:\s*["']?Config\b/.test(text) || /"kind"\s*:\s*"Config"/.test(text);
    return kubeconfig && (/\busers\b/.test(text) || /\btoken\b/.test(text));
}

/** A copy of the outputs with every credential replaced by "[secret]", and the paths that were replaced. */
export function sanitizeOutputs(value: unknown): { value: unknown; redacted: string[] } {
    const redacted: string[] = [];
    const walk = (v: unknown, at: string, key: string): unknown => {
        if (v === REDACTED) {
            return v;
        }
        if ((SECRET_FIELD.test(key) && v !== null && v !== "") || (typeof v === "string" && looksLikeCredential(v))) {
            redacted.push(at);
            return REDACTED;
        }
        if (Array.isArray(v)) {
            return v.map((x, i) => walk(x, `${at}[${i}]`, ""));
        }
        if (typeof v === "object" && v !== null) {
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, at === "" ? k : `${at}.${k}`, k)]));
        }
        return v;
    };
    return { value: walk(value, "", ""), redacted };
}

/** Problems found in the bundle's files: a known secret value, or a credential-shaped text. Never the value itself. */
export function findLeaks(files: Readonly<Record<string, string>>, secretValues: readonly string[]): string[] {
    const problems: string[] = [];
    for (const [name, text] of Object.entries(files)) {
        if (secretValues.some((s) => s.length >= 6 && text.includes(s))) {
            problems.push(`${name}: contains a secret value of the stack`);
        }
        if (/PRIVATE KEY-----/.test(text) || /client-key-data/.test(text)) {
            problems.push(`${name}: contains a private key`);
        }
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the outputs defensively (an outputs file may come from an older or newer herd).

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function str(v: unknown): string | undefined {
    if (typeof v === "string" && v !== "" && v !== REDACTED) {
        return v;
    }
    return typeof v === "number" ? String(v) : undefined;
}

export interface DataService {
    readonly title: string;
    readonly key: "postgres" | "redis" | "elasticsearch";
    readonly host: string | undefined;
    readonly port: string | undefined;
    readonly secretName: string | undefined;
    readonly passwordKey: string | undefined;
    /** The StatefulSet / Service name: the first label of the host. */
    readonly workload: string;
    /** Its main container. */
    readonly container: string;
}

function dataServices(outputs: Obj): DataService[] {
    const data = obj(outputs["data"]);
    const entry = (key: DataService["key"], title: string, fallback: string, container: string): DataService => {
        const d = obj(data[key]);
        const host = str(d["host"]);
        return {
            key,
            title,
            host,
            port: str(d["port"]),
            secretName: str(d["secretName"]),
            passwordKey: str(d["passwordKey"]),
            workload: host?.split(".")[0] ?? fallback,
            container,
        };
    };
    return [
        entry("postgres", "PostgreSQL", "postgres", "postgres"),
        entry("redis", "Redis", "redis", "redis"),
        entry("elasticsearch", "Elasticsearch", "elastic", "elasticsearch"),
    ];
}

/** `{.data.<key>}` for kubectl's jsonpath, with dots in the key escaped. */
function jsonpathData(key: string): string {
    return `{.data.${key.replace(/\./g, "\\.")}}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The runbook.

export interface RunbookInput {
    readonly stack: string;
    /** Where the outputs came from, in words. */
    readonly source: string;
    readonly offline: boolean;
    /** Sanitized outputs. */
    readonly outputs: Obj;
    /** The stack's validated config, when its stack file is here and valid. */
    readonly config: HerdConfig | undefined;
    readonly hasManifests: boolean;
    readonly generatedAt: string;
}

/** A shell code block; `indent` nests it in a list item (2 spaces under a bullet, 3 under a number). */
function code(lines: readonly string[], indent = 0): string {
    const pad = " ".repeat(indent);
    return ["```sh", ...lines, "```"].map((l) => `${pad}${l}`).join("\n");
}

function cronInWords(schedule: string): string {
    const m = /^(\d{1,2}) (\d{1,2}) \* \* \*$/.exec(schedule.trim());
    return m === null ? `on the cron schedule \`${schedule}\`` : `every day at ${m[2].padStart(2, "0")}:${m[1].padStart(2, "0")}`;
}

export function renderRunbook(input: RunbookInput): string {
    const { stack, outputs, config } = input;
    const platform = obj(outputs["platform"]);
    const app = obj(outputs["app"]);
    const images = obj(outputs["images"]);
    const platformName = str(platform["platform"]) ?? config?.platform ?? "unknown";
    const ns = str(app["namespace"]) ?? config?.namespace ?? "herd";
    const k = `kubectl -n ${ns}`;
    const services = dataServices(outputs);
    const postgres = services[0];
    const postgresData = obj(obj(outputs["data"])["postgres"]);
    const elasticData = obj(obj(outputs["data"])["elasticsearch"]);
    const schedule = str(postgresData["backupSchedule"]) ?? config?.data.backup.schedule ?? "0 3 * * *";
    const retention = config?.data.backup.retentionDays;
    const clusterName = str(platform["clusterName"]);
    const region = str(platform["region"]);
    const onprem = config?.platform === "onprem" ? config.onprem : undefined;
    const backupCron = `${postgres.workload}-backup`;
    const backupPrefix = `postgres/${ns}/${postgres.workload}/`;
    /** The backup job names each dump `<name>-<UTC timestamp>.dump`. */
    const dumpExample = `${postgres.workload}-20261127T030000Z.dump`;

    // Where backups go.
    let backupWhere: string;
    let listBackups: string[];
    let restoreSource: string;
    const bucket = str(platform["backupBucket"]);
    if (platformName === "aws" && bucket !== undefined) {
        backupWhere = `the S3 bucket \`${bucket}\`, under \`${backupPrefix}\` (written through the backup job's own IAM role; it may write and read, never delete)`;
        listBackups = [`aws s3 ls s3://${bucket}/${backupPrefix}`];
        restoreSource = `s3://${bucket}/${backupPrefix}${dumpExample}`;
    } else if (platformName === "gcp" && bucket !== undefined) {
        backupWhere = `the GCS bucket \`${bucket}\`, under \`${backupPrefix}\` (written through Workload Identity; the job may write and read, never delete)`;
        listBackups = [`gcloud storage ls gs://${bucket}/${backupPrefix}`];
        restoreSource = `gs://${bucket}/${backupPrefix}${dumpExample}`;
    } else if (onprem?.backup.mode === "s3" || (str(platform["backups"]) ?? "").startsWith("s3://")) {
        const b = onprem?.backup.mode === "s3" ? onprem.backup.bucket : (str(platform["backups"]) ?? "").replace(/^s3:\/\//, "");
        const endpoint = onprem?.backup.mode === "s3" ? onprem.backup.endpoint : undefined;
        const creds = onprem?.backup.mode === "s3" ? onprem.backup.credentialsSecret : undefined;
        const ep = endpoint === undefined ? "" : ` --endpoint-url ${endpoint}`;
        backupWhere =
            `the S3-compatible bucket \`${b}\`${endpoint === undefined ? "" : ` at ${endpoint}`}, under \`${backupPrefix}\`` +
            (creds === undefined ? "" : ` (the job reads the bucket's keys from the Secret \`${creds}\`, which you manage)`);
        listBackups = [`aws${ep} s3 ls s3://${b}/${backupPrefix}`];
        restoreSource =
            endpoint === undefined ? `s3://${b}/${backupPrefix}${dumpExample}` : `./${dumpExample}`;
        if (endpoint !== undefined) {
            listBackups.push(`aws${ep} s3 cp s3://${b}/${backupPrefix}${dumpExample} .   # copy one locally first`);
        }
    } else {
        backupWhere = `the backup volume \`${postgres.workload}-backups\` (a PersistentVolumeClaim in \`${ns}\`; the job prunes it)`;
        listBackups = [`${k} get pvc ${postgres.workload}-backups`];
        restoreSource = `./${dumpExample}`;
    }

    const lines: string[] = [];
    const push = (...l: string[]) => lines.push(...l);

    push(`# herd runbook: stack \`${stack}\``, "");
    push(
        `This runbook is for the people who operate the herd deployment of stack \`${stack}\`: where it answers, how to`,
        "reach its data services, how backups work and how to restore one, how to scale and upgrade it, and what to check",
        "when something fails. It holds no secret: passwords stay in Kubernetes Secrets in the cluster and the cluster",
        "credentials stay with your cloud account or kubeconfig. Where you need a secret, this runbook gives the command",
        "that fetches it, never its value.",
        "",
    );
    push(`Generated ${input.generatedAt} from ${input.source}.`, "");
    if (input.offline) {
        push(
            "> **Built offline.** This bundle was built from the program and its stack file, without the deployed stack.",
            "> Names, ports, schedules and Secret names are the real ones; values that exist only after deployment (the",
            "> load balancer's address, the cluster endpoint, image digests, generated bucket suffixes) are shown as",
            "> `<computed:...>` placeholders.",
            `> Rebuild it where the Pulumi CLI can read the stack (\`npm run handoff -- --stack ${stack} --out <dir>\`) for the real values.`,
            "",
        );
    }

    push("## What is in this bundle", "");
    push("| file | what it is |", "|---|---|");
    push("| `RUNBOOK.md` | this runbook |");
    push('| `outputs.json` | the stack outputs (`pulumi stack output --json`), every secret shown as `"[secret]"` |');
    if (input.hasManifests) {
        push("| `manifests.yaml` | every Kubernetes object herd manages, Secret data redacted (a reference: the cluster is the truth) |");
    }
    push("| `restore-postgres.sh` | restores a PostgreSQL backup into the running database (see Backups and restore) |", "");

    push("## At a glance", "");
    push("| | |", "|---|---|");
    if (platformName === "aws") {
        push(`| platform | AWS: EKS cluster \`${clusterName ?? "?"}\` in \`${region ?? "?"}\` |`);
    } else if (platformName === "gcp") {
        push(`| platform | GCP: GKE cluster \`${clusterName ?? "?"}\` in \`${region ?? "?"}\`, project \`${str(platform["project"]) ?? "?"}\` |`);
    } else {
        push(`| platform | your own cluster (kube context \`${str(platform["kubeContext"]) ?? "(ambient)"}\`) |`);
    }
    push(`| namespace | \`${ns}\` (Pod Security \`restricted\`) |`);
    push(`| the app | ${str(app["url"]) ?? "(see Endpoints)"} |`);
    push(`| API, inside the cluster | ${str(app["apiInternalUrl"]) ?? "(not exported)"} |`);
    if (str(images["api"]) !== undefined || str(images["frontend"]) !== undefined) {
        push(`| images | api \`${str(images["api"]) ?? "?"}\`, frontend \`${str(images["frontend"]) ?? "?"}\` |`);
    }
    push(`| backups | PostgreSQL, ${cronInWords(schedule)} (cluster time, normally UTC)${retention === undefined ? "" : `, kept ${retention} days`} |`);
    push("");

    push("## 1. Connect to the cluster", "");
    if (platformName === "aws") {
        push(
            "Your AWS identity needs an EKS access entry on the cluster (the identity that created it has one). Then:",
            "",
            code([`aws eks update-kubeconfig --region ${region ?? "<region>"} --name ${clusterName ?? "<cluster>"}`]),
            "",
        );
    } else if (platformName === "gcp") {
        push(
            "Your Google identity needs `roles/container.developer` (or more) on the project, and `gke-gcloud-auth-plugin` installed. Then:",
            "",
            code([
                `gcloud container clusters get-credentials ${clusterName ?? "<cluster>"} --region ${region ?? "<region>"} --project ${str(platform["project"]) ?? "<project>"}`,
            ]),
            "",
        );
    } else {
        push(
            `herd deploys into the cluster your kubeconfig points at (context \`${str(platform["kubeContext"]) ?? "(ambient)"}\`); use the same kubeconfig.`,
            "",
        );
    }
    if (platformName === "aws" || platformName === "gcp") {
        push(
            "The Kubernetes API endpoint is reachable only from the networks listed in `herd:apiAccessCidrs` (private when",
            "that list is empty): run kubectl from there, or through your VPN. The stack output `platform.kubeconfig` is a",
            "secret; the command above writes an equivalent kubeconfig without anyone handling it.",
            "",
        );
    }
    push("Every command below names the namespace explicitly:", "", code([`${k} get pods`]), "");

    push("## 2. Endpoints", "");
    push(`- **The app:** ${str(app["url"]) ?? "the front end's address"}.`);
    if (config?.app.publicHostname !== undefined) {
        push(`  Point DNS for \`${config.app.publicHostname}\` at the address the ingress or load balancer reports:`);
    } else {
        push("  The address is the one the ingress or load balancer reports:");
    }
    push("", code([`${k} get ingress,service frontend`], 2), "");
    push(
        `- **The API inside the cluster:** ${str(app["apiInternalUrl"]) ?? "the \`api\` Service"}. It is not exposed outside`,
        "  the cluster: the front end's nginx forwards `/api` to it, and NetworkPolicies admit only the front end's pods.",
        "- **Data services** (reachable only from the API's pods):",
        "",
        "| service | host | port | credentials Secret | password key |",
        "|---|---|---|---|---|",
    );
    for (const s of services) {
        push(`| ${s.title} | \`${s.host ?? "?"}\` | ${s.port ?? "?"} | \`${s.secretName ?? "?"}\` | \`${s.passwordKey ?? "?"}\` |`);
    }
    push("");

    push("## 3. Credentials", "");
    push(
        `Each data service's password is generated at install time and kept in a Kubernetes Secret in \`${ns}\`. Reading`,
        "one prints it to your terminal, so do it only where that is acceptable, and prefer the in-pod commands below,",
        "which use the password without showing it.",
        "",
    );
    for (const s of services) {
        const detail =
            s.key === "postgres"
                ? ` (user \`${str(postgresData["user"]) ?? "?"}\`, database \`${str(postgresData["database"]) ?? "?"}\`)`
                : s.key === "elasticsearch"
                  ? ` (user \`${str(elasticData["username"]) ?? "elastic"}\`, ${str(elasticData["url"]) ?? "HTTP on port 9200"})`
                  : "";
        push(`**${s.title}**${detail}`, "");
        const fetch =
            s.secretName !== undefined && s.passwordKey !== undefined
                ? `${k} get secret ${s.secretName} -o jsonpath='${jsonpathData(s.passwordKey)}' | base64 -d; echo`
                : `${k} get secret <secret> -o jsonpath='{.data.<key>}' | base64 -d; echo   # names: outputs.json, data.${s.key}`;
        const use =
            s.key === "postgres"
                ? `${k} exec -it ${s.workload}-0 -c ${s.container} -- sh -c 'exec psql -d "$PGDATABASE"'   # a psql session, no password handled`
                : s.key === "redis"
                  ? `${k} exec -it ${s.workload}-0 -c ${s.container} -- redis-cli   # authenticates from REDISCLI_AUTH`
                  : `${k} exec ${s.workload}-0 -c ${s.container} -- sh -c 'printf "user = \\"elastic:%s\\"\\n" "$ELASTIC_PASSWORD" | curl -s -K - "http://127.0.0.1:9200/_cluster/health?pretty"'`;
        push(code([fetch, use]), "");
    }
    push(
        "To reach a service from your workstation, forward its port and use the password from the Secret, e.g.",
        `\`${k} port-forward svc/${postgres.workload} ${postgres.port ?? "5432"}:${postgres.port ?? "5432"}\`.`,
        "",
    );

    push("## 4. Backups and restore", "");
    push(
        `The CronJob \`${backupCron}\` runs \`pg_dump --format=custom\` ${cronInWords(schedule)} (cluster time, normally UTC; \`herd:backupSchedule\`)`,
        `and stores the dump in ${backupWhere}.` +
            (retention === undefined ? "" : ` Dumps are kept ${retention} days (\`herd:backupRetentionDays\`).`) +
            " An interrupted dump never leaves a file that looks complete.",
        "",
        "Check that backups run, and look at the last one:",
        "",
        code([
            `${k} get cronjob ${backupCron}            # LAST SCHEDULE, and .status.lastSuccessfulTime`,
            `${k} get jobs -l app.kubernetes.io/name=${backupCron} --sort-by=.metadata.creationTimestamp`,
            `${k} logs job/<job-name> --all-containers     # the dump and upload steps`,
        ]),
        "",
        "Take a backup now (before an upgrade or a risky change):",
        "",
        code([`${k} create job --from=cronjob/${backupCron} ${backupCron}-manual-$(date +%Y%m%d%H%M)`]),
        "",
        restoreSource.startsWith("./") && onprem?.backup.mode !== "s3" ? "The dumps are files on this claim:" : "List the backups:",
        "",
        code(listBackups),
        "",
    );
    if (restoreSource.startsWith("./") && onprem?.backup.mode !== "s3") {
        push(
            `To copy a dump off the backup volume, mount \`${postgres.workload}-backups\` in a short-lived pod (or read it from`,
            "the volume's storage backend) and `kubectl cp` the file out.",
            "",
        );
    }
    push(
        "**Restore.** `restore-postgres.sh` (in this bundle) streams a dump into `pg_restore --clean --if-exists",
        `--single-transaction\` inside the database pod \`${postgres.workload}-0\`: either every object is restored or nothing`,
        "changes. It replaces the database's current contents, so it asks you to type the pod name first (`--yes` skips",
        "that, for scripts). It needs kubectl access to the namespace, plus the aws CLI for `s3://` or gcloud for `gs://`",
        "sources.",
        "",
        code([`./restore-postgres.sh --namespace ${ns} --name ${postgres.workload} ${restoreSource}   # a dump from the list above`]),
        "",
        "Options: `--context <kube-context>`, `--namespace`, `--name` (the PostgreSQL StatefulSet), `--yes`. The API keeps",
        "running during a restore; stop traffic first if it must not see the old data disappear.",
        "",
        "Redis is a cache and is not backed up: everything in it can be rebuilt from PostgreSQL. herd does not back up",
        "Elasticsearch either; its volumes are kept (Retain), and if your indices cannot be rebuilt from PostgreSQL,",
        "configure Elasticsearch snapshots to a repository of your choice.",
        "",
    );

    push("## 5. Scaling", "");
    push(
        "Everything is scaled through the stack's configuration, then `pulumi up`; changes made with `kubectl scale` or",
        "`kubectl edit` are reverted by the next update. The API's replica count belongs to its HorizontalPodAutoscaler.",
        "",
        "| what | config key | now |",
        "|---|---|---|",
    );
    const now = (v: string | number | undefined) => (v === undefined ? "see `pulumi config`" : `\`${String(v)}\``);
    const api = config?.app.api;
    push(`| API pods: the autoscaler's floor | \`herd:apiReplicas\` | ${now(api?.replicas)} |`);
    push(`| API pods: the autoscaler's ceiling | \`herd:apiMaxReplicas\` | ${now(api?.maxReplicas)} |`);
    push(`| API CPU use (% of request) that scales out | \`herd:apiCpuTargetPercent\` | ${now(api?.cpuTargetPercent)} |`);
    push(`| API CPU request / memory per pod | \`herd:apiCpu\`, \`herd:apiMemory\` | ${api === undefined ? now(undefined) : `\`${api.cpu}\` / \`${api.memory}\``} |`);
    push(`| front-end pods | \`herd:frontendReplicas\` | ${now(config?.app.frontend.replicas)} |`);
    push(`| Elasticsearch nodes (1, or 3 and more) | \`herd:elasticReplicas\` | ${now(config?.data.elastic.replicas)} |`);
    const d = config?.data;
    push(`| PostgreSQL memory / CPU | \`herd:postgresMemory\`, \`herd:postgresCpu\` | ${d === undefined ? now(undefined) : `\`${d.postgres.memory}\` / \`${d.postgres.cpu}\``} |`);
    push(`| Redis memory / CPU | \`herd:redisMemory\`, \`herd:redisCpu\` | ${d === undefined ? now(undefined) : `\`${d.redis.memory}\` / \`${d.redis.cpu}\``} |`);
    push(`| Elasticsearch memory / CPU per node | \`herd:elasticMemory\`, \`herd:elasticCpu\` | ${d === undefined ? now(undefined) : `\`${d.elastic.memory}\` / \`${d.elastic.cpu}\``} |`);
    if (config?.platform === "aws") {
        const n = config.aws.nodes;
        push(`| nodes (min / desired / max) | \`herd:awsNodeMin\`, \`herd:awsNodeDesired\`, \`herd:awsNodeMax\` | \`${n.min}\` / \`${n.desired}\` / \`${n.max}\` |`);
    } else if (config?.platform === "gcp") {
        const n = config.gcp.nodes;
        push(`| nodes per zone (min / max) | \`herd:gcpNodeMinPerZone\`, \`herd:gcpNodeMaxPerZone\` | \`${n.minPerZone}\` / \`${n.maxPerZone}\` |`);
    }
    push(
        "",
        code([
            `pulumi config set --stack ${stack} herd:apiMaxReplicas 10`,
            `pulumi preview --stack ${stack}     # shows exactly what changes`,
            `pulumi up --stack ${stack}`,
            `${k} get hpa api                   # current / desired replicas and CPU use`,
        ]),
        "",
        "Raising a data service's memory restarts its pod (one at a time for Elasticsearch); PostgreSQL and Redis run one",
        "pod each, so plan a short maintenance window.",
        "",
    );

    push("## 6. Upgrades", "");
    const prebuilt = onprem?.images.mode === "prebuilt";
    push(
        ...(prebuilt
            ? ["- **A new app version.** This stack deploys prebuilt images pinned by digest. Set the new references, then update:"]
            : [
                  "- **A new app version.** `pulumi up` builds the API and front-end images from `images/`, pushes them to the",
                  "  registry and deploys them by digest, so a code change always rolls the pods and nothing mutable is",
                  "  referenced. Merge the change and let CI apply it, or run:",
              ]),
        "",
        code(
            prebuilt
                ? [
                      `pulumi config set --stack ${stack} herd:apiImage <registry>/api@sha256:<digest>`,
                      `pulumi config set --stack ${stack} herd:frontendImage <registry>/frontend@sha256:<digest>`,
                      `pulumi preview --stack ${stack} && pulumi up --stack ${stack}`,
                  ]
                : [`pulumi preview --stack ${stack} && pulumi up --stack ${stack}`],
            2,
        ),
        "",
        "  Database migrations run first, as the Job `api-migrate`; the API's Deployment rolls only after it succeeds, with",
        "  no pod unavailable during the roll.",
        "- **A configuration change** is the same: `pulumi config set ...`, `pulumi preview`, `pulumi up`. In CI, a pull",
        "  request shows the preview, and the merge applies exactly the plan that was previewed.",
    );
    if (platformName === "aws" || platformName === "gcp") {
        push(
            "- **Kubernetes itself:** raise `herd:kubernetesVersion` one minor version at a time (e.g. 1.33 to 1.34) and",
            "  `pulumi up`; the control plane upgrades first, then the nodes.",
        );
    }
    push(
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
        `  For Elasticsearch, patch every node's claim: \`data-${services[2].workload}-0\`, \`data-${services[2].workload}-1\`, ... Volumes grow, never shrink.`,
        "- **Never** delete the namespace, a StatefulSet or a PersistentVolumeClaim to \"start fresh\": deleting the",
        "  namespace deletes every claim in it. `pulumi destroy` leaves the namespace, the data and the backups in place.",
        "",
    );
    if (onprem?.renderDirectory !== undefined || str(platform["renderDirectory"]) !== undefined) {
        const dir = onprem?.renderDirectory ?? str(platform["renderDirectory"]) ?? "<renderDirectory>";
        const secretsDir = str(platform["secretsRenderDirectory"]) ?? `${dir.replace(/\/+$/, "")}.secrets`;
        push(
            "- **Rendered YAML (air-gapped).** This stack writes its objects to a directory instead of applying them.",
            `  \`pulumi up\` writes the objects to \`${dir}\` and the Secrets, in plaintext, to \`${secretsDir}\`: move that`,
            "  one only over a channel fit for secrets. Apply the objects (they create the namespace), then the Secrets; a pod",
            "  that needs a Secret waits for it (`CreateContainerConfigError`) and starts once it exists:",
            "",
            code([`kubectl apply -R -f ${dir}`, `kubectl apply -R -f ${secretsDir}`], 2),
            "",
        );
    }

    push("## 7. When something fails", "");
    push("Work down this list; each step names the command that shows the answer.", "");
    push(
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
        code([`${k} get networkpolicy`, `${k} describe networkpolicy ${postgres.workload}`], 3),
        "",
        "7. **The last deployment.** A failed migration holds the API back:",
        "",
        code([`${k} get job api-migrate`, `${k} logs job/api-migrate`, `${k} rollout status deployment/api`], 3),
        "",
        "8. **Backups.** When the last successful backup ran, and the history of the backup job:",
        "",
        code(
            [
                `${k} get cronjob ${backupCron} -o jsonpath='{.status.lastSuccessfulTime}{"\\n"}'`,
                `${k} get jobs -l app.kubernetes.io/name=${backupCron}`,
            ],
            3,
        ),
        "",
        "9. **Capacity.** Pods `Pending` with `Insufficient cpu` or `memory` need more nodes (Scaling) or smaller requests;",
        `   the autoscaler's view is in \`${k} get hpa api\`.`,
        "10. **Drift.** Whether the cluster still matches what Pulumi applied (someone edited it by hand):",
        "",
        code([`pulumi preview --stack ${stack} --refresh --expect-no-changes`], 4),
        "",
    );
    push(
        "When you contact support, include the output of steps 1 to 3 for the failing pod and the time it started; never",
        "include the contents of a Secret.",
        "",
    );
    return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// Sources.

function onPath(command: string): boolean {
    for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
        if (dir === "") {
            continue;
        }
        try {
            fs.accessSync(path.join(dir, command), fs.constants.X_OK);
            return true;
        } catch {
            // not here
        }
    }
    return false;
}

class HandoffError extends Error {}

function readOutputsFile(file: string): Obj {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new HandoffError(`cannot read --outputs-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
        const parsed = JSON.parse(text) as unknown;
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
            throw new Error("expected a JSON object");
        }
        return parsed as Obj;
    } catch (err) {
        throw new HandoffError(`--outputs-file ${file} is not what \`pulumi stack output --json\` writes: ${(err as Error).message}`);
    }
}

function cliOutputs(stack: string): Obj {
    // Never --show-secrets: the CLI prints every secret as "[secret]".
    const r = spawnSync("pulumi", ["stack", "output", "--json", "--stack", stack], { cwd: PROJECT_DIR, encoding: "utf8", timeout: 120_000 });
    if (r.error !== undefined || r.status !== 0) {
        const why = r.error?.message ?? r.stderr.trim();
        throw new HandoffError(
            `pulumi stack output --json --stack ${stack} failed: ${why}\n(log in to the stack's backend, or build the bundle with --offline or --outputs-file <path>)`,
        );
    }
    try {
        return obj(JSON.parse(r.stdout) as unknown);
    } catch (err) {
        throw new HandoffError(`pulumi stack output --json printed something that is not JSON: ${(err as Error).message}`);
    }
}

export interface HandoffOptions {
    readonly stack: string;
    readonly out: string;
    readonly offline?: boolean;
    readonly outputsFile?: string;
    readonly configFile?: string;
    /** For tests: a fixed timestamp. */
    readonly now?: Date;
}

export interface HandoffResult {
    readonly files: readonly string[];
    readonly source: string;
    readonly redacted: readonly string[];
    readonly notes: readonly string[];
}

/** Builds the bundle; throws HandoffError (nothing written) on any problem. */
export async function buildHandoff(opts: HandoffOptions): Promise<HandoffResult> {
    // Loaded lazily: @pulumi/pulumi costs a second to import, and the CLI path may not need it.
    const { evaluateStack } = await import("../offline/evaluate");
    const { buildManifests, renderOfflineYaml } = await import("../offline/manifests");
    const { markComputed } = await import("../offline/mocks");
    const { readStackConfig } = await import("../offline/stack-config");
    const { parseConfig } = await import("../config");

    const notes: string[] = [];
    // A Pulumi Cloud stack may be named org/project/stack; the stack file is Pulumi.<stack>.yaml.
    const stackFileName = opts.stack.split("/").pop() ?? opts.stack;
    let config: HerdConfig | undefined;
    try {
        const raw = readStackConfig({ stack: stackFileName, configFile: opts.configFile });
        config = parseConfig({ values: raw.values, secretKeys: raw.secretKeys, stack: stackFileName });
    } catch (err) {
        notes.push(`the stack's config could not be read here (${(err as Error).message.split("\n")[0]}): the runbook names the config keys without their values`);
    }

    let outputs: Obj;
    let source: string;
    let offline = false;
    let secretValues: readonly string[] = [];
    let manifests: string | undefined;
    const renders = config?.platform === "onprem" && config.onprem.renderDirectory !== undefined;

    const evaluate = async () => {
        try {
            return await evaluateStack({ stack: stackFileName, configFile: opts.configFile });
        } catch (err) {
            throw new HandoffError(`cannot evaluate stack ${stackFileName} offline: ${(err as Error).message}`);
        }
    };

    if (opts.outputsFile !== undefined) {
        outputs = readOutputsFile(opts.outputsFile);
        source = `the outputs file ${path.basename(opts.outputsFile)} (\`pulumi stack output --json\`)`;
    } else if (opts.offline !== true && onPath("pulumi")) {
        outputs = cliOutputs(opts.stack);
        source = `\`pulumi stack output --json --stack ${opts.stack}\``;
    } else {
        const evaluation = await evaluate();
        // What only `pulumi up` can know (addresses, digests, ids) is shown as <computed:...>, never a made-up value.
        outputs = JSON.parse(markComputed(JSON.stringify(evaluation.outputs))) as Obj;
        secretValues = evaluation.secretValues;
        offline = true;
        source = `the program and ${path.basename(evaluation.configFile)}, evaluated offline (no Pulumi CLI, cloud or credentials)`;
        manifests = renderOfflineYaml(buildManifests(evaluation).redacted, { stack: stackFileName, configFile: path.basename(evaluation.configFile) });
    }
    if (manifests === undefined && renders) {
        const evaluation = await evaluate();
        secretValues = evaluation.secretValues;
        manifests = renderOfflineYaml(buildManifests(evaluation).redacted, { stack: stackFileName, configFile: path.basename(evaluation.configFile) });
        notes.push("manifests.yaml was rendered offline from this checkout's program and config, as a reference for the rendered directory");
    }

    const clean = sanitizeOutputs(outputs);
    const runbook = renderRunbook({
        stack: opts.stack,
        source,
        offline,
        outputs: obj(clean.value),
        config,
        hasManifests: manifests !== undefined,
        generatedAt: (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    });

    const files: Record<string, string> = {
        "outputs.json": `${JSON.stringify(clean.value, null, 2)}\n`,
        "RUNBOOK.md": runbook,
        "restore-postgres.sh": fs.readFileSync(path.join(PROJECT_DIR, "scripts", "restore-postgres.sh"), "utf8"),
    };
    if (manifests !== undefined) {
        files["manifests.yaml"] = manifests;
    }
    const leaks = findLeaks(files, secretValues);
    if (leaks.length > 0) {
        throw new HandoffError(`refusing to write the bundle (this is a herd bug):\n${leaks.map((l) => `  - ${l}`).join("\n")}`);
    }

    try {
        writeFilesAtomically("--out", opts.out, files, { "restore-postgres.sh": 0o755 });
    } catch (err) {
        throw new HandoffError((err as Error).message);
    }
    return { files: Object.keys(files), source, redacted: clean.redacted, notes };
}

async function main(argv: string[]): Promise<number> {
    const args = parseCli(
        argv,
        {
            stack: { type: "string" },
            out: { type: "string" },
            offline: { type: "boolean" },
            "outputs-file": { type: "string" },
            "config-file": { type: "string" },
        },
        ["stack", "out"],
    );
    const stack = args.stack ?? "";
    const out = userPath(args.out ?? "");
    const resolve = (p: string | undefined) => (p === undefined ? undefined : userPath(p));
    checkOutDir("--out", out);
    try {
        const result = await buildHandoff({
            stack: stack,
            out: out,
            offline: args.offline,
            outputsFile: resolve(args["outputs-file"]),
            configFile: resolve(args["config-file"]),
        });
        for (const note of result.notes) {
            process.stderr.write(`note: ${note}\n`);
        }
        if (result.redacted.length > 0) {
            process.stderr.write(
                `warning: the outputs held ${result.redacted.length} value(s) in clear (${result.redacted.join(", ")}); they were replaced by "[secret]". Export outputs with \`pulumi stack output --json\`, without --show-secrets.\n`,
            );
        }
        process.stderr.write(`herd handoff --stack ${stack}: ${result.files.join(", ")} -> ${out} (from ${result.source})\n`);
        return 0;
    } catch (err) {
        if (err instanceof HandoffError || err instanceof CliError) {
            process.stderr.write(`herd handoff --stack ${stack}: ${err.message}\n`);
            return 1;
        }
        throw err;
    }
}

if (require.main === module) {
    runCli(USAGE, () => main(process.argv.slice(2)));
}
