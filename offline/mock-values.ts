/** Values and helpers the mocks share: secret markers, deterministic suffixes, the account, where things land. */
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

/** Where a cloud resource or invoke lands: the region and project its provider would use for it. */
export interface Placement {
    readonly region: string;
    readonly project: string;
}

/**
 * The last resort, when neither a resource's (or invoke's) inputs nor its provider name a region or project: fixed
 * values, never the stack's config (a provider knows its own settings, not herd's keys).
 */
export const FALLBACK_PLACEMENT: Placement = { region: "eu-west-1", project: "offline-project" };

/** A non-empty string, else undefined ("" means not set). */
function given(v: unknown): string | undefined {
    return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * A provider's reference, as the SDK hands it to the mocks on every resource and invoke that uses it, is
 * `<urn>::<id>`, with `<urn>` = `urn:pulumi:<stack>::<project>::<type>::<name>` and `<type>` prefixed by its parent's
 * (`herd:index:AwsPlatform$pulumi:providers:aws`). The mocks are not told a resource's parent, so a provider is known
 * by the parts of its reference they are told when it registers: its type, name and id.
 */
function providerKey(type: string, name: string, id: string): string {
    return JSON.stringify([type, name, id]);
}

/** The type (without its parents' prefix) and name of a URN `urn:pulumi:<stack>::<project>::<parents$type>::<name>`. */
export function urnParts(urn: string): { readonly type: string; readonly name: string } | undefined {
    const parts = urn.split("::");
    if (parts.length < 4) {
        return undefined;
    }
    return { type: parts[2].split("$").pop() ?? parts[2], name: parts.slice(3).join("::") };
}

/** A provider reference `<urn>::<id>`, split into its URN's parts and the id. */
export function referenceParts(reference: string): { readonly type: string; readonly name: string; readonly id: string } | undefined {
    const at = reference.lastIndexOf("::");
    const urn = at === -1 ? undefined : urnParts(reference.slice(0, at));
    return urn === undefined ? undefined : { ...urn, id: reference.slice(at + 2) };
}

/** The key of the provider a reference names, or undefined for no reference (the default provider). */
function referenceKey(reference: string | undefined): string | undefined {
    const parts = referenceParts(reference ?? "");
    return parts === undefined ? undefined : providerKey(parts.type, parts.name, parts.id);
}

/**
 * The region and project of every provider the program creates (recorded as the mocks answer for it), so a cloud
 * resource or invoke is answered for the provider it goes through, as a real provider would answer.
 */
export class ProviderPlacements {
    private readonly providers = new Map<string, Partial<Placement>>();

    /** Records a provider (`pulumi:providers:<pkg>`) with the id the mocks gave it. */
    record(type: string, name: string, id: string, inputs: State): void {
        this.providers.set(providerKey(type, name, id), { region: given(inputs["region"]), project: given(inputs["project"]) });
    }

    /**
     * Where a resource or invoke lands: its own `region`/`project` inputs first, then its provider's, then the fixed
     * fallback. A component (pulumi-eks's Cluster) gets its providers through a map the mocks are not told; it is
     * answered for the one provider that names a region or project, when the program created exactly one.
     */
    of(args: { readonly inputs: unknown; readonly provider?: string; readonly custom?: boolean }): Placement {
        const inputs = (args.inputs ?? {}) as State;
        const key = referenceKey(args.provider);
        const provider = (key === undefined ? undefined : this.providers.get(key)) ?? (args.custom === false ? this.only() : undefined);
        return {
            region: given(inputs["region"]) ?? provider?.region ?? FALLBACK_PLACEMENT.region,
            project: given(inputs["project"]) ?? provider?.project ?? FALLBACK_PLACEMENT.project,
        };
    }

    private only(): Partial<Placement> | undefined {
        const placed = [...this.providers.values()].filter((p) => p.region !== undefined || p.project !== undefined);
        return placed.length === 1 ? placed[0] : undefined;
    }
}

/** Pulumi's auto-name for a cloud resource: `${name}-${7 hex}`, deterministic here. */
export function physicalName(args: pulumi.runtime.MockResourceArgs): string {
    return `${args.name}-${suffix(`${args.type}::${args.name}`, 7)}`;
}

/**
 * Values only the engine, a provider, the cloud or the cluster would assign (ids, ARNs, addresses, digests,
 * auto-name suffixes), as the mocks made them up, each with the unmistakable placeholder that stands for it in
 * what a user is handed (`npm run manifests`, the offline handoff). The mocks keep answering realistically, so the
 * program's own code runs its real paths; only the written output is marked.
 */
const COMPUTED = new Map<string, string>();

/** Shorter strings could occur by chance in other text; they are never replaced. */
const MIN_COMPUTED_LENGTH = 8;

/**
 * Records a made-up value and its placeholder (`<computed:...>`). Only id-like values are replaced in text: at least
 * 8 characters with a digit in them (ids, ARNs, addresses, digests, suffixes); a plain word such as `kubernetes`
 * could stand anywhere in a manifest.
 */
export function registerComputed(value: string, placeholder: string): void {
    if (value.length >= MIN_COMPUTED_LENGTH && /[0-9]/.test(value) && !/["\\\n\r<>]/.test(value) && !COMPUTED.has(value)) {
        COMPUTED.set(value, placeholder);
    }
}

/** The placeholder for a made-up value: `<computed:what>`. */
export function computedPlaceholder(what: string): string {
    return `<computed:${what}>`;
}

/**
 * Registers every string a mock answered that the program did not send (compared path by path with the inputs),
 * except values the stack config holds (the config is the user's own, never made up) and secrets (redacted anyway).
 * A cloud resource's id comes first: it is the value other resources' inputs most often hold.
 */
export function registerComputedState(type: string, name: string, inputs: unknown, state: unknown, id?: string): void {
    const config = Object.values(pulumi.runtime.allConfig());
    const kind = type.split(":").pop() ?? type;
    const walk = (given: unknown, answered: unknown, at: string): void => {
        if (isWrappedSecret(answered) || isWrappedSecret(given)) {
            return;
        }
        if (typeof answered === "string") {
            if (answered !== given && !config.some((c) => c.includes(answered))) {
                registerComputed(answered, computedPlaceholder(`${kind}.${name}.${at}`));
            }
            return;
        }
        if (Array.isArray(answered)) {
            answered.forEach((x, i) => walk(Array.isArray(given) ? given[i] : undefined, x, `${at}[${i}]`));
            return;
        }
        if (typeof answered === "object" && answered !== null) {
            const g = typeof given === "object" && given !== null && !Array.isArray(given) ? (given as Record<string, unknown>) : {};
            for (const [k, v] of Object.entries(answered)) {
                walk(g[k], v, at === "" ? k : `${at}.${k}`);
            }
        }
    };
    if (id !== undefined && !type.startsWith("kubernetes:")) {
        walk(undefined, id, "id");
    }
    walk(inputs, state, "");
}

/** Every made-up value in a text replaced by its placeholder (longest values first, so none is cut in two). */
export function markComputed(text: string): string {
    const values = [...COMPUTED.keys()].filter((v) => text.includes(v)).sort((a, b) => b.length - a.length);
    let out = text;
    for (const v of values) {
        out = out.split(v).join(COMPUTED.get(v) ?? v);
    }
    return out;
}

/** The distinct placeholders in a text, for the header that explains them. */
export function placeholdersIn(text: string): string[] {
    return [...new Set(text.match(/<computed:[^>]*>/g) ?? [])].sort();
}

/** Every made-up value (for tests that prove none reaches the output). */
export function computedValues(): readonly string[] {
    return [...COMPUTED.keys()];
}
