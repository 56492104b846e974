/**
 * Issue 17's hardening as the real engine left it on the API server: the namespace's default-deny and the way in
 * from the ingress controller's namespace only; TLS certificates issued by the tls provider plugin that chain to
 * herd's CA and name the hosts clients dial; the servers' pods carrying their certificate's checksum; the API wired
 * to verify every server; and the admin sign-in a secret output that matches its Secret.
 */
import * as crypto from "node:crypto";
import { type Ctx, kubectlJson, pulumi } from "./cluster-state";
import { E2eError } from "./engine";
import { CA_FILE, TLS_CHECKSUM_ANNOTATION } from "../components/internal-ca";

const NS = "herd";

interface PolicyItem {
    metadata: { name: string };
    spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes?: string[]; ingress?: { from?: unknown[] }[]; egress?: unknown[] };
}
interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface PodOwner {
    spec: { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: { name: string; env?: EnvVar[] }[] } } };
}

/** The server certificates: Secret, the workload that serves it, and the name clients dial. */
const CERTIFICATES = [
    { secret: "postgres-tls", workload: "statefulset/postgres", host: `postgres.${NS}.svc.cluster.local` },
    { secret: "redis-tls", workload: "statefulset/redis", host: `redis.${NS}.svc.cluster.local` },
    { secret: "elastic-http-tls", workload: "statefulset/elastic", host: `elastic.${NS}.svc.cluster.local` },
] as const;

function fail(message: string): never {
    throw new E2eError(message);
}

function checkPolicies(ctx: Ctx): string {
    const policies = kubectlJson<{ items: PolicyItem[] }>(ctx, ["-n", NS, "get", "networkpolicy"]).items;
    const byName = new Map(policies.map((p) => [p.metadata.name, p.spec]));
    const deny = byName.get("default-deny") ?? fail(`no default-deny NetworkPolicy in ${NS} (have: ${[...byName.keys()].join(", ")})`);
    if (Object.keys(deny.podSelector.matchLabels ?? {}).length > 0 || (deny.ingress ?? []).length > 0 || (deny.egress ?? []).length > 0) {
        fail(`default-deny must select every pod and allow nothing: ${JSON.stringify(deny)}`);
    }
    if (!["Ingress", "Egress"].every((t) => deny.policyTypes?.includes(t))) {
        fail(`default-deny must cover both directions: policyTypes ${JSON.stringify(deny.policyTypes)}`);
    }
    byName.get("cluster-dns") ?? fail("no cluster-dns NetworkPolicy: with default-deny, no pod could resolve a name");
    const frontend = byName.get("frontend") ?? fail("no frontend NetworkPolicy");
    const from = JSON.stringify(frontend.ingress?.[0]?.from ?? []);
    if (!from.includes('"kubernetes.io/metadata.name":"ingress-nginx"')) {
        fail(`the front end must be reached only from the ingress controller's namespace; its ingress is from ${from}`);
    }
    return `${policies.length} NetworkPolicies, default-deny and cluster-dns among them, nginx only from ns ingress-nginx`;
}

