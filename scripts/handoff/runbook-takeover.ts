/**
 * The runbook's sections on the customer taking the stack over: the step-by-step after `--transfer` (their backend,
 * their secrets, `pulumi preview` with no changes, `pulumi up`), and, for a stack that renders YAML to a directory,
 * where its Secrets are, how the customer creates them, and how they later move to running the stack themselves.
 * takeoverCommands() is also what e2e/steps.ts runs, so the runbook's commands are the ones proven.
 */
import { str } from "./outputs";
import { code, type RunbookContext, type TransferInfo } from "./runbook-context";
import { providerArg } from "./transfer-checks";

export type { TransferInfo } from "./runbook-context";

/** The pulumi commands of the take-over, in order, as argv (after `pulumi login`); `bundle` is the bundle's path. */
export function takeoverCommands(t: Pick<TransferInfo, "stackName" | "provider" | "stateFile">, bundle: string): string[][] {
    return [
        ["stack", "init", t.stackName, "--secrets-provider", providerArg(t.provider)],
        ["stack", "import", "--stack", t.stackName, "--file", `${bundle}/${t.stateFile}`],
        ["preview", "--stack", t.stackName, "--diff", "--expect-no-changes"],
        ["up", "--stack", t.stackName],
    ];
}

/** argv as a shell line: safe words as they are, `<placeholder>` paths as they are, anything else single-quoted. */
function shell(argv: readonly string[]): string {
    const plain = (a: string) => /^[\w@%+=:,./-]+$/.test(a) || /^<[\w-]+>(\/[\w.-]+)?$/.test(a);
    return argv.map((a) => (plain(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}

/** 0. Take over the stack: the bundle's state and config, re-keyed for the customer, and the steps to run it. */
export function takeoverSection(c: RunbookContext): string[] {
    const t = c.input.transfer;
    if (t === undefined) {
        return [];
    }
    const [init, imp, preview, up] = takeoverCommands(t, "<bundle>").map((argv) => `pulumi ${shell(argv)}`);
    const passphrase = t.provider.kind === "passphrase";
    const key = passphrase
        ? [
              "3. **Your passphrase.** The secrets in this bundle are encrypted with the passphrase you chose for the handoff, and",
              "   with nothing else: not the vendor's passphrase, not any key the vendor keeps. Give it to Pulumi the usual way:",
              "",
              code(["export PULUMI_CONFIG_PASSPHRASE_FILE=/path/to/your-passphrase-file   # or PULUMI_CONFIG_PASSPHRASE"], 3),
              "",
          ]
        : [
              `3. **Your key.** The secrets in this bundle are encrypted with your key \`${providerArg(t.provider)}\` and nothing else. Log in to`,
              "   its cloud (or Vault) so Pulumi can use it: the same credentials `pulumi` would need for any stack on that key.",
              "",
          ];
    return [
        "## 0. Take over the stack",
        "",
        `This bundle hands you stack \`${t.stackName}\` itself, for you to run \`pulumi up\` on your own machines, with your own`,
        "backend and your own secrets. It holds:",
        "",
        `- \`${t.stateFile}\`: the stack's state (\`pulumi stack export\`): every resource Pulumi manages, with its ${t.secretsRekeyed} secret`,
        "  values encrypted for you alone;",
        `- \`${t.configFile}\`: the stack's config file, its secure values encrypted for you alone.`,
        "",
        `You also need the herd program${t.commit === undefined ? "" : ` at commit \`${t.commit}\``} (the repository you were given), with its`,
        "dependencies installed (`npm ci`), and Pulumi's kubernetes, random and tls plugins (Pulumi installs them on the first",
        "`preview` when it can reach the internet; otherwise `pulumi plugin install`). Then, from the program's directory:",
        "",
        "1. **Your backend.** Log in to where you keep Pulumi state: a directory, an object store bucket, or Pulumi Cloud.",
        "",
        code(["pulumi login file:///srv/pulumi-state      # or s3://<bucket>, gs://<bucket>, azblob://<container>, https://api.pulumi.com"], 3),
        "",
        `2. **The stack's config file.** Copy it next to \`Pulumi.yaml\` (it replaces any \`${t.configFile}\` there):`,
        "",
        code([`cp <bundle>/${t.configFile} .`], 3),
        "",
        ...key,
        `4. **The stack.** Create it under the same name (the state's resource names carry it), then import the state:`,
        "",
        code([init, imp], 3),
        "",
        "5. **Check.** The preview must show no change: the stack, the cluster and your copy of the program agree.",
        "",
        code([preview], 3),
        "",
        "   A change here means the program or config differs from what was deployed: stop and compare before going on.",
        "6. **Run it.** From now on the stack is yours: change config and apply as usual.",
        "",
        code([up], 3),
        "",
        "The vendor's copy of the stack stays where it was; once you run it, agree with them that they stop running theirs",
        "(two backends applying to one cluster would undo each other's changes).",
        "",
    ];
}

/** Rendered YAML: where the Secrets are, how to create them, and how to move on to running the stack. */
export function renderedSecretsSection(c: RunbookContext): string[] {
    const { onprem, platform } = c;
    if (onprem?.renderDirectory === undefined && str(platform["renderDirectory"]) === undefined) {
        return [];
    }
    const dir = onprem?.renderDirectory ?? str(platform["renderDirectory"]) ?? "<renderDirectory>";
    const secretsDir = str(platform["secretsRenderDirectory"]) ?? `${dir.replace(/\/+$/, "")}.secrets`;
    return [
        "## Rendered YAML: the Secrets, and running the stack yourself later",
        "",
        `This stack does not talk to a cluster: \`pulumi up\` writes every object as YAML to \`${dir}\`, and every Kubernetes`,
        `Secret, with its values in plaintext, to the separate directory \`${secretsDir}\` (relative to the program's directory`,
        "where `pulumi up` ran). Nothing in this bundle holds a Secret's value: `manifests.yaml` shows the Secrets with",
        "their data redacted, so you can see their names and keys.",
        "",
        "**Creating the Secrets.** The values in that directory belong together (the passwords the services are configured",
        "with, and the certificates signed by the stack's own CA), so create them from that directory, not by hand:",
        "",
        `1. Move \`${secretsDir}\` to a machine that can reach your cluster only over a channel fit for secrets`,
        "   (never in the same archive or e-mail as the manifests, never into version control).",
        "2. Apply the objects first (they create the namespace), then the Secrets; a pod that needs a Secret waits for it",
        "   (`CreateContainerConfigError`) and starts once it exists:",
        "",
        code([`kubectl apply -R -f ${dir}`, `kubectl apply -R -f ${secretsDir}`], 3),
        "",
        `3. Delete your copy of \`${secretsDir}\` once applied: the cluster holds the Secrets from then on.`,
        "",
        "**Running the stack yourself, later.** To stop receiving YAML and run `pulumi up` against your cluster instead:",
        "",
        `1. Ask for the stack itself (\`npm run handoff -- --stack ${c.stack} --transfer --out <dir>\`, with the passphrase or key`,
        "   you choose): its state holds the generated passwords and certificates, so `pulumi up` keeps the values your",
        "   Secrets already have. Take it over as that bundle's RUNBOOK says (log in, copy the config file, `pulumi stack",
        "   init`, `pulumi stack import`).",
        "2. Point the stack at your cluster instead of the directory:",
        "",
        code(
            [
                `pulumi config rm --stack ${c.stack} herd:renderDirectory`,
                `pulumi config set --stack ${c.stack} herd:kubeContext <your-context>      # or: pulumi config set --secret herd:kubeconfig`,
            ],
            3,
        ),
        "",
        "3. Preview, then apply. The objects already exist in your cluster (you applied them with kubectl), so let the",
        "   provider adopt them rather than fail on `AlreadyExists` for that one run:",
        "",
        code([`pulumi preview --stack ${c.stack} --diff`, `PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true pulumi up --stack ${c.stack}`], 3),
        "",
        "   After that run, `pulumi preview` shows no changes and the stack is managed like any other; stop applying",
        "   rendered YAML.",
        "",
    ];
}
