/**
 * ApiService, Frontend and the image builds: defaults, overrides, validation, and what the recorded resources
 * promise — rolls without dropping requests, secrets only by reference, migrations before the API, images by digest,
 * the way in per platform.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { API_PORT, apiDefaults, apiEnv, apiProblems, ApiService, ApiServiceArgs } from "../components/api";
import { apiAuthEnv, type ApiAuthSettings } from "../components/api-auth";
import { Frontend, FrontendArgs, frontendDefaults, frontendProblems } from "../components/frontend";
import { appImages, contextHash } from "../components/images";
import type { DataEndpoint } from "../components/data-tier";
import { evaluateProgram, Evaluation } from "../offline/evaluate";
import { buildManifests, Manifest } from "../offline/manifests";
import { InvalidArgumentsError, problemText } from "../components/validation";
import { inspect, tempDir } from "./helpers";
import { numberDefault, waitBudgets } from "../config";

const DEFAULT_WAITS = waitBudgets(numberDefault);

const endpoint = (name: string, port: number): DataEndpoint => ({
    host: pulumi.output(`${name}.herd.svc.cluster.local`),
    port,
    secretName: pulumi.output(`${name}-credentials`),
    passwordKey: "password",
    podSelector: { "app.kubernetes.io/name": name, "app.kubernetes.io/instance": name },
});
const DATA = {
    // As PostgresStateful hands it over: the app role's login for the API, the owner's for the migration.
    postgres: {
        ...endpoint("postgres-app", 5432),
        host: pulumi.output("postgres.herd.svc.cluster.local"),
        podSelector: { "app.kubernetes.io/name": "postgres", "app.kubernetes.io/instance": "postgres" },
        user: "herd_app",
        database: "herd",
        owner: { user: "herd_owner", secretName: pulumi.output("postgres-owner-credentials"), passwordKey: "password" },
    },
    redis: endpoint("redis", 6379),
    elasticsearch: { ...endpoint("elastic", 9200), url: pulumi.output("http://elastic.herd.svc.cluster.local:9200"), username: "elastic" },
};
const FRONTEND_PODS = { "app.kubernetes.io/name": "frontend", "app.kubernetes.io/instance": "frontend" };
// Metrics off here: the metrics port, its annotations and NetworkPolicy rule are tested with metrics on in
// tests/metrics.test.ts (every stack) and in "ApiService metrics" below.
// Sign-in as ApiAuth hands it over (its own tests: tests/api-auth.test.ts).
const AUTH: ApiAuthSettings = { secretName: "api-auth", sessionHours: 12, readsRequireSignIn: false, cookieSecure: true, revision: "0123456789abcdef" };
const API_ARGS: ApiServiceArgs = { namespace: "herd", image: "registry.example.com/herd/api@sha256:" + "a".repeat(64), clientLabels: FRONTEND_PODS, ...DATA, auth: AUTH, metrics: { enabled: false } };

async function renderApi(args: Partial<ApiServiceArgs> = {}): Promise<{ e: Evaluation; m: readonly Manifest[]; api: ApiService }> {
    let api: ApiService | undefined;
    const e = await evaluateProgram(() => {
        api = new ApiService("api", { ...API_ARGS, ...args });
        return {};
    });
    assert.ok(api !== undefined);
    return { e, m: buildManifests(e).manifests, api };
}

const FRONTEND_ARGS: FrontendArgs = {
    namespace: "herd",
    image: "registry.example.com/herd/frontend@sha256:" + "b".repeat(64),
    apiUpstream: "api.herd.svc.cluster.local:8000",
    apiPodSelector: { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "api", "app.kubernetes.io/component": "server" },
    apiPort: API_PORT,
    exposure: { kind: "loadBalancer", annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" }, reportsAddressAs: "hostname" },
};

async function renderFrontend(args: Partial<FrontendArgs> = {}): Promise<{ m: readonly Manifest[]; fe: Frontend }> {
    let fe: Frontend | undefined;
    const e = await evaluateProgram(() => {
        fe = new Frontend("frontend", { ...FRONTEND_ARGS, ...args });
        return {};
    });
    assert.ok(fe !== undefined);
    return { m: buildManifests(e).manifests, fe };
}

const find = (m: readonly Manifest[], kind: string, name?: string) => {
    const x = m.find((y) => y.kind === kind && (name === undefined || y.metadata.name === name));
    assert.ok(x !== undefined, `${kind} ${name ?? ""}`);
    return x;
};
type Pod = { containers: Record<string, unknown>[]; terminationGracePeriodSeconds?: number; securityContext: Record<string, unknown> };
const podOf = (d: Manifest) => ((d["spec"] as { template: { spec: Pod } }).template.spec);

describe("ApiService", () => {
    it("defaults: 2 to 6 pods at 70% CPU, 250m and 768Mi each", () => {
        assert.deepEqual(apiDefaults(API_ARGS), {
            replicas: 2,
            maxReplicas: 6,
            cpuTargetPercent: 70,
            cpu: "250m",
            memory: "768Mi",
            waits: DEFAULT_WAITS,
            // Given as { enabled: false }; the rest from the config keys' defaults.
            metrics: { enabled: false, prometheusOperator: false, namespace: "monitoring" },
        });
        const { metrics: _omit, ...withoutMetrics } = API_ARGS;
        assert.deepEqual(apiDefaults(withoutMetrics).metrics, { enabled: true, prometheusOperator: false, namespace: "monitoring" });
    });
    it("overrides", () => {
        const waits = { ...DEFAULT_WAITS, app: 30 };
        assert.deepEqual(
            apiDefaults({ ...API_ARGS, replicas: 3, maxReplicas: 10, cpuTargetPercent: 50, cpu: "1", memory: "1Gi", waits, metrics: { prometheusOperator: true, namespace: "obs" } }),
            {
                replicas: 3,
                maxReplicas: 10,
                cpuTargetPercent: 50,
                cpu: "1",
                memory: "1Gi",
                waits,
                metrics: { enabled: true, prometheusOperator: true, namespace: "obs" },
            },
        );
    });
    for (const [what, args, expected] of [
        ["replicas", { replicas: 0 }, /replicas: expected a whole number of at least 1, got 0/],
        ["ceiling below floor", { replicas: 4, maxReplicas: 2 }, /maxReplicas: expected a whole number of at least replicas \(4\), got 2/],
        ["cpu target", { cpuTargetPercent: 150 }, /cpuTargetPercent: expected a whole number from 10 to 100, got 150/],
        ["memory", { memory: "64Mi" }, /memory: expected at least 128Mi/],
    ] as const) {
        it(`rejects ${what}`, () => assert.match(apiProblems(apiDefaults({ ...API_ARGS, ...args })).map(problemText).join("\n"), expected));
    }
    it("rejects a migration login that is the API's own role (the API must not own the schema)", () => {
        const postgres = { ...DATA.postgres, owner: { ...DATA.postgres.owner, user: "herd_app" } };
        assert.deepEqual(apiProblems(apiDefaults(API_ARGS), postgres), [
            { propertyPath: "postgres.owner.user", reason: 'expected the schema owner\'s own role, not the API\'s ("herd_app")' },
        ]);
        assert.deepEqual(apiProblems(apiDefaults(API_ARGS), DATA.postgres), []);
    });
    it("the component refuses bad arguments with one InvalidArgumentsError whose errors name each property", async () => {
        await assert.rejects(renderApi({ replicas: 4, maxReplicas: 2 }), (err: Error) => {
            assert.equal(err.message, 'ApiService "api": invalid arguments:\n  - maxReplicas: expected a whole number of at least replicas (4), got 2');
            assert.ok(err instanceof InvalidArgumentsError);
            assert.deepEqual(err.errors, [{ propertyPath: "maxReplicas", reason: "expected a whole number of at least replicas (4), got 2" }]);
            return true;
        });
    });

    it("rolls without dropping requests: none unavailable, surge 25%, readiness on /readyz, a preStop pause, a grace period past harakiri", async () => {
        const { m } = await renderApi();
        const d = find(m, "Deployment", "api");
        assert.deepEqual((d["spec"] as { strategy: unknown }).strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } });
        const pod = podOf(d);
        const c = pod.containers[0] as Record<string, { httpGet?: { path: string }; preStop?: unknown }>;
        assert.equal(c["readinessProbe"].httpGet?.path, "/readyz");
        assert.equal(c["livenessProbe"].httpGet?.path, "/healthz");
        assert.equal(c["startupProbe"].httpGet?.path, "/healthz");
        assert.deepEqual(c["lifecycle"].preStop, { exec: { command: ["sleep", "10"] } });
        assert.equal(pod.terminationGracePeriodSeconds, 45);
    });
    it("env comes from the data tier's contract; every password through secretKeyRef", async () => {
        const { m } = await renderApi();
        const env = (podOf(find(m, "Deployment", "api")).containers[0]["env"]) as { name: string; value?: string; valueFrom?: unknown }[];
        const byName = Object.fromEntries(env.map((v) => [v.name, v]));
        assert.equal(byName["DATABASE_HOST"].value, "postgres.herd.svc.cluster.local");
        assert.equal(byName["ELASTICSEARCH_URL"].value, "http://elastic.herd.svc.cluster.local:9200");
        for (const [name, secret] of [["DATABASE_PASSWORD", "postgres-app-credentials"], ["REDIS_PASSWORD", "redis-credentials"], ["ELASTICSEARCH_PASSWORD", "elastic-credentials"]]) {
            assert.deepEqual(byName[name].valueFrom, { secretKeyRef: { name: secret, key: "password" } });
            assert.equal(byName[name].value, undefined);
        }
        assert.equal(byName["DATABASE_USER"].value, "herd_app", "the API logs in as the app role, rows only");
        assert.deepEqual([...apiEnv(DATA), ...apiAuthEnv(AUTH)].map((v) => v.name), env.map((v) => v.name));
    });
    it("the migration Job, and only it, logs in as the schema owner: in its wait and in the migration", async () => {
        const { m } = await renderApi();
        const pod = podOf(find(m, "Job", "api-migrate")) as Pod & { initContainers: Record<string, unknown>[] };
        for (const c of [...pod.initContainers, ...pod.containers]) {
            const env = c["env"] as { name: string; value?: string; valueFrom?: unknown }[];
            const byName = Object.fromEntries(env.map((v) => [v.name, v]));
            assert.equal(byName["DATABASE_USER"].value, "herd_owner", String(c["name"]));
            assert.deepEqual(byName["DATABASE_PASSWORD"].valueFrom, { secretKeyRef: { name: "postgres-owner-credentials", key: "password" } });
            assert.equal(byName["DATABASE_HOST"].value, "postgres.herd.svc.cluster.local");
            assert.deepEqual(env.map((v) => v.name), ["DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"], "nothing else");
        }
        const api = JSON.stringify(find(m, "Deployment", "api"));
        assert.ok(!api.includes("herd_owner") && !api.includes("postgres-owner-credentials"), "the API never gets the owner's login");
    });
    it("the migration Job runs the migrate command before the Deployment, and is replaced delete-first", async () => {
        const { e, m } = await renderApi();
        const job = find(m, "Job", "api-migrate");
        const pod = podOf(job);
        assert.deepEqual(pod.containers[0]["command"], ["python", "-m", "herd_api.migrate", "--wait", "60"]);
        const dep = e.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment");
        assert.deepEqual(dep?.options.dependsOn, ["api-migrate"]);
        assert.equal(e.resources.find((r) => r.type === "kubernetes:batch/v1:Job")?.options.deleteBeforeReplace, true);
        assert.deepEqual(dep?.options.ignoreChanges, ["spec.replicas"], "the autoscaler owns the count");
    });
    it("the Service, PDB and HPA select only the server pods, never the migration Job's", async () => {
        const { m } = await renderApi();
        const selector = (find(m, "Service", "api")["spec"] as { selector: Record<string, string> }).selector;
        assert.equal(selector["app.kubernetes.io/component"], "server");
        assert.deepEqual((find(m, "PodDisruptionBudget", "api")["spec"] as { selector: { matchLabels: unknown } }).selector.matchLabels, selector);
        const jobLabels = (find(m, "Job", "api-migrate")["spec"] as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
        assert.equal(jobLabels["app.kubernetes.io/component"], "migrate");
        const hpa = find(m, "HorizontalPodAutoscaler", "api")["spec"] as Record<string, unknown>;
        assert.deepEqual([hpa["minReplicas"], hpa["maxReplicas"]], [2, 6]);
        assert.deepEqual(hpa["scaleTargetRef"], { apiVersion: "apps/v1", kind: "Deployment", name: "api" });
    });
    it("NetworkPolicy: ingress only from the front end on 8000; egress only DNS and the data tier's ports", async () => {
        const spec = find((await renderApi()).m, "NetworkPolicy", "api")["spec"] as { ingress: unknown; egress: { ports: { port: number }[] }[] };
        assert.deepEqual(spec.ingress, [{ from: [{ podSelector: { matchLabels: FRONTEND_PODS } }], ports: [{ protocol: "TCP", port: 8000 }] }]);
        assert.deepEqual(spec.egress.map((r) => r.ports.map((p) => p.port)), [[53, 53], [5432], [6379], [9200]]);
    });
    it("restricted pods with requests and limits", async () => {
        const pod = podOf(find((await renderApi()).m, "Deployment", "api"));
        assert.equal(pod.securityContext["runAsNonRoot"], true);
        assert.equal(pod.securityContext["runAsUser"], 10001);
        assert.equal((pod.containers[0]["securityContext"] as Record<string, unknown>)["readOnlyRootFilesystem"], true);
    });
    it("exports its in-cluster URL", async () => {
        assert.equal((await inspect((await renderApi()).api.url)).value, "http://api.herd.svc.cluster.local:8000");
    });
});

describe("Frontend", () => {
    it("defaults: 2 pods, no TLS, HSTS a year once served over HTTPS", () =>
        assert.deepEqual(frontendDefaults(FRONTEND_ARGS), {
            replicas: 2,
            tls: { mode: "none" },
            hstsMaxAgeSeconds: 31536000,
            apiRateLimitPerSecond: 20,
            apiRateLimitBurst: 40,
            loginRateLimitPerMinute: 10,
            trustedProxyCidrs: [],
            waits: DEFAULT_WAITS,
        }));
    it("overrides", () => {
        const waits = { ...DEFAULT_WAITS, ingress: 45 };
        const limits = { apiRateLimitPerSecond: 5, apiRateLimitBurst: 0, loginRateLimitPerMinute: 3, trustedProxyCidrs: ["10.0.0.0/8"] };
        assert.deepEqual(frontendDefaults({ ...FRONTEND_ARGS, replicas: 4, tls: { mode: "secret", secretName: "t" }, hstsMaxAgeSeconds: 600, waits, ...limits }), {
            replicas: 4,
            tls: { mode: "secret", secretName: "t" },
            hstsMaxAgeSeconds: 600,
            ...limits,
            waits,
        });
    });
    it("rejects an Ingress without a host name, and TLS on a pass-through load balancer", () => {
        const ingress = { ...FRONTEND_ARGS, exposure: { kind: "ingress" as const, className: "nginx", annotations: {} } };
        assert.match(frontendProblems(ingress, frontendDefaults(ingress)).map(problemText).join("\n"), /hostname: expected the host name the Ingress serves/);
        const tls = { ...FRONTEND_ARGS, hostname: "a.example.com", tls: { mode: "issuer" as const, clusterIssuer: "le" } };
        assert.match(frontendProblems(tls, frontendDefaults(tls)).map(problemText).join("\n"), /tls: a LoadBalancer Service without the platform's HTTPS passes TCP through/);
        const hsts = { ...FRONTEND_ARGS, hstsMaxAgeSeconds: -1 };
        assert.match(frontendProblems(hsts, frontendDefaults(hsts)).map(problemText).join("\n"), /hstsMaxAgeSeconds: expected a whole number of seconds, 0 or more \(0: no header\), got -1/);
    });
    it("the component refuses bad arguments with one InvalidArgumentsError whose errors name each property", async () => {
        const exposure = { kind: "ingress" as const, className: "nginx", annotations: {} };
        await assert.rejects(renderFrontend({ exposure }), (err: Error) => {
            assert.equal(err.message, 'Frontend "frontend": invalid arguments:\n  - hostname: expected the host name the Ingress serves, got nothing');
            assert.ok(err instanceof InvalidArgumentsError);
            assert.deepEqual(err.errors, [{ propertyPath: "hostname", reason: "expected the host name the Ingress serves, got nothing" }]);
            return true;
        });
    });
    it("a LoadBalancer with the platform's annotations, keeping client addresses; the URL from its hostname", async () => {
        const { m, fe } = await renderFrontend();
        const svc = find(m, "Service", "frontend");
        assert.equal((svc["spec"] as Record<string, unknown>)["type"], "LoadBalancer");
        assert.equal((svc["spec"] as Record<string, unknown>)["externalTrafficPolicy"], "Local");
        assert.equal((svc.metadata["annotations"] as Record<string, string>)["service.beta.kubernetes.io/aws-load-balancer-type"], "nlb");
        assert.match((await inspect(fe.url)).value, /^http:\/\/a[0-9a-f]+\.elb\.amazonaws\.com$/);
    });
    it("an Ingress with its class, host and TLS from a Secret or a cert-manager issuer", async () => {
        const base = { exposure: { kind: "ingress" as const, className: "nginx", annotations: {} }, hostname: "shop.example.com" };
        const { m, fe } = await renderFrontend({ ...base, tls: { mode: "secret", secretName: "shop-tls" } });
        const ing = find(m, "Ingress", "frontend");
        const spec = ing["spec"] as Record<string, unknown>;
        assert.equal(spec["ingressClassName"], "nginx");
        assert.deepEqual(spec["tls"], [{ hosts: ["shop.example.com"], secretName: "shop-tls" }]);
        assert.equal((find(m, "Service", "frontend")["spec"] as Record<string, unknown>)["type"], "ClusterIP");
        assert.equal((await inspect(fe.url)).value, "https://shop.example.com");
        const issued = find((await renderFrontend({ ...base, tls: { mode: "issuer", clusterIssuer: "letsencrypt" } })).m, "Ingress", "frontend");
        assert.equal((issued.metadata["annotations"] as Record<string, string>)["cert-manager.io/cluster-issuer"], "letsencrypt");
    });
    it("the pod template holds nothing the cluster assigns, so a first preview and the update agree", async () => {
        const d = find((await renderFrontend()).m, "Deployment", "frontend");
        const template = (d["spec"] as { template: { metadata: Record<string, unknown> } }).template;
        assert.deepEqual(Object.keys(template.metadata), ["labels"], "no annotation copied from another resource's outputs");
    });
    it("nginx proxies to the API upstream from env; egress only to the API and DNS", async () => {
        const { m } = await renderFrontend();
        const c = podOf(find(m, "Deployment", "frontend")).containers[0] as { env: { name: string; value: string }[] };
        assert.deepEqual(c.env, [
            { name: "API_UPSTREAM", value: "api.herd.svc.cluster.local:8000" },
            { name: "API_RATE_LIMIT_PER_SECOND", value: "20" },
            { name: "API_RATE_LIMIT_BURST", value: "40" },
            { name: "LOGIN_RATE_LIMIT_PER_MINUTE", value: "10" },
        ]);
        const np = find(m, "NetworkPolicy", "frontend")["spec"] as { egress: { ports: { port: number }[] }[]; ingress: unknown };
        assert.deepEqual(np.egress.map((r) => r.ports.map((p) => p.port)), [[53, 53], [8000]]);
        assert.deepEqual(np.ingress, [{ ports: [{ protocol: "TCP", port: 8080 }] }]);
    });
});

describe("images", () => {
    it("the tag is a hash of the build context: same content same tag, any change a new one; ignored files don't count", () => {
        const dir = tempDir();
        fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
        fs.writeFileSync(path.join(dir, "app.py"), "print(1)\n");
        fs.writeFileSync(path.join(dir, ".dockerignore"), "tests\n");
        const first = contextHash(dir);
        assert.match(first, /^[0-9a-f]{16}$/);
        fs.mkdirSync(path.join(dir, "tests"));
        fs.writeFileSync(path.join(dir, "tests", "t.py"), "x");
        fs.mkdirSync(path.join(dir, "node_modules"));
        fs.writeFileSync(path.join(dir, "node_modules", "m.js"), "x");
        assert.equal(contextHash(dir), first);
        fs.writeFileSync(path.join(dir, "app.py"), "print(2)\n");
        assert.notEqual(contextHash(dir), first);
    });
    it("honours an allow-list .dockerignore: only what Docker sends counts", () => {
        const dir = tempDir();
        fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
        fs.writeFileSync(path.join(dir, ".dockerignore"), "*\n!app/\n!uwsgi.ini\n**/__pycache__\n**/*.pyc\n");
        fs.mkdirSync(path.join(dir, "app", "sub"), { recursive: true });
        fs.writeFileSync(path.join(dir, "app", "main.py"), "x = 1\n");
        fs.writeFileSync(path.join(dir, "uwsgi.ini"), "[uwsgi]\n");
        const first = contextHash(dir);
        fs.writeFileSync(path.join(dir, "README.md"), "not sent");
        fs.mkdirSync(path.join(dir, ".ruff_cache"));
        fs.writeFileSync(path.join(dir, ".ruff_cache", "x"), "cache");
        fs.writeFileSync(path.join(dir, "app", "sub", "main.pyc"), "bytecode");
        assert.equal(contextHash(dir), first, "files Docker does not send do not change the tag");
        fs.writeFileSync(path.join(dir, "app", "sub", "new.py"), "y = 2\n");
        assert.notEqual(contextHash(dir), first, "a new file in the allowed directory does");
        const again = contextHash(dir);
        fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\nUSER 10001\n");
        assert.notEqual(contextHash(dir), again, "the Dockerfile always counts");
    });
    it("a missing context is a clear error", () => {
        assert.throws(() => contextHash("/nonexistent/images/api"), /Dockerfile does not exist/);
    });
    it("prebuilt references are used as given, nothing built", async () => {
        let refs: { api: string; frontend: string; postgres: string } | undefined;
        const e = await evaluateProgram(async () => {
            const images = appImages({
                kind: "prebuilt",
                api: "r.example.com/herd/api:2.0.1",
                frontend: "r.example.com/herd/frontend:2.0.1",
                postgres: "r.example.com/herd/postgres:2.0.1",
            });
            refs = { api: (await inspect(images.api)).value, frontend: (await inspect(images.frontend)).value, postgres: (await inspect(images.postgres)).value };
            return {};
        });
        assert.deepEqual(refs, { api: "r.example.com/herd/api:2.0.1", frontend: "r.example.com/herd/frontend:2.0.1", postgres: "r.example.com/herd/postgres:2.0.1" });
        assert.equal(e.resources.length, 0);
    });
});
