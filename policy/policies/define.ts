/**
 * How herd's rules become CrossGuard policies, and how a reviewed exception is granted.
 *
 * A rule is plain data plus a pure `check` that returns messages; `resourcePolicy` and `stackPolicy` wrap it into the
 * shape @pulumi/policy runs (validateResource / validateStack), applying exceptions on the way. Only types are
 * imported from @pulumi/policy, so importing this module (and the rules) starts nothing.
 *
 * Exceptions, two ways, both requiring a written reason (at least MIN_REASON_LENGTH characters):
 *  - in the pack's config, per policy: `{"<policy>": {"exceptions": [{"resource": "<type>::<name>" | "<urn>",
 *    "reason": "..."}]}}` (given to the CLI with `--policy-pack-config`);
 *  - on a Kubernetes object, an annotation `herd.dev/policy-exception-<policy>: <reason>`.
 * An exception without a good reason grants nothing, and the violation says why.
 */
import type {
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { kubeType } from "./k8s";
import { knownAt, knownStringMap, list, Props, record, text } from "./values";

/** The annotation prefix of an exception on a Kubernetes object; the policy name follows. */
export const EXCEPTION_ANNOTATION_PREFIX = "herd.dev/policy-exception-";
/** The shortest reason accepted: a sentence, not "ok" or "n/a". */
export const MIN_REASON_LENGTH = 10;

/** A resource as a rule sees it. */
export interface ResourceView {
    readonly type: string;
    /** The Pulumi resource name (its logical name in the program). */
    readonly name: string;
    readonly urn: string;
    /** Inputs (resource rules) or outputs (stack rules), secrets unwrapped. */
    readonly props: Props;
    readonly protect: boolean;
    /** URN of the provider it uses, when known. */
    readonly providerUrn: string | undefined;
    /** Per input property, the URNs of the resources its value came from (stack rules, real engine only). */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface Finding {
    /** The resource in violation (exceptions are looked up on it). */
    readonly subject: ResourceView;
    readonly message: string;
}

interface RuleBase {
    readonly name: string;
    readonly description: string;
    readonly enforcementLevel: Extract<EnforcementLevel, "mandatory" | "advisory">;
    readonly severity: Severity;
    /** What to change, in general; each violation message says exactly what, where. */
    readonly remediation: string;
    /** Whether a resource of this type is something the rule examines (for coverage reporting). */
    readonly appliesTo: (type: string) => boolean;
    /** False for the rule that reports exceptions itself. @default true */
    readonly exemptible?: boolean;
}

export interface ResourceRule extends RuleBase {
    readonly kind: "resource";
    /** Every problem with one resource, each a message naming the field and the fix. */
    readonly check: (r: ResourceView) => string[];
}

export interface StackRule extends RuleBase {
    readonly kind: "stack";
    /** Every problem in the stack, each attached to the resource in violation. */
    readonly check: (resources: readonly ResourceView[]) => Finding[];
}

export type Rule = ResourceRule | StackRule;

// ---------------------------------------------------------------------------------------------------------------
// Exceptions.

export interface ExceptionEntry {
    /** `<type>::<name>` (any stack) or a full URN (one stack). */
    readonly resource: string;
    readonly reason: string;
}

/** The config schema every policy accepts: its list of exceptions (the CLI validates config against it). */
export const EXCEPTIONS_SCHEMA: PolicyConfigSchema = {
    properties: {
        exceptions: {
            type: "array",
            description:
                "Reviewed exceptions to this policy. resource: '<type>::<name>' (e.g. 'kubernetes:apps/v1:Deployment::debug') " +
                "or a full URN; reason: why, in a sentence (who reviewed it, until when).",
            items: {
                type: "object",
                properties: {
                    resource: { type: "string", minLength: 1 },
                    reason: { type: "string", minLength: MIN_REASON_LENGTH },
                },
                required: ["resource", "reason"],
                additionalProperties: false,
            },
        },
    },
};

export interface ExceptionDecision {
    /** The written reason, when an exception applies and is valid. */
    readonly granted: string | undefined;
    /** Why an exception that names this resource grants nothing. */
    readonly problems: readonly string[];
}

function reasonProblem(reason: unknown): string | undefined {
    const r = typeof reason === "string" ? reason.trim() : "";
    return r.length >= MIN_REASON_LENGTH ? undefined : `its reason must say why in at least ${MIN_REASON_LENGTH} characters (got ${JSON.stringify(reason ?? "")})`;
}

/** The exceptions listed in one policy's config (entries that are not objects are ignored). */
export function configExceptions(config: unknown): { resource: string; reason: unknown }[] {
    return list(record(config)?.["exceptions"])
        .map(record)
        .filter((e): e is Props => e !== undefined)
        .map((e) => ({ resource: text(e["resource"]) ?? "", reason: e["reason"] }));
}

/** Whether an exception's `resource` names this resource: its URN, or `<type>::<name>`. */
export function namesResource(resource: string, subject: Pick<ResourceView, "urn" | "type" | "name">): boolean {
    return resource === subject.urn || resource === `${subject.type}::${subject.name}`;
}

/** The exception (if any) that lets `subject` off `policy`: from the policy's config, or its annotation. */
export function exceptionFor(policy: string, subject: ResourceView, config: unknown): ExceptionDecision {
    const problems: string[] = [];
    for (const e of configExceptions(config)) {
        if (!namesResource(e.resource, subject)) {
            continue;
        }
        const problem = reasonProblem(e.reason);
        if (problem === undefined) {
            return { granted: String(e.reason).trim(), problems: [] };
        }
        problems.push(`the exception in the policy config for ${e.resource} grants nothing: ${problem}`);
    }
    if (kubeType(subject.type) !== undefined) {
        const key = `${EXCEPTION_ANNOTATION_PREFIX}${policy}`;
        // Only this annotation is read: another one may be computed during a preview.
        const reason = knownStringMap(knownAt(subject.props, "metadata", "annotations"))[key];
        if (reason !== undefined) {
            const problem = reasonProblem(reason);
            if (problem === undefined) {
                return { granted: reason.trim(), problems: [] };
            }
            problems.push(`the annotation ${key} grants nothing: ${problem}`);
        }
    }
    return { granted: undefined, problems };
}

// ---------------------------------------------------------------------------------------------------------------
// Views of what @pulumi/policy hands a policy.

export function viewOfArgs(args: ResourceValidationArgs): ResourceView {
    return {
        type: args.type,
        name: args.name,
        urn: args.urn,
        props: args.props,
        protect: args.opts?.protect === true,
        providerUrn: args.provider?.urn,
        propertyDependencies: {},
    };
}

export function viewOfResource(r: PolicyResource): ResourceView {
    const deps: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(r.propertyDependencies ?? {})) {
        deps[k] = v.map((d) => d.urn);
    }
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.props,
        protect: r.opts?.protect === true,
        providerUrn: r.provider?.urn,
        propertyDependencies: deps,
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Wrapping rules into policies.

/** Reports findings unless an exception applies; an exception that grants nothing is explained next to them. */
function reportUnlessExcepted(rule: Rule, subject: ResourceView, messages: readonly string[], config: unknown, report: (m: string) => void): void {
    if (messages.length === 0) {
        return;
    }
    const decision = rule.exemptible === false ? { granted: undefined, problems: [] } : exceptionFor(rule.name, subject, config);
    if (decision.granted !== undefined) {
        return;
    }
    for (const m of messages) {
        report(m);
    }
    for (const p of decision.problems) {
        report(p);
    }
}

function common(rule: Rule) {
    return {
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        severity: rule.severity,
        remediationSteps: rule.remediation,
        ...(rule.exemptible === false ? {} : { configSchema: EXCEPTIONS_SCHEMA }),
    };
}

export function resourcePolicy(rule: ResourceRule): ResourceValidationPolicy {
    return {
        ...common(rule),
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            if (!rule.appliesTo(args.type)) {
                return;
            }
            const view = viewOfArgs(args);
            reportUnlessExcepted(rule, view, rule.check(view), args.getConfig<object>(), (m) => reportViolation(m));
        },
    };
}

export function stackPolicy(rule: StackRule): StackValidationPolicy {
    return {
        ...common(rule),
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const views = args.resources.map(viewOfResource);
            const config = args.getConfig<object>();
            const bySubject = new Map<string, { subject: ResourceView; messages: string[] }>();
            for (const f of rule.check(views)) {
                const entry = bySubject.get(f.subject.urn) ?? { subject: f.subject, messages: [] };
                entry.messages.push(f.message);
                bySubject.set(f.subject.urn, entry);
            }
            for (const { subject, messages } of bySubject.values()) {
                reportUnlessExcepted(rule, subject, messages, config, (m) => reportViolation(m, subject.urn));
            }
        },
    };
}

export function toPolicy(rule: Rule): ResourceValidationPolicy | StackValidationPolicy {
    return rule.kind === "resource" ? resourcePolicy(rule) : stackPolicy(rule);
}
