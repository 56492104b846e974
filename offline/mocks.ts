/**
 * Mocks that answer like the engine and providers would, and record every resource.
 *
 * Outputs are realistic so that code depending on them runs its real paths: Pulumi-style auto-names with a
 * deterministic suffix, provider ids, Kubernetes names and uids, load-balancer addresses, generated passwords and
 * image digests. Anything unknown fails loudly rather than returning an empty answer a program could misread.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { computedPlaceholder, Placement, ProviderPlacements, registerComputed, registerComputedState, State, suffix, unwrap, wrapSecret } from "./mock-values";
import { AWS_INVOKES, awsState } from "./mocks-aws";
import { GCP_INVOKES, gcpState } from "./mocks-gcp";
import { tlsState } from "./mocks-tls";

export * from "./mock-values";

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


/** Invokes with a realistic answer; anything else fails loudly. */
const INVOKES: Readonly<Record<string, (inputs: State, at: Placement) => State>> = { ...AWS_INVOKES, ...GCP_INVOKES };

export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly records: MockRecord[] = [];
    /** Each provider's region and project: cloud resources and invokes are answered for the provider they use. */
    private readonly placements = new ProviderPlacements();

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = (args.inputs ?? {}) as State;
        let result: { id: string | undefined; state: State };
        if (args.custom === false) {
            // herd's own components have no state; remote components (pulumi-eks) are answered like cloud resources.
            const at = this.placements.of(args);
            result = awsState(args, at) ?? gcpState(args, at) ?? { id: undefined, state: {} };
        } else if (args.type.startsWith("pulumi:providers:")) {
            const id = `${suffix(`provider:${args.name}`, 8)}-0000-4000-8000-${suffix(args.name, 12)}`;
            this.placements.record(args.type, args.name, id, inputs);
            result = { id, state: inputs };
        } else if (args.type.startsWith("kubernetes:")) {
            result = kubernetesState(args);
        } else if (args.type === "random:index/randomPassword:RandomPassword") {
            const length = typeof inputs["length"] === "number" ? inputs["length"] : 32;
            const value = createHash("sha512").update(`password:${args.name}`).digest("base64url").slice(0, length);
            result = { id: "none", state: { ...inputs, result: wrapSecret(value), bcryptHash: wrapSecret(`$2a$10$${value}`) } };
        } else if (args.type.startsWith("tls:")) {
            const tlsResult = tlsState(args);
            if (tlsResult === undefined) {
                throw new Error(`the offline harness has no mock for ${args.type}; add a realistic answer to tlsState in offline/mocks-tls.ts`);
            }
            result = tlsResult;
        } else if (args.type === "docker:index/image:Image") {
            // A pushed image: its digest depends on what was built, so a code change yields a new digest.
            const imageName = String(unwrap(inputs["imageName"]) ?? args.name);
            const digest = createHash("sha256").update(`image:${args.name}:${JSON.stringify(unwrap(inputs["build"]))}`).digest("hex");
            result = { id: `${imageName.replace(/:[^/:]+$/, "")}@sha256:${digest}`, state: { ...inputs, imageName, repoDigest: `${imageName.replace(/:[^/:]+$/, "")}@sha256:${digest}` } };
        } else {
            // Cloud resources (and remote components such as pulumi-eks's Cluster): ids, ARNs, endpoints, digests.
            const physical = `${args.name}-${suffix(`${args.type}::${args.name}`, 7)}`;
            const at = this.placements.of(args);
            result = awsState(args, at) ?? gcpState(args, at) ?? { id: physical, state: { name: physical, ...inputs } };
        }
        if (args.type === "docker:index/image:Image") {
            // The digest exists only once the image is pushed; the tag in the name (a hash of the build context) is
            // herd's own, so it stays visible and a code change still shows in an offline diff.
            const repoDigest = String(result.state["repoDigest"]);
            const imageName = String(result.state["imageName"]);
            registerComputed(repoDigest, `${repoDigest.split("@")[0]}@${computedPlaceholder(`digest-of-${imageName.split("/").pop() ?? imageName}`)}`);
        }
        registerComputedState(args.type, args.name, inputs, result.state, result.id);
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
            return answer(args.inputs as State, this.placements.of(args));
        }
        throw new Error(
            `the offline harness has no mock for the invoke ${args.token}; add a realistic answer in offline/mocks.ts`,
        );
    }
}

/** Adds the plaintext of every secret in a mock state (generated passwords, ...). */
export function collectSecrets(v: unknown, into: string[]): void {
    if (typeof v !== "object" || v === null) {
        return;
    }
    if (Array.isArray(v)) {
        v.forEach((x) => collectSecrets(x, into));
        return;
    }
    const record = v as Record<string, unknown>;
    if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) {
        const plain = unwrap(record["value"]);
        if (typeof plain === "string" && plain !== "") {
            into.push(plain);
        }
        return;
    }
    Object.values(record).forEach((x) => collectSecrets(x, into));
}
