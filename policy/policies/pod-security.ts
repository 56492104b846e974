/**
 * Pod Security Standards, "restricted" profile (Kubernetes 1.33, which includes every baseline control), checked on
 * every pod template before anything reaches a cluster; plus herd's own read-only root filesystem rule.
 *
 * Each control is one function returning messages, so the profile reads as a list. Windows pods (spec.os.name
 * "windows") are exempt from the Linux-only controls, as in the Kubernetes implementation.
 */
import type { ResourceRule } from "./define";
import { ContainerRef, containersOf, describe, isWorkload, PodTemplate, podTemplate } from "./k8s";
import { at, Props, record, records, show, strings, text } from "./values";

/** Volume types the restricted profile allows. */
export const ALLOWED_VOLUME_TYPES: readonly string[] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
/** The only capability a restricted container may add. */
export const ALLOWED_ADDED_CAPABILITIES: readonly string[] = ["NET_BIND_SERVICE"];
/** Sysctls the baseline profile allows (the namespaced, isolated "safe" set, as of Kubernetes 1.32+). */
export const SAFE_SYSCTLS: readonly string[] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];
/** SELinux types the baseline profile allows (user and role must not be set at all). */
export const ALLOWED_SELINUX_TYPES: readonly string[] = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
const SECCOMP_OK = ["RuntimeDefault", "Localhost"];
const APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/";

function hostNamespaces(t: PodTemplate): string[] {
    return (["hostNetwork", "hostPID", "hostIPC"] as const)
        .filter((f) => t.spec[f] === true)
        .map((f) => `${t.specPath}.${f} is true: remove it (pods must not share the node's network, process or IPC namespace)`);
}

function volumes(t: PodTemplate): string[] {
    const problems: string[] = [];
    records(t.spec["volumes"]).forEach((v, i) => {
        const name = text(v["name"]) ?? `#${i}`;
        // The keys name the volume's type; their values are not read (they may be computed during a preview).
        const types = Object.keys(v).filter((k) => k !== "name");
        for (const type of types) {
            if (type === "hostPath") {
                problems.push(`${t.specPath}.volumes "${name}" is a hostPath volume: use an emptyDir, a persistentVolumeClaim or a configMap/secret instead (hostPath exposes the node's filesystem)`);
            } else if (!ALLOWED_VOLUME_TYPES.includes(type)) {
                problems.push(`${t.specPath}.volumes "${name}" is of type ${type}, which the restricted profile forbids: use one of ${ALLOWED_VOLUME_TYPES.join(", ")} (a cloud disk through a persistentVolumeClaim)`);
            }
        }
    });
    return problems;
}

function sysctls(t: PodTemplate): string[] {
    return records(at(t.spec, "securityContext", "sysctls"))
        .map((s) => text(s["name"]) ?? "")
        .filter((n) => !SAFE_SYSCTLS.includes(n))
        .map((n) => `${t.specPath}.securityContext.sysctls sets ${JSON.stringify(n)}, which is not in the safe set: remove it (allowed: ${SAFE_SYSCTLS.join(", ")})`);
}

function hostProcess(path: string, securityContext: unknown): string[] {
    return at(securityContext, "windowsOptions", "hostProcess") === true ? [`${path}.windowsOptions.hostProcess is true: remove it (host process containers are privileged)`] : [];
}

function seLinux(path: string, securityContext: unknown): string[] {
    const o = record(at(securityContext, "seLinuxOptions"));
    if (o === undefined) {
        return [];
    }
    const problems: string[] = [];
    const type = text(o["type"]) ?? "";
    if (!ALLOWED_SELINUX_TYPES.includes(type)) {
        problems.push(`${path}.seLinuxOptions.type is ${JSON.stringify(type)}: remove it or use one of ${ALLOWED_SELINUX_TYPES.filter((x) => x !== "").join(", ")}`);
    }
    for (const f of ["user", "role"]) {
        if ((text(o[f]) ?? "") !== "") {
            problems.push(`${path}.seLinuxOptions.${f} is set: remove it (custom SELinux users and roles are forbidden)`);
        }
    }
    return problems;
}

