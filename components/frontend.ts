/**
 * Frontend: the React app served by unprivileged nginx, which also proxies /api to the ApiService. The way in comes
 * from the platform: an Ingress with its class (TLS from a Secret or a cert-manager issuer, or HTTPS the platform's
 * load balancer ends with a certificate the cloud manages), or a LoadBalancer Service with the platform's annotations
 * (on 443 with TLS ended at the load balancer, port 80 then answering with a redirect to https). Over HTTPS, nginx
 * sends Strict-Transport-Security. nginx limits requests per client address (its env: /api, and sign-ins apart), taking
 * the client from X-Forwarded-For only when the peer is a proxy the way in puts in front of it (TRUSTED_PROXY_CIDRS).
 * Same rollout, probe and security discipline as the API.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import type { Exposure } from "../platform/contract";
import { recommendedLabels, selectorLabels } from "../lib/labels";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, resourceRequirements, scratchVolume } from "./pod-security";
import { DNS_EGRESS, podsWith } from "./network-policy";
import { Problem, problem, replicasProblems, throwIfProblems } from "./validation";
import { withDefaults } from "./defaults";
import { cidrProblem, numberDefault, waitBudgets } from "../config";
import { type WaitMinutes, waitOptions } from "../lib/waits";

export const FRONTEND_PORT = 8080;
/** nginx's redirect server (images/frontend/nginx/server.conf.template): 308 to https://$host$request_uri. */
export const FRONTEND_REDIRECT_PORT = 8081;
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
    /**
     * Strict-Transport-Security max-age nginx sends when the site is served over HTTPS (`tls`, or the exposure's
     * `https`); 0: no header. Over plain HTTP nothing is sent, whatever this says.
     * @default config key `hstsMaxAgeSeconds` (one year)
     */
    readonly hstsMaxAgeSeconds?: number;
    /** Requests per second nginx lets each client address make to /api, 1 to 10000. @default config key `apiRateLimitPerSecond` */
    readonly apiRateLimitPerSecond?: number;
    /** Requests above that rate a client may make before a 429, 0 to 100000. @default config key `apiRateLimitBurst` */
    readonly apiRateLimitBurst?: number;
    /** Sign-in attempts per minute per client address, 1 to 1000. @default config key `loginRateLimitPerMinute` */
    readonly loginRateLimitPerMinute?: number;
    /**
     * CIDR blocks of the proxies whose X-Forwarded-For nginx takes the client's address from (TRUSTED_PROXY_CIDRS);
     * empty: the TCP peer is the client. @default the exposure's `trustedProxies` (none on a load balancer)
     */
    readonly trustedProxyCidrs?: readonly pulumi.Input<string>[];
    /** @default config key `frontendReplicas` */
    readonly replicas?: number;
    /** How long `pulumi up` waits for the rollout, the Service and the way in (lib/waits.ts). @default config keys `wait*Minutes` */
    readonly waits?: WaitMinutes;
}

export function frontendDefaults(args: FrontendArgs) {
    return withDefaults(args, {
        replicas: numberDefault("frontendReplicas"),
        tls: { mode: "none" },
        hstsMaxAgeSeconds: numberDefault("hstsMaxAgeSeconds"),
        apiRateLimitPerSecond: numberDefault("apiRateLimitPerSecond"),
        apiRateLimitBurst: numberDefault("apiRateLimitBurst"),
        loginRateLimitPerMinute: numberDefault("loginRateLimitPerMinute"),
        trustedProxyCidrs: args.exposure.kind === "ingress" ? (args.exposure.trustedProxies ?? []) : [],
        waits: waitBudgets(numberDefault),
    });
}

export type FrontendResolved = ReturnType<typeof frontendDefaults>;

