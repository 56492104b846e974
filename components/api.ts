/**
 * ApiService: the Flask API under uwsgi. A Deployment that rolls without dropping a request (no pod leaves before
 * its replacement is ready; a preStop pause lets endpoints update; the grace period outlasts uwsgi's harakiri), an
 * HPA on CPU, a PDB, a NetworkPolicy that admits only the front end and reaches only the data tier, env wired from
 * the data tier's contract through secretKeyRef, and the schema migration Job ordered before the Deployment. The
 * server pods also get sign-in (ApiAuth's Secret through secretKeyRef; a new credential rolls them); the Job does not.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { MiB } from "../lib/quantity";
import type { DataEndpoint } from "./data-tier";
import { CA_FILE, CA_MOUNT_PATH, type InternalCa } from "./internal-ca";
import { API_AUTH_REVISION_ANNOTATION, apiAuthEnv, type ApiAuthSettings } from "./api-auth";
import { DNS_EGRESS, podsWith } from "./network-policy";
import { checkSizing, Problem, problem, throwIfProblems } from "./validation";
import { withDefaults } from "./defaults";
import { numberDefault, stringDefault, waitBudgets } from "../config";
import { type WaitMinutes, waitMinutes, waitOptions } from "../lib/waits";
import { API_METRICS_PORT, metricsDefaults, metricsIngress, metricsProblems, MetricsOptions, METRICS_PORT_NAME, podMonitor, scrapeAnnotations } from "./metrics";

export const API_PORT = 8000;
/** The API image's user (images/api/Dockerfile). */
export const API_UID = 10001;
/** uwsgi's harakiri (images/api/uwsgi.ini): the longest a request may run. */
export const API_REQUEST_TIMEOUT_SECONDS = 30;
/** How long a terminating pod keeps serving while Services and nginx stop sending it traffic. */
export const API_PRESTOP_SECONDS = 10;

/** A login to the database: a role and the Secret (and key) holding its password. */
export interface DatabaseLogin {
    readonly user: string;
    readonly secretName: pulumi.Output<string>;
    readonly passwordKey: string;
}
/** The database's address and the API's own login (`user`, `secretName`: a role with rows only). */
export interface PostgresAddress extends DataEndpoint {
    readonly user: string;
    readonly database: string;
    /** TLS: the CA file that verifies the server (sslmode=verify-full), as the API's pods see it (the internal CA's CA_FILE). @default none: no TLS settings */
    readonly caFile?: string;
}
/** Redis as the API needs it. */
export interface RedisEndpoint extends DataEndpoint {
    /** TLS: the CA file that verifies the server, as the API's pods see it (the internal CA's CA_FILE). @default none: plaintext */
    readonly caFile?: string;
}
/** The database as ApiService needs it: also the schema owner's login, which only the migration Job gets. */
export interface PostgresEndpoint extends PostgresAddress {
    readonly owner: DatabaseLogin;
}
export interface ElasticEndpoint extends DataEndpoint {
    readonly url: pulumi.Output<string>;
    readonly username: string;
    /** The CA file that verifies an https `url`, as the API's pods see it (the internal CA's CA_FILE). @default none: the system's CAs */
    readonly caFile?: string;
}

