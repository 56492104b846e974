/**
 * ElasticCluster's TLS. Transport (9300): a CA of the cluster's own and one node certificate it signs, valid for
 * every pod's DNS name, in a kubernetes.io/tls Secret. HTTP (9200): a server certificate from herd's internal CA
 * (components/internal-ca.ts), which every HTTP client verifies, for the same names.
 */
import * as k8s from "../lib/k8s";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { Scope } from "./data-tier";
import { elasticPodNames } from "./elastic-settings";
import { InternalCa, ServerCertificate, serverCertificate } from "./internal-ca";

/**
 * The DNS names the node certificate is valid for: every pod's name under the headless Service (short of and with
 * the cluster domain), both Services, and localhost.
 */
export function elasticNodeDnsNames(name: string, replicas: number, namespace: string): string[] {
    const headless = `${name}-headless`;
    const service = (svc: string) => [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`];
    return [
        ...elasticPodNames(name, replicas).flatMap((pod) => [`${pod}.${headless}.${namespace}.svc`, `${pod}.${headless}.${namespace}.svc.cluster.local`]),
        ...service(headless),
        ...service(name),
        "localhost",
    ];
}

/**
 * TLS for the transport layer: a CA of the cluster's own and one node certificate it signs, valid for every pod
 * (and both Services and localhost), in the Secret `<name>-transport-tls` (tls.crt, tls.key, ca.crt).
 *
 * The private keys stay secret end to end: tls outputs them as secrets, the tls resources take them as secret
 * inputs, and the node key's only other destination is the Secret's stringData. Renewal: `pulumi up` within 90 days
 * of the node certificate's expiry issues a new one; the Secret's files change in place and Elasticsearch reloads
 * them without a restart. The CA lasts ten years.
 */
export function transportTls(scope: Scope, replicas: number): k8s.core.v1.Secret {
    const name = scope.name;
    const opts = { parent: scope.parent };
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    const ca = new tls.SelfSignedCert(
        `${name}-ca`,
        {
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            subject: { commonName: `${name} transport CA`, organization: "herd" },
            validityPeriodHours: 10 * 365 * 24,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        },
        opts,
    );
    const nodeKey = new tls.PrivateKey(`${name}-node-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    const request = new tls.CertRequest(
        `${name}-node-csr`,
        {
            privateKeyPem: nodeKey.privateKeyPem,
            subject: { commonName: name, organization: "herd" },
            dnsNames: pulumi.output(scope.namespace).apply((ns) => elasticNodeDnsNames(name, replicas, ns)),
            ipAddresses: ["127.0.0.1"],
        },
        opts,
    );
    const cert = new tls.LocallySignedCert(
        `${name}-node-cert`,
        {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: 3 * 365 * 24,
            earlyRenewalHours: 90 * 24,
            // Both ends of a transport connection present it: server and client.
            allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        },
        opts,
    );
    return new k8s.core.v1.Secret(
        `${name}-transport-tls`,
        {
            metadata: { name: `${name}-transport-tls`, namespace: scope.namespace, labels: { ...scope.labels } },
            type: "kubernetes.io/tls",
            // PKCS#8: the one private-key encoding every Elasticsearch version reads for every algorithm.
            stringData: { "tls.crt": cert.certPem, "tls.key": nodeKey.privateKeyPemPkcs8, "ca.crt": ca.certPem },
        },
        { ...scope.secretOpts, protect: false },
    );
}

/** The HTTP certificate's Secret: `<name>-http-tls` (`elastic-http-tls` for the program's cluster). */
export const elasticHttpTlsSecretName = (name: string): string => `${name}-http-tls`;

/**
 * TLS for HTTP (9200): a server certificate signed by herd's internal CA, in the Secret `<name>-http-tls` (tls.crt,
 * tls.key, ca.crt), valid for every address an HTTP client uses: the client Service (the API, the setup Job), the
 * headless Service (the shrink Job), every pod under it, and localhost/127.0.0.1 (the node's probes and its exporter
 * sidecar). Clients verify it against the CA's ConfigMap (CA_FILE) or the Secret's own ca.crt (the probes).
 *
 * Renewal: `pulumi up` in the certificate's last 60 days issues a new one; the pod template carries its checksum,
 * so the StatefulSet rolls (one node at a time, each back to a yellow cluster before the next) onto the new files.
 */
export function httpTls(scope: Scope, ca: InternalCa, replicas: number): ServerCertificate {
    return serverCertificate(
        scope,
        ca,
        elasticHttpTlsSecretName(scope.name),
        pulumi.output(scope.namespace).apply((ns) => elasticNodeDnsNames(scope.name, replicas, ns)),
    );
}
