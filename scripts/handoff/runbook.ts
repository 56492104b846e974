/**
 * RUNBOOK.md: endpoints, how to fetch credentials (the commands, never the values), backups and restore, scaling,
 * upgrades, and what to check when something fails. One function per section, in the order they appear.
 */
import { connectSection, credentialsSection, endpointsSection } from "./runbook-access";
import { backupsSection } from "./runbook-backups";
import { cronInWords, runbookContext, type RunbookContext, type RunbookInput, type RunbookSection } from "./runbook-context";
import { scalingSection, troubleshootingSection, upgradesSection } from "./runbook-operations";
import { renderedSecretsSection, takeoverSection } from "./runbook-takeover";
import { str } from "./outputs";

export type { RunbookInput } from "./runbook-context";

/** The title, who the runbook is for, where it came from, and whether it was built offline. */
function introSection(c: RunbookContext): string[] {
    const { stack, input } = c;
    const lines = [
        `# herd runbook: stack \`${stack}\``,
        "",
        `This runbook is for the people who operate the herd deployment of stack \`${stack}\`: where it answers, how to`,
        "reach its data services, how backups work and how to restore one, how to scale and upgrade it, and what to check",
        "when something fails. It holds no secret: passwords stay in Kubernetes Secrets in the cluster and the cluster",
        "credentials stay with your cloud account or kubeconfig. Where you need a secret, this runbook gives the command",
        "that fetches it, never its value.",
        "",
        `Generated ${input.generatedAt} from ${input.source}.`,
        "",
    ];
    if (input.offline) {
        lines.push(
            "> **Built offline.** This bundle was built from the program and its stack file, without the deployed stack.",
            "> Names, ports, schedules and Secret names are the real ones; values that exist only after deployment (the",
            "> load balancer's address, the cluster endpoint, image digests, generated bucket suffixes) are shown as",
            "> `<computed:...>` placeholders.",
            `> Rebuild it where the Pulumi CLI can read the stack (\`npm run handoff -- --stack ${stack} --out <dir>\`) for the real values.`,
            "",
        );
    }
    return lines;
}

/** The files of the bundle. */
function bundleSection(c: RunbookContext): string[] {
    const lines = ["## What is in this bundle", "", "| file | what it is |", "|---|---|", "| `RUNBOOK.md` | this runbook |"];
    lines.push('| `outputs.json` | the stack outputs (`pulumi stack output --json`), every secret shown as `"[secret]"` |');
    if (c.input.hasManifests) {
        lines.push("| `manifests.yaml` | every Kubernetes object herd manages, Secret data redacted (a reference: the cluster is the truth) |");
    }
    lines.push("| `restore-postgres.sh` | restores a PostgreSQL backup into the running database (see Backups and restore) |");
    const t = c.input.transfer;
    if (t !== undefined) {
        lines.push(
            `| \`${t.stateFile}\` | the stack's state (\`pulumi stack export\`), its secrets encrypted for your key alone (see Take over the stack) |`,
            `| \`${t.configFile}\` | the stack's config file, its secure values encrypted for your key alone |`,
        );
    }
    lines.push("");
    return lines;
}

/** One table: platform, namespace, addresses, images, backups. */
function glanceSection(c: RunbookContext): string[] {
    const { platform, app, images, platformName, clusterName, region, retention } = c;
    const lines = ["## At a glance", "", "| | |", "|---|---|"];
    if (platformName === "aws") {
        lines.push(`| platform | AWS: EKS cluster \`${clusterName ?? "?"}\` in \`${region ?? "?"}\` |`);
    } else if (platformName === "gcp") {
        lines.push(`| platform | GCP: GKE cluster \`${clusterName ?? "?"}\` in \`${region ?? "?"}\`, project \`${str(platform["project"]) ?? "?"}\` |`);
    } else {
        lines.push(`| platform | your own cluster (kube context \`${str(platform["kubeContext"]) ?? "(ambient)"}\`) |`);
    }
    lines.push(`| namespace | \`${c.ns}\` (Pod Security \`restricted\`) |`);
    lines.push(`| the app | ${str(app["url"]) ?? "(see Endpoints)"} |`);
    lines.push(`| API, inside the cluster | ${str(app["apiInternalUrl"]) ?? "(not exported)"} |`);
    if (str(images["api"]) !== undefined || str(images["frontend"]) !== undefined) {
        lines.push(`| images | api \`${str(images["api"]) ?? "?"}\`, frontend \`${str(images["frontend"]) ?? "?"}\` |`);
    }
    lines.push(`| backups | PostgreSQL, ${cronInWords(c.schedule)} (cluster time, normally UTC)${retention === undefined ? "" : `, kept ${retention} days`} |`);
    lines.push("");
    return lines;
}

const SECTIONS: readonly RunbookSection[] = [
    introSection,
    bundleSection,
    takeoverSection,
    glanceSection,
    connectSection,
    endpointsSection,
    credentialsSection,
    backupsSection,
    scalingSection,
    upgradesSection,
    renderedSecretsSection,
    troubleshootingSection,
];

export function renderRunbook(input: RunbookInput): string {
    const context = runbookContext(input);
    return SECTIONS.flatMap((section) => section(context)).join("\n");
}
