/**
 * Issue 17's program side of sign-in and rate limits: the generated admin credential (ApiAuth), its Secret and its
 * wiring into the API through secretKeyRef, the secret stack output, nginx's rate limits and the proxies it trusts
 * for the client's address, per platform and way in. The password must never be readable anywhere but the Secret
 * and the secret output: not in a rendered manifest, a recorded resource, the outputs or the handoff bundle.
 * (The config keys' own parsing is tested in tests/config.test.ts, "sign-in, rate limits and trusted proxies".)
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import {
    ADMIN_PASSWORD_LENGTH,
    API_AUTH_KEYS,
    API_AUTH_REVISION_ANNOTATION,
    apiAuthDefaults,
    apiAuthEnv,
    apiAuthProblems,
    credentialRevision,
    SESSION_SECRET_LENGTH,
} from "../components/api-auth";
import { frontendDefaults, frontendEnv, frontendProblems, siteServedOverHttps, type FrontendArgs } from "../components/frontend";
import type { Exposure } from "../platform/contract";
import { GOOGLE_FRONT_END_CIDRS } from "../platform/gcp/https";
import { PRIVATE_NETWORK_CIDRS } from "../platform/onprem";
import { evaluateStack, type Evaluation } from "../offline/evaluate";
import { buildManifests, renderYaml, type Manifest } from "../offline/manifests";
import { buildHandoff, REDACTED, sanitizeOutputs } from "../scripts/handoff";
import { tempDir } from "./helpers";

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
type PodTemplate = { metadata: { annotations?: Record<string, string> }; spec: { containers: { name: string; env?: Env[] }[]; initContainers?: { env?: Env[] }[] } };

function find(m: readonly Manifest[], kind: string, name: string): Manifest {
    const found = m.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(found !== undefined, `${kind}/${name} is rendered`);
    return found;
}
const template = (d: Manifest): PodTemplate => (d["spec"] as { template: PodTemplate }).template;
const envOf = (d: Manifest, container = 0): Record<string, Env> => Object.fromEntries((template(d).spec.containers[container].env ?? []).map((v) => [v.name, v]));

/** The admin password and session secret the mocks generated (a RandomPassword's result, as recorded). */
function generated(e: Evaluation, name: string): string {
    const record = e.records.find((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name === name);
    assert.ok(record !== undefined, `RandomPassword ${name} exists`);
    const result = record.state["result"] as { value?: unknown } | string;
    const value = typeof result === "string" ? result : result.value;
    assert.equal(typeof value, "string");
    return value as string;
}

const BASE_FRONTEND: FrontendArgs = {
    namespace: "herd",
    image: "registry.example.com/herd/frontend@sha256:" + "b".repeat(64),
    apiUpstream: "api.herd.svc.cluster.local:8000",
    apiPodSelector: { "app.kubernetes.io/name": "api" },
    apiPort: 8000,
    exposure: { kind: "loadBalancer", annotations: {}, reportsAddressAs: "ip" },
};
const INGRESS: Exposure = { kind: "ingress", className: "nginx", annotations: {}, trustedProxies: ["10.0.0.0/8"] };
const feEnv = (args: Partial<FrontendArgs>): Record<string, unknown> => {
    const a = { ...BASE_FRONTEND, ...args };
    return Object.fromEntries(frontendEnv(a, frontendDefaults(a)).map((v) => [v.name, v.value]));
};
const feProblems = (args: Partial<FrontendArgs>): string[] => {
    const a = { ...BASE_FRONTEND, ...args };
    return frontendProblems(a, frontendDefaults(a)).map((p) => `${p.propertyPath}: ${p.reason}`);
};

describe("ApiAuth's arguments", () => {
    it("defaults: user admin, 12-hour sessions, public reads, a Secure cookie", () => {
        assert.deepEqual(apiAuthDefaults({ namespace: "herd" }), { username: "admin", sessionHours: 12, readsRequireSignIn: false, cookieSecure: true });
        assert.deepEqual(apiAuthProblems(apiAuthDefaults({ namespace: "herd" })), []);
    });
    it("every argument overrides its default, false and 1 included", () => {
        const r = apiAuthDefaults({ namespace: "herd", username: "ops", sessionHours: 1, readsRequireSignIn: true, cookieSecure: false });
        assert.deepEqual(r, { username: "ops", sessionHours: 1, readsRequireSignIn: true, cookieSecure: false });
    });
    it("a bad user name or session length is refused, naming the field, what was expected and what was given", () => {
        const problems = (args: { username?: string; sessionHours?: number }) =>
            apiAuthProblems(apiAuthDefaults({ namespace: "herd", ...args })).map((p) => `${p.propertyPath}: ${p.reason}`);
        assert.deepEqual(problems({ username: "ad min" }), [
            "username: expected a user name of 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got \"ad min\"",
        ]);
        for (const hours of [0, 169, 1.5]) {
            assert.deepEqual(problems({ sessionHours: hours }), [`sessionHours: expected a whole number of hours from 1 to 168, got ${hours}`]);
        }
    });
    it("the API's env: each credential from the Secret, the session settings as values", () => {
        const env = apiAuthEnv({ secretName: "api-auth", sessionHours: 24, readsRequireSignIn: true, cookieSecure: false, revision: "r" });
        assert.deepEqual(env, [
            { name: "HERD_ADMIN_USERNAME", valueFrom: { secretKeyRef: { name: "api-auth", key: "username" } } },
            { name: "HERD_ADMIN_PASSWORD", valueFrom: { secretKeyRef: { name: "api-auth", key: "password" } } },
            { name: "HERD_SESSION_SECRET", valueFrom: { secretKeyRef: { name: "api-auth", key: "session-secret" } } },
            { name: "HERD_SESSION_HOURS", value: "24" },
            { name: "HERD_SESSION_COOKIE_SECURE", value: "false" },
            { name: "HERD_READS_REQUIRE_SIGN_IN", value: "true" },
        ]);
    });
    it("the revision changes with any part of the credential, and is not the credential", () => {
        const base = credentialRevision(["admin", "p".repeat(32), "s".repeat(64)]);
        assert.match(base, /^[0-9a-f]{16}$/);
        assert.notEqual(credentialRevision(["admin", "q".repeat(32), "s".repeat(64)]), base);
        assert.notEqual(credentialRevision(["admin", "p".repeat(32), "t".repeat(64)]), base);
        assert.notEqual(credentialRevision(["ops", "p".repeat(32), "s".repeat(64)]), base);
    });
});

describe("the front end's rate limits and trusted proxies", () => {
    it("defaults: 20/s, a burst of 40, 10 sign-ins a minute; no trusted proxy on a load balancer", () => {
        assert.deepEqual(feEnv({}), {
            API_UPSTREAM: "api.herd.svc.cluster.local:8000",
            API_RATE_LIMIT_PER_SECOND: "20",
            API_RATE_LIMIT_BURST: "40",
            LOGIN_RATE_LIMIT_PER_MINUTE: "10",
        });
        assert.deepEqual(feProblems({}), []);
    });
    it("behind an Ingress, the exposure's proxies; without any, none", () => {
        assert.equal(feEnv({ exposure: INGRESS, hostname: "shop.example.com" })["TRUSTED_PROXY_CIDRS"], "10.0.0.0/8");
        assert.equal(feEnv({ exposure: { ...INGRESS, trustedProxies: undefined }, hostname: "shop.example.com" })["TRUSTED_PROXY_CIDRS"], undefined);
    });
    it("every argument overrides its default; an empty list trusts no proxy, even behind an Ingress", () => {
        const env = feEnv({ apiRateLimitPerSecond: 1, apiRateLimitBurst: 0, loginRateLimitPerMinute: 1000, trustedProxyCidrs: ["192.0.2.0/24", "198.51.100.7/32"] });
        assert.equal(env["API_RATE_LIMIT_PER_SECOND"], "1");
        assert.equal(env["API_RATE_LIMIT_BURST"], "0");
        assert.equal(env["LOGIN_RATE_LIMIT_PER_MINUTE"], "1000");
        assert.equal(env["TRUSTED_PROXY_CIDRS"], "192.0.2.0/24 198.51.100.7/32", "space-separated");
        assert.equal(feEnv({ exposure: INGRESS, hostname: "shop.example.com", trustedProxyCidrs: [] })["TRUSTED_PROXY_CIDRS"], undefined);
    });
    it("bad limits and bad blocks are refused, naming the field, what was expected and what was given", () => {
        assert.deepEqual(feProblems({ apiRateLimitPerSecond: 0, apiRateLimitBurst: -1, loginRateLimitPerMinute: 2.5, trustedProxyCidrs: ["10.0.0.0/8", "10.1.2.3/16", "proxy"] }), [
            "apiRateLimitPerSecond: expected a whole number from 1 to 10000, got 0",
            "apiRateLimitBurst: expected a whole number from 0 to 100000, got -1",
            "loginRateLimitPerMinute: expected a whole number from 1 to 1000, got 2.5",
            'trustedProxyCidrs[1]: expected a CIDR block with its host bits clear (did you mean 10.1.0.0/16?), got "10.1.2.3/16"',
            'trustedProxyCidrs[2]: expected an IPv4 CIDR block such as 10.0.0.0/16, got "proxy"',
        ]);
    });
    it("the session cookie is Secure exactly when the site is served over HTTPS", () => {
        assert.equal(siteServedOverHttps(BASE_FRONTEND.exposure, undefined), false);
        assert.equal(siteServedOverHttps(BASE_FRONTEND.exposure, { mode: "none" }), false);
        assert.equal(siteServedOverHttps(INGRESS, { mode: "secret", secretName: "shop-tls" }), true);
        assert.equal(siteServedOverHttps(INGRESS, { mode: "issuer", clusterIssuer: "letsencrypt" }), true);
        assert.equal(siteServedOverHttps({ kind: "loadBalancer", annotations: {}, reportsAddressAs: "hostname", https: { hostname: "shop.example.com" } }, undefined), true);
    });
});

/** Every stack file: what each platform's way in trusts by default. */
const STACKS: { stack: string; trusted: (e: Evaluation) => string | undefined }[] = [
    // NLB with externalTrafficPolicy Local: the client's own address reaches nginx.
    { stack: "aws", trusted: () => undefined },
    // GKE Ingress: Google's front ends, and the static address Google appends after the client's.
    {
        stack: "gcp",
        trusted: (e) => {
            const https = (e.outputs["platform"] as { https: { staticIp: string } }).https;
            return [...GOOGLE_FRONT_END_CIDRS, `${https.staticIp}/32`].join(" ");
        },
    },
    // An ingress controller in the cluster: its pods' addresses, somewhere in the private ranges.
    { stack: "onprem", trusted: () => PRIVATE_NETWORK_CIDRS.join(" ") },
];

for (const { stack, trusted } of STACKS) {
    describe(`stack ${stack}: sign-in and rate limits wired end to end`, () => {
        let e: Evaluation;
        let m: readonly Manifest[];
        let password: string;
        let sessionSecret: string;
        before(async () => {
            e = await evaluateStack({ stack });
            m = buildManifests(e).redacted;
            password = generated(e, "api-auth-password");
            sessionSecret = generated(e, "api-auth-session-secret");
        });

        it("generates the password (32 letters and digits) and the session secret (64) and keeps them in the Secret api-auth", () => {
            const inputs = (name: string) => e.resources.find((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name === name)?.inputs;
            assert.deepEqual(inputs("api-auth-password"), { length: ADMIN_PASSWORD_LENGTH, special: false });
            assert.deepEqual(inputs("api-auth-session-secret"), { length: SESSION_SECRET_LENGTH, special: false });
            assert.equal(ADMIN_PASSWORD_LENGTH, 32);
            assert.equal(SESSION_SECRET_LENGTH, 64);
            const secret = find(m, "Secret", "api-auth");
            assert.deepEqual(Object.keys((secret["stringData"] ?? secret["data"]) as object).sort(), Object.values(API_AUTH_KEYS).sort());
            const resource = e.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === "api-auth");
            const dataSecret = e.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === "postgres-credentials");
            assert.ok(resource !== undefined && dataSecret !== undefined);
            assert.equal(resource.options.provider, dataSecret.options.provider, "through the platform's secrets provider, like the data tier's Secrets");
        });

        it("the API's server gets the credential through secretKeyRef and the session settings; the migration gets none", () => {
            const env = envOf(find(m, "Deployment", "api"));
            for (const [name, key] of [["HERD_ADMIN_USERNAME", "username"], ["HERD_ADMIN_PASSWORD", "password"], ["HERD_SESSION_SECRET", "session-secret"]]) {
                assert.deepEqual(env[name], { name, valueFrom: { secretKeyRef: { name: "api-auth", key } } }, name);
            }
            assert.equal(env["HERD_SESSION_HOURS"].value, "12");
            assert.equal(env["HERD_READS_REQUIRE_SIGN_IN"].value, "false", "reads are public by default");
            assert.equal(env["HERD_SESSION_COOKIE_SECURE"].value, "true", "every stack file serves the site over HTTPS");
            const job = template(find(m, "Job", "api-migrate"));
            const jobEnv = [...job.spec.containers, ...(job.spec.initContainers ?? [])].flatMap((c) => c.env ?? []);
            assert.deepEqual(jobEnv.filter((v) => v.name.startsWith("HERD_")), [], "the migration never sees the admin credential");
        });

        it("a new credential rolls the API: its revision is on the pod template, and is not the credential", () => {
            const annotations = template(find(m, "Deployment", "api")).metadata.annotations ?? {};
            assert.equal(annotations[API_AUTH_REVISION_ANNOTATION], credentialRevision(["admin", password, sessionSecret]));
        });

        it("nginx gets the rate limits and the proxies this platform's way in puts in front of it", () => {
            const env = envOf(find(m, "Deployment", "frontend"));
            assert.equal(env["API_RATE_LIMIT_PER_SECOND"].value, "20");
            assert.equal(env["API_RATE_LIMIT_BURST"].value, "40");
            assert.equal(env["LOGIN_RATE_LIMIT_PER_MINUTE"].value, "10");
            assert.equal(env["TRUSTED_PROXY_CIDRS"]?.value, trusted(e));
        });

        it("outputs the admin user in clear and the password only as a secret", () => {
            const app = e.outputs["app"] as Record<string, unknown>;
            assert.equal(app["adminUsername"], "admin");
            assert.equal(app["adminPassword"], REDACTED, "a secret output (the harness redacts only secret Outputs)");
            assert.equal(app["adminSecretName"], "api-auth");
        });

        it("the password and the session secret appear nowhere else: manifests, recorded resources, outputs", () => {
            assert.ok(e.secretValues.includes(password) && e.secretValues.includes(sessionSecret), "the harness knows them as secrets");
            const texts: Record<string, string> = {
                "manifests.yaml": renderYaml(m),
                "resources.json": JSON.stringify(e.resources),
                outputs: JSON.stringify(e.outputs),
            };
            for (const [what, text] of Object.entries(texts)) {
                assert.ok(!text.includes(password), `${what} holds the admin password`);
                assert.ok(!text.includes(sessionSecret), `${what} holds the session secret`);
            }
        });
    });
}

