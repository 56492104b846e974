/**
 * Mocks that answer like the engine and providers would, and record every resource.
 *
 * Outputs are realistic so that code depending on them runs its real paths: Pulumi-style auto-names with a
 * deterministic suffix, provider ids, Kubernetes names and uids, load-balancer addresses, generated passwords and
 * image digests. Anything unknown fails loudly rather than returning an empty answer a program could misread.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** Marker the SDK uses for a secret value inside mock inputs. */
const SIG_KEY = pulumi.runtime.specialSigKey;
const SECRET_SIG = pulumi.runtime.specialSecretSig;
export const REDACTED = "[secret]";

export function isWrappedSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export function wrapSecret(value: unknown): Record<string, unknown> {
    return { [SIG_KEY]: SECRET_SIG, value };
}

/** A copy with every secret replaced by `[secret]`. */
export function redact(v: unknown): unknown {
    if (isWrappedSecret(v)) {
        return REDACTED;
    }
    if (Array.isArray(v)) {
        return v.map(redact);
    }
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x)]));
    }
    return v;
}

/** A copy with secret markers removed (the plain values), for building manifests to validate. */
export function unwrap(v: unknown): unknown {
    if (isWrappedSecret(v)) {
        return unwrap(v.value);
    }
    if (Array.isArray(v)) {
        return v.map(unwrap);
    }
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
    }
    return v;
}

export function containsSecret(v: unknown): boolean {
    if (isWrappedSecret(v)) {
        return true;
    }
    if (Array.isArray(v)) {
        return v.some(containsSecret);
    }
    if (typeof v === "object" && v !== null) {
        return Object.values(v).some(containsSecret);
    }
    return false;
}

export function suffix(seed: string, length: number): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

export interface MockRecord {
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly id: string | undefined;
    /** Inputs as the program sent them, secret markers kept. */
    readonly inputs: Record<string, unknown>;
    /** The state the mock answered with, secret markers kept. */
    readonly state: Record<string, unknown>;
}

type State = Record<string, unknown>;

/** Kubernetes resources: auto-name like the provider (name + 8 chars), fill uid and status the way a cluster does. */
function kubernetesState(args: pulumi.runtime.MockResourceArgs): { id: string; state: State } {
    const inputs = args.inputs as State;
    const metadata = { ...((unwrap(inputs["metadata"]) as State | undefined) ?? {}) };
    if (typeof metadata["name"] !== "string" || metadata["name"] === "") {
        metadata["name"] = `${args.name}-${suffix(`${args.type}::${args.name}`, 8)}`;
    }
    metadata["uid"] = `${suffix(`uid:${args.type}::${args.name}`, 8)}-0000-4000-8000-${suffix(args.name, 12)}`;
    const ns = typeof metadata["namespace"] === "string" ? metadata["namespace"] : undefined;
    const state: State = { ...inputs, metadata: { ...(inputs["metadata"] as State | undefined), ...metadata } };
    const kind = args.type.split(":").pop();
    if (kind === "Service") {
        const spec = unwrap(inputs["spec"]) as State | undefined;
        state["spec"] = { ...spec, clusterIP: spec?.["clusterIP"] ?? `10.96.${parseInt(suffix(args.name, 2), 16)}.${parseInt(suffix(args.type + args.name, 2), 16)}` };
        if (spec?.["type"] === "LoadBalancer") {
            const annotations = (metadata["annotations"] as Record<string, string> | undefined) ?? {};
            const aws = Object.keys(annotations).some((a) => a.startsWith("service.beta.kubernetes.io/aws-load-balancer"));
            state["status"] = {
                loadBalancer: {
                    ingress: [aws ? { hostname: `a${suffix(args.name, 31)}.elb.amazonaws.com` } : { ip: "203.0.113.10" }],
                },
            };
        }
    }
    if (kind === "Ingress") {
        state["status"] = { loadBalancer: { ingress: [{ ip: "203.0.113.20" }] } };
    }
    return { id: ns !== undefined ? `${ns}/${metadata["name"]}` : String(metadata["name"]), state };
}

export const ACCOUNT_ID = "123456789012";

/** The region the stack configured, as a provider would see it. */
function region(): string {
    const config = pulumi.runtime.allConfig();
    const set = (v: string | undefined) => (v === undefined || v === "" ? undefined : v); // "" means not set
    return set(config["herd:awsRegion"]) ?? set(config["herd:gcpRegion"]) ?? "eu-west-1";
}

