/**
 * Stack transforms (`pulumi.runtime.registerResourceTransform`) under the mocks, run the way the engine runs them.
 *
 * Pulumi's mocks do not run transforms: `setMocks` turns the SDK's transform support off, so the program's
 * `registerResourceTransform` would throw ("The Pulumi CLI does not support transforms"), and the mock monitor has no
 * RegisterStackTransform. This plays the engine's side instead. The SDK's own callback server (which the SDK starts on
 * 127.0.0.1 for callbacks, as for error hooks) registers each stack transform with the monitor; here the monitor
 * keeps the callback, and before each RegisterResource reaches the mocks it sends the resource's serialized
 * properties to that callback over gRPC as a TransformRequest, exactly as the engine does, and registers the resource
 * with the properties the TransformResponse holds. Several transforms run in the order they were registered, each on
 * the previous one's result. So the transform code the real engine runs, with the SDK's own (de)serialization, is what
 * runs here: the mocks, and every manifest and test built from them, see the transformed properties.
 *
 * Options: the request carries the resource's provider, dependencies, protect and ignoreChanges; options a transform
 * returns are not applied here (herd's transforms change properties only).
 */
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { CallbacksClient } from "@pulumi/pulumi/proto/callback_grpc_pb";
import { Callback, CallbackInvokeRequest, CallbackInvokeResponse } from "@pulumi/pulumi/proto/callback_pb";
import { TransformRequest, TransformResourceOptions, TransformResponse } from "@pulumi/pulumi/proto/resource_pb";

/** The properties of a request, as a protobuf Struct. */
type Struct = NonNullable<ReturnType<TransformRequest["getProperties"]>>;

/** The parts of a RegisterResourceRequest read and written here (the generated protobuf class). */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getCustom(): boolean;
    getParent(): string;
    getObject(): Struct | undefined;
    setObject(value?: Struct): unknown;
    getProvider(): string;
    getDependenciesList(): string[];
    getProtect(): boolean | undefined;
    getIgnorechangesList(): string[];
}

interface MonitorLike {
    registerResource(req: RegisterRequest, callback: (err: Error | null, response?: unknown) => void): unknown;
    registerStackTransform?: (req: Callback, callback: (err: Error | null, response: unknown) => void) => void;
}

/** The SDK's runtime state (`@pulumi/pulumi/runtime/state`, internal): where `setMocks` turns transforms off. */
interface RuntimeStore {
    supportsTransforms: boolean;
}

export interface StackTransforms {
    /** How many stack transforms the program registered. */
    readonly count: () => number;
    /** Closes the gRPC clients (the evaluation is over). */
    readonly close: () => void;
}

function invoke(client: CallbacksClient, request: CallbackInvokeRequest): Promise<CallbackInvokeResponse> {
    return new Promise((resolve, reject) => {
        client.invoke(request, (err, response) => (err === null ? resolve(response) : reject(err)));
    });
}

/** Lets the program register stack transforms under the current mock monitor and runs them; call right after setMocks. */
export function runStackTransforms(): StackTransforms {
    const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike | undefined;
    if (monitor === undefined) {
        throw new Error("runStackTransforms: no monitor; call it after pulumi.runtime.setMocks");
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const state = require("@pulumi/pulumi/runtime/state") as { getStore(): RuntimeStore };
    state.getStore().supportsTransforms = true;

    const callbacks: { readonly token: string; readonly client: CallbacksClient }[] = [];
    const clients = new Map<string, CallbacksClient>();
    monitor.registerStackTransform = (req, callback) => {
        const target = req.getTarget();
        const client = clients.get(target) ?? new CallbacksClient(target, grpc.credentials.createInsecure());
        clients.set(target, client);
        callbacks.push({ token: req.getToken(), client });
        callback(null, {});
    };

    const transform = async (req: RegisterRequest): Promise<void> => {
        for (const { token, client } of callbacks) {
            const options = new TransformResourceOptions();
            options.setProvider(req.getProvider());
            options.setDependsOnList(req.getDependenciesList());
            options.setIgnoreChangesList(req.getIgnorechangesList());
            const protect = req.getProtect();
            if (protect !== undefined) {
                options.setProtect(protect);
            }
            const request = new TransformRequest();
            request.setType(req.getType());
            request.setName(req.getName());
            request.setCustom(req.getCustom());
            request.setParent(req.getParent());
            request.setProperties(req.getObject());
            request.setOptions(options);
            const call = new CallbackInvokeRequest();
            call.setToken(token);
            call.setRequest(request.serializeBinary());
            const response = TransformResponse.deserializeBinary((await invoke(client, call)).getResponse_asU8());
            req.setObject(response.getProperties());
        }
    };

    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        if (callbacks.length === 0) {
            return original(req, callback);
        }
        transform(req).then(
            () => original(req, callback),
            (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
        );
        return undefined;
    };
    return {
        count: () => callbacks.length,
        close: () => {
            for (const client of clients.values()) {
                client.close();
            }
        },
    };
}