export interface ApiServiceArgs {
    readonly namespace: pulumi.Input<string>;
    /** Digest-pinned image. */
    readonly image: pulumi.Input<string>;
    readonly postgres: PostgresEndpoint;
    readonly redis: RedisEndpoint;
    readonly elasticsearch: ElasticEndpoint;
    /**
     * herd's internal CA (InternalCa): its ConfigMap is mounted at CA_MOUNT_PATH in the server and migration pods, so
     * the endpoints' `caFile`s exist. Required when any endpoint has one. @default none
     */
    readonly ca?: Pick<InternalCa, "configMapName">;
    /** Labels of the pods allowed to call the API (the front end's). */
    readonly clientLabels: Readonly<Record<string, string>>;
    /** Sign-in: the admin credential's Secret and the session settings (ApiAuth's `settings`); the server pods only. */
    readonly auth: ApiAuthSettings;
    /** Pods to start with, and the autoscaler's floor. @default config key `apiReplicas` */
    readonly replicas?: number;
    /** The autoscaler's ceiling. @default config key `apiMaxReplicas` */
    readonly maxReplicas?: number;
    /** Average CPU (percent of the request) at which to scale out. @default config key `apiCpuTargetPercent` */
    readonly cpuTargetPercent?: number;
    /** @default config key `apiCpu` */
    readonly cpu?: string;
    /** Room for uwsgi's workers, each recycled above 512 MB (images/api/uwsgi.ini). @default config key `apiMemory` */
    readonly memory?: string;
    /** How long `pulumi up` waits for the migration, the rollout and the Service (lib/waits.ts). @default config keys `wait*Minutes` */
    readonly waits?: WaitMinutes;
    /** Prometheus metrics on port 9102 (images/api/herd_api/metrics.py) and how Prometheus finds them. @default config keys `metrics`, `prometheusOperator`, `monitoringNamespace` */
    readonly metrics?: MetricsOptions;
}

export function apiDefaults(args: ApiServiceArgs) {
    // metrics field by field: a partial `metrics` keeps the other fields' defaults.
    return { ...apiScalarDefaults(args), metrics: metricsDefaults(args.metrics) };
}

function apiScalarDefaults(args: ApiServiceArgs) {
    return withDefaults(args, {
        replicas: numberDefault("apiReplicas"),
        maxReplicas: numberDefault("apiMaxReplicas"),
        cpuTargetPercent: numberDefault("apiCpuTargetPercent"),
        cpu: stringDefault("apiCpu"),
        memory: stringDefault("apiMemory"),
        waits: waitBudgets(numberDefault),
    });
}

export type ApiResolved = ReturnType<typeof apiDefaults>;

/**
 * Every problem with the TLS wiring: an endpoint's `caFile` must be the internal CA's file, and exists only where the
 * CA is mounted (`ca`).
 */
export function apiTlsProblems(args: Pick<ApiServiceArgs, "ca" | "postgres" | "redis" | "elasticsearch">): Problem[] {
    const problems: Problem[] = [];
    for (const field of ["postgres", "redis", "elasticsearch"] as const) {
        const caFile = args[field].caFile;
        if (caFile === undefined) {
            continue;
        }
        if (caFile !== CA_FILE) {
            problems.push(problem(`${field}.caFile`, `expected the internal CA's file ${CA_FILE} (the only CA mounted in the API's pods), got ${JSON.stringify(caFile)}`));
        } else if (args.ca === undefined) {
            problems.push(problem("ca", `expected the internal CA (InternalCa) to mount at ${CA_MOUNT_PATH}: ${field}.caFile is ${caFile}, got none`));
        }
    }
    return problems;
}

/** Every problem with the arguments; `postgres`, when given, is checked too. */
export function apiProblems(r: ApiResolved, postgres?: PostgresEndpoint): Problem[] {
    const problems = checkSizing({ replicas: r.replicas, memory: r.memory, minMemoryBytes: 128 * MiB, minMemoryText: "128Mi", cpu: r.cpu });
    if (!Number.isInteger(r.maxReplicas) || r.maxReplicas < r.replicas) {
        problems.push(problem("maxReplicas", `expected a whole number of at least replicas (${r.replicas}), got ${r.maxReplicas}`));
    }
    if (!Number.isInteger(r.cpuTargetPercent) || r.cpuTargetPercent < 10 || r.cpuTargetPercent > 100) {
        problems.push(problem("cpuTargetPercent", `expected a whole number from 10 to 100, got ${r.cpuTargetPercent}`));
    }
    problems.push(...metricsProblems(r.metrics).map((p) => problem(p.field, p.message)));
    if (postgres !== undefined && postgres.owner.user === postgres.user) {
        problems.push(problem("postgres.owner.user", `expected the schema owner's own role, not the API's (${JSON.stringify(postgres.user)})`));
    }
    return problems;
}