export function frontendProblems(args: FrontendArgs, r: FrontendResolved): Problem[] {
    const problems = replicasProblems(r.replicas);
    const platformHttps = args.exposure.https;
    const hostname = args.hostname ?? platformHttps?.hostname;
    if (args.exposure.kind === "ingress" && hostname === undefined) {
        problems.push(problem("hostname", "expected the host name the Ingress serves, got nothing"));
    }
    if (platformHttps !== undefined && args.hostname !== undefined && args.hostname !== platformHttps.hostname) {
        problems.push(problem("hostname", `expected the host name the platform's certificate is for (${platformHttps.hostname}), got ${JSON.stringify(args.hostname)}`));
    }
    if (r.tls.mode !== "none" && platformHttps !== undefined) {
        problems.push(problem("tls", `expected no certificate of the front end's own: the platform's load balancer already ends HTTPS for ${platformHttps.hostname}; got mode ${JSON.stringify(r.tls.mode)}`));
    } else if (r.tls.mode !== "none" && args.exposure.kind === "loadBalancer") {
        problems.push(problem("tls", "a LoadBalancer Service without the platform's HTTPS passes TCP through and cannot use a certificate Secret or issuer; expose through an Ingress class to use one"));
    }
    if (r.tls.mode !== "none" && hostname === undefined) {
        problems.push(problem("hostname", "expected the host name the TLS certificate is for, got nothing"));
    }
    if (!Number.isInteger(r.hstsMaxAgeSeconds) || r.hstsMaxAgeSeconds < 0) {
        problems.push(problem("hstsMaxAgeSeconds", `expected a whole number of seconds, 0 or more (0: no header), got ${r.hstsMaxAgeSeconds}`));
    }
    const limits: [string, number, number, number][] = [
        ["apiRateLimitPerSecond", r.apiRateLimitPerSecond, 1, 10000],
        ["apiRateLimitBurst", r.apiRateLimitBurst, 0, 100000],
        ["loginRateLimitPerMinute", r.loginRateLimitPerMinute, 1, 1000],
    ];
    for (const [field, value, min, max] of limits) {
        if (!Number.isInteger(value) || value < min || value > max) {
            problems.push(problem(field, `expected a whole number from ${min} to ${max}, got ${value}`));
        }
    }
    // Literal blocks are checked here; an Output (an address the cloud assigns) is the platform's to get right.
    r.trustedProxyCidrs.forEach((block, i) => {
        const why = typeof block === "string" ? cidrProblem(block) : undefined;
        if (why !== undefined) {
            problems.push(problem(`trustedProxyCidrs[${i}]`, `${why}, got ${JSON.stringify(block)}`));
        }
    });
    return problems;
}

/** Whether the site is served over HTTPS: a certificate of the front end's own, or HTTPS the platform ends. */
export function servedOverHttps(args: FrontendArgs, r: FrontendResolved): boolean {
    return siteServedOverHttps(args.exposure, r.tls);
}

/** The same, from the way in and the front end's own certificate (`tls`, default none): what the API's cookie needs. */
export function siteServedOverHttps(exposure: Exposure, tls: Tls | undefined): boolean {
    return (tls?.mode ?? "none") !== "none" || exposure.https !== undefined;
}

/**
 * nginx's environment: the API upstream; the rate limits per client address; TRUSTED_PROXY_CIDRS (space-separated)
 * only when some proxy is trusted (absent, the TCP peer is the client); and HSTS_MAX_AGE_SECONDS only when the site
 * is served over HTTPS with a max-age above 0 (absent, nginx sends no Strict-Transport-Security header; see
 * 05-herd-check-env.sh).
 */
export function frontendEnv(args: FrontendArgs, r: FrontendResolved): k8s.types.input.core.v1.EnvVar[] {
    return [
        { name: "API_UPSTREAM", value: args.apiUpstream },
        { name: "API_RATE_LIMIT_PER_SECOND", value: String(r.apiRateLimitPerSecond) },
        { name: "API_RATE_LIMIT_BURST", value: String(r.apiRateLimitBurst) },
        { name: "LOGIN_RATE_LIMIT_PER_MINUTE", value: String(r.loginRateLimitPerMinute) },
        ...(r.trustedProxyCidrs.length > 0 ? [{ name: "TRUSTED_PROXY_CIDRS", value: spaceSeparated(r.trustedProxyCidrs) }] : []),
        ...(servedOverHttps(args, r) && r.hstsMaxAgeSeconds > 0 ? [{ name: "HSTS_MAX_AGE_SECONDS", value: String(r.hstsMaxAgeSeconds) }] : []),
    ];
}

/** Blocks joined with spaces: plain text when every one is known, else an Output (an address the cloud assigns). */
function spaceSeparated(blocks: readonly pulumi.Input<string>[]): pulumi.Input<string> {
    return blocks.every((b): b is string => typeof b === "string") ? blocks.join(" ") : pulumi.all([...blocks]).apply((all) => all.join(" "));
}

/**
 * The Service's ports: on a load balancer that ends TLS, 443 to the app and 80 to nginx's redirect server; on a plain
 * load balancer, 80 to the app; behind an Ingress, the app's own port.
 */
