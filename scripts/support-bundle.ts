/**
 * npm run --silent support-bundle -- --stack <name> [--out <file.tar.gz>] [--tail <lines>] [--kubeconfig <file>] [--context <name>] [--kubectl <path>]
 *
 * Collects, through the operator's kubectl, what herd's maintainers need to help with an onprem stack, in one archive
 * the customer can read before sending: events, pods (status, described), workloads, claims, recent logs of every
 * container (the previous run's too when it restarted), Secret names and key names, the preflight report and herd's
 * version and commit, listed in MANIFEST.txt. Every value of every Secret in herd's namespace is read (never written)
 * and replaced by [REDACTED] in every file before anything is written (account and database names excepted:
 * scripts/preflight/redact.ts says why); the archive is checked for them again.
 *
 * Exit 0 when the archive is written; 1 on an error (nothing written; e.g. the namespace does not exist); 2 on a
 * usage error.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkOutDir, CliError, CliIo, parseCli, PROCESS_IO, runCli, UsageError, userPath } from "./cli";
import type { PreflightTarget } from "./preflight/checks";
import { firstLine, getJson, Kube, KubeList, ObjectMeta } from "./preflight/kube";
import { CLEAR_KEYS, leaks, MIN_SECRET_LENGTH, redact, REDACTED, secretValues } from "./preflight/redact";
import type { PreflightReport } from "./preflight/report";
import { TARGET_CLI_OPTIONS } from "./preflight/target";
import { tarGz } from "./preflight/tar";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const DEFAULT_TAIL = 2000;

export const USAGE = `usage: npm run --silent support-bundle -- --stack <name> [--out <file.tar.gz>] [--tail <lines>] [--kubeconfig <file>] [--context <name>] [--kubectl <path>] [--config-file <path>]

Collects events, pod status, workloads, claims and recent logs of every container (previous runs too) in the stack's
namespace, the preflight report and herd's version into one .tar.gz with a MANIFEST.txt, for the customer to read
and send. Every value of every Secret in the namespace is replaced by ${REDACTED} before anything is written
(except the values of ${CLEAR_KEYS.join(" and ")}: account and database names, not credentials).

  --stack <name>         the stack (Pulumi.<name>.yaml); an onprem stack
  --out <file>           the archive (default: herd-support-<stack>-<UTC time>.tar.gz where you run the command)
  --tail <lines>         log lines per container (default ${DEFAULT_TAIL})
  --kubeconfig <file>    the cluster's kubeconfig (default: the stack's herd:kubeconfig through \`pulumi config get\`,
                         else kubectl's own), as for preflight
  --context <name>       a context of that kubeconfig (default: herd:kubeContext, else the current context)
  --kubectl <path>       the kubectl to use (default: kubectl on PATH)
  --config-file <path>   read this stack file instead of Pulumi.<stack>.yaml
  -h, --help             this text`;

interface PodJson {
    readonly metadata: ObjectMeta;
    readonly spec: { readonly initContainers?: readonly { readonly name: string }[]; readonly containers: readonly { readonly name: string }[] };
    readonly status?: {
        readonly initContainerStatuses?: readonly ContainerStatus[];
        readonly containerStatuses?: readonly ContainerStatus[];
    };
}
interface ContainerStatus {
    readonly name: string;
    readonly restartCount?: number;
    readonly lastState?: { readonly terminated?: unknown };
}

export interface BundleFile {
    readonly name: string;
    readonly content: string;
    /** One line for MANIFEST.txt. */
    readonly what: string;
}

export interface BundleInput {
    readonly kube: Kube;
    readonly target: PreflightTarget;
    readonly tail?: number;
    /** Runs preflight (the report goes into the bundle). */
    readonly preflight: () => Promise<PreflightReport>;
    readonly now?: Date;
    /** herd's version and commit, for MANIFEST.txt. Default: package.json's version and `git rev-parse HEAD`. */
    readonly herdVersion?: string;
}

export interface Bundle {
    /** Archive paths, under one top directory. */
    readonly files: readonly BundleFile[];
    readonly top: string;
    readonly secrets: number;
    readonly replaced: number;
    readonly containers: number;
}

/** package.json's version and the git commit of the checkout (with "+changes" when the tree differs from it). */
export function herdVersion(projectDir: string = PROJECT_DIR): string {
    const pkg = JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8")) as { version?: string };
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: projectDir, encoding: "utf8" });
    const commit = head.status === 0 ? head.stdout.trim() : "unknown (not a git checkout)";
    const dirty = head.status === 0 && spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: projectDir, encoding: "utf8" }).stdout.trim() !== "";
    return `herd ${pkg.version ?? "unknown"}, commit ${commit}${dirty ? " +local changes" : ""}`;
}

