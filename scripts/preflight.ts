/**
 * npm run --silent preflight -- --stack <name> [--json] [--kubeconfig <file>] [--context <name>] [--kubectl <path>]
 *
 * Checks a customer's cluster before `pulumi up` of an onprem stack, through the operator's kubectl, and prints one
 * row per check (pass / warn / fail): the Kubernetes version, the StorageClass or CSI driver, the ingress class or a
 * LoadBalancer implementation, Pod Security admission, the namespace, the registry, NetworkPolicy enforcement.
 * It creates nothing that stays: the Pod Security probe is a server-side dry run (in a throwaway namespace it deletes
 * when herd's own is not there yet).
 *
 * Exit 0 when no check fails (warnings allowed), 1 on a blocker or an error, 2 on a usage error.
 */
import { CliIo, parseCli, PROCESS_IO, runCli } from "./cli";
import { renderJson, renderTable, runPreflight } from "./preflight/report";
import { connect, TARGET_CLI_OPTIONS } from "./preflight/target";
import { SUPPORTED_RANGE_TEXT } from "./preflight/checks";

export const USAGE = `usage: npm run --silent preflight -- --stack <name> [--json] [--kubeconfig <file>] [--context <name>] [--kubectl <path>] [--config-file <path>]

Checks the cluster an onprem stack deploys to before pulumi up, through your kubectl, and prints a report:
  Kubernetes version (herd supports ${SUPPORTED_RANGE_TEXT}), the StorageClass (or, when herd creates it, its CSI
  driver), the ingress class (herd:ingressClass) or a LoadBalancer implementation, Pod Security admission (a
  server-side dry run of a privileged pod must be refused), the namespace (absent or herd's), the registry (HTTPS
  GET /v2/ from this machine, not from the nodes), and NetworkPolicy enforcement (best effort: a known CNI).
Exit 0: no blocker (warnings allowed); 1: a blocker or an error; 2: bad usage.

  --stack <name>         the stack (Pulumi.<name>.yaml)
  --json                 print the report as JSON
  --kubeconfig <file>    the cluster's kubeconfig. Default: the stack's herd:kubeconfig (a secret: read with
                         \`pulumi config get\` when the Pulumi CLI is on PATH and can decrypt it; otherwise give this
                         flag), else kubectl's own (KUBECONFIG or ~/.kube/config), as pulumi up would
  --context <name>       a context of that kubeconfig (default: herd:kubeContext, else the current context)
  --kubectl <path>       the kubectl to use (default: kubectl on PATH)
  --config-file <path>   read this stack file instead of Pulumi.<stack>.yaml
  -h, --help             this text

A registry with a private CA: NODE_EXTRA_CA_CERTS=<ca.pem> npm run --silent preflight -- ...`;

/** The command; tests run it in-process through runMain(USAGE, () => main(argv, io), io). */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
    const args = parseCli(
        argv,
        { ...TARGET_CLI_OPTIONS, json: { type: "boolean" } },
        ["stack"],
    );
    const { resolved, kube } = await connect(args);
    try {
        const report = await runPreflight(kube, resolved.target);
        io.stdout(args.json === true ? renderJson(report) : renderTable(report));
        return report.blockers > 0 ? 1 : 0;
    } finally {
        resolved.cleanup();
    }
}

if (require.main === module) {
    runCli(USAGE, () => main(process.argv.slice(2)));
}
