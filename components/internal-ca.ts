/**
 * herd's own certificate authority for TLS inside the cluster (PostgreSQL, Redis and Elasticsearch HTTP), and the
 * server certificates it signs.
 *
 * The CA is a @pulumi/tls key and self-signed certificate kept only in the stack's state (as secrets). Its
 * certificate, which is public, is published in a ConfigMap `<name>` (key `ca.crt`) that clients mount to verify
 * the servers. Server certificates are LocallySignedCerts whose `earlyRenewalHours` makes the provider plan a new
 * one on the first `pulumi up` inside that window, so they are rotated before they expire; the server's pods carry
 * the certificate's checksum (`certificateChecksum`) so a rotation rolls them onto the new files.
 */
import * as crypto from "node:crypto";
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { Scope } from "./data-tier";

/** Where clients mount the CA's ConfigMap; the file is `${CA_MOUNT_PATH}/ca.crt`. */
export const CA_MOUNT_PATH = "/etc/herd/ca";
export const CA_FILE = `${CA_MOUNT_PATH}/ca.crt`;

/** The pod-template annotation that carries a server certificate's checksum (certificateChecksum): a renewal rolls the pod. */
export const TLS_CHECKSUM_ANNOTATION = "herd.dev/tls-checksum";

/** Server certificates last a year and are renewed by the first `pulumi up` in their last 60 days. */
export const SERVER_CERT_VALIDITY_HOURS = 365 * 24;
export const SERVER_CERT_EARLY_RENEWAL_HOURS = 60 * 24;
/** The CA lasts ten years: rotating it means every client must trust two CAs for a while (README). */
export const CA_VALIDITY_HOURS = 10 * 365 * 24;

export interface InternalCaArgs {
    /** Namespace of the CA's ConfigMap: pass the Namespace resource's `metadata.name`. */
    readonly namespace: pulumi.Input<string>;
    readonly labels?: Readonly<Record<string, string>>;
}

export class InternalCa extends pulumi.ComponentResource {
    /** The CA certificate (PEM, public). */
    readonly certPem: pulumi.Output<string>;
    /** The CA's private key (PEM, a secret output; it never leaves the state). */
    readonly privateKeyPem: pulumi.Output<string>;
    /**
     * The ConfigMap holding `ca.crt`, for clients to mount at CA_MOUNT_PATH: its fixed name, a plain string, not the
     * ConfigMap's output. A ConfigMap whose data changes is replaced (delete first: the name is fixed), and a pod
     * template that took the name from its output would then count as changed in every field, which for a protected
     * StatefulSet means a refused replacement. Clients order themselves after the CA with `dependsOn`.
     */
    readonly configMapName: string;

    constructor(name: string, args: InternalCaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("herd:index:InternalCa", name, {}, opts);
        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const cert = new tls.SelfSignedCert(
            `${name}-cert`,
            {
                privateKeyPem: key.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: `${name} (herd internal CA)`, organization: "herd" },
                validityPeriodHours: CA_VALIDITY_HOURS,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            },
            { parent: this },
        );
        new k8s.core.v1.ConfigMap(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: { ...(args.labels ?? {}) } },
                data: { "ca.crt": cert.certPem },
            },
            { parent: this },
        );
        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.configMapName = name;
        this.registerOutputs({ certPem: this.certPem, configMapName: this.configMapName });
    }
}

export interface ServerCertificate {
    /** The kubernetes.io/tls Secret `<secretName>` with tls.crt, tls.key (PKCS#8) and ca.crt. */
    readonly secret: k8s.core.v1.Secret;
    /** SHA-256 of the certificate PEM, for a pod-template annotation: a renewed certificate rolls the pods. */
    readonly certificateChecksum: pulumi.Output<string>;
}

/** The four DNS names of a Service in a namespace: short, with the namespace, with svc, and fully qualified. */
export function serviceDnsNames(service: string, namespace: string): string[] {
    return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/**
 * The names a single-server data component (PostgreSQL, Redis) answers to: its client Service `<name>`, its headless
 * Service `<name>-headless` and each pod's own `<name>-<i>.<name>-headless`, each in the four forms of
 * serviceDnsNames. Clients verify the one they dial (verify-full).
 */
export function statefulServerDnsNames(name: string, namespace: pulumi.Input<string>, replicas = 1): pulumi.Output<string[]> {
    return pulumi.output(namespace).apply((ns) => [
        ...serviceDnsNames(name, ns),
        ...serviceDnsNames(`${name}-headless`, ns),
        ...Array.from({ length: replicas }, (_, i) => serviceDnsNames(`${name}-${i}.${name}-headless`, ns)).flat(),
    ]);
}

/**
 * A server certificate signed by `ca` for `dnsNames` (and 127.0.0.1/localhost, for the server's own probes and
 * sidecars), in a kubernetes.io/tls Secret named `secretName`. The key stays secret end to end: it is a secret
 * output of tls, and its only destination is the Secret's stringData.
 */
export function serverCertificate(
    scope: Pick<Scope, "parent" | "namespace" | "labels" | "secretOpts">,
    ca: InternalCa,
    secretName: string,
    dnsNames: pulumi.Input<string[]>,
): ServerCertificate {
    const opts = { parent: scope.parent };
    const key = new tls.PrivateKey(`${secretName}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    const request = new tls.CertRequest(
        `${secretName}-csr`,
        {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: secretName, organization: "herd" },
            dnsNames: pulumi.output(dnsNames).apply((names) => [...new Set([...names, "localhost"])]),
            ipAddresses: ["127.0.0.1"],
        },
        opts,
    );
    const cert = new tls.LocallySignedCert(
        `${secretName}-cert`,
        {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: ca.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: SERVER_CERT_VALIDITY_HOURS,
            earlyRenewalHours: SERVER_CERT_EARLY_RENEWAL_HOURS,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
        },
        opts,
    );
    const secret = new k8s.core.v1.Secret(
        secretName,
        {
            metadata: { name: secretName, namespace: scope.namespace, labels: { ...scope.labels } },
            type: "kubernetes.io/tls",
            stringData: { "tls.crt": cert.certPem, "tls.key": key.privateKeyPemPkcs8, "ca.crt": ca.certPem },
        },
        // A certificate is reissued on renewal; protecting it would block its own rotation.
        { ...scope.secretOpts, protect: false },
    );
    return {
        secret,
        certificateChecksum: cert.certPem.apply((pem) => crypto.createHash("sha256").update(pem).digest("hex")),
    };
}
