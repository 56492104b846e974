/**
 * Building blocks for the per-key schemas (config/keys.ts) and the CIDR helpers the cross-field rules use.
 * Messages say what was expected; the parser (config/parse.ts) adds what was given.
 */
import { z } from "zod";
import { cronProblem } from "../lib/cron";
import { parseQuantity } from "../lib/quantity";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Every string schema starts here, so a value of the wrong type says so plainly. */
export const string = () => z.string({ invalid_type_error: "expected a string", required_error: "expected a string" });
export const text = () => string();
export const optionalText = () => string().trim();
export const oneOf = <T extends [string, ...string[]]>(values: T) =>
    z.enum(values, { errorMap: () => ({ message: `expected one of ${values.join(", ")}` }) });
type StringSchema = z.ZodType<string, z.ZodTypeDef, string>;
/** Empty means "not set"; anything else must satisfy `inner`. */
export const optional = (inner: StringSchema) =>
    string().superRefine((value, ctx) => {
        if (value === "") {
            return;
        }
        const result = inner.safeParse(value);
        if (!result.success) {
            for (const issue of result.error.issues) {
                ctx.addIssue({ code: z.ZodIssueCode.custom, message: issue.message, path: issue.path });
            }
        }
    });

export const dnsLabel = (what: string) =>
    string()
        .max(63, `expected ${what}: at most 63 characters`)
        .regex(DNS_LABEL, `expected ${what}: lowercase letters, digits and '-', starting and ending alphanumeric`);

export const dnsSubdomain = (what: string) =>
    string()
        .max(253, `expected ${what}: at most 253 characters`)
        .regex(DNS_SUBDOMAIN, `expected ${what}: a DNS subdomain (lowercase letters, digits, '-' and '.')`);

/**
 * A StorageClass provisioner: a Kubernetes qualified name, `[prefix/]name` with a DNS-subdomain prefix and a name of
 * at most 63 characters (`driver.longhorn.io`, `rbd.csi.ceph.com`, `kubernetes.io/no-provisioner`), as the API
 * server validates it.
 */
export const provisionerName = string().regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    "expected a provisioner name such as driver.longhorn.io or kubernetes.io/no-provisioner ([prefix/]name)",
);

/** A registry location: host[:port][/path], no scheme, no tag. */
export const registryLocation = string()
    .regex(
        /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
        "expected a registry location such as registry.example.com:5000/herd (host[:port][/path], no scheme or tag)",
    );

/** An image reference pinned by digest or by an explicit tag other than `latest`. */
export const PINNED_IMAGE =
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:(?!latest$)[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
export const pinnedImage = string()
    .regex(PINNED_IMAGE, "expected an image reference with registry and path, e.g. registry.example.com/herd/api:1.4.2")
    .refine((v) => /@sha256:[a-f0-9]{64}$/.test(v) || /:[\w][\w.-]*$/.test(v.replace(/^[^/]*\//, "")), {
        message: "expected an image pinned by tag or digest (never untagged or 'latest')",
    });

/** A kubeconfig document (YAML or JSON) with clusters, contexts and users. */
export const kubeconfigDocument = string().refine((v) => {
    try {
        // Loaded on demand: only stacks with a kubeconfig pay for the YAML parser at start-up.
        const { parse } = require("yaml") as typeof import("yaml");
        const doc = parse(v) as unknown;
        if (typeof doc !== "object" || doc === null) {
            return false;
        }
        const d = doc as Record<string, unknown>;
        return Array.isArray(d["clusters"]) && Array.isArray(d["contexts"]) && Array.isArray(d["users"]);
    } catch {
        return false;
    }
}, "expected the contents of a kubeconfig file (YAML or JSON with clusters, contexts and users)");

export const keyValue = string()
    .regex(/^[A-Za-z0-9][-A-Za-z0-9_./]*=.*$/, "expected key=value");

/** JSON text (how Pulumi passes arrays) decoded into an array of strings each validated by `item`. */
export const stringArray = (item: StringSchema) =>
    string()
        .transform((raw, ctx) => {
            try {
                return JSON.parse(raw) as unknown;
            } catch {
                ctx.addIssue({ code: z.ZodIssueCode.custom, message: "expected a list of strings (YAML sequence)" });
                return z.NEVER;
            }
        })
        .pipe(z.array(item, { invalid_type_error: "expected a list of strings (YAML sequence)" }));

/** An integer in [min, max], from the text Pulumi passes. */
export const integer = (min: number, max: number) =>
    string()
        .regex(/^\s*-?\d+\s*$/, "expected a whole number")
        .transform(Number)
        .pipe(
            z
                .number()
                .int()
                .min(min, `expected a whole number from ${min} to ${max}`)
                .max(max, `expected a whole number from ${min} to ${max}`),
        );

/** true or false, from the text Pulumi passes. */
export const boolean = () =>
    string()
        .regex(/^(true|false)$/, "expected true or false")
        .transform((v) => v === "true");

/** An IPv4 CIDR block with its host bits clear, e.g. 10.0.0.0/16. */
export function cidrProblem(v: string): string | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
    const octets = m?.slice(1, 5).map(Number) ?? [];
    const prefix = Number(m?.[5]);
    if (m === null || octets.some((o) => o > 255) || prefix > 32) {
        return "expected an IPv4 CIDR block such as 10.0.0.0/16";
    }
    const address = octets.reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - prefix);
    if (address % size !== 0) {
        const network = address - (address % size);
        const dotted = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
        return `expected a CIDR block with its host bits clear (did you mean ${dotted}/${prefix}?)`;
    }
    return undefined;
}
export const cidr = () =>
    string().superRefine((v, ctx) => {
        const problem = cidrProblem(v);
        if (problem !== undefined) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
        }
    });
export const KUBERNETES_VERSION = /^1\.(2[89]|3\d)$/;

/** A Kubernetes quantity of bytes of at least `minBytes` (e.g. "20Gi"). */
export const bytes = (what: string, minBytes: number, minText: string) =>
    string().superRefine((v, ctx) => {
        const value = parseQuantity(v);
        if (value === undefined || !Number.isFinite(value)) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected ${what} as a Kubernetes quantity such as 512Mi or 20Gi` });
        } else if (value < minBytes) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected at least ${minText} (${what})` });
        }
    });

/** A CPU quantity such as "500m" or "2". */
export const cpu = () =>
    string().superRefine((v, ctx) => {
        const value = /^\d+(\.\d+)?m?$/.test(v) ? parseQuantity(v) : undefined;
        if (value === undefined || value <= 0) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: "expected a CPU quantity such as 500m or 2" });
        }
    });

export const cron = () =>
    string().superRefine((v, ctx) => {
        const problem = cronProblem(v);
        if (problem !== undefined) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
        }
    });

/** Whether two valid IPv4 CIDR blocks share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
    const range = (c: string): [number, number] => {
        const [ip, bits] = c.split("/");
        const start = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
        return [start, start + 2 ** (32 - Number(bits)) - 1];
    };
    const [a0, a1] = range(a);
    const [b0, b1] = range(b);
    return a0 <= b1 && b0 <= a1;
}
