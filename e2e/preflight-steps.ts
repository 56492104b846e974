/**
 * The e2e steps of `npm run preflight` and `npm run support-bundle` against the local control plane:
 *   - before the first up, preflight passes on the e2e cluster (with a stand-in registry, below);
 *   - every blocker fails at least once: an unreachable registry, a CSI driver that is not registered, a StorageClass
 *     that does not exist, static volumes that are not there, a namespace owned by something else, an IngressClass
 *     that does not exist on the cluster itself; Pod Security admission turned off and a Kubernetes 1.30 on another
 *     real kube-apiserver started beside it on the same etcd (e2e/cluster.sh no-psa-apiserver, old-apiserver).
 *   - after the up, a support bundle holds the pods' logs and the events and none of the stack's secret values.
 * The e2e stack's images name registry.e2e.invalid (kwok's nodes never pull). For preflight to pass, a stand-in
 * registry answers the Docker Registry API (GET /v2/ -> 401, as a registry that wants a login does) over HTTPS on
 * 127.0.0.1 with a throwaway CA that the preflight process trusts through NODE_EXTRA_CA_CERTS, as a customer with a
 * private CA would. The cluster has no ingress controller (a kwok stage fills in Ingress addresses): the step
 * registers the IngressClass `nginx` that an ingress-nginx install would.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Ctx, kubectl, kubectlJson, K8sList, pulumi } from "./cluster-state";
import { E2eError, must, PROJECT_DIR, run, secretPlaintexts, tail } from "./engine";
import { CLEAR_KEYS, MIN_SECRET_LENGTH } from "../scripts/preflight/redact";

const STACK = "e2e";

interface Check {
    readonly id: string;
    readonly status: "pass" | "warn" | "fail";
    readonly detail: string;
}
interface Report {
    readonly checks: readonly Check[];
    readonly blockers: number;
}

export interface PreflightStep {
    readonly name: string;
    readonly run: (ctx: Ctx) => string;
}

/** The stand-in registry's port: beside the control plane's (cluster.sh uses BASE+43..+80). */
function registryPort(): number {
    return Number(process.env["HERD_E2E_PORT_BASE"] ?? "16400") + 91;
}

const SERVER = `
const https = require("node:https"), fs = require("node:fs");
const [key, cert, port] = process.argv.slice(1);
https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
  if (req.url === "/v2/") {
    res.writeHead(401, { "Docker-Distribution-API-Version": "registry/2.0", "WWW-Authenticate": 'Basic realm="herd-e2e"', "Content-Type": "application/json" });
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
  } else { res.writeHead(404); res.end(); }
}).listen(Number(port), "127.0.0.1", () => process.stdout.write("listening\\n"));
`;

/** Runs body with the stand-in registry up; its CA file and host are passed in. */
function withStandInRegistry<T>(ctx: Ctx, body: (registry: { host: string; ca: string }) => T): T {
    const dir = path.join(ctx.tmp, "stand-in-registry");
    fs.mkdirSync(dir, { recursive: true });
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    if (!fs.existsSync(cert)) {
        must("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=herd-e2e-registry",
            "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
        ]);
    }
    const port = registryPort();
    const child = spawn(process.execPath, ["-e", SERVER, key, cert, String(port)], { stdio: ["ignore", "ignore", "ignore"] });
    try {
        const host = `127.0.0.1:${port}`;
        let up = false;
        for (let i = 0; i < 50 && !up; i++) {
            up = run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", cert, `https://${host}/v2/`], { timeoutSec: 5 }).stdout === "401";
            if (!up) {
                run("sleep", ["0.2"]);
            }
        }
        if (!up) {
            throw new E2eError(`the stand-in registry did not answer on https://${host}/v2/ (port ${port} in use? HERD_E2E_PORT_BASE moves it)`);
        }
        return body({ host, ca: cert });
    } finally {
        child.kill();
    }
}

/** The e2e stack file with some keys replaced (undefined removes a key). */
function stackFileWith(ctx: Ctx, name: string, changes: Readonly<Record<string, string | undefined>>): string {
    const lines = fs.readFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), "utf8").split("\n");
    const out: string[] = [];
    const done = new Set<string>();
    for (const line of lines) {
        const key = /^ {2}(herd:[A-Za-z]+):/.exec(line)?.[1];
        if (key !== undefined && key in changes) {
            done.add(key);
            const v = changes[key];
            if (v !== undefined) {
                out.push(`  ${key}: ${v}`);
            }
            continue;
        }
        out.push(line);
    }
    for (const [k, v] of Object.entries(changes)) {
        if (!done.has(k) && v !== undefined) {
            out.push(`  ${k}: ${v}`);
        }
    }
    const file = path.join(ctx.tmp, `preflight-${name}.yaml`);
    fs.writeFileSync(file, `${out.join("\n").trimEnd()}\n`);
    return file;
}