function checkCertificates(ctx: Ctx): string {
    const caPem = kubectlJson<{ data: Record<string, string> }>(ctx, ["-n", NS, "get", "configmap", "herd-ca"]).data["ca.crt"] ?? fail("ConfigMap herd-ca has no ca.crt");
    const ca = new crypto.X509Certificate(caPem);
    if (!ca.ca) {
        fail("herd-ca's certificate is not a CA certificate");
    }
    const days: number[] = [];
    for (const c of CERTIFICATES) {
        const secret = kubectlJson<{ type: string; data: Record<string, string> }>(ctx, ["-n", NS, "get", "secret", c.secret]);
        if (secret.type !== "kubernetes.io/tls") {
            fail(`Secret ${c.secret} is of type ${secret.type}, expected kubernetes.io/tls`);
        }
        const pem = Buffer.from(secret.data["tls.crt"] ?? "", "base64").toString("utf8");
        const cert = new crypto.X509Certificate(pem);
        if (!cert.verify(ca.publicKey) || cert.issuer !== ca.subject) {
            fail(`${c.secret}'s certificate is not signed by herd-ca (issuer ${cert.issuer})`);
        }
        if (cert.checkHost(c.host) === undefined || cert.checkIP("127.0.0.1") === undefined) {
            fail(`${c.secret}'s certificate does not name ${c.host} and 127.0.0.1 (it names ${cert.subjectAltName})`);
        }
        days.push(Math.round((Date.parse(cert.validTo) - Date.now()) / 86_400_000));
        const checksum = crypto.createHash("sha256").update(pem).digest("hex");
        const owner = kubectlJson<PodOwner>(ctx, ["-n", NS, "get", c.workload]);
        if (owner.spec.template.metadata.annotations?.[TLS_CHECKSUM_ANNOTATION] !== checksum) {
            fail(`${c.workload}'s pod template does not carry ${c.secret}'s checksum (${TLS_CHECKSUM_ANNOTATION}): a renewed certificate would not roll it`);
        }
    }
    return `${CERTIFICATES.length} server certificates chain to herd-ca, name their Service and 127.0.0.1, valid ${Math.min(...days)} days; each server's pods carry its checksum`;
}

function checkApi(ctx: Ctx): string {
    const api = kubectlJson<PodOwner>(ctx, ["-n", NS, "get", "deployment/api"]);
    const env = new Map((api.spec.template.spec.containers.find((c) => c.name === "api")?.env ?? []).map((e) => [e.name, e]));
    const expect = (name: string, ok: (e: EnvVar | undefined) => boolean, what: string) => {
        if (!ok(env.get(name))) {
            fail(`the API's ${name} must be ${what}; it is ${JSON.stringify(env.get(name))}`);
        }
    };
    expect("DATABASE_SSLMODE", (e) => e?.value === "verify-full", "verify-full");
    expect("DATABASE_SSLROOTCERT", (e) => e?.value === CA_FILE, "herd's CA file");
    expect("REDIS_TLS", (e) => e?.value === "true", "true");
    expect("ELASTICSEARCH_URL", (e) => e?.value?.startsWith("https://") === true, "an https URL");
    expect("HERD_ADMIN_PASSWORD", (e) => e?.valueFrom?.secretKeyRef?.name === "api-auth", "from the Secret api-auth");
    expect("HERD_SESSION_SECRET", (e) => e?.valueFrom?.secretKeyRef?.name === "api-auth", "from the Secret api-auth");

    const shown = JSON.parse(pulumi(ctx, ["stack", "output", "app", "--json", "--stack", "e2e"]).stdout) as Record<string, unknown>;
    if (shown["adminPassword"] !== "[secret]") {
        fail(`app.adminPassword must be a secret output; pulumi stack output shows ${JSON.stringify(shown["adminPassword"])}`);
    }
    const revealed = JSON.parse(pulumi(ctx, ["stack", "output", "app", "--json", "--show-secrets", "--stack", "e2e"]).stdout) as Record<string, unknown>;
    const stored = Buffer.from(kubectlJson<{ data: Record<string, string> }>(ctx, ["-n", NS, "get", "secret", "api-auth"]).data["password"] ?? "", "base64").toString("utf8");
    if (typeof revealed["adminPassword"] !== "string" || revealed["adminPassword"] !== stored || stored.length < 32) {
        fail("app.adminPassword (--show-secrets) is not the password in the Secret api-auth");
    }
    return "the API verifies PostgreSQL (verify-full), Redis (TLS) and Elasticsearch (https) against herd-ca; its admin password is a secret output equal to Secret api-auth's";
}

export const HARDENING_STEP = {
    name: "the app's hardening as applied: default-deny, certificates from herd's CA, the API verifying them, the sign-in secret",
    run: (ctx: Ctx): string => [checkPolicies(ctx), checkCertificates(ctx), checkApi(ctx)].join("; "),
};