function stamp(d: Date): string {
    return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

/** Collects, redacts and checks every file of the bundle; throws CliError (nothing collected) on a blocker. */
export async function collectBundle(input: BundleInput): Promise<Bundle> {
    const { kube, target } = input;
    const ns = target.namespace;
    const now = input.now ?? new Date();
    const nsGot = getJson<{ readonly metadata: ObjectMeta }>(kube, ["get", "namespace", ns]);
    if (nsGot.kind === "absent") {
        throw new CliError(
            `namespace ${ns} (herd:namespace of stack ${target.stack}) does not exist on the cluster (${kube.describe}): nothing to collect; check --context, or run pulumi up first`,
        );
    }
    if (nsGot.kind !== "found") {
        throw new CliError(`cannot read namespace ${ns} through ${kube.describe}: ${nsGot.message}`);
    }
    // The Secrets are read first: without their values nothing can be redacted, so nothing is collected.
    const secretList = getJson<KubeList<{ readonly metadata: { readonly name: string }; readonly type?: string; readonly data?: Record<string, string> }>>(kube, [
        "-n",
        ns,
        "get",
        "secrets",
    ]);
    if (secretList.kind !== "found") {
        throw new CliError(
            `cannot read the Secrets in ${ns} (${secretList.kind === "absent" ? "not found" : secretList.message}): the bundle redacts their values, so it needs them; run it as someone who may read Secrets there`,
        );
    }
    const secrets = secretValues(secretList.value);

    const files: BundleFile[] = [];
    const capture = (name: string, what: string, args: readonly string[]) => {
        const r = kube.run(args);
        // kubectl says "No resources found" on stderr and prints nothing: keep its words rather than an empty file.
        const content =
            r.status !== 0 ? `$ kubectl ${args.join(" ")}\nfailed (exit ${r.status}): ${r.stderr.trim()}\n${r.stdout}` : r.stdout.trim() === "" ? `${r.stderr.trim()}\n` : r.stdout;
        files.push({ name, content, what });
    };
    const workloads = "deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,horizontalpodautoscalers,poddisruptionbudgets,services,ingresses,networkpolicies";
    capture("events.txt", "events, oldest first (kubectl get events -o wide)", ["-n", ns, "get", "events", "--sort-by=.lastTimestamp", "-o", "wide"]);
    capture("events.yaml", "events in full", ["-n", ns, "get", "events", "-o", "yaml"]);
    capture("pods.txt", "pods: status, restarts, node (kubectl get pods -o wide)", ["-n", ns, "get", "pods", "-o", "wide"]);
    capture("pods.yaml", "pods in full: spec and status (Secret data is never in a pod)", ["-n", ns, "get", "pods", "-o", "yaml"]);
    capture("describe-pods.txt", "kubectl describe pods: conditions, container states, recent events per pod", ["-n", ns, "describe", "pods"]);
    capture("workloads.txt", "Deployments, StatefulSets, Jobs, CronJobs, HPAs, PDBs, Services, Ingresses, NetworkPolicies", ["-n", ns, "get", workloads, "-o", "wide"]);
    capture("workloads.yaml", "the same in full", ["-n", ns, "get", workloads, "-o", "yaml"]);
    capture("pvcs.txt", "PersistentVolumeClaims (kubectl get pvc -o wide)", ["-n", ns, "get", "persistentvolumeclaims", "-o", "wide"]);
    capture("pvcs.yaml", "PersistentVolumeClaims in full", ["-n", ns, "get", "persistentvolumeclaims", "-o", "yaml"]);
    files.push({
        name: "secrets.txt",
        content: `# Secrets in ${ns}: name, type and key names only; no value is in this bundle.\n${secrets.summary.join("\n")}\n`,
        what: "Secret names, types and key names (no values)",
    });

    const tail = input.tail ?? DEFAULT_TAIL;
    const pods = getJson<KubeList<PodJson>>(kube, ["-n", ns, "get", "pods"]);
    let containers = 0;
    if (pods.kind === "found") {
        for (const pod of pods.value.items) {
            const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
            for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
                containers++;
                const base = `logs/${pod.metadata.name}/${c.name}`;
                const args = ["-n", ns, "logs", pod.metadata.name, "-c", c.name, `--tail=${tail}`, "--timestamps"];
                const r = kube.run(args);
                files.push({
                    name: `${base}.log`,
                    content: r.status === 0 ? r.stdout : `(no log: kubectl logs answered: ${firstLine(r.stderr)})\n`,
                    what: `${pod.metadata.name}/${c.name}: the last ${tail} lines`,
                });
                const s = statuses.find((x) => x.name === c.name);
                if ((s?.restartCount ?? 0) > 0 || s?.lastState?.terminated !== undefined) {
                    const p = kube.run([...args, "--previous"]);
                    files.push({
                        name: `${base}.previous.log`,
                        content: p.status === 0 ? p.stdout : `(no log: kubectl logs --previous answered: ${firstLine(p.stderr)})\n`,
                        what: `${pod.metadata.name}/${c.name}: the previous run (restarted ${s?.restartCount ?? 0} times)`,
                    });
                }
            }
        }
    } else {
        files.push({ name: "logs/ERROR.txt", content: `cannot list pods: ${pods.kind === "absent" ? "not found" : pods.message}\n`, what: "why there are no logs" });
    }

    const { renderTable } = await import("./preflight/report");
    try {
        files.push({ name: "preflight.txt", content: renderTable(await input.preflight()), what: "npm run preflight's report for this cluster, now" });
    } catch (err) {
        files.push({ name: "preflight.txt", content: `preflight could not run: ${(err as Error).message}\n`, what: "npm run preflight's report (failed)" });
    }

    let replaced = 0;
    const clean = files.map((f) => {
        const r = redact(f.content, secrets.needles);
        replaced += r.replaced;
        return { ...f, content: r.text };
    });
    const top = `herd-support-${target.stack}-${stamp(now)}`;
    const manifest = [
        `herd support bundle: stack ${target.stack}, namespace ${ns}`,
        `collected ${now.toISOString()} through kubectl (${kube.describe})`,
        input.herdVersion ?? herdVersion(),
        `redaction: every value of the ${secretList.value.items.length} Secret(s) in ${ns} (${secrets.values} values) replaced by ${REDACTED}, ${replaced} time(s) in all` +
            (secrets.clear > 0 ? `; kept in clear: ${secrets.clear} value(s) of the keys ${CLEAR_KEYS.join(" and ")} (account and database names, as in herd's pod specs)` : "") +
            (secrets.tooShort > 0 ? `; ${secrets.tooShort} value(s) shorter than ${MIN_SECRET_LENGTH} characters were not searched for` : ""),
        "",
        "files:",
        ...clean.map((f) => `  ${f.name.padEnd(48)} ${String(Buffer.byteLength(f.content)).padStart(9)} bytes  ${f.what}`),
        "",
    ].join("\n");
    const all = [{ name: "MANIFEST.txt", content: redact(manifest, secrets.needles).text, what: "this list" }, ...clean];
    const leaked = leaks(Object.fromEntries(all.map((f) => [f.name, f.content])), secrets.needles);
    if (leaked.length > 0) {
        throw new CliError(`refusing to write the bundle: a Secret value is still in ${leaked.join(", ")} (a herd bug)`);
    }
    return { files: all.map((f) => ({ ...f, name: `${top}/${f.name}` })), top, secrets: secrets.values, replaced, containers };
}