describe("stack overrides reach the API and nginx", () => {
    it("onprem with every key set: the user, the session, the reads, the limits and the proxies", async () => {
        const e = await evaluateStack({
            stack: "onprem",
            overrides: {
                "herd:adminUsername": "ops",
                "herd:apiSessionHours": "24",
                "herd:apiReadsRequireSignIn": "true",
                "herd:apiRateLimitPerSecond": "50",
                "herd:apiRateLimitBurst": "100",
                "herd:loginRateLimitPerMinute": "5",
                "herd:trustedProxyCidrs": '["10.42.0.0/16"]',
            },
        });
        const m = buildManifests(e).redacted;
        const api = envOf(find(m, "Deployment", "api"));
        assert.equal(api["HERD_SESSION_HOURS"].value, "24");
        assert.equal(api["HERD_READS_REQUIRE_SIGN_IN"].value, "true");
        const fe = envOf(find(m, "Deployment", "frontend"));
        assert.deepEqual(
            ["API_RATE_LIMIT_PER_SECOND", "API_RATE_LIMIT_BURST", "LOGIN_RATE_LIMIT_PER_MINUTE", "TRUSTED_PROXY_CIDRS"].map((n) => fe[n]?.value),
            ["50", "100", "5", "10.42.0.0/16"],
        );
        assert.equal((e.outputs["app"] as Record<string, unknown>)["adminUsername"], "ops");
        const revision = template(find(m, "Deployment", "api")).metadata.annotations?.[API_AUTH_REVISION_ANNOTATION];
        assert.equal(revision, credentialRevision(["ops", generated(e, "api-auth-password"), generated(e, "api-auth-session-secret")]), "a new user name rolls the API too");
    });
    it("onprem on a LoadBalancer over plain HTTP: no proxy trusted, and the cookie is not Secure (or no browser could sign in)", async () => {
        const e = await evaluateStack({ stack: "onprem", overrides: { "herd:ingressClass": "", "herd:publicHostname": "", "herd:tlsSecretName": "" } });
        const m = buildManifests(e).redacted;
        assert.equal(envOf(find(m, "Deployment", "frontend"))["TRUSTED_PROXY_CIDRS"], undefined);
        assert.equal(envOf(find(m, "Deployment", "api"))["HERD_SESSION_COOKIE_SECURE"].value, "false");
    });
    it("[none] trusts no proxy behind an Ingress", async () => {
        const e = await evaluateStack({ stack: "onprem", overrides: { "herd:trustedProxyCidrs": '["none"]' } });
        assert.equal(envOf(find(buildManifests(e).redacted, "Deployment", "frontend"))["TRUSTED_PROXY_CIDRS"], undefined);
    });
    it("gcp without a host name (an L4 load balancer, the client's address kept): no proxy trusted", async () => {
        const e = await evaluateStack({ stack: "gcp", overrides: { "herd:publicHostname": "", "herd:gcpDnsZone": "" } });
        const m = buildManifests(e).redacted;
        assert.equal(envOf(find(m, "Deployment", "frontend"))["TRUSTED_PROXY_CIDRS"], undefined);
        assert.equal(envOf(find(m, "Deployment", "api"))["HERD_SESSION_COOKIE_SECURE"].value, "false");
    });
});

