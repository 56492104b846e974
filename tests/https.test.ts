/**
 * HTTPS on aws and gcp (issue 15), through the whole program under mocks: the stack files (Pulumi.aws.yaml with a
 * Route 53 zone, Pulumi.gcp.yaml with a Cloud DNS zone) and config variants (an existing ACM certificate, no DNS zone,
 * no host name). Each test reads what a user or the cloud acts on: the certificate and its DNS, the load balancer's
 * annotations and ports, the Ingress and its GKE objects, nginx's env, the NetworkPolicy, the app URL in the outputs.
 * The Frontend's pure pieces (ports, env, problems) are tested directly; nginx itself is tested by
 * images/frontend/tests/nginx-config.test.ts (the redirect server and the header, served for real).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { API_PORT } from "../components/api";
import { Frontend, frontendDefaults, frontendEnv, frontendProblems, frontendServicePorts, type FrontendArgs } from "../components/frontend";
import { problemText } from "../components/validation";
import { evaluateProgram, evaluateStack, type Evaluation, type RecordedResource } from "../offline/evaluate";
import { buildManifests, type Manifest, validateManifest } from "../offline/manifests";
import { NLB_TLS_POLICY } from "../platform/aws/https";
import type { Exposure } from "../platform/contract";
import { writeStackFile } from "./helpers";

const HOST = "shop.example.com";
const ZONE = "Z0123456789ABCDEFGHIJ";
const ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const AWS = { "herd:platform": "aws", "herd:awsRegion": "eu-west-1" };
const GCP = { "herd:platform": "gcp", "herd:gcpProject": "acme-herd-prod", "herd:gcpRegion": "europe-west1" };

type Obj = Record<string, unknown>;
const variant = (config: Record<string, unknown>): Promise<Evaluation> => evaluateStack({ stack: "test", configFile: writeStackFile(config) });
let awsFile: Promise<Evaluation> | undefined;
let gcpFile: Promise<Evaluation> | undefined;
const awsStack = () => (awsFile ??= evaluateStack({ stack: "aws" }));
const gcpStack = () => (gcpFile ??= evaluateStack({ stack: "gcp" }));

function all(e: Evaluation, type: string): RecordedResource[] {
    return e.resources.filter((r) => r.type === type);
}
function one(e: Evaluation, type: string, name?: string): RecordedResource {
    const found = all(e, type).filter((r) => name === undefined || r.name === name);
    assert.equal(found.length, 1, `expected one ${type}${name === undefined ? "" : ` named ${name}`}, found ${found.length}`);
    return found[0] as RecordedResource;
}
function manifest(e: Evaluation, kind: string, name = "frontend"): Manifest {
    const m = buildManifests(e).manifests.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(m !== undefined, `no ${kind} ${name}`);
    return m;
}
const annotationsOf = (m: Manifest) => (m.metadata["annotations"] ?? {}) as Record<string, string>;
const specOf = (m: Manifest) => m["spec"] as Obj;
const nginxOf = (e: Evaluation) => {
    const pod = (specOf(manifest(e, "Deployment"))["template"] as { spec: { containers: Obj[] } }).spec;
    return pod.containers[0] as { env: { name: string; value: string }[]; ports: { name: string; containerPort: number }[]; readinessProbe: Obj };
};
const appUrl = (e: Evaluation) => (e.outputs["app"] as Record<string, string>)["url"];
const platformOutputs = (e: Evaluation) => e.outputs["platform"] as Record<string, unknown>;
const recordOf = (e: Evaluation, type: string, name: string) => {
    const r = e.records.find((x) => x.type === type && x.name === name);
    assert.ok(r !== undefined, `no record of ${type} ${name}`);
    return r;
};

describe("aws with a Route 53 zone (Pulumi.aws.yaml): an ACM certificate on the NLB, DNS written by herd", () => {
    it("requests a DNS-validated ACM certificate for the host and writes its validation record in the zone", async () => {
        const e = await awsStack();
        const cert = one(e, "aws:acm/certificate:Certificate");
        assert.deepEqual([cert.inputs["domainName"], cert.inputs["validationMethod"]], [HOST, "DNS"]);
        assert.equal(cert.options.provider, "aws-provider", "the stack's regional provider");
        const option = (recordOf(e, cert.type, cert.name).state["domainValidationOptions"] as Obj[])[0] as Record<string, string>;
        const validation = one(e, "aws:route53/record:Record", "aws-https-validation");
        assert.equal(validation.inputs["zoneId"], ZONE);
        assert.equal(validation.inputs["name"], option["resourceRecordName"]);
        assert.equal(validation.inputs["type"], "CNAME");
        assert.deepEqual(validation.inputs["records"], [option["resourceRecordValue"]]);
    });

    it("waits for ACM to issue (bounded by the way-in budget) before the load balancer gets the certificate", async () => {
        const e = await awsStack();
        const validated = one(e, "aws:acm/certificateValidation:CertificateValidation");
        const cert = recordOf(e, "aws:acm/certificate:Certificate", "aws-https-certificate");
        assert.equal(validated.inputs["certificateArn"], cert.state["arn"]);
        assert.deepEqual(validated.inputs["validationRecordFqdns"], [recordOf(e, "aws:route53/record:Record", "aws-https-validation").state["fqdn"]]);
        assert.equal(validated.options.customTimeouts?.create, "15m");
        const service = one(e, "kubernetes:core/v1:Service", "frontend");
        assert.ok(service.dependencies.includes("aws:acm/certificateValidation:CertificateValidation::aws-https-validated"), "the NLB gets only an issued certificate");
    });

    it("the NLB: TLS 1.2+ on 443 with the certificate, to nginx's app port as plain TCP; 80 to nginx's redirect port", async () => {
        const e = await awsStack();
        const service = manifest(e, "Service");
        const a = annotationsOf(service);
        assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"], recordOf(e, "aws:acm/certificate:Certificate", "aws-https-certificate").state["arn"]);
        assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"], "443", "only 443 is TLS: 80 stays TCP for the redirect");
        assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"], NLB_TLS_POLICY);
        assert.equal(NLB_TLS_POLICY, "ELBSecurityPolicy-TLS13-1-2-2021-06");
        assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-backend-protocol"], "tcp");
        assert.equal(a["service.beta.kubernetes.io/aws-load-balancer-type"], "nlb", "still the built-in controller's internet-facing NLB");
        assert.equal(specOf(service)["type"], "LoadBalancer");
        assert.deepEqual(specOf(service)["ports"], [
            { name: "https", port: 443, targetPort: "http", protocol: "TCP" },
            { name: "redirect", port: 80, targetPort: "redirect", protocol: "TCP" },
        ]);
    });

    it("nginx: the redirect port 8081 is declared and admitted by the NetworkPolicy; HSTS a year", async () => {
        const e = await awsStack();
        const nginx = nginxOf(e);
        assert.deepEqual(nginx.ports.map((p) => [p.name, p.containerPort]), [["http", 8080], ["redirect", 8081]]);
        assert.deepEqual(nginx.env.find((v) => v.name === "HSTS_MAX_AGE_SECONDS"), { name: "HSTS_MAX_AGE_SECONDS", value: "31536000" });
        const ingress = specOf(manifest(e, "NetworkPolicy"))["ingress"] as { from?: unknown; ports: { port: number }[] }[];
        assert.deepEqual(ingress.map((r) => r.ports.map((p) => p.port)), [[8080, 8081]]);
        // The NLB keeps the client's address (instance targets, externalTrafficPolicy Local): anyone outside the VPC's
        // private subnets, where the nodes and pods are.
        assert.deepEqual(ingress[0]?.from, [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"] } }]);
    });

    it("writes the host's alias A record to the NLB the Service reports, with the region's NLB zone", async () => {
        const e = await awsStack();
        const alias = one(e, "aws:route53/record:Record", "aws-https-alias");
        assert.deepEqual([alias.inputs["zoneId"], alias.inputs["name"], alias.inputs["type"]], [ZONE, HOST, "A"]);
        const reported = ((recordOf(e, "kubernetes:core/v1:Service", "frontend").state["status"] as Obj)["loadBalancer"] as { ingress: { hostname: string }[] }).ingress[0]?.hostname;
        const [target] = alias.inputs["aliases"] as { name: string; zoneId: string; evaluateTargetHealth: boolean }[];
        assert.equal(target?.name, reported);
        assert.match(String(target?.zoneId), /^Z[0-9A-Z]+$/);
        assert.equal(target?.evaluateTargetHealth, true);
    });

    it("exports https://<host> as the app URL, and says who writes the DNS", async () => {
        const e = await awsStack();
        assert.equal(appUrl(e), `https://${HOST}`);
        const p = platformOutputs(e);
        assert.equal(p["exposure"], "loadBalancer (nlb)");
        const https = p["https"] as Record<string, string>;
        assert.equal(https["hostname"], HOST);
        assert.match(https["dns"] ?? "", new RegExp(`Route 53 zone ${ZONE}: ${HOST.replace(/\./g, "\\.")} is an alias of the load balancer`));
    });

    it("every manifest passes the Kubernetes schema", async () => {
        const e = await awsStack();
        assert.doesNotThrow(() => buildManifests(e));
    });
});

describe("aws with an existing certificate (herd:awsCertificateArn): no certificate or DNS of herd's", () => {
    it("puts the given ARN on the NLB, creates no ACM or Route 53 resource, and tells the user to point DNS", async () => {
        const e = await variant({ ...AWS, "herd:publicHostname": HOST, "herd:awsCertificateArn": ARN });
        assert.deepEqual(all(e, "aws:acm/certificate:Certificate"), []);
        assert.deepEqual(all(e, "aws:acm/certificateValidation:CertificateValidation"), []);
        assert.deepEqual(all(e, "aws:route53/record:Record"), []);
        assert.equal(annotationsOf(manifest(e, "Service"))["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"], ARN);
        assert.equal(appUrl(e), `https://${HOST}`);
        assert.match(String((platformOutputs(e)["https"] as Obj)["dns"]), /^not written by herd: point shop\.example\.com at the load balancer's name/);
    });
});

describe("aws without a host name: today's plain HTTP on the NLB's own name", () => {
    it("no certificate, port 80 to the app, no redirect port, no HSTS, the URL from the load balancer", async () => {
        const e = await variant(AWS);
        assert.deepEqual(all(e, "aws:acm/certificate:Certificate"), []);
        const service = manifest(e, "Service");
        assert.equal(annotationsOf(service)["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"], undefined);
        assert.deepEqual(specOf(service)["ports"], [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
        const nginx = nginxOf(e);
        assert.deepEqual(nginx.ports.map((p) => p.name), ["http"]);
        assert.equal(nginx.env.find((v) => v.name === "HSTS_MAX_AGE_SECONDS"), undefined);
        assert.match(String(appUrl(e)), /^http:\/\//);
        assert.equal(platformOutputs(e)["https"], undefined);
    });
});

describe("gcp with a Cloud DNS zone (Pulumi.gcp.yaml): a GKE Ingress with a Google-managed certificate", () => {
    it("a global static IP, named in the Ingress, and the host's A record to it in the zone", async () => {
        const e = await gcpStack();
        const address = one(e, "gcp:compute/globalAddress:GlobalAddress");
        assert.deepEqual([address.inputs["addressType"], address.inputs["ipVersion"]], ["EXTERNAL", "IPV4"]);
        assert.equal(annotationsOf(manifest(e, "Ingress"))["kubernetes.io/ingress.global-static-ip-name"], address.inputs["name"]);
        const record = one(e, "gcp:dns/recordSet:RecordSet", "gcp-https-record");
        assert.deepEqual([record.inputs["managedZone"], record.inputs["name"], record.inputs["type"]], ["example-com", `${HOST}.`, "A"]);
        assert.deepEqual(record.inputs["rrdatas"], [recordOf(e, address.type, address.name).state["address"]]);
    });

    it("a ManagedCertificate for the host, and a FrontendConfig: 308 to https and an SSL policy of TLS 1.2+", async () => {
        const e = await gcpStack();
        assert.deepEqual(specOf(manifest(e, "ManagedCertificate")), { domains: [HOST] });
        const policy = one(e, "gcp:compute/sSLPolicy:SSLPolicy");
        assert.deepEqual([policy.inputs["minTlsVersion"], policy.inputs["profile"]], ["TLS_1_2", "MODERN"]);
        assert.deepEqual(specOf(manifest(e, "FrontendConfig")), {
            redirectToHttps: { enabled: true, responseCodeName: "PERMANENT_REDIRECT" },
            sslPolicy: policy.inputs["name"],
        });
        assert.equal(manifest(e, "ManagedCertificate").apiVersion, "networking.gke.io/v1");
        assert.equal(manifest(e, "FrontendConfig").apiVersion, "networking.gke.io/v1beta1");
    });

    it("the Ingress: class gce by annotation (no ingressClassName), named certificate and FrontendConfig, no spec.tls", async () => {
        const e = await gcpStack();
        const ingress = manifest(e, "Ingress");
        const a = annotationsOf(ingress);
        assert.equal(a["kubernetes.io/ingress.class"], "gce");
        assert.equal(a["networking.gke.io/managed-certificates"], "frontend");
        assert.equal(a["networking.gke.io/v1beta1.FrontendConfig"], "frontend");
        assert.equal(a["kubernetes.io/ingress.allow-http"], undefined, "HTTP stays on: it is what gets redirected");
        const spec = specOf(ingress);
        assert.equal(spec["ingressClassName"], undefined, "the API server refuses the class annotation beside the field");
        assert.equal(spec["tls"], undefined);
        assert.deepEqual(spec["rules"], [{ host: HOST, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "frontend", port: { name: "http" } } } }] } }]);
        const companions = ["kubernetes:networking.gke.io/v1:ManagedCertificate::frontend-certificate", "kubernetes:networking.gke.io/v1beta1:FrontendConfig::frontend-frontend-config"];
        const deps = one(e, "kubernetes:networking.k8s.io/v1:Ingress", "frontend").dependencies;
        for (const c of companions) {
            assert.ok(deps.includes(c), `the Ingress waits for ${c}`);
        }
    });

    it("the Service: ClusterIP with container-native load balancing (NEG); the health check comes from /healthz", async () => {
        const e = await gcpStack();
        const service = manifest(e, "Service");
        assert.deepEqual(annotationsOf(service), { "cloud.google.com/neg": '{"ingress": true}' });
        assert.equal(specOf(service)["type"], "ClusterIP");
        assert.deepEqual(specOf(service)["ports"], [{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
        // GKE derives the load balancer's health check from the readiness probe on the serving port.
        assert.deepEqual(nginxOf(e).readinessProbe["httpGet"], { path: "/healthz", port: "http" });
    });

    it("the NetworkPolicy admits nginx's port from Google's front ends and health checkers only", async () => {
        const e = await gcpStack();
        const ingress = specOf(manifest(e, "NetworkPolicy"))["ingress"] as { from?: unknown; ports: { port: number }[] }[];
        assert.deepEqual(ingress, [{ from: [{ ipBlock: { cidr: "130.211.0.0/22" } }, { ipBlock: { cidr: "35.191.0.0/16" } }], ports: [{ protocol: "TCP", port: 8080 }] }]);
    });

    it("HSTS a year, no redirect port (the load balancer redirects), https://<host> exported", async () => {
        const e = await gcpStack();
        const nginx = nginxOf(e);
        assert.deepEqual(nginx.env.find((v) => v.name === "HSTS_MAX_AGE_SECONDS")?.value, "31536000");
        assert.deepEqual(nginx.ports.map((p) => p.name), ["http"]);
        assert.equal(appUrl(e), `https://${HOST}`);
        const https = platformOutputs(e)["https"] as Record<string, string>;
        assert.match(https["dns"] ?? "", /^Cloud DNS zone example-com: shop\.example\.com A record to the static IP/);
        assert.equal(https["staticIp"], recordOf(e, "gcp:compute/globalAddress:GlobalAddress", "gcp-https-address").state["address"]);
    });

    it("every manifest passes validation, the two GKE objects included", async () => {
        const e = await gcpStack();
        assert.doesNotThrow(() => buildManifests(e));
    });
});

describe("gcp with a host name but no DNS zone", () => {
    it("writes no record, and the outputs say which IP to point the name at before the certificate can provision", async () => {
        const e = await variant({ ...GCP, "herd:publicHostname": HOST });
        // Only the private googleapis.com zone's records (Private Google Access), none for the site.
        assert.deepEqual(all(e, "gcp:dns/recordSet:RecordSet").map((r) => r.name).sort(), ["gcp-googleapis-private", "gcp-googleapis-wildcard"]);
        const ip = recordOf(e, "gcp:compute/globalAddress:GlobalAddress", "gcp-https-address").state["address"];
        const dns = String((platformOutputs(e)["https"] as Obj)["dns"]);
        assert.equal(dns, `not written by herd: point ${HOST} at ${String(ip)} (an A record); Google issues the certificate only once it resolves there`);
        assert.equal(appUrl(e), `https://${HOST}`);
    });
});

describe("gcp without a host name: today's plain-HTTP passthrough load balancer", () => {
    it("a LoadBalancer Service, no Ingress or GKE objects, no HSTS", async () => {
        const e = await variant(GCP);
        const kinds = buildManifests(e).manifests.map((m) => m.kind);
        for (const kind of ["Ingress", "ManagedCertificate", "FrontendConfig"]) {
            assert.ok(!kinds.includes(kind), kind);
        }
        assert.deepEqual(all(e, "gcp:compute/globalAddress:GlobalAddress"), []);
        assert.equal(specOf(manifest(e, "Service"))["type"], "LoadBalancer");
        assert.equal(nginxOf(e).env.find((v) => v.name === "HSTS_MAX_AGE_SECONDS"), undefined);
        assert.match(String(appUrl(e)), /^http:\/\//);
    });
});

describe("herd:hstsMaxAgeSeconds reaches nginx", () => {
    it(
        "0 turns the header off on an HTTPS stack; another value is passed as is",
        async () => {
            const off = await variant({ ...GCP, "herd:publicHostname": HOST, "herd:hstsMaxAgeSeconds": 0 });
            assert.equal(nginxOf(off).env.find((v) => v.name === "HSTS_MAX_AGE_SECONDS"), undefined);
            const day = await variant({ ...GCP, "herd:publicHostname": HOST, "herd:hstsMaxAgeSeconds": 86400 });
            assert.equal(nginxOf(day).env.find((v) => v.name === "HSTS_MAX_AGE_SECONDS")?.value, "86400");
        },
    );
});

// ---------------------------------------------------------------------------------------------------------------
// The Frontend's pure pieces and its hooks.

const BASE: FrontendArgs = {
    namespace: "herd",
    image: "registry.example.com/herd/frontend@sha256:" + "b".repeat(64),
    apiUpstream: "api.herd.svc.cluster.local:8000",
    apiPodSelector: { "app.kubernetes.io/name": "api" },
    apiPort: API_PORT,
    exposure: { kind: "loadBalancer", annotations: {}, reportsAddressAs: "hostname" },
};
const NLB_TLS: Exposure = { kind: "loadBalancer", annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" }, reportsAddressAs: "hostname", https: { hostname: HOST } };
const problemsOf = (args: FrontendArgs) => frontendProblems(args, frontendDefaults(args)).map(problemText);

describe("Frontend with HTTPS from the platform", () => {
    it("Service ports: 443 to the app and 80 to the redirect behind a TLS load balancer; 80 to the app otherwise", () => {
        assert.deepEqual(frontendServicePorts(NLB_TLS).map((p) => [p.name, p.port, p.targetPort]), [["https", 443, "http"], ["redirect", 80, "redirect"]]);
        assert.deepEqual(frontendServicePorts(BASE.exposure).map((p) => [p.name, p.port, p.targetPort]), [["http", 80, "http"]]);
        assert.deepEqual(frontendServicePorts({ kind: "ingress", className: "nginx", annotations: {} }).map((p) => p.port), [8080]);
    });

    it("HSTS only over HTTPS and above 0: the platform's TLS or a certificate of the front end's own", () => {
        const hsts = (args: FrontendArgs) => frontendEnv(args, frontendDefaults(args)).find((v) => v.name === "HSTS_MAX_AGE_SECONDS")?.value;
        assert.equal(hsts(BASE), undefined, "plain HTTP: no header");
        assert.equal(hsts({ ...BASE, exposure: NLB_TLS }), "31536000");
        assert.equal(hsts({ ...BASE, exposure: NLB_TLS, hstsMaxAgeSeconds: 0 }), undefined);
        assert.equal(hsts({ ...BASE, exposure: NLB_TLS, hstsMaxAgeSeconds: 300 }), "300");
        const onpremTls = { ...BASE, hostname: HOST, exposure: { kind: "ingress", className: "nginx", annotations: {} } as Exposure, tls: { mode: "secret", secretName: "t" } as const };
        assert.equal(hsts(onpremTls), "31536000");
        assert.deepEqual(frontendEnv(BASE, frontendDefaults(BASE)).filter((v) => String(v.name).startsWith("HSTS")), [], "plain HTTP: not even the variable");
    });

    it("refuses a certificate of its own beside the platform's, a host name other than the certificate's, and a negative max-age", () => {
        assert.ok(problemsOf({ ...BASE, exposure: NLB_TLS, tls: { mode: "secret", secretName: "t" } }).some((p) => /^tls: expected no certificate of the front end's own: the platform's load balancer already ends HTTPS for shop\.example\.com/.test(p)));
        assert.deepEqual(problemsOf({ ...BASE, exposure: NLB_TLS, hostname: "other.example.com" }), [
            'hostname: expected the host name the platform\'s certificate is for (shop.example.com), got "other.example.com"',
        ]);
        assert.deepEqual(problemsOf({ ...BASE, exposure: NLB_TLS, hstsMaxAgeSeconds: -5 }), ["hstsMaxAgeSeconds: expected a whole number of seconds, 0 or more (0: no header), got -5"]);
        assert.deepEqual(problemsOf({ ...BASE, exposure: NLB_TLS, hostname: HOST }), []);
    });

    it("hands the load balancer's reported address to the platform's publish hook, and exports https://<host>", async () => {
        const published: string[] = [];
        let fe: Frontend | undefined;
        await evaluateProgram(() => {
            fe = new Frontend("frontend", {
                ...BASE,
                exposure: { ...NLB_TLS, https: { hostname: HOST, publish: (address) => void address.apply((a) => published.push(a)) } },
            });
            return {};
        });
        assert.ok(fe !== undefined);
        assert.equal(published.length, 1);
        assert.match(String(published[0]), /\.elb\.amazonaws\.com$/);
        assert.equal(await new Promise((resolve) => fe?.url.apply(resolve)), `https://${HOST}`);
    });

    it("an Ingress with the platform's HTTPS: the companions hook gets the name, namespace and labels, and its annotations land on the Ingress", async () => {
        const seen: { name: string; labels: Record<string, string> }[] = [];
        const e = await evaluateProgram(() => {
            new Frontend("frontend", {
                ...BASE,
                exposure: {
                    kind: "ingress",
                    className: undefined,
                    annotations: { "kubernetes.io/ingress.class": "gce" },
                    serviceAnnotations: { "cloud.google.com/neg": '{"ingress": true}' },
                    https: {
                        hostname: HOST,
                        companions: (args) => {
                            seen.push({ name: args.name, labels: { ...args.labels } });
                            return { "networking.gke.io/managed-certificates": "frontend" };
                        },
                    },
                },
            });
            return {};
        });
        assert.deepEqual(seen.map((s) => [s.name, s.labels["app.kubernetes.io/name"]]), [["frontend", "frontend"]]);
        const ingress = buildManifests(e).manifests.find((m) => m.kind === "Ingress");
        assert.ok(ingress !== undefined);
        assert.equal(annotationsOf(ingress)["networking.gke.io/managed-certificates"], "frontend");
        assert.equal((ingress["spec"] as { rules: { host: string }[] }).rules[0]?.host, HOST);
    });
});

describe("offline validation of the two GKE objects", () => {
    const meta = { name: "frontend", namespace: "herd" };
    it("accepts what herd writes and refuses a wildcard domain, an unknown field and a bad redirect code", () => {
        assert.deepEqual(validateManifest({ apiVersion: "networking.gke.io/v1", kind: "ManagedCertificate", metadata: meta, spec: { domains: [HOST] } }), []);
        assert.deepEqual(validateManifest({ apiVersion: "networking.gke.io/v1", kind: "ManagedCertificate", metadata: meta, spec: { domains: ["*.example.com"] } }), [
            'ManagedCertificate herd/frontend: spec.domains: "*.example.com" is not a fully qualified domain name (no wildcard)',
        ]);
        assert.deepEqual(validateManifest({ apiVersion: "networking.gke.io/v1", kind: "ManagedCertificate", metadata: meta, spec: { domain: [HOST] } }), [
            "ManagedCertificate herd/frontend: spec.domain is not a field of ManagedCertificate",
            "ManagedCertificate herd/frontend: spec.domains must list 1 to 100 domain names",
        ]);
        assert.deepEqual(validateManifest({ apiVersion: "networking.gke.io/v1beta1", kind: "FrontendConfig", metadata: meta, spec: { redirectToHttps: { enabled: true, responseCodeName: "308" } } }), [
            "FrontendConfig herd/frontend: spec.redirectToHttps.responseCodeName must be one of MOVED_PERMANENTLY_DEFAULT, FOUND, SEE_OTHER, TEMPORARY_REDIRECT, PERMANENT_REDIRECT",
        ]);
    });
});
