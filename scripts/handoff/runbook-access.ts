/** The runbook's sections on reaching the deployment: the cluster, the endpoints, the data services' credentials. */
import { ELASTIC_HTTP_CA_FILE } from "../../components/elastic-settings";
import { REDIS_TLS_DIR } from "../../components/redis-settings";
import { str, type DataService } from "./outputs";
import { code, type RunbookContext } from "./runbook-context";

/** `{.data.<key>}` for kubectl's jsonpath, with dots in the key escaped. */
function jsonpathData(key: string): string {
    return `{.data.${key.replace(/\./g, "\\.")}}`;
}

/** 1. How to get a kubeconfig for the cluster. */
export function connectSection(c: RunbookContext): string[] {
    const { platform, platformName, clusterName, region } = c;
    const lines = ["## 1. Connect to the cluster", ""];
    if (platformName === "aws") {
        lines.push(
            "Your AWS identity needs an EKS access entry on the cluster (the identity that created it has one). Then:",
            "",
            code([`aws eks update-kubeconfig --region ${region ?? "<region>"} --name ${clusterName ?? "<cluster>"}`]),
            "",
        );
    } else if (platformName === "gcp") {
        lines.push(
            "Your Google identity needs `roles/container.developer` (or more) on the project, and `gke-gcloud-auth-plugin` installed. Then:",
            "",
            code([
                `gcloud container clusters get-credentials ${clusterName ?? "<cluster>"} --region ${region ?? "<region>"} --project ${str(platform["project"]) ?? "<project>"}`,
            ]),
            "",
        );
    } else {
        lines.push(
            `herd deploys into the cluster your kubeconfig points at (context \`${str(platform["kubeContext"]) ?? "(ambient)"}\`); use the same kubeconfig.`,
            "",
        );
    }
    if (platformName === "aws" || platformName === "gcp") {
        lines.push(
            "The Kubernetes API endpoint is reachable only from the networks listed in `herd:apiAccessCidrs` (private when",
            "that list is empty): run kubectl from there, or through your VPN. The stack output `platform.kubeconfig` is a",
            "secret; the command above writes an equivalent kubeconfig without anyone handling it.",
            "",
        );
    }
    lines.push("Every command below names the namespace explicitly:", "", code([`${c.k} get pods`]), "");
    return lines;
}

/** 2. The app, the API inside the cluster, and a table of the data services. */
export function endpointsSection(c: RunbookContext): string[] {
    const { app, config, platform } = c;
    const lines = ["## 2. Endpoints", "", `- **The app:** ${str(app["url"]) ?? "the front end's address"}.`];
    // aws and gcp with a host name: HTTPS at the cloud's load balancer, and the platform says who writes the DNS.
    const https = platform["https"];
    const dns = typeof https === "object" && https !== null ? str((https as Record<string, unknown>)["dns"]) : undefined;
    if (dns !== undefined) {
        lines.push(`  HTTPS with a certificate the cloud manages (plain HTTP redirects to it). DNS: ${dns}. The load balancer:`);
    } else if (config?.app.publicHostname !== undefined) {
        lines.push(`  Point DNS for \`${config.app.publicHostname}\` at the address the ingress or load balancer reports:`);
    } else {
        lines.push("  The address is the one the ingress or load balancer reports:");
    }
    lines.push("", code([`${c.k} get ingress,service frontend`], 2), "");
    lines.push(
        `- **The API inside the cluster:** ${str(app["apiInternalUrl"]) ?? "the \`api\` Service"}. It is not exposed outside`,
        "  the cluster: the front end's nginx forwards `/api` to it, and NetworkPolicies admit only the front end's pods.",
        "- **Data services** (reachable only from the API's pods):",
        "",
        "| service | host | port | credentials Secret | password key |",
        "|---|---|---|---|---|",
    );
    for (const s of c.services) {
        lines.push(`| ${s.title} | \`${s.host ?? "?"}\` | ${s.port ?? "?"} | \`${s.secretName ?? "?"}\` | \`${s.passwordKey ?? "?"}\` |`);
    }
    lines.push("");
    return lines;
}

