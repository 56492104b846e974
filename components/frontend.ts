/**
 * Frontend: the React app served by unprivileged nginx, which also proxies /api to the ApiService. The way in comes
 * from the platform: an Ingress with its class (TLS from a Secret or a cert-manager issuer), or a LoadBalancer
 * Service with the platform's annotations. Same rollout, probe and security discipline as the API.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import type { Exposure } from "../platform/contract";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { DNS_EGRESS, podsWith } from "./network-policy";
import { Problem, problem, replicasProblems, throwIfProblems } from "./validation";
import { withDefaults } from "./defaults";
import { numberDefault, waitBudgets } from "../config";
import { type WaitMinutes, waitOptions } from "../lib/waits";

export const FRONTEND_PORT = 8080;
/** nginx-unprivileged's user. */
export const FRONTEND_UID = 101;

export type Tls = { readonly mode: "none" } | { readonly mode: "secret"; readonly secretName: string } | { readonly mode: "issuer"; readonly clusterIssuer: string };

export interface FrontendArgs {
    readonly namespace: pulumi.Input<string>;
    /** Digest-pinned image. */
    readonly image: pulumi.Input<string>;
    /** host:port of the API Service nginx proxies /api to. */
    readonly apiUpstream: pulumi.Input<string>;
    /** Labels of the API's pods (egress). */
    readonly apiPodSelector: Readonly<Record<string, string>>;
    readonly apiPort: number;
    /** How traffic gets in (the platform's). */
    readonly exposure: Exposure;
    /** Host name served; required with an Ingress. */
    readonly hostname?: string;
    /** @default { mode: "none" } */
    readonly tls?: Tls;
    /** @default config key `frontendReplicas` */
    readonly replicas?: number;
    /** How long `pulumi up` waits for the rollout, the Service and the way in (lib/waits.ts). @default config keys `wait*Minutes` */
    readonly waits?: WaitMinutes;
}

export function frontendDefaults(args: FrontendArgs) {
    return withDefaults(args, { replicas: numberDefault("frontendReplicas"), tls: { mode: "none" }, waits: waitBudgets(numberDefault) });
}

export type FrontendResolved = ReturnType<typeof frontendDefaults>;

export function frontendProblems(args: FrontendArgs, r: FrontendResolved): Problem[] {
    const problems = replicasProblems(r.replicas);
    if (args.exposure.kind === "ingress" && args.hostname === undefined) {
        problems.push(problem("hostname", "expected the host name the Ingress serves, got nothing"));
    }
    if (r.tls.mode !== "none" && args.exposure.kind === "loadBalancer") {
        problems.push(problem("tls", "a LoadBalancer Service passes TCP through and cannot terminate TLS; expose through an Ingress class to use a certificate"));
    }
    if (r.tls.mode !== "none" && args.hostname === undefined) {
        problems.push(problem("hostname", "expected the host name the TLS certificate is for, got nothing"));
    }
    return problems;
}

export class Frontend extends pulumi.ComponentResource {
    /** Where users reach the app (https when TLS is configured). */
    readonly url: pulumi.Output<string>;
    readonly podSelector: Readonly<Record<string, string>>;