/** Cloud resources: Pulumi auto-names them `${name}-${7 hex}`; ids, ARNs, endpoints and digests look like the real ones. */
function cloudState(args: pulumi.runtime.MockResourceArgs): { id: string; state: State } {
    const inputs = (args.inputs ?? {}) as State;
    const physical = `${args.name}-${suffix(`${args.type}::${args.name}`, 7)}`;
    const state: State = { name: physical, ...inputs };
    const [pkg, module] = args.type.split(":");
    if (pkg === "aws") {
        const service = (module ?? "").split("/")[0];
        state["arn"] = `arn:aws:${service}:${region()}:${ACCOUNT_ID}:${args.type.split(":").pop()?.toLowerCase()}/${String(state["name"])}`;
    }
    switch (args.type) {
        case "docker:index/image:Image": {
            const imageName = String(unwrap(inputs["imageName"]) ?? physical);
            const repository = imageName.replace(/:[^/:]+$/, "");
            state["repoDigest"] = `${repository}@sha256:${createHash("sha256").update(`image:${args.name}:${JSON.stringify(unwrap(inputs["build"]))}`).digest("hex")}`;
            state["imageName"] = imageName;
            break;
        }
        case "aws:eks/cluster:Cluster": {
            const id = suffix(`eks:${args.name}`, 32).toUpperCase();
            state["endpoint"] = `https://${id}.gr7.${region()}.eks.amazonaws.com`;
            state["certificateAuthority"] = { data: Buffer.from(`-----BEGIN CERTIFICATE-----\nMOCK-${args.name}\n-----END CERTIFICATE-----\n`).toString("base64") };
            state["identities"] = [{ oidcs: [{ issuer: `https://oidc.eks.${region()}.amazonaws.com/id/${id}` }] }];
            state["status"] = "ACTIVE";
            break;
        }
        case "gcp:container/cluster:Cluster": {
            state["endpoint"] = `34.${parseInt(suffix(args.name, 2), 16)}.${parseInt(suffix(`${args.name}x`, 2), 16)}.10`;
            state["masterAuth"] = { clusterCaCertificate: Buffer.from(`MOCK-CA-${args.name}`).toString("base64") };
            break;
        }
    }
    return { id: physical, state };
}

/** Realistic answers for the invokes herd's platforms make. */
const INVOKES: Readonly<Record<string, (inputs: State) => State>> = {
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({
        accountId: ACCOUNT_ID,
        arn: `arn:aws:iam::${ACCOUNT_ID}:user/offline`,
        userId: "AIDAOFFLINEHARNESS",
        id: ACCOUNT_ID,
    }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
    "aws:index/getRegion:getRegion": () => ({ name: region(), region: region(), id: region() }),
    "aws:index/getAvailabilityZones:getAvailabilityZones": () => ({
        names: ["a", "b", "c"].map((z) => `${region()}${z}`),
        zoneIds: ["1", "2", "3"].map((z) => `euw1-az${z}`),
        id: region(),
    }),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": () => ({
        userName: "AWS",
        password: wrapSecret("offline-ecr-token"),
        authorizationToken: wrapSecret(Buffer.from("AWS:offline-ecr-token").toString("base64")),
        proxyEndpoint: `https://${ACCOUNT_ID}.dkr.ecr.${region()}.amazonaws.com`,
        id: region(),
    }),
    "gcp:organizations/getClientConfig:getClientConfig": () => ({
        accessToken: wrapSecret("offline-gcp-access-token"),
        project: pulumi.runtime.allConfig()["herd:gcpProject"] ?? "offline-project",
        region: region(),
        id: "offline",
    }),
};

export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly records: MockRecord[] = [];

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = (args.inputs ?? {}) as State;
        let result: { id: string | undefined; state: State };
        if (args.custom === false) {
            result = { id: undefined, state: {} };
        } else if (args.type.startsWith("pulumi:providers:")) {
            result = { id: `${suffix(`provider:${args.name}`, 8)}-0000-4000-8000-${suffix(args.name, 12)}`, state: inputs };
        } else if (args.type.startsWith("kubernetes:")) {
            result = kubernetesState(args);
        } else if (args.type === "random:index/randomPassword:RandomPassword") {
            const length = typeof inputs["length"] === "number" ? inputs["length"] : 32;
            const value = createHash("sha512").update(`password:${args.name}`).digest("base64url").slice(0, length);
            result = { id: "none", state: { ...inputs, result: wrapSecret(value), bcryptHash: wrapSecret(`$2a$10$${value}`) } };
        } else {
            result = cloudState(args);
        }
        this.records.push({
            type: args.type,
            name: args.name,
            custom: args.custom !== false,
            id: result.id,
            inputs,
            state: result.state,
        });
        return { id: result.id, state: result.state };
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        const answer = INVOKES[args.token];
        if (answer !== undefined) {
            return answer(args.inputs as State);
        }
        throw new Error(
            `the offline harness has no mock for the invoke ${args.token}; add a realistic answer in tests/harness/mocks.ts`,
        );
    }
}