type EnvVar = k8s.types.input.core.v1.EnvVar;
const fromSecret = (name: string, endpoint: DataEndpoint): EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: endpoint.secretName, key: endpoint.passwordKey } },
});

/**
 * The API's environment, from the data tier's contract: addresses as values, every password through secretKeyRef.
 * The names are the API's (images/api/README.md); compose.yaml uses the same.
 */
export function apiEnv(args: { readonly postgres: PostgresAddress; readonly redis: RedisEndpoint; readonly elasticsearch: ElasticEndpoint }): EnvVar[] {
    return [
        ...databaseEnv(args.postgres),
        { name: "REDIS_HOST", value: args.redis.host },
        { name: "REDIS_PORT", value: String(args.redis.port) },
        fromSecret("REDIS_PASSWORD", args.redis),
        // TLS (the server has no plaintext port), its certificate verified against herd's internal CA.
        ...(args.redis.caFile !== undefined
            ? [
                  { name: "REDIS_TLS", value: "true" },
                  { name: "REDIS_CA_FILE", value: args.redis.caFile },
              ]
            : []),
        { name: "ELASTICSEARCH_URL", value: args.elasticsearch.url },
        { name: "ELASTICSEARCH_USERNAME", value: args.elasticsearch.username },
        fromSecret("ELASTICSEARCH_PASSWORD", args.elasticsearch),
        // The API verifies Elasticsearch's certificate against herd's internal CA (ElasticCluster's `caFile`).
        ...(args.elasticsearch.caFile !== undefined ? [{ name: "ELASTICSEARCH_CA_FILE", value: args.elasticsearch.caFile }] : []),
    ];
}

/**
 * The database's address and a login: the API's own (the default), or the owner's for the migration. What the
 * migration reads, and all it is given.
 */
export function databaseEnv(postgres: PostgresAddress, login: DatabaseLogin = postgres): EnvVar[] {
    return [
        { name: "DATABASE_HOST", value: postgres.host },
        { name: "DATABASE_PORT", value: String(postgres.port) },
        { name: "DATABASE_NAME", value: postgres.database },
        { name: "DATABASE_USER", value: login.user },
        { name: "DATABASE_PASSWORD", valueFrom: { secretKeyRef: { name: login.secretName, key: login.passwordKey } } },
        // TLS, the server's certificate checked against herd's internal CA for the host dialled (pg_hba: hostssl only).
        ...(postgres.caFile !== undefined
            ? [
                  { name: "DATABASE_SSLMODE", value: "verify-full" },
                  { name: "DATABASE_SSLROOTCERT", value: postgres.caFile },
              ]
            : []),
    ];
}

export class ApiService extends pulumi.ComponentResource {
    /** In-cluster URL of the API, e.g. http://api.herd.svc.cluster.local:8000. */
    readonly url: pulumi.Output<string>;
    /** host:port of the API Service (what nginx proxies to). */
    readonly upstream: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;

