/**
 * HTTPS on aws: TLS ends at the NLB the cluster's built-in AWS cloud controller makes for the front end's Service, with
 * an ACM certificate for herd:publicHostname (a TLS listener on 443; the targets get the plain stream, inside the VPC).
 * Port 80 stays a plain TCP listener, forwarded to nginx's redirect port, which answers 308 to https.
 *
 * The certificate is either requested here and validated by DNS in the Route 53 zone the config names (herd then also
 * writes the host's alias record to the NLB once the Service reports the NLB's name), or an issued certificate whose
 * ARN the config gives (herd then writes no DNS). No extra controller, IAM role or CRD is installed for any of this:
 * the cloud controller EKS runs reads the `service.beta.kubernetes.io/aws-load-balancer-ssl-*` annotations itself.
 */
import * as acm from "@pulumi/aws/acm";
import { getHostedZoneIdOutput } from "@pulumi/aws/lb/getHostedZoneId";
import * as route53 from "@pulumi/aws/route53";
import * as pulumi from "@pulumi/pulumi";
import type { AwsHttpsConfig } from "../../config/types";
import type { Exposure } from "../contract";
import { type AwsContext, awsOpts } from "./common";

/**
 * The NLB's TLS negotiation: TLS 1.3 and 1.2 with forward-secret AEAD ciphers only (no TLS 1.0/1.1, no CBC), the
 * policy AWS recommends for NLB TLS listeners.
 */
export const NLB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** What the built-in controller reads to put a TLS listener with `certificateArn` on port 443 only (port 80 stays TCP). */
export function nlbTlsAnnotations(certificateArn: pulumi.Input<string>): Record<string, pulumi.Input<string>> {
    return {
        "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": certificateArn,
        // Without this every port would get TLS, the redirect port 80 too.
        "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443",
        "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy": NLB_TLS_POLICY,
        // The NLB sends the decrypted stream to nginx as plain TCP (nginx serves HTTP on its app port).
        "service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "tcp",
    };
}

/** What the NLB listens on, as the stack outputs say it. */
const LISTENERS = `443: TLS (${NLB_TLS_POLICY}) to the app; 80: 308 redirect to https`;

export interface AwsHttps {
    /** The certificate's ARN: for a requested certificate, once DNS validation has succeeded. */
    readonly certificateArn: pulumi.Output<string>;
    /** What to put on the front end's exposure: the host, and (with a hosted zone) the hook that writes its record. */
    readonly https: NonNullable<Extract<Exposure, { kind: "loadBalancer" }>["https"]>;
    /** Stack outputs: the host, the certificate and who writes its DNS. */
    readonly outputs: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * The certificate for `https.hostname` and, with a hosted zone, its DNS: the validation record, the wait for ACM to
 * issue, and (through `publish`) the host's alias A record to the NLB.
 */
export function createAwsHttps(ctx: AwsContext, https: AwsHttpsConfig): AwsHttps {
    const hostname = https.hostname;
    if (https.certificate.mode === "arn") {
        const arn = https.certificate.arn;
        return {
            certificateArn: pulumi.output(arn),
            https: { hostname },
            outputs: {
                hostname,
                listeners: LISTENERS,
                certificateArn: arn,
                dns: `not written by herd: point ${hostname} at the load balancer's name (kubectl get service frontend), with a CNAME or a Route 53 alias`,
            },
        };
    }
    const zoneId = https.certificate.hostedZoneId;
    const certificate = new acm.Certificate(
        `${ctx.name}-https-certificate`,
        { domainName: hostname, validationMethod: "DNS" },
        awsOpts(ctx),
    );
    // One name, so ACM asks for one record; read from the certificate's outputs (no resource is created in an apply).
    const option = certificate.domainValidationOptions.apply((options) => {
        const found = options.find((o) => o.domainName === hostname);
        if (found === undefined) {
            throw new Error(`ACM gave no DNS validation record for ${hostname} (got ${options.map((o) => o.domainName).join(", ") || "none"})`);
        }
        return found;
    });
    const validationRecord = new route53.Record(
        `${ctx.name}-https-validation`,
        {
            zoneId,
            name: option.resourceRecordName,
            type: option.resourceRecordType,
            records: [option.resourceRecordValue],
            ttl: 300,
            // ACM asks for the same record for the same name in an account: a certificate replaced (or another stack
            // for the same host) takes the record over instead of failing on it.
            allowOverwrite: true,
        },
        awsOpts(ctx),
    );
    const validation = new acm.CertificateValidation(
        `${ctx.name}-https-validated`,
        { certificateArn: certificate.arn, validationRecordFqdns: [validationRecord.fqdn] },
        // ACM issues within minutes once the record resolves; the way-in budget bounds the wait.
        awsOpts(ctx, { customTimeouts: { create: `${ctx.waits.ingress}m` } }),
    );
    // The NLB's canonical hosted zone in the stack's region, for the alias record.
    const nlbZone = getHostedZoneIdOutput({ loadBalancerType: "network" }, { parent: ctx.parent, provider: ctx.provider });
    const publish = (address: pulumi.Output<string>): void => {
        new route53.Record(
            `${ctx.name}-https-alias`,
            {
                zoneId,
                name: hostname,
                type: "A",
                aliases: [{ name: address, zoneId: nlbZone.id, evaluateTargetHealth: true }],
            },
            awsOpts(ctx),
        );
    };
    return {
        certificateArn: validation.certificateArn,
        https: { hostname, publish },
        outputs: {
            hostname,
            listeners: LISTENERS,
            certificateArn: validation.certificateArn,
            dns: `Route 53 zone ${zoneId}: ${hostname} is an alias of the load balancer (written by herd)`,
        },
    };
}

/**
 * The front end's exposure with HTTPS: the NLB annotations of plain exposure plus the TLS listener's, and the host.
 */
export function nlbHttpsExposure(base: Extract<Exposure, { kind: "loadBalancer" }>, https: AwsHttps): Exposure {
    return {
        ...base,
        annotations: { ...base.annotations, ...nlbTlsAnnotations(https.certificateArn) },
        https: https.https,
    };
}