/** The e2e stack with its images, and its image mirror, on the stand-in registry (same paths and digests). */
function onStandIn(host: string): Record<string, string> {
    const stack = fs.readFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), "utf8");
    const images: Record<string, string> = {};
    for (const m of stack.matchAll(/^ {2}(herd:(?:api|frontend|postgres)Image|herd:imageRegistryMirror): registry\.e2e\.invalid\/(\S+)$/gm)) {
        images[m[1]] = `${host}/${m[2]}`;
    }
    if (Object.keys(images).length !== 4) {
        throw new E2eError(`expected three images and the mirror on registry.e2e.invalid in e2e/stack.yaml, found ${Object.keys(images).length}`);
    }
    return images;
}

/** Runs `npm run preflight -- --json` in the project copy; returns the exit code and the report. */
function preflight(ctx: Ctx, args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number; report: Report; text: string } {
    const r = run("npm", ["run", "--silent", "preflight", "--", "--stack", STACK, "--json", ...args], {
        cwd: ctx.project,
        env: { ...ctx.engine.env, ...env },
        log: path.join(ctx.engine.logs, "preflight.log"),
        timeoutSec: 180,
    });
    let report: Report;
    try {
        report = JSON.parse(r.stdout) as Report;
    } catch {
        throw new E2eError(`npm run preflight printed no JSON report (exit ${String(r.status)}):\n${tail(`${r.stdout}\n${r.stderr}`)}`);
    }
    return { status: r.status ?? -1, report, text: report.checks.map((c) => `${c.id}: ${c.status}: ${c.detail}`).join("\n") };
}

/** Asserts exactly these checks failed (and preflight exited 1); returns their one-line details. */
function expectBlockers(what: string, r: ReturnType<typeof preflight>, ids: readonly string[]): string[] {
    const failed = r.report.checks.filter((c) => c.status === "fail").map((c) => c.id).sort();
    if (r.status !== 1 || failed.join(",") !== [...ids].sort().join(",")) {
        throw new E2eError(`${what}: expected exit 1 with ${ids.join(", ")} failing, got exit ${r.status} with ${failed.length > 0 ? failed.join(", ") : "none"} failing:\n${r.text}`);
    }
    return r.report.checks.filter((c) => c.status === "fail").map((c) => `${c.id}: ${c.detail.slice(0, 90)}`);
}