function appArmorProfile(path: string, securityContext: unknown): string[] {
    const type = text(at(securityContext, "appArmorProfile", "type"));
    return type === undefined || SECCOMP_OK.includes(type)
        ? []
        : [`${path}.appArmorProfile.type is ${JSON.stringify(type)}: use RuntimeDefault or Localhost (AppArmor must not be unconfined)`];
}

function runAsRoot(path: string, securityContext: unknown): string[] {
    return at(securityContext, "runAsUser") === 0 ? [`${path}.runAsUser is 0 (root): set a non-zero UID (the image's unprivileged user)`] : [];
}

/** Pod-level controls. */
function podLevel(t: PodTemplate, linux: boolean): string[] {
    const sc = at(t.spec, "securityContext");
    const path = `${t.specPath}.securityContext`;
    const problems = [
        ...hostNamespaces(t),
        ...volumes(t),
        ...sysctls(t),
        ...hostProcess(path, sc),
        ...seLinux(path, sc),
        ...runAsRoot(path, sc),
    ];
    if (linux) {
        problems.push(...appArmorProfile(path, sc));
        const seccomp = text(at(sc, "seccompProfile", "type"));
        if (seccomp !== undefined && !SECCOMP_OK.includes(seccomp)) {
            problems.push(`${path}.seccompProfile.type is ${JSON.stringify(seccomp)}: set it to RuntimeDefault (or Localhost with a reviewed profile)`);
        }
    }
    for (const [key, value] of Object.entries(t.annotations)) {
        if (key.startsWith(APPARMOR_ANNOTATION) && value !== "runtime/default" && !value.startsWith("localhost/")) {
            problems.push(`${t.metadataPath}.annotations["${key}"] is ${JSON.stringify(value)}: use runtime/default or localhost/<profile> (AppArmor must not be unconfined)`);
        }
    }
    return problems;
}

/** Container-level controls, given what the pod level already sets. */
function containerLevel(t: PodTemplate, c: ContainerRef, linux: boolean): string[] {
    const sc = record(c.container["securityContext"]) ?? {};
    const path = `${c.path}.securityContext`;
    const podSc = record(at(t.spec, "securityContext")) ?? {};
    const problems: string[] = [];
    const where = `${c.label}: `;

    if (sc["privileged"] === true) {
        problems.push(`${where}${path}.privileged is true: remove it (a privileged container is root on the node)`);
    }
    if (linux && sc["allowPrivilegeEscalation"] !== false) {
        problems.push(`${where}${path}.allowPrivilegeEscalation is ${show(sc["allowPrivilegeEscalation"])}: set it to false`);
    }
    if (linux) {
        const drop = strings(at(sc, "capabilities", "drop"));
        if (!drop.includes("ALL")) {
            problems.push(`${where}${path}.capabilities.drop is ${show(drop.length === 0 ? undefined : drop)}: set it to ["ALL"]`);
        }
        const added = strings(at(sc, "capabilities", "add")).filter((cap) => !ALLOWED_ADDED_CAPABILITIES.includes(cap));
        if (added.length > 0) {
            problems.push(`${where}${path}.capabilities.add has ${added.join(", ")}: remove ${added.length === 1 ? "it" : "them"} (only NET_BIND_SERVICE may be added)`);
        }
    }
    // runAsNonRoot: true on the pod (and not overridden with false), or true on every container.
    if (sc["runAsNonRoot"] === false) {
        problems.push(`${where}${path}.runAsNonRoot is false: set it to true (or remove it and set it on the pod)`);
    } else if (sc["runAsNonRoot"] !== true && podSc["runAsNonRoot"] !== true) {
        problems.push(`${where}runAsNonRoot is set neither on the pod nor on the container: set ${t.specPath}.securityContext.runAsNonRoot to true`);
    }
    problems.push(...runAsRoot(path, sc).map((p) => where + p));
    if (linux) {
        const seccomp = text(at(sc, "seccompProfile", "type"));
        const podSeccomp = text(at(podSc, "seccompProfile", "type"));
        if (seccomp !== undefined && !SECCOMP_OK.includes(seccomp)) {
            problems.push(`${where}${path}.seccompProfile.type is ${JSON.stringify(seccomp)}: set it to RuntimeDefault (or Localhost)`);
        } else if (seccomp === undefined && (podSeccomp === undefined || !SECCOMP_OK.includes(podSeccomp))) {
            problems.push(`${where}no seccomp profile on the container or the pod: set ${t.specPath}.securityContext.seccompProfile.type to RuntimeDefault`);
        }
        problems.push(...appArmorProfile(path, sc).map((p) => where + p));
    }
    const procMount = text(sc["procMount"]);
    if (procMount !== undefined && procMount !== "Default") {
        problems.push(`${where}${path}.procMount is ${JSON.stringify(procMount)}: remove it (only the Default /proc mount is allowed)`);
    }
    problems.push(...seLinux(path, sc).map((p) => where + p), ...hostProcess(path, sc).map((p) => where + p));
    records(c.container["ports"]).forEach((port, i) => {
        const hostPort = port["hostPort"];
        if (typeof hostPort === "number" && hostPort !== 0) {
            problems.push(`${where}${c.path}.ports[${i}].hostPort is ${hostPort}: remove it and expose the port through a Service`);
        }
    });
    return problems;
}

