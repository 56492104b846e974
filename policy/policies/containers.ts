/**
 * Rules about what every container declares: resources, a readiness probe where traffic is routed, pinned images,
 * and credentials only by reference.
 */
import type { ResourceRule } from "./define";
import { containersOf, describe, isKind, isWorkload, LONG_RUNNING_KINDS, PodTemplate, podTemplate } from "./k8s";
import { at, known, Props, records, text } from "./values";

function templateOf(type: string, props: Props): PodTemplate {
    // appliesTo guarantees a workload type.
    return podTemplate(type, props) as PodTemplate;
}

/** A resource quantity that is present and not zero. */
function quantitySet(v: unknown): boolean {
    if (typeof v === "number") {
        return v > 0;
    }
    return typeof v === "string" && v.trim() !== "" && !/^[+]?0*(\.0*)?([a-zA-Z]+)?$/.test(v.trim());
}

const REQUIRED_RESOURCES: readonly (readonly [string, string])[] = [
    ["requests", "cpu"],
    ["requests", "memory"],
    ["limits", "memory"],
];

export const containerResources: ResourceRule = {
    kind: "resource",
    name: "container-resources",
    description:
        "Every container and init container requests CPU and memory and has a memory limit, so the scheduler places it " +
        "where it fits and a leak is OOM-killed in its own container instead of starving the node.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every container, init " +
        "containers included (resourceRequirements() in components/pod-security.ts sets all three).",
    appliesTo: isWorkload,
    check: (r) =>
        containersOf(templateOf(r.type, r.props)).flatMap((c) =>
            REQUIRED_RESOURCES.filter(([section, resource]) => !quantitySet(at(c.container, "resources", section, resource))).map(
                ([section, resource]) =>
                    `${describe(r.type, r.props, r.name)}: ${c.label}: ${c.path}.resources.${section}.${resource} is not set: set it to a non-zero quantity (e.g. ${resource === "cpu" ? '"100m"' : '"256Mi"'})`,
            ),
        ),
};

const PROBE_GROUPS = ["core", "apps", "extensions"];

export const readinessProbe: ResourceRule = {
    kind: "resource",
    name: "readiness-probe",
    description:
        "Every container of a long-running workload (Deployment, StatefulSet, DaemonSet, ReplicaSet) has a readiness " +
        "probe, so it receives traffic, counts as available to a rollout and to its PodDisruptionBudget only once it " +
        "can serve. Jobs, CronJobs and init containers are not probed.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediation:
        "Add readinessProbe to each container: an httpGet on a health endpoint that checks what the process needs to " +
        "serve, or an exec command that asks the server itself (see the data components).",
    appliesTo: (type) => isKind(type, LONG_RUNNING_KINDS, PROBE_GROUPS),
    check: (r) =>
        containersOf(templateOf(r.type, r.props), ["containers"])
            .filter((c) => c.container["readinessProbe"] === undefined || c.container["readinessProbe"] === null)
            .map((c) => `${describe(r.type, r.props, r.name)}: ${c.label}: ${c.path}.readinessProbe is not set: add one that succeeds only when the container can serve`),
};

/**
 * Why an image reference is not pinned, or undefined when it is: pinned by digest (`repo@sha256:<hex>`), or by a
 * tag other than `latest`. A registry port (`host:5000/app`) is not a tag.
 */
export function imageProblem(image: string): string | undefined {
    const ref = image.trim();
    if (ref === "") {
        return "is empty";
    }
    const at = ref.indexOf("@");
    if (at !== -1) {
        return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/.test(ref.slice(at + 1)) ? undefined : "has a malformed digest";
    }
    const last = ref.slice(ref.lastIndexOf("/") + 1);
    const colon = last.lastIndexOf(":");
    if (colon === -1) {
        return "has no tag, which means :latest";
    }
    const tag = last.slice(colon + 1);
    if (tag === "latest") {
        return "uses the moving tag :latest";
    }
    return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag) ? undefined : `has an invalid tag ${JSON.stringify(tag)}`;
}