export const PREFLIGHT_STEPS: readonly PreflightStep[] = [
    {
        name: "npm run preflight before the first up: no blocker on the e2e cluster",
        run: (ctx) => {
            // What an ingress-nginx install registers; kwok's stage plays its controller.
            kubectl(ctx, ["apply", "-f", writeIngressClass(ctx)]);
            return withStandInRegistry(ctx, ({ host, ca }) => {
                const file = stackFileWith(ctx, "pass", onStandIn(host));
                const r = preflight(ctx, ["--config-file", file], { NODE_EXTRA_CA_CERTS: ca });
                const notPassing = r.report.checks.filter((c) => c.status !== "pass").map((c) => c.id);
                if (r.status !== 0 || r.report.blockers !== 0 || notPassing.some((id) => id !== "network-policy")) {
                    throw new E2eError(`preflight on the e2e cluster: expected exit 0 with every check passing but network-policy (no enforcing CNI here), got exit ${r.status}:\n${r.text}`);
                }
                const leftovers = kubectl(ctx, ["get", "namespaces", "-l", "app.kubernetes.io/managed-by=herd-preflight", "-o", "name"]).trim();
                const gone = leftovers === "" || kubectlJson<K8sList<{ status: { phase: string } }>>(ctx, ["get", "namespaces", "-l", "app.kubernetes.io/managed-by=herd-preflight"]).items.every((n) => n.status.phase === "Terminating");
                if (!gone) {
                    throw new E2eError(`preflight left its throwaway namespace behind: ${leftovers}`);
                }
                return `exit 0: ${r.report.checks.map((c) => `${c.id} ${c.status}`).join(", ")}`;
            });
        },
    },
    {
        name: "npm run preflight: each blocker fails on a real API server (exit 1, named)",
        run: (ctx) => {
            const lines: string[] = [];
            // The stack as it is: its registry does not resolve; a CSI driver that is not installed.
            const unreachable = stackFileWith(ctx, "unreachable", { "herd:storageProvisioner": "driver.longhorn.io", "herd:storageClass": "herd-longhorn" });
            lines.push(...expectBlockers("an unreachable registry and an unregistered CSI driver", preflight(ctx, ["--config-file", unreachable]), ["registry", "storage"]));
            kubectl(ctx, ["create", "namespace", "herd-foreign"]);
            kubectl(ctx, ["label", "namespace", "herd-foreign", "app.kubernetes.io/part-of=someone-else"]);
            try {
                withStandInRegistry(ctx, ({ host, ca }) => {
                    const foreign = stackFileWith(ctx, "foreign", {
                        ...onStandIn(host),
                        "herd:namespace": "herd-foreign",
                        "herd:storageProvisioner": undefined,
                        "herd:storageClass": "herd-missing",
                        "herd:ingressClass": "traefik",
                    });
                    lines.push(...expectBlockers("a foreign namespace, a missing StorageClass and IngressClass", preflight(ctx, ["--config-file", foreign], { NODE_EXTRA_CA_CERTS: ca }), ["namespace", "storage", "ingress"]));
                    const noVolumes = stackFileWith(ctx, "no-volumes", { ...onStandIn(host), "herd:storageClass": "herd-no-volumes" });
                    lines.push(...expectBlockers("no-provisioner without static volumes", preflight(ctx, ["--config-file", noVolumes], { NODE_EXTRA_CA_CERTS: ca }), ["storage"]));
                });
            } finally {
                kubectl(ctx, ["delete", "namespace", "herd-foreign", "--wait=false"]);
            }
            // Two clusters preflight must refuse, each a real API server beside the cluster's own on the same etcd:
            // Pod Security admission turned off, and a Kubernetes minor herd does not support (1.30).
            const clusterEnv = { ...process.env, HERD_E2E_DIR: path.join(ctx.engine.tmp, "cluster") };
            const other = (kind: string, what: string, check: string): void => {
                const cluster = (action: string) =>
                    must("bash", [path.join(PROJECT_DIR, "e2e", "cluster.sh"), `${kind}-apiserver`, action], {
                        env: clusterEnv,
                        log: path.join(ctx.engine.logs, "cluster.log"),
                        timeoutSec: 240,
                    });
                const kubeconfig = cluster("start").trim().split("\n").at(-1) ?? "";
                try {
                    withStandInRegistry(ctx, ({ host, ca }) => {
                        const file = stackFileWith(ctx, kind, onStandIn(host));
                        lines.push(...expectBlockers(what, preflight(ctx, ["--config-file", file, "--kubeconfig", kubeconfig], { NODE_EXTRA_CA_CERTS: ca }), [check]));
                    });
                } finally {
                    cluster("stop");
                }
            };
            other("no-psa", "Pod Security admission turned off (an API server started with --disable-admission-plugins PodSecurity)", "pod-security");
            other("old", "Kubernetes 1.30 (a real kube-apiserver v1.30, built from e2e/cluster/kubernetes-old)", "kubernetes-version");
            return lines.join("; ");
        },
    },
];

function writeIngressClass(ctx: Ctx): string {
    const file = path.join(ctx.tmp, "ingressclass-nginx.yaml");
    fs.writeFileSync(file, "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: nginx\nspec:\n  controller: k8s.io/ingress-nginx\n");
    return file;
}

interface PodJson {
    metadata: { name: string };
    spec: { initContainers?: { name: string }[]; containers: { name: string }[] };
}

