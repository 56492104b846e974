/**
 * Records what the engine is told at each registration: the dependency list and the provider the SDK sends with
 * `RegisterResource`, exactly as a real engine receives them (explicit dependsOn, every resource an input Output
 * comes from, a component dependency expanded to its children). Pulumi's mocks see only the inputs, so this wraps
 * the mock monitor's registerResource after `setMocks`. It also lets the program register error hooks (lib/waits.ts
 * binds one to every resource that waits), which the SDK's mock monitor does not implement: they are accepted and
 * never called, as no operation fails under mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { referenceParts, urnParts } from "./mock-values";

/** The parts of a RegisterResourceRequest read here (the generated protobuf class). */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getDependenciesList(): string[];
    /** Per input property, the resources its value came from (the engine's propertyDependencies). */
    getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
    getProvider(): string;
}

interface MonitorLike {
    registerResource(req: RegisterRequest, callback: (...args: unknown[]) => void): unknown;
    registerErrorHook?: (req: unknown, callback: (err: Error | null, response: unknown) => void) => void;
}

/** `type::name` of a URN (`urn:pulumi:stack::project::parent$type::name`). */
export function keyOfUrn(urn: string): string {
    const parts = urnParts(urn);
    return `${parts?.type ?? ""}::${parts?.name ?? ""}`;
}

/** `type::name` of the provider a reference (`<urn>::<id>`) names. */
export function keyOfReference(reference: string): string {
    const parts = referenceParts(reference);
    return `${parts?.type ?? ""}::${parts?.name ?? ""}`;
}

/** Lets a program register error hooks under the mocks: the SDK's mock monitor has no registerErrorHook. */
export function acceptErrorHooks(): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike | undefined;
    if (monitor !== undefined) {
        monitor.registerErrorHook ??= (_req, callback) => callback(null, {});
    }
}

export interface Registered {
    /** `type::name` of each resource in the request's dependency list. */
    readonly dependencies: readonly string[];
    /**
     * Per top-level input property, `type::name` of the resources its value came from. When one of those is replaced
     * delete-first, the engine treats the whole property as unknown for this resource and asks its provider whether
     * that needs a replacement too.
     */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** `type::name` of its explicit provider; null for a default provider. */
    readonly provider: string | null;
}

export interface RegistrationLog {
    /** Dependencies and provider by `type::name`, in registration order. */
    readonly byKey: ReadonlyMap<string, Registered>;
}

/** Starts recording on the current (mock) monitor; call right after `pulumi.runtime.setMocks`. */
export function recordRegistrations(): RegistrationLog {
    const byKey = new Map<string, Registered>();
    const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike | undefined;
    if (monitor === undefined) {
        throw new Error("recordRegistrations: no monitor; call it after pulumi.runtime.setMocks");
    }
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const provider = req.getProvider();
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((value, key) => {
            propertyDependencies[key] = value.getUrnsList().map(keyOfUrn);
        });
        byKey.set(`${req.getType()}::${req.getName()}`, {
            dependencies: req.getDependenciesList().map(keyOfUrn),
            propertyDependencies,
            provider: provider === "" ? null : keyOfReference(provider),
        });
        return original(req, callback);
    };
    acceptErrorHooks();
    return { byKey };
}
