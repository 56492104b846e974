/** Values and helpers the mocks share: secret markers, deterministic suffixes, the account and region. */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export type State = Record<string, unknown>;

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

/** A copy of a value in which every secret is replaced by what `onSecret` makes of its inner value. */
function mapSecrets(v: unknown, onSecret: (inner: unknown) => unknown): unknown {
    if (isWrappedSecret(v)) {
        return onSecret(v.value);
    }
    if (Array.isArray(v)) {
        return v.map((x) => mapSecrets(x, onSecret));
    }
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapSecrets(x, onSecret)]));
    }
    return v;
}

/** A copy with every secret replaced by a marker (`[secret]` unless told otherwise). */
export function redact(v: unknown, marker: string = REDACTED): unknown {
    return mapSecrets(v, () => marker);
}

/** A copy with secret markers removed (the plain values), for building manifests to validate. */
export function unwrap(v: unknown): unknown {
    return mapSecrets(v, unwrap);
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

export const ACCOUNT_ID = "123456789012";

/** The region the stack configured, as a provider would see it. */
export function region(): string {
    const config = pulumi.runtime.allConfig();
    const set = (v: string | undefined) => (v === undefined || v === "" ? undefined : v); // "" means not set
    return set(config["herd:awsRegion"]) ?? set(config["herd:gcpRegion"]) ?? "eu-west-1";
}

/** Pulumi's auto-name for a cloud resource: `${name}-${7 hex}`, deterministic here. */
export function physicalName(args: pulumi.runtime.MockResourceArgs): string {
    return `${args.name}-${suffix(`${args.type}::${args.name}`, 7)}`;
}