export const SUPPORT_BUNDLE_STEP: PreflightStep = {
    name: "npm run support-bundle: logs and events of every pod, no secret value; a missing namespace refused",
    run: (ctx) => {
        const archive = path.join(ctx.tmp, "support.tar.gz");
        const containersOf = () =>
            kubectlJson<K8sList<PodJson>>(ctx, ["-n", "herd", "get", "pods"]).items.flatMap((p) =>
                [...(p.spec.initContainers ?? []), ...p.spec.containers].map((c) => `logs/${p.metadata.name}/${c.name}.log`),
            );
        const before = containersOf();
        must("npm", ["run", "--silent", "support-bundle", "--", "--stack", STACK, "--out", archive], {
            cwd: ctx.project,
            env: ctx.engine.env,
            log: path.join(ctx.engine.logs, "support-bundle.log"),
            timeoutSec: 300,
        });
        const dir = path.join(ctx.tmp, "support");
        fs.mkdirSync(dir, { recursive: true });
        must("tar", ["-xzf", archive, "-C", dir]);
        const [top] = fs.readdirSync(dir);
        const root = path.join(dir, top ?? "");
        const files = new Map<string, string>();
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) {
                    walk(p);
                } else {
                    files.set(path.relative(root, p), fs.readFileSync(p, "utf8"));
                }
            }
        };
        walk(root);
        const manifest = files.get("MANIFEST.txt") ?? "";
        const unlisted = [...files.keys()].filter((f) => f !== "MANIFEST.txt" && !manifest.includes(f));
        if (manifest === "" || unlisted.length > 0) {
            throw new E2eError(`the bundle's MANIFEST.txt ${manifest === "" ? "is missing" : `does not list ${unlisted.join(", ")}`}`);
        }
        const events = (files.get("events.txt") ?? "").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("LAST SEEN"));
        if (events.length === 0) {
            throw new E2eError("the bundle's events.txt holds no event");
        }
        // The containers there before and after the bundle (a CronJob may start a pod meanwhile).
        const after = new Set(containersOf());
        const containers = before.filter((c) => after.has(c));
        const missing = containers.filter((c) => !files.has(c));
        if (containers.length === 0 || missing.length > 0) {
            throw new E2eError(`the bundle lacks the logs of ${missing.length} of ${containers.length} containers: ${missing.slice(0, 5).join(", ")}`);
        }
        // Every secret of the stack's state, and every value of every Secret in the namespace, but the account and
        // database names the bundle keeps in clear (CLEAR_KEYS: herd writes them into pod specs too).
        const secrets = new Set<string>();
        secretPlaintexts(JSON.parse(pulumi(ctx, ["stack", "export", "--show-secrets", "--stack", STACK]).stdout) as unknown, secrets);
        const inCluster = kubectlJson<K8sList<{ data?: Record<string, string> }>>(ctx, ["-n", "herd", "get", "secrets"]).items;
        const clear = new Set<string>();
        for (const s of inCluster) {
            for (const [k, v] of Object.entries(s.data ?? {})) {
                const plain = Buffer.from(v, "base64").toString("utf8");
                if (CLEAR_KEYS.includes(k)) {
                    clear.add(plain);
                    continue;
                }
                if (plain.length >= MIN_SECRET_LENGTH) {
                    secrets.add(plain);
                }
                secrets.add(v);
            }
        }
        for (const c of clear) {
            secrets.delete(c);
        }
        for (const s of secrets) {
            for (const [f, text] of files) {
                if (text.includes(s)) {
                    throw new E2eError(`the support bundle's ${f} holds a secret value (${s.length} characters)`);
                }
            }
        }
        const logged = containers.filter((c) => !(files.get(c) ?? "").startsWith("(no log:")).length;
        // A namespace that is not there: refused in one line, nothing written.
        const absent = path.join(ctx.tmp, "preflight-absent.yaml");
        fs.writeFileSync(absent, fs.readFileSync(path.join(PROJECT_DIR, "e2e", "stack.yaml"), "utf8").replace(/^ {2}herd:namespace: .*$/m, "  herd:namespace: herd-absent"));
        const none = path.join(ctx.tmp, "absent.tar.gz");
        const r = run("npm", ["run", "--silent", "support-bundle", "--", "--stack", STACK, "--config-file", absent, "--out", none], { cwd: ctx.project, env: ctx.engine.env, timeoutSec: 120 });
        if (r.status !== 1 || !/namespace herd-absent .*does not exist/.test(r.stderr) || fs.existsSync(none)) {
            throw new E2eError(`support-bundle for a namespace that does not exist: expected exit 1 saying so and no archive, got exit ${String(r.status)}:\n${tail(r.stderr)}`);
        }
        return `${files.size} files, ${events.length} events, logs of ${containers.length} containers (${logged} with lines; kwok serves no container output), ${secrets.size} secret values, none in the bundle (${clear.size} account/database names kept); missing namespace refused`;
    },
};