/** One data service's credentials: who it is, the command that fetches its password, and one that uses it unseen. */
function serviceCredentials(c: RunbookContext, s: DataService): string[] {
    const { k, postgresData, elasticData } = c;
    const detail =
        s.key === "postgres"
            ? ` (user \`${str(postgresData["user"]) ?? "?"}\`, database \`${str(postgresData["database"]) ?? "?"}\`)`
            : s.key === "elasticsearch"
              ? ` (user \`${str(elasticData["username"]) ?? "elastic"}\`, ${str(elasticData["url"]) ?? "HTTP on port 9200"})`
              : "";
    const fetch =
        s.secretName !== undefined && s.passwordKey !== undefined
            ? `${k} get secret ${s.secretName} -o jsonpath='${jsonpathData(s.passwordKey)}' | base64 -d; echo`
            : `${k} get secret <secret> -o jsonpath='{.data.<key>}' | base64 -d; echo   # names: outputs.json, data.${s.key}`;
    const use =
        s.key === "postgres"
            ? `${k} exec -it ${s.workload}-0 -c ${s.container} -- sh -c 'exec psql -d "$PGDATABASE"'   # a psql session, no password handled`
            : s.key === "redis"
              ? `${k} exec -it ${s.workload}-0 -c ${s.container} -- redis-cli --tls --cacert ${REDIS_TLS_DIR}/ca.crt -h 127.0.0.1   # TLS only; authenticates from REDISCLI_AUTH`
              : `${k} exec ${s.workload}-0 -c ${s.container} -- sh -c 'printf "user = \\"elastic:%s\\"\\n" "$ELASTIC_PASSWORD" | curl -s --cacert ${ELASTIC_HTTP_CA_FILE} -K - "https://127.0.0.1:9200/_cluster/health?pretty"'`;
    return [`**${s.title}**${detail}`, "", code([fetch, use]), ""];
}

/** The app's admin sign-in (components/api-auth.ts): where its generated password is, and how to rotate it. */
function adminCredentials(c: RunbookContext): string[] {
    const { k, app } = c;
    const user = str(app["adminUsername"]) ?? c.config?.app.auth.adminUsername ?? "admin";
    const secret = str(app["adminSecretName"]) ?? "api-auth";
    return [
        `**The app's admin sign-in** (user \`${user}\`: adding and deleting items${c.config?.app.auth.readsRequireSignIn === true ? ", and reading them" : ""})`,
        "",
        code([
            `pulumi stack output --stack ${c.stack} --show-secrets app   # adminPassword`,
            `${k} get secret ${secret} -o jsonpath='${jsonpathData("password")}' | base64 -d; echo`,
        ]),
        "",
        "A new password: the old one stops working once the API has rolled (it rolls by itself). Sessions signed in",
        "before stay until they expire; replace `api-auth-session-secret` the same way to sign everyone out.",
        "",
        code([`pulumi up --stack ${c.stack} --replace "$(pulumi stack --stack ${c.stack} --show-urns | grep -o 'urn:pulumi:[^ ]*RandomPassword::api-auth-password')"`]),
        "",
    ];
}

/** 3. Where each password lives and how to use it without showing it. */
export function credentialsSection(c: RunbookContext): string[] {
    const { k, postgres } = c;
    return [
        "## 3. Credentials",
        "",
        `Each data service's password is generated at install time and kept in a Kubernetes Secret in \`${c.ns}\`. Reading`,
        "one prints it to your terminal, so do it only where that is acceptable, and prefer the in-pod commands below,",
        "which use the password without showing it.",
        "",
        ...adminCredentials(c),
        ...c.services.flatMap((s) => serviceCredentials(c, s)),
        "To reach a service from your workstation, forward its port and use the password from the Secret, e.g.",
        `\`${k} port-forward svc/${postgres.workload} ${postgres.port ?? "5432"}:${postgres.port ?? "5432"}\`.`,
        "",
    ];
}