export function frontendServicePorts(exposure: Exposure): k8s.types.input.core.v1.ServicePort[] {
    if (exposure.kind === "loadBalancer" && exposure.https !== undefined) {
        return [
            { name: "https", port: 443, targetPort: "http", protocol: "TCP" },
            { name: "redirect", port: 80, targetPort: "redirect", protocol: "TCP" },
        ];
    }
    return [{ name: "http", port: exposure.kind === "loadBalancer" ? 80 : FRONTEND_PORT, targetPort: "http", protocol: "TCP" }];
}

/** Whether nginx's redirect port is in use (a load balancer that ends TLS sends its port 80 there). */
function usesRedirectPort(exposure: Exposure): boolean {
    return exposure.kind === "loadBalancer" && exposure.https !== undefined;
}

/**
 * On the Service or Ingress of a site served over plain HTTP: the policy pack's reviewed-exception annotation for
 * public-endpoint-tls (policy/policies/services.ts), with the reason. Plain HTTP is the stack's configured choice, so
 * herd says so where a reviewer sees it: every preview lists the exception and its reason.
 */
export const PLAIN_HTTP_EXCEPTION: Readonly<Record<string, string>> = {
    "herd.dev/policy-exception-public-endpoint-tls":
        "served over plain HTTP because the stack configures no certificate: set herd:publicHostname (aws, gcp) or herd:tlsSecretName / herd:tlsClusterIssuer (onprem) for HTTPS",
};

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
        const meta = (annotations?: Record<string, pulumi.Input<string>>) => ({ name, namespace: args.namespace, labels, ...(annotations !== undefined ? { annotations } : {}) });
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
                                    env: frontendEnv(args, r),
                                    ports: [
                                        { name: "http", containerPort: FRONTEND_PORT, protocol: "TCP" },
                                        ...(usesRedirectPort(args.exposure) ? [{ name: "redirect", containerPort: FRONTEND_REDIRECT_PORT, protocol: "TCP" }] : []),
                                    ],
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
        const plainHttp = !servedOverHttps(args, r);
        const serviceAnnotations = loadBalancer ? { ...exposure.annotations, ...(plainHttp ? PLAIN_HTTP_EXCEPTION : {}) } : exposure.serviceAnnotations;
        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: meta(serviceAnnotations !== undefined ? { ...serviceAnnotations } : undefined),
                spec: {
                    type: loadBalancer ? "LoadBalancer" : "ClusterIP",
                    // Keep the client's address (and skip a second hop) on a load balancer.
                    ...(loadBalancer ? { externalTrafficPolicy: "Local" } : {}),
                    selector,
                    ports: frontendServicePorts(exposure),
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
                    // The way in, on nginx's ports only: from the sources the platform names (the ingress
                    // controller's namespace, a cloud's front ends, outside the cluster); none named: from anywhere.
                    ingress: [
                        {
                            ...(exposure.sources !== undefined ? { from: [...exposure.sources] } : {}),
                            ports: [
                                { protocol: "TCP", port: FRONTEND_PORT },
                                ...(usesRedirectPort(exposure) ? [{ protocol: "TCP", port: FRONTEND_REDIRECT_PORT }] : []),
                            ],
                        },
                    ],
                    egress: [DNS_EGRESS, { to: [podsWith(args.apiPodSelector)], ports: [{ protocol: "TCP", port: args.apiPort }] }],
                },
            },
            { parent: this },
        );

        const scheme = servedOverHttps(args, r) ? "https" : "http";
        if (exposure.kind === "ingress") {
            const host = args.hostname ?? exposure.https?.hostname ?? "";
            const annotations: Record<string, pulumi.Input<string>> = { ...exposure.annotations, ...(plainHttp ? PLAIN_HTTP_EXCEPTION : {}) };
            if (r.tls.mode === "issuer") {
                annotations["cert-manager.io/cluster-issuer"] = r.tls.clusterIssuer;
            }
            if (exposure.https !== undefined) {
                // The objects the platform's load balancer needs beside the Ingress (its certificate, its redirect).
                Object.assign(annotations, exposure.https.companions({ name, namespace: args.namespace, labels, parent: this }));
            }
            new k8s.networking.v1.Ingress(
                name,
                {
                    metadata: meta(annotations),
                    spec: {
                        ...(exposure.className !== undefined ? { ingressClassName: exposure.className } : {}),
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
        } else if (exposure.https !== undefined) {
            const publish = exposure.https.publish;
            if (publish !== undefined) {
                // The address the load balancer reports, for the host's DNS record (the platform's to write).
                const field = exposure.reportsAddressAs;
                publish(service.status.apply((s) => s?.loadBalancer?.ingress?.[0]?.[field] ?? ""));
            }
            this.url = pulumi.output(`https://${exposure.https.hostname}`);
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