    constructor(name: string, args: ApiServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:ApiService", name, {}, opts);
        const r = apiDefaults(args);
        throwIfProblems("ApiService", name, [...apiProblems(r, args.postgres), ...apiTlsProblems(args)], this);

        // The selector carries the component so that the migration Job's pods (same app, component "migrate") are
        // never behind the Service, the PDB or the autoscaler. Selectors are immutable: nothing configurable here.
        const base = selectorLabels({ name: "api", instance: name });
        const selector = { ...base, "app.kubernetes.io/component": "server" };
        const labels = recommendedLabels({ name: "api", instance: name, component: "server" });
        const migrateLabels = recommendedLabels({ name: "api", instance: name, component: "migrate" });
        this.podSelector = selector;
        const meta = (n: string, l: Record<string, string> = labels) => ({ name: n, namespace: args.namespace, labels: l });
        const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata: meta(name), automountServiceAccountToken: false }, { parent: this });
        type Container = k8s.types.input.core.v1.Container;
        const container = (c: Container & { name: string; env: EnvVar[] }): Container => ({
            image: args.image,
            resources: resourceRequirements({ cpu: r.cpu, memory: r.memory }),
            securityContext: restrictedContainerSecurityContext(),
            // The internal CA, read-only, in every container (server, migration, its wait): what `caFile`s name.
            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...(args.ca === undefined ? [] : [{ name: "internal-ca", mountPath: CA_MOUNT_PATH, readOnly: true }])],
            ...c,
        });
        const pod = (podLabels: Record<string, string>, spec: Partial<k8s.types.input.core.v1.PodSpec> & { containers: Container[] }, annotations: Record<string, pulumi.Input<string>> = {}) => ({
            metadata: { labels: podLabels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
            spec: {
                serviceAccountName: serviceAccount.metadata.name,
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: restrictedPodSecurityContext(API_UID),
                volumes: [scratchVolume("tmp", "128Mi"), ...(args.ca === undefined ? [] : [{ name: "internal-ca", configMap: { name: args.ca.configMapName, defaultMode: 0o444 } }])],
                ...spec,
            },
        });

        // The CA's ConfigMap is mounted by its fixed name: ordered after it explicitly (when given as the resource).
        const afterCa: pulumi.Resource[] = args.ca instanceof pulumi.Resource ? [args.ca] : [];

        // Migrations first: the Job must complete (Pulumi waits for it) before the Deployment rolls. Its spec is
        // immutable, so a new image replaces it, deleting the old one first (its name is fixed).
        // It is given only the database's settings and waits for nothing but the image and the namespace: its init
        // container waits until PostgreSQL accepts a login (not the Service's readiness, not Job retries), then the
        // migration runs once. A failure ends the Job (no retry hides it) and the last lines of its log become the
        // container's termination message, which the engine's error shows.
        // The owner's login: the migration changes the schema; the API only reads and writes rows. Until the database
        // pod's sidecar has created the roles, a login is refused and `--wait` keeps trying (postgres-roles.ts).
        const dbEnv = databaseEnv(args.postgres, args.postgres.owner);
        const waitForDatabaseSeconds = r.waits.data * 60;
        const python = ["python", "-m", "herd_api.migrate"];
        const migrate = new k8s.batch.v1.Job(
            `${name}-migrate`,
            {
                metadata: meta(`${name}-migrate`, migrateLabels),
                spec: {
                    backoffLimit: 0,
                    activeDeadlineSeconds: waitMinutes("migration", r.waits) * 60,
                    template: pod(migrateLabels, {
                        restartPolicy: "Never",
                        initContainers: [
                            container({
                                name: "wait-for-postgres",
                                command: [...python, "--wait", String(waitForDatabaseSeconds), "--wait-only"],
                                env: dbEnv,
                                terminationMessagePolicy: "FallbackToLogsOnError",
                            }),
                        ],
                        containers: [container({ name: "migrate", command: [...python, "--wait", "60"], env: dbEnv, terminationMessagePolicy: "FallbackToLogsOnError" })],
                    }),
                },
            },
            // After the CA's ConfigMap (named as a fixed string): the migration verifies PostgreSQL with it.
            { parent: this, deleteBeforeReplace: true, dependsOn: afterCa, ...waitOptions("migration", r.waits) },
        );

        const http = (path: string) => ({ httpGet: { path, port: "http" } });
        const deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: meta(name),
                spec: {
                    replicas: r.replicas,
                    selector: { matchLabels: selector },
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
                    revisionHistoryLimit: 5,
                    template: pod(
                        labels,
                        {
                            containers: [
                                container({
                                    name: "api",
                                    env: [...apiEnv(args), ...apiAuthEnv(args.auth), ...(r.metrics.enabled ? [{ name: "HERD_METRICS_PORT", value: String(API_METRICS_PORT) }] : [])],
                                    ports: [
                                        { name: "http", containerPort: API_PORT, protocol: "TCP" },
                                        // uwsgi listens here either way; declared (and admitted) only with metrics on.
                                        ...(r.metrics.enabled ? [{ name: METRICS_PORT_NAME, containerPort: API_METRICS_PORT, protocol: "TCP" }] : []),
                                    ],
                                    startupProbe: { ...http("/healthz"), periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
                                    readinessProbe: { ...http("/readyz"), periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
                                    livenessProbe: { ...http("/healthz"), periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 3 },
                                    lifecycle: { preStop: { exec: { command: ["sleep", String(API_PRESTOP_SECONDS)] } } },
                                }),
                            ],
                            terminationGracePeriodSeconds: API_PRESTOP_SECONDS + API_REQUEST_TIMEOUT_SECONDS + 5,
                            topologySpreadConstraints: [
                                { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                            ],
                        },
                        // A new credential (ApiAuth's rotation) rolls the pods: env from a Secret is read at start only.
                        { ...scrapeAnnotations(r.metrics, API_METRICS_PORT), [API_AUTH_REVISION_ANNOTATION]: args.auth.revision },
                    ),
                },
            },
            // The one link in the app tier's chain: a pod of a new image must not serve before its schema exists.
            // The autoscaler owns the replica count once it runs.
            // The sign-in Secret and the CA's ConfigMap are named as fixed strings (a new credential replaces the
            // Secret: a name read from it would make the Deployment a delete-first replacement) and ordered here.
            {
                parent: this,
                dependsOn: [migrate, ...(args.auth.secret !== undefined ? [args.auth.secret] : []), ...afterCa],
                ignoreChanges: ["spec.replicas"],
                ...waitOptions("apiRollout", r.waits),
            },
        );

        new k8s.core.v1.Service(
            name,
            { metadata: meta(name), spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: API_PORT, targetPort: "http", protocol: "TCP" }] } },
            // Depends on nothing that waits, so it is created at once and waits for pods that come last: its budget
            // covers the image build, PostgreSQL, the migration and the rollout.
            { parent: this, ...waitOptions("apiService", r.waits) },
        );
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            name,
            {
                metadata: meta(name),
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
                    minReplicas: r.replicas,
                    maxReplicas: r.maxReplicas,
                    metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: r.cpuTargetPercent } } }],
                    behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
                },
            },
            { parent: this },
        );
        new k8s.policy.v1.PodDisruptionBudget(name, { metadata: meta(name), spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }, { parent: this });

        const dataEgress = [args.postgres, args.redis, args.elasticsearch].map((d) => ({
            to: [podsWith(d.podSelector)],
            ports: [{ protocol: "TCP", port: d.port }],
        }));
        new k8s.networking.v1.NetworkPolicy(
            name,
            {
                metadata: meta(name),
                spec: {
                    podSelector: { matchLabels: base },
                    policyTypes: ["Ingress", "Egress"],
                    // The migration Job's pods take no traffic; the server takes it only from the front end.
                    // The metrics port: from the monitoring namespace only, and only to the server's pods (the Job has none).
                    ingress: [{ from: [podsWith(args.clientLabels)], ports: [{ protocol: "TCP", port: API_PORT }] }, ...metricsIngress(r.metrics, API_METRICS_PORT)],
                    egress: [DNS_EGRESS, ...dataEgress],
                },
            },
            { parent: this },
        );

        podMonitor(this, r.metrics, name, args.namespace, labels, selector);

        // From the Service's fixed name and the namespace, not from the Service's outputs: the front end need not
        // wait for the API Service, and nothing it is given is assigned by the cluster (a pod template that held
        // the ClusterIP would change between a first preview, where it is unknown, and the update). The Service
        // sets no field that forces a replacement (no clusterIP, a fixed type), so its address stays for its life.
        this.upstream = pulumi.interpolate`${name}.${args.namespace}.svc.cluster.local:${API_PORT}`;
        this.url = pulumi.interpolate`http://${this.upstream}`;
        this.registerOutputs({ url: this.url });
    }
}
