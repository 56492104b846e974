/**
 * HTTPS on gcp: a GKE Ingress (the `gce` class: Google's global external Application Load Balancer) on a global
 * static IP, with a Google-managed certificate for herd:publicHostname (a ManagedCertificate) and a FrontendConfig
 * that redirects plain HTTP to HTTPS with 308 and allows TLS 1.2+ only (an SSL policy). The load balancer sends
 * requests straight to the front end's pods through a network endpoint group (container-native load balancing), so
 * the Service is a ClusterIP one. With a Cloud DNS zone named in config, herd writes the host's A record too.
 *
 * Google provisions the certificate only once the host name resolves to the static IP; until then HTTPS fails (HTTP
 * is redirected to it), and `kubectl describe managedcertificate frontend` says `Provisioning`.
 */
import * as dns from "@pulumi/gcp/dns";
import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as pulumi from "@pulumi/pulumi";
import type { GcpConfig, GcpHttpsConfig } from "../../config/types";
import type { Exposure, ExposureCompanionArgs } from "../contract";
import * as gcp from "./sdk";
import { type GcpOpts, gcpId } from "./common";
import { GOOGLE_FRONT_END_CIDRS, GOOGLE_FRONT_END_SOURCES } from "./network";

/** The GKE Ingress class (read from the annotation only: GKE's controller ignores spec.ingressClassName). */
export const GKE_INGRESS_CLASS = "gce";
/** Container-native load balancing: the load balancer targets pod IPs (a NEG), not node ports. */
export const NEG_ANNOTATION = { "cloud.google.com/neg": '{"ingress": true}' } as const;
/**
 * Where Google's front ends (and health checkers) reach the pods from: the proxies of the external Application Load
 * Balancer. Each appends "<client>, <load balancer's address>" to X-Forwarded-For.
 */
export { GOOGLE_FRONT_END_CIDRS } from "./network";

/** The ManagedCertificate for `hostname` (networking.gke.io/v1). */
export function managedCertificateSpec(hostname: string): { domains: string[] } {
    return { domains: [hostname] };
}

/** The FrontendConfig (networking.gke.io/v1beta1): plain HTTP answered 308 to https, and the SSL policy by name. */
export function frontendConfigSpec(sslPolicyName: pulumi.Input<string>): Record<string, unknown> {
    return { redirectToHttps: { enabled: true, responseCodeName: "PERMANENT_REDIRECT" }, sslPolicy: sslPolicyName };
}

export interface GcpHttps {
    readonly exposure: Exposure;
    readonly outputs: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * The global static IP, the SSL policy and (with a zone) the A record; and the exposure whose `companions` hook
 * creates the ManagedCertificate and FrontendConfig beside the front end's Ingress.
 */
export function createGcpHttps(name: string, stack: string, c: GcpConfig, https: GcpHttpsConfig, on: GcpOpts): GcpHttps {
    const hostname = https.hostname;
    const address = new gcp.compute.GlobalAddress(
        `${name}-https-address`,
        { name: gcpId(["herd", stack, "frontend"], 63), addressType: "EXTERNAL", ipVersion: "IPV4", description: `herd ${stack}: ${hostname}` },
        on,
    );
    const sslPolicy = new gcp.compute.SSLPolicy(
        `${name}-https-ssl-policy`,
        { name: gcpId(["herd", stack, "tls12"], 63), profile: "MODERN", minTlsVersion: "TLS_1_2", description: "TLS 1.2+ with forward-secret ciphers" },
        on,
    );
    if (https.dnsZone !== undefined) {
        new dns.RecordSet(
            `${name}-https-record`,
            { managedZone: https.dnsZone, name: `${hostname}.`, type: "A", ttl: 300, rrdatas: [address.address], project: c.project },
            on,
        );
    }
    const companions = (args: ExposureCompanionArgs): Readonly<Record<string, pulumi.Input<string>>> => {
        const metadata = { name: args.name, namespace: args.namespace, labels: { ...args.labels } };
        const certificate = new CustomResource(
            `${args.name}-certificate`,
            { apiVersion: "networking.gke.io/v1", kind: "ManagedCertificate", metadata, spec: managedCertificateSpec(hostname) },
            { parent: args.parent },
        );
        const frontendConfig = new CustomResource(
            `${args.name}-frontend-config`,
            { apiVersion: "networking.gke.io/v1beta1", kind: "FrontendConfig", metadata, spec: frontendConfigSpec(sslPolicy.name) },
            { parent: args.parent },
        );
        return {
            "kubernetes.io/ingress.global-static-ip-name": address.name,
            "networking.gke.io/managed-certificates": certificate.metadata.name,
            "networking.gke.io/v1beta1.FrontendConfig": frontendConfig.metadata.name,
        };
    };
    return {
        exposure: {
            kind: "ingress",
            className: undefined,
            annotations: { "kubernetes.io/ingress.class": GKE_INGRESS_CLASS },
            serviceAnnotations: { ...NEG_ANNOTATION },
            // The front end's peer is a Google front end; the last X-Forwarded-For entry is the static address.
            trustedProxies: [...GOOGLE_FRONT_END_CIDRS, pulumi.interpolate`${address.address}/32`],
            // Only they may connect to nginx's port.
            sources: GOOGLE_FRONT_END_SOURCES,
            https: { hostname, companions },
        },
        outputs: {
            hostname,
            staticIp: address.address,
            dns:
                https.dnsZone !== undefined
                    ? `Cloud DNS zone ${https.dnsZone}: ${hostname} A record to the static IP (written by herd)`
                    : pulumi.interpolate`not written by herd: point ${hostname} at ${address.address} (an A record); Google issues the certificate only once it resolves there`,
        },
    };
}
