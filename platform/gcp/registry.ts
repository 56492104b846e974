/**
 * Artifact Registry: one Docker repository for the api, frontend and postgres images, readable by the node service account
 * only, cleaned up by its own policies (the newest versions kept), and the short-lived credentials images are pushed with.
 */
import * as gcp from "./sdk";
import * as pulumi from "@pulumi/pulumi";
import type { GcpConfig } from "../../config";
import type { ImageSource } from "../contract";
import { GcpOpts, gcpId } from "./common";

export const REGISTRY_READER_ROLE = "roles/artifactregistry.reader";
const SECONDS_PER_DAY = 86_400;

/**
 * The repository's cleanup policies, like ECR's lifecycle rule on aws (herd:ecrKeepImages): each image (api,
 * frontend, postgres: a package each) keeps its newest `keepImages` versions, whatever their tags; beyond those, a
 * tagged version is deleted and an untagged one once it is `untaggedDays` old (a grace period for a push still in
 * progress). KEEP wins over DELETE in Artifact Registry, so the newest versions (normally the deployed ones) stay.
 * Ages are whole seconds, the API's own form of a duration, so a later read shows no diff.
 */
export function registryCleanupPolicies(keepImages: number, untaggedDays: number): gcp.types.input.artifactregistry.RepositoryCleanupPolicy[] {
    return [
        { id: "keep-newest", action: "KEEP", mostRecentVersions: { keepCount: keepImages } },
        { id: "delete-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: `${untaggedDays * SECONDS_PER_DAY}s` } },
        { id: "delete-tagged-beyond-newest", action: "DELETE", condition: { tagState: "TAGGED" } },
    ];
}

/** The Artifact Registry host for Docker repositories in a region. */
export function registryHost(region: string): string {
    return `${region}-docker.pkg.dev`;
}

export function createRegistry(
    name: string,
    stack: string,
    cfg: GcpConfig,
    nodeAccount: gcp.serviceaccount.Account,
    opts: GcpOpts,
): gcp.artifactregistry.Repository {
    const repo = new gcp.artifactregistry.Repository(
        `${name}-registry`,
        {
            repositoryId: gcpId(["herd", stack], 63),
            location: cfg.region,
            format: "DOCKER",
            description: `herd ${stack}: api, frontend and postgres images`,
            cleanupPolicies: registryCleanupPolicies(cfg.registry.keepImages, cfg.registry.untaggedDays),
            // The policies delete for real: a dry run only logs what they would delete.
            cleanupPolicyDryRun: false,
        },
        opts,
    );
    new gcp.artifactregistry.RepositoryIamMember(
        `${name}-node-sa-registry-reader`,
        {
            project: cfg.project,
            location: repo.location,
            repository: repo.repositoryId,
            role: REGISTRY_READER_ROLE,
            member: pulumi.interpolate`serviceAccount:${nodeAccount.email}`,
        },
        opts,
    );
    return repo;
}

/** Images are built and pushed to herd's repository as whoever runs `pulumi up`: an OAuth access token of theirs
 * (valid about an hour, enough for a run's pushes), always secret. */
export function registryImageSource(
    cfg: GcpConfig,
    repo: gcp.artifactregistry.Repository,
    opts: GcpOpts,
): Extract<ImageSource, { kind: "build" }> {
    const host = registryHost(cfg.region);
    const repoPath = pulumi.interpolate`${host}/${cfg.project}/${repo.repositoryId}`;
    const client = gcp.organizations.getClientConfigOutput(opts);
    return {
        kind: "build",
        registry: { server: host, username: "oauth2accesstoken", password: pulumi.secret(client.accessToken) },
        repositories: { api: pulumi.interpolate`${repoPath}/api`, frontend: pulumi.interpolate`${repoPath}/frontend`, postgres: pulumi.interpolate`${repoPath}/postgres` },
    };
}
