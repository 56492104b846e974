/**
 * Evaluates the herd program for one stack under Pulumi's mocks, with no CLI, network or credentials, and records
 * every resource (type, name, parent, inputs, options) and the stack outputs.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { collectSecrets, MockRecord, RecordingMocks, REDACTED, redact } from "./mocks";
import { recordRegistrations } from "./registrations";
import { runStackTransforms, StackTransforms } from "./transforms";
import { PROJECT_DIR, readStackConfig, StackConfig, StackConfigOptions } from "./stack-config";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    /** Name of the parent resource; null for resources directly under the stack. */
    readonly parent: string | null;
    readonly parentType: string | null;
    /** Inputs with every secret value replaced by `[secret]`. */
    readonly inputs: Record<string, unknown>;
    readonly options: {
        readonly protect: boolean;
        readonly retainOnDelete: boolean;
        readonly deleteBeforeReplace: boolean;
        readonly ignoreChanges: readonly string[];
        readonly dependsOn: readonly string[];
        /** Name of the provider the resource uses: its own, or the one its nearest ancestor hands down. */
        readonly provider: string | null;
        readonly customTimeouts: pulumi.CustomTimeouts | null;
        /** Names of the error hooks bound to it. */
        readonly onError: readonly string[];
    };
    /** `type::name` of everything the engine creates before it: the SDK's dependency list and the provider. */
    readonly dependencies: readonly string[];
    /** Per top-level input property, `type::name` of the resources its value came from (offline/registrations.ts). */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface Evaluation {
    readonly stack: string;
    readonly configFile: string;
    readonly resources: readonly RecordedResource[];
    /** The raw mock records, with secret markers kept (for building manifests). */
    readonly records: readonly MockRecord[];
    /** Stack outputs with every secret value replaced by `[secret]`. */
    readonly outputs: Record<string, unknown>;
    /** Plaintext of every secret the stack config held (so tests can prove none leaks). */
    readonly secretValues: readonly string[];
}

interface Captured {
    readonly parent: pulumi.Resource | undefined;
    readonly options: pulumi.ResourceOptions;
    readonly resource: pulumi.Resource;
}

/** Resolves every Output in a value, replacing secrets by `[secret]`. */
async function resolveRedacted(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const output = value as pulumi.Output<unknown>;
        if (await pulumi.isSecret(output)) {
            return REDACTED;
        }
        const inner = await new Promise<unknown>((resolve) => output.apply((v) => resolve(v)));
        return resolveRedacted(inner);
    }
    if (value instanceof Promise) {
        return resolveRedacted(await value);
    }
    if (pulumi.Resource.isInstance(value)) {
        return "[resource]";
    }
    if (Array.isArray(value)) {
        return Promise.all(value.map(resolveRedacted));
    }
    if (typeof value === "object" && value !== null) {
        const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveRedacted(v)] as const));
        return Object.fromEntries(entries);
    }
    return value;
}

export type Program = () => Promise<Record<string, unknown>> | Record<string, unknown>;

function loadProgram(projectDir: string): Program {
    // The program module exports a function (see index.ts); Pulumi calls it, and so do we, once per stack.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(projectDir, "index.ts")) as unknown;
    if (typeof program !== "function") {
        throw new Error(`${projectDir}/index.ts must export a function (export = async () => {...})`);
    }
    return program as Program;
}

/** Waits until every pending resource registration has reached the mocks. */
export async function settle(): Promise<void> {
    // `waitForRPCs` is exported by the runtime but not declared in its types.
    const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
    if (runtime.waitForRPCs !== undefined) {
        await runtime.waitForRPCs();
    }
    await new Promise((resolve) => setImmediate(resolve));
}

let running = false;

/** Evaluates herd's program (index.ts) for one stack file. */
export async function evaluateStack(opts: StackConfigOptions): Promise<Evaluation> {
    const projectDir = opts.projectDir ?? PROJECT_DIR;
    const config = readStackConfig({ ...opts, projectDir });
    return evaluate(config, loadProgram(projectDir));
}