describe("the handoff bundle and the admin password", () => {
    it("the bundle tells the operator how to get and rotate the password, and never holds it", async () => {
        const e = await evaluateStack({ stack: "onprem" });
        const password = generated(e, "api-auth-password");
        const out = path.join(tempDir(), "onprem");
        await buildHandoff({ stack: "onprem", out, offline: true, now: new Date("2026-11-30T12:00:00Z") });
        const files = Object.fromEntries(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f), "utf8")]));
        for (const [name, text] of Object.entries(files)) {
            assert.ok(!text.includes(password), `${name} holds the admin password`);
        }
        assert.equal((JSON.parse(files["outputs.json"]) as { app: Record<string, unknown> }).app["adminPassword"], REDACTED);
        const runbook = files["RUNBOOK.md"];
        assert.ok(runbook.includes("pulumi stack output --stack onprem --show-secrets app"), "how to read it");
        assert.ok(runbook.includes("kubectl -n herd get secret api-auth -o jsonpath='{.data.password}' | base64 -d"), "or from the Secret");
        assert.ok(runbook.includes("--replace") && runbook.includes("RandomPassword::api-auth-password"), "how to rotate it");
    });
    it("an outputs file exported with --show-secrets: the password is replaced", () => {
        const { value, redacted } = sanitizeOutputs({ app: { adminUsername: "admin", adminPassword: "Zq8vN2kLp0aX7cB4dE6fG1hJ3mR5sT9u", adminSecretName: "api-auth" } });
        assert.deepEqual(value, { app: { adminUsername: "admin", adminPassword: REDACTED, adminSecretName: "api-auth" } });
        assert.deepEqual(redacted, ["app.adminPassword"]);
    });
    it("ApiAuth's password is a secret Output in the program, whatever the caller does with it", async () => {
        // The stack output wraps it again; the component's own field is already secret.
        const { ApiAuth } = await import("../components/api-auth");
        const { evaluateProgram } = await import("../offline/evaluate");
        let secret: boolean | undefined;
        await evaluateProgram(async () => {
            const auth = new ApiAuth("api-auth", { namespace: "herd" });
            secret = await pulumi.isSecret(auth.password);
            return {};
        });
        assert.equal(secret, true);
    });
});