export const imagePinned: ResourceRule = {
    kind: "resource",
    name: "image-pinned",
    description:
        "Every container and init container image is pinned by a digest or a version tag: never `latest`, never " +
        "untagged, so a restart cannot silently run different code than what was reviewed.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Reference images as repo@sha256:<digest> (what herd deploys for the images it builds) or repo:<version> " +
        "(e.g. postgres:16.9-bookworm); for onprem prebuilt images set herd:apiImage/herd:frontendImage to pinned refs.",
    appliesTo: isWorkload,
    check: (r) =>
        containersOf(templateOf(r.type, r.props), ["containers", "initContainers", "ephemeralContainers"]).flatMap((c) => {
            const image = text(c.container["image"]);
            const problem = image === undefined ? "is not set" : imageProblem(image);
            return problem === undefined
                ? []
                : [`${describe(r.type, r.props, r.name)}: ${c.label}: image ${image === undefined ? "" : `${JSON.stringify(image)} `}${problem}: pin it to a version tag or a digest (repo@sha256:...)`];
        }),
};

/** Parts of a name that always mean a secret, wherever they appear (PGPASSWORD, CLIENTSECRET, GITHUB_TOKEN). */
const SECRET_FRAGMENTS = ["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE"];
/** Words that mean a secret only as a whole word (API_KEY, AWS_ACCESS_KEY_ID, DB_PASS; not MONKEY or KEYCLOAK_URL). */
const SECRET_WORDS = ["KEY", "KEYS", "APIKEY", "ACCESSKEY", "PASS", "CREDS", "PWD"];

/** Whether an env var's name says it holds a secret. */
export function secretLikeName(name: string): boolean {
    const upper = name.toUpperCase();
    if (SECRET_FRAGMENTS.some((f) => upper.includes(f))) {
        return true;
    }
    // Words split on separators and on camelCase boundaries: apiKey -> API, KEY.
    const words = name
        .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
        .toUpperCase()
        .split(/[^A-Z0-9]+/)
        .filter((w) => w !== "");
    return words.some((w) => SECRET_WORDS.includes(w)) && upper !== "PWD";
}

/** A literal URL that carries a password (`scheme://user:password@host`). */
export function urlWithCredentials(value: string): boolean {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i.test(value.trim());
}

export const noLiteralSecretEnv: ResourceRule = {
    kind: "resource",
    name: "no-literal-secret-env",
    description:
        "An environment variable whose name says it holds a secret (PASSWORD, SECRET, TOKEN, CREDENTIAL, PRIVATE, KEY as " +
        "a word, ...) takes its value from a Secret (valueFrom), never a literal: a literal is readable by anyone who can " +
        "read the workload, and is stored in Pulumi state and the manifest. A secret Output used as a literal is still a " +
        "literal. Literal URLs with a password in them are flagged whatever the name.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediation:
        "Put the value in a Kubernetes Secret and reference it: env: [{ name, valueFrom: { secretKeyRef: { name: <secret>, " +
        "key: <key> } } }] (or envFrom a Secret); for a connection URL, pass the password separately from a Secret.",
    appliesTo: isWorkload,
    check: (r) =>
        containersOf(templateOf(r.type, r.props), ["containers", "initContainers", "ephemeralContainers"]).flatMap((c) =>
            records(c.container["env"]).flatMap((e, i) => {
                const name = text(e["name"]) ?? `#${i}`;
                // Whether there is a literal, without reading it: during a preview it may not be known yet.
                const value = known(() => e["value"]);
                if (!("value" in e) || (value.known && (value.value === undefined || value.value === null))) {
                    return [];
                }
                const where = `${describe(r.type, r.props, r.name)}: ${c.label}: ${c.path}.env[${i}]`;
                // The value is never printed: it may be the secret itself.
                if (secretLikeName(name)) {
                    return [`${where} ${name} has a literal value: move it to a Secret and use valueFrom.secretKeyRef instead of value`];
                }
                if (value.known && typeof value.value === "string" && urlWithCredentials(value.value)) {
                    return [`${where} ${name} is a literal URL with a password in it: take the password from a Secret (valueFrom.secretKeyRef) and keep it out of the URL`];
                }
                return [];
            }),
        ),
};