/**
 * Evaluates any program (e.g. one component on its own) under the same mocks and recording, with the given raw
 * config values. For component tests.
 */
export async function evaluateProgram(program: Program, values: Record<string, string> = {}, stack = "unit"): Promise<Evaluation> {
    return evaluate({ project: "herd", stack, file: "(inline)", values, secretKeys: new Set() }, program);
}

async function evaluate(config: StackConfig, program: Program): Promise<Evaluation> {
    if (running) {
        throw new Error("evaluateStack: one evaluation at a time per process (Pulumi's runtime state is global)");
    }
    running = true;
    const mocks = new RecordingMocks();
    const captured = new Map<string, Captured[]>();
    const names = new WeakMap<pulumi.Resource, { name: string; type: string }>();
    const asyncErrors: unknown[] = [];
    const onAsyncError = (err: unknown) => asyncErrors.push(err);
    process.on("unhandledRejection", onAsyncError);
    let programError: { err: unknown } | undefined;
    let transforms: StackTransforms | undefined;

    try {
        pulumi.runtime.setAllConfig(config.values, [...config.secretKeys]);
        await pulumi.runtime.setMocks(mocks, config.project, config.stack, false);
        const registrations = recordRegistrations();
        // The program's stack transforms (herd:imageRegistryMirror's) run as the engine runs them.
        transforms = runStackTransforms();

        // The stack resource hands back plain values (secrets unwrapped), so keep what the program returned, with
        // its Outputs and their secretness, and resolve that.
        let returned: unknown = {};
        await pulumi.runtime.runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation((args) => {
                names.set(args.resource, { name: args.name, type: args.type });
                const key = `${args.type}::${args.name}`;
                const list = captured.get(key) ?? [];
                list.push({ parent: args.opts.parent, options: args.opts, resource: args.resource });
                captured.set(key, list);
                return undefined;
            });
            // A program error is caught here and rethrown after the runtime settles: thrown inside the stack's
            // init it would leave rejected promises behind that surface as unhandled rejections later.
            try {
                returned = await program();
                return returned as Record<string, unknown>;
            } catch (err) {
                programError = { err };
                return {};
            }
        });
        await settle();
        if (programError !== undefined) {
            throw programError.err;
        }
        if (asyncErrors.length > 0) {
            throw asyncErrors[0];
        }

        const outputs = (await resolveRedacted(returned ?? {})) as Record<string, unknown>;
        await settle();

        const nameOf = (r: pulumi.Resource | undefined) => (r === undefined ? undefined : names.get(r));
        const byResource = new Map<pulumi.Resource, Captured>();
        for (const list of captured.values()) {
            for (const c of list) {
                byResource.set(c.resource, c);
            }
        }
        /**
         * The provider a resource really uses: its own `provider`, else the nearest ancestor's `provider` or
         * `providers` entry for its package (how a component hands its provider to its children).
         */
        const effectiveProvider = (type: string, capture: Captured | undefined): string | null => {
            const pkg = type.split(":")[0];
            const matches = (p: unknown): p is pulumi.ProviderResource =>
                pulumi.ProviderResource.isInstance(p) && nameOf(p)?.type === `pulumi:providers:${pkg}`;
            for (let c = capture; c !== undefined; c = c.parent === undefined ? undefined : byResource.get(c.parent)) {
                const o = c.options as pulumi.ComponentResourceOptions;
                if (matches(o.provider)) {
                    return nameOf(o.provider)?.name ?? null;
                }
                const list = Array.isArray(o.providers) ? o.providers : Object.values(o.providers ?? {});
                const found = list.find(matches);
                if (found !== undefined) {
                    return nameOf(found)?.name ?? null;
                }
            }
            return null;
        };
        const resources: RecordedResource[] = mocks.records
            .filter((r) => r.type !== "pulumi:pulumi:Stack")
            .map((record) => {
                const queue = captured.get(`${record.type}::${record.name}`) ?? [];
                const capture = queue.shift();
                const o = capture?.options ?? {};
                const deps = registrations.byKey.get(`${record.type}::${record.name}`);
                const parent = nameOf(capture?.parent);
                const dependsOn = Array.isArray(o.dependsOn) ? (o.dependsOn as unknown[]) : o.dependsOn === undefined ? [] : [o.dependsOn];
                return {
                    type: record.type,
                    name: record.name,
                    parent: parent?.name ?? null,
                    parentType: parent?.type ?? null,
                    inputs: redact(record.inputs) as Record<string, unknown>,
                    options: {
                        protect: o.protect === true,
                        retainOnDelete: o.retainOnDelete === true,
                        deleteBeforeReplace: (o as pulumi.CustomResourceOptions).deleteBeforeReplace === true,
                        ignoreChanges: o.ignoreChanges ?? [],
                        dependsOn: dependsOn
                            .filter((d): d is pulumi.Resource => pulumi.Resource.isInstance(d))
                            .map((d) => nameOf(d)?.name ?? "?"),
                        provider: effectiveProvider(record.type, capture),
                        customTimeouts: o.customTimeouts ?? null,
                        onError: (o.hooks?.onError ?? []).map((h) => h.name),
                    },
                    dependencies: [...(deps?.dependencies ?? []), ...[deps?.provider ?? null].filter((p): p is string => p !== null)],
                    propertyDependencies: deps?.propertyDependencies ?? {},
                };
            });

        const secretValues = [...config.secretKeys].map((k) => config.values[k]).filter((v) => v !== "");
        for (const record of mocks.records) {
            collectSecrets(record.state, secretValues);
        }
        return { stack: config.stack, configFile: config.file, resources, records: mocks.records, outputs, secretValues };
    } catch (err) {
        // A failed program leaves rejected promises behind (the stack's outputs, pending registrations); let them
        // surface now, into this evaluation's handler, so they cannot leak into the next evaluation.
        await settle().catch(() => undefined);
        for (let i = 0; i < 3; i++) {
            await new Promise((resolve) => setImmediate(resolve));
        }
        throw err;
    } finally {
        transforms?.close();
        process.off("unhandledRejection", onAsyncError);
        running = false;
    }
}