    constructor(name: string, args: FrontendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:Frontend", name, {}, opts);
        const r = frontendDefaults(args);
        throwIfProblems("Frontend", name, frontendProblems(args, r), this);

        const selector = selectorLabels({ name: "frontend", instance: name });
        const labels = recommendedLabels({ name: "frontend", instance: name, component: "web" });
        this.podSelector = selector;
        const meta = (annotations?: Record<string, string>) => ({ name, namespace: args.namespace, labels, ...(annotations !== undefined ? { annotations } : {}) });
        const http = { httpGet: { path: "/healthz", port: "http" } };

        new k8s.apps.v1.Deployment(
            name,
            {
                metadata: meta(),
                spec: {
                    replicas: r.replicas,
                    selector: { matchLabels: selector },
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
                    revisionHistoryLimit: 5,
                    template: {
                        // No value the cluster assigns goes into the template (see ApiService.upstream).
                        metadata: { labels },
                        spec: {
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            securityContext: restrictedPodSecurityContext(FRONTEND_UID),
                            // nginx finishes in-flight requests on SIGQUIT; the pause first lets endpoints update.
                            terminationGracePeriodSeconds: 40,
                            containers: [
                                {
                                    name: "nginx",
                                    image: args.image,
                                    env: [{ name: "API_UPSTREAM", value: args.apiUpstream }],
                                    ports: [{ name: "http", containerPort: FRONTEND_PORT, protocol: "TCP" }],
                                    resources: resourceRequirements({ cpu: "100m", memory: "128Mi" }),
                                    securityContext: restrictedContainerSecurityContext(),
                                    startupProbe: { ...http, periodSeconds: 2, failureThreshold: 15 },
                                    readinessProbe: { ...http, periodSeconds: 5, failureThreshold: 3 },
                                    livenessProbe: { ...http, periodSeconds: 10, failureThreshold: 6 },
                                    lifecycle: { preStop: { exec: { command: ["sleep", "10"] } } },
                                    // nginx writes only under /tmp: pid, temp paths and the config rendered at start.
                                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                                },
                            ],
                            volumes: [scratchVolume("tmp", "128Mi")],
                            topologySpreadConstraints: [
                                { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                            ],
                        },
                    },
                },
            },
            // Waits for its image only. nginx resolves the API's fixed Service name at start; that Service is
            // created at once (it depends on nothing that waits), long before a pod is scheduled and pulled.
            { parent: this, ...waitOptions("frontendRollout", r.waits) },
        );

        const exposure = args.exposure;
        const loadBalancer = exposure.kind === "loadBalancer";
        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: meta(loadBalancer ? { ...exposure.annotations } : undefined),
                spec: {
                    type: loadBalancer ? "LoadBalancer" : "ClusterIP",
                    // Keep the client's address (and skip a second hop) on a load balancer.
                    ...(loadBalancer ? { externalTrafficPolicy: "Local" } : {}),
                    selector,
                    ports: [{ name: "http", port: loadBalancer ? 80 : FRONTEND_PORT, targetPort: "http", protocol: "TCP" }],
                },
            },
            // Created at once; waits for the front end's pods (and, as a LoadBalancer, for the cloud's address).
            { parent: this, ...waitOptions(loadBalancer ? "loadBalancer" : "frontendService", r.waits) },
        );
        new k8s.policy.v1.PodDisruptionBudget(name, { metadata: meta(), spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }, { parent: this });
        new k8s.networking.v1.NetworkPolicy(
            name,
            {
                metadata: meta(),
                spec: {
                    podSelector: { matchLabels: selector },
                    policyTypes: ["Ingress", "Egress"],
                    // The way in: from the ingress controller or the load balancer, wherever they run; only nginx's port.
                    ingress: [{ ports: [{ protocol: "TCP", port: FRONTEND_PORT }] }],
                    egress: [DNS_EGRESS, { to: [podsWith(args.apiPodSelector)], ports: [{ protocol: "TCP", port: args.apiPort }] }],
                },
            },
            { parent: this },
        );

        const scheme = r.tls.mode === "none" ? "http" : "https";
        if (exposure.kind === "ingress") {
            const host = args.hostname ?? "";
            const annotations: Record<string, string> = { ...exposure.annotations };
            if (r.tls.mode === "issuer") {
                annotations["cert-manager.io/cluster-issuer"] = r.tls.clusterIssuer;
            }
            new k8s.networking.v1.Ingress(
                name,
                {
                    metadata: meta(annotations),
                    spec: {
                        ingressClassName: exposure.className,
                        ...(r.tls.mode === "none"
                            ? {}
                            : { tls: [{ hosts: [host], secretName: r.tls.mode === "secret" ? r.tls.secretName : `${name}-tls` }] }),
                        rules: [
                            {
                                host,
                                http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { name: "http" } } } }] },
                            },
                        ],
                    },
                },
                // The Service by its fixed name, not its outputs: the Ingress (and the controller's load balancer)
                // is set up in parallel with everything else instead of after the front end is ready.
                { parent: this, ...waitOptions("ingress", r.waits) },
            );
            this.url = pulumi.output(`${scheme}://${host}`);
        } else if (args.hostname !== undefined) {
            this.url = pulumi.output(`${scheme}://${args.hostname}`);
        } else {
            const field = exposure.reportsAddressAs;
            this.url = service.status.apply((s) => {
                const address = s?.loadBalancer?.ingress?.[0]?.[field];
                return address === undefined ? "(load balancer address pending)" : `http://${address}`;
            });
        }
        this.registerOutputs({ url: this.url });
    }
}
