/**
 * onprem: an existing cluster. Where data lives (an existing StorageClass or one herd creates), where images come
 * from (a registry herd pushes to, or prebuilt references), where backups go, and the rendering-only mode.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BuildContext } from "./build-context";
import { describeGiven } from "./errors";
import { type KeyName, KEYS, qualified } from "./keys";
import type { CommonConfig, HerdConfig, OnpremConfig } from "./types";

/** The onprem settings and their cross-field rules; undefined when any problem was found. */
export function buildOnprem(ctx: BuildContext, common: CommonConfig): HerdConfig | undefined {
    const { v, raw, problems, str, set, written, problem } = ctx;
    const secretValue = (key: KeyName) => pulumi.secret(raw.values[qualified(key)] ?? "");

    const className = set("storageClass");
    const provisioner = set("storageProvisioner");
    const parameters = (v.storageParameters as string[] | undefined) ?? [];
    let storage: OnpremConfig["storage"] | undefined;
    if (provisioner !== undefined) {
        storage = {
            mode: "create",
            className: className ?? "herd-retain",
            provisioner,
            parameters: Object.fromEntries(parameters.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
        };
    } else if (className !== undefined) {
        storage = { mode: "existing", className };
        if (parameters.length > 0) {
            problem(
                "storageParameters",
                `only used with herd:storageProvisioner (herd does not change an existing StorageClass): expected no parameters without a provisioner, got ${written("storageParameters")}`,
                "storageProvisioner",
            );
        }
    } else {
        problem(
            "storageClass",
            "expected the name of an existing StorageClass, or set herd:storageProvisioner so herd creates one; got neither",
            "storageProvisioner",
        );
    }

    const location = set("registry");
    const apiImage = set("apiImage");
    const frontendImage = set("frontendImage");
    let images: OnpremConfig["images"] | undefined;
    const postgresImage = set("postgresImage");
    if (apiImage !== undefined && frontendImage !== undefined) {
        if (postgresImage === undefined) {
            problem(
                "postgresImage",
                "expected a prebuilt herd PostgreSQL image (images/postgres), pinned by tag or digest, with herd:apiImage and herd:frontendImage (a stack with prebuilt images builds nothing); got nothing",
                "apiImage",
                "frontendImage",
            );
        }
        images = { mode: "prebuilt", api: apiImage, frontend: frontendImage, postgres: postgresImage ?? "" };
    } else if (apiImage !== undefined || frontendImage !== undefined) {
        problem(
            apiImage === undefined ? "apiImage" : "frontendImage",
            `expected both herd:apiImage and herd:frontendImage (prebuilt images) or neither, got only ${apiImage === undefined ? "herd:frontendImage" : "herd:apiImage"}`,
            "apiImage",
            "frontendImage",
        );
    } else if (location !== undefined) {
        if (postgresImage !== undefined) {
            problem(
                "postgresImage",
                `only used with prebuilt images (herd:apiImage and herd:frontendImage): with herd:registry herd builds the PostgreSQL image; expected it unset, got ${describeGiven(postgresImage, false)}`,
                "registry",
            );
        }
        const username = str("registryUsername");
        const hasPassword = (raw.values[qualified("registryPassword")] ?? "") !== "";
        if (username === "" && hasPassword) {
            // (Whether a password was given is known even when it was given in plaintext: no `reads`.)
            problem("registryUsername", "expected a username to go with herd:registryPassword, got nothing");
        }
        if (username !== "" && !hasPassword) {
            problem("registryPassword", "expected a password (set with --secret) to go with herd:registryUsername, got nothing", "registryUsername");
        }
        images = {
            mode: "build",
            registry: { location, server: location.split("/")[0], username, password: secretValue("registryPassword") },
        };
    } else {
        problem(
            "registry",
            "expected a registry to push built images to, or prebuilt images in herd:apiImage and herd:frontendImage; got neither",
            "apiImage",
            "frontendImage",
        );
    }

    const bucket = set("backupBucket");
    let backup: OnpremConfig["backup"] = { mode: "volume" };
    if (bucket !== undefined) {
        const credentialsSecret = set("backupCredentialsSecret");
        if (credentialsSecret === undefined) {
            problem(
                "backupCredentialsSecret",
                "expected the name of the Secret holding the backup bucket's credentials (required with herd:backupBucket), got nothing",
                "backupBucket",
            );
        }
        backup = {
            mode: "s3",
            bucket,
            endpoint: set("backupEndpoint"),
            region: str("backupRegion"),
            credentialsSecret: credentialsSecret ?? "",
            endpointCidrs: (v.backupEndpointCidrs as string[] | undefined) ?? [],
        };
        const endpoint = set("backupEndpoint");
        if (common.data.elastic.snapshots !== undefined && endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) {
            // Elasticsearch's S3 client takes a host, not a URL with a path.
            problem(
                "backupEndpoint",
                `Elasticsearch snapshots (herd:elasticSnapshots) need the store at the root of its host: expected an http(s) URL with no path, got ${describeGiven(endpoint, false)}`,
                "elasticSnapshots",
            );
        }
        if (endpoint !== undefined && !endpoint.startsWith("https://")) {
            // PostgreSQL's WAL archive goes to the same store, and pgBackRest speaks to S3 over TLS only.
            problem(
                "backupEndpoint",
                `PostgreSQL's WAL archive (pgBackRest) reaches the store over TLS only: expected an https:// URL, got ${describeGiven(endpoint, false)}`,
            );
        }
    } else {
        for (const key of ["backupEndpoint", "backupCredentialsSecret"] as const) {
            if (set(key) !== undefined) {
                problem(key, `only used with herd:backupBucket: expected it unset without a bucket, got ${describeGiven(str(key), false)}`, "backupBucket");
            }
        }
        if (((v.backupEndpointCidrs as string[] | undefined) ?? []).length > 0) {
            problem(
                "backupEndpointCidrs",
                `only used with herd:backupBucket (the store backups go to): expected it unset without a bucket, got ${written("backupEndpointCidrs")}`,
                "backupBucket",
            );
        }
    }
    // Pulumi hands the program Pulumi.yaml's defaults as values too: "set" here means other than the default.
    if (set("ingressClass") === undefined && str("ingressControllerNamespace") !== KEYS.ingressControllerNamespace.default) {
        problem(
            "ingressControllerNamespace",
            `only used with herd:ingressClass (a LoadBalancer Service is reached from outside the cluster): expected it unset without an ingress class, got ${written("ingressControllerNamespace")}`,
            "ingressClass",
        );
    }

    const repositoryStorageClass = set("repositoryStorageClass");
    if (bucket !== undefined && repositoryStorageClass !== undefined) {
        problem(
            "repositoryStorageClass",
            `only used without herd:backupBucket (repositories then live in the bucket): expected it unset, got ${describeGiven(repositoryStorageClass, false)}`,
            "backupBucket",
        );
    }
    // Elasticsearch's file-system repository must be mounted by every node: a ReadWriteOnce volume serves one node.
    const snapshots = common.data.elastic.snapshots;
    const replicas = common.data.elastic.replicas;
    const elastic =
        snapshots !== undefined && bucket === undefined && repositoryStorageClass === undefined && replicas > 1
            ? {
                  ...common.data.elastic,
                  snapshots: {
                      ...snapshots,
                      unavailable: `herd: Elasticsearch snapshots are OFF: with ${replicas} nodes (herd:elasticReplicas) the snapshot repository must be mounted by every node, and this stack's repository is a ReadWriteOnce volume. Set herd:backupBucket (an S3-compatible store) or herd:repositoryStorageClass (a ReadWriteMany class), or set herd:elasticSnapshots to false to silence this.`,
                  },
              }
            : common.data.elastic;

    const kubeconfigRaw = raw.values[qualified("kubeconfig")] ?? "";
    if (set("renderDirectory") !== undefined) {
        // Rendering talks to no cluster; pulumi-kubernetes refuses a cluster setting beside it.
        if (kubeconfigRaw !== "") {
            problem("kubeconfig", "not used with herd:renderDirectory (rendering talks to no cluster): expected it unset, got a value (not shown: secret)", "renderDirectory");
        }
        if (set("kubeContext") !== undefined) {
            problem("kubeContext", `not used with herd:renderDirectory (rendering talks to no cluster): expected it unset, got ${describeGiven(str("kubeContext"), false)}`, "renderDirectory");
        }
    }
    if (storage === undefined || images === undefined || problems.length > 0) {
        return undefined;
    }
    return {
        ...common,
        data: { ...common.data, elastic },
        platform: "onprem",
        onprem: {
            kubeconfig: kubeconfigRaw === "" ? undefined : pulumi.secret(kubeconfigRaw),
            kubeContext: set("kubeContext"),
            storage,
            images,
            ingressClass: set("ingressClass"),
            ingressControllerNamespace: str("ingressControllerNamespace"),
            backup,
            renderDirectory: set("renderDirectory"),
            repositoryStorageClass,
        },
    };
}