export interface UnderMocks<T> {
    /** What `fn` returned (undefined when it threw). */
    readonly value: T | undefined;
    /** What `fn` threw, if anything (the resources registered before it are in `mocks.records`). */
    readonly error: unknown;
    readonly mocks: RecordingMocks;
    /** The options every resource was registered with, by `type::name`. */
    readonly options: ReadonlyMap<string, pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions>;
}

/**
 * Runs `fn` (a component, a platform, any resources) inside a stack under the mocks, waits for every registration,
 * and hands back what it returned or threw, the mocks' records and each resource's options. `config` replaces the
 * stack config first (what the program reads; the mocks take region and project from each resource's provider);
 * `mocks` lets a test record more.
 */
export async function evaluateUnderMocks<T>(
    fn: () => T,
    opts: { config?: Record<string, string>; mocks?: RecordingMocks; stack?: string } = {},
): Promise<UnderMocks<T>> {
    const mocks = opts.mocks ?? new RecordingMocks();
    if (opts.config !== undefined) {
        pulumi.runtime.setAllConfig(opts.config, []);
    }
    await pulumi.runtime.setMocks(mocks, "herd", opts.stack ?? "unit", false);
    recordRegistrations();
    const transforms = runStackTransforms();
    const options = new Map<string, pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions>();
    let value: T | undefined;
    let error: unknown;
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            options.set(`${args.type}::${args.name}`, args.opts);
            return undefined;
        });
        try {
            value = fn();
        } catch (err) {
            error = err;
        }
        return {};
    });
    await settle();
    transforms.close();
    return { value, error, mocks, options };
}