/** Writes the archive whole or not at all (a temporary name, renamed into place). */
export function writeArchive(file: string, bundle: Bundle, now: Date): void {
    checkOutDir("--out", path.dirname(file));
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
        throw new CliError(`--out ${file}: is a directory; name the archive file (e.g. ${path.join(file, `${bundle.top}.tar.gz`)})`);
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.tmp-${process.pid}`;
    try {
        fs.writeFileSync(temp, tarGz(bundle.files, now), { mode: 0o600 });
        fs.renameSync(temp, file);
    } catch (err) {
        fs.rmSync(temp, { force: true });
        throw new CliError(`--out ${file}: cannot write: ${(err as Error).message}`);
    }
}

/** The command; tests run it in-process through runMain(USAGE, () => main(argv, io), io). */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
    const args = parseCli(
        argv,
        { ...TARGET_CLI_OPTIONS, out: { type: "string" }, tail: { type: "string" } },
        ["stack"],
    );
    const tailText = args.tail ?? String(DEFAULT_TAIL);
    if (!/^[1-9]\d{0,6}$/.test(tailText)) {
        throw new UsageError(`--tail: expected a whole number of log lines from 1 to 9999999, got ${JSON.stringify(tailText)}`);
    }
    const stack = args.stack ?? "";
    const now = new Date();
    const out = userPath(args.out ?? `herd-support-${stack.replace(/[^A-Za-z0-9._-]/g, "_")}-${stamp(now)}.tar.gz`);
    if (!out.endsWith(".tar.gz") && !out.endsWith(".tgz")) {
        throw new UsageError(`--out: expected a file name ending in .tar.gz or .tgz, got ${args.out ?? out}`);
    }
    checkOutDir("--out", path.dirname(out));
    const { connect } = await import("./preflight/target");
    const { runPreflight } = await import("./preflight/report");
    const { resolved, kube } = await connect(args);
    try {
        const bundle = await collectBundle({ kube, target: resolved.target, tail: Number(tailText), now, preflight: () => runPreflight(kube, resolved.target) });
        writeArchive(out, bundle, now);
        io.stderr(
            `herd support-bundle --stack ${stack}: ${bundle.files.length} files (${bundle.containers} containers' logs) -> ${out}; ${bundle.secrets} Secret value(s) redacted (${bundle.replaced} occurrence(s)). Read MANIFEST.txt before sending it.\n`,
        );
        return 0;
    } finally {
        resolved.cleanup();
    }
}

if (require.main === module) {
    runCli(USAGE, () => main(process.argv.slice(2)));
}
