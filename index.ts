/**
 * herd: one program, every platform. Composition only:
 * config -> platform -> namespace -> (images -> data tier -> app tier) -> exports.
 *
 * The module exports a function, which Pulumi calls; the offline harness calls the same function under mocks.
 */
import { createAppNamespace } from "./components";
import { loadConfig } from "./config";
import { createPlatform } from "./platform";

export = async () => {
    const cfg = loadConfig();
    const platform = createPlatform(cfg);
    const namespace = createAppNamespace(cfg.namespace, platform.provider);

    return {
        platform: platform.outputs,
        app: {
            namespace: namespace.metadata.name,
        },
    };
};