/** Every restricted-profile problem of a pod template. */
export function podSecurityProblems(t: PodTemplate): string[] {
    const linux = text(at(t.spec, "os", "name")) !== "windows";
    return [...podLevel(t, linux), ...containersOf(t, ["containers", "initContainers", "ephemeralContainers"]).flatMap((c) => containerLevel(t, c, linux))];
}

function templateOf(type: string, props: Props): PodTemplate {
    // appliesTo guarantees a workload type.
    return podTemplate(type, props) as PodTemplate;
}

export const podSecurityRestricted: ResourceRule = {
    kind: "resource",
    name: "pod-security-restricted",
    description:
        "Every pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod) meets the Kubernetes Pod " +
        "Security Standards 'restricted' profile, every control of it: non-root, no privilege escalation, capabilities " +
        "dropped, seccomp and AppArmor confined, no host namespaces, ports or paths, only the allowed volume types and sysctls.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediation:
        "Build the pod from components/pod-security.ts: restrictedPodSecurityContext(uid) on the pod (runAsNonRoot, a " +
        "non-zero runAsUser, seccompProfile RuntimeDefault) and restrictedContainerSecurityContext() on every container " +
        "(allowPrivilegeEscalation false, capabilities.drop [ALL], not privileged); no hostNetwork/hostPID/hostIPC, " +
        "hostPort or hostPath; volumes only of the allowed types. herd's namespace enforces the same profile at admission.",
    appliesTo: isWorkload,
    check: (r) => podSecurityProblems(templateOf(r.type, r.props)).map((p) => `${describe(r.type, r.props, r.name)}: ${p}`),
};

export const readOnlyRootFilesystem: ResourceRule = {
    kind: "resource",
    name: "read-only-root-filesystem",
    description:
        "herd's own rule, beyond the Pod Security Standards: every container and init container runs with a read-only " +
        "root filesystem, so a compromised process cannot alter its image; what it must write goes to an emptyDir.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediation:
        "Set securityContext.readOnlyRootFilesystem: true on the container (restrictedContainerSecurityContext() does), " +
        "and mount an emptyDir (scratchVolume() in components/pod-security.ts) at each path it writes: /tmp, caches, pid files.",
    appliesTo: isWorkload,
    check: (r) =>
        containersOf(templateOf(r.type, r.props))
            .filter((c) => at(c.container, "securityContext", "readOnlyRootFilesystem") !== true)
            .map(
                (c) =>
                    `${describe(r.type, r.props, r.name)}: ${c.label}: ${c.path}.securityContext.readOnlyRootFilesystem is ` +
                    `${show(at(c.container, "securityContext", "readOnlyRootFilesystem"))}: set it to true and mount an emptyDir where the process writes (herd's rule, not part of the Pod Security Standards)`,
            ),
};
