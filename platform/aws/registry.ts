/**
 * ECR: a repository each for the api, frontend and postgres images (scanned on push, immutable tags, the last N images kept),
 * and the short-lived registry credentials @pulumi/docker pushes with.
 */
import * as aws from "./sdk";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryAccess } from "../contract";
import { AwsContext, awsOpts } from "./common";

export const IMAGES = ["api", "frontend", "postgres"] as const;
export type ImageName = (typeof IMAGES)[number];

/** Lifecycle policy: expire every image beyond the newest `keep` (tagged or not). */
export function ecrLifecyclePolicy(keep: number): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: `Keep the newest ${keep} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
                action: { type: "expire" },
            },
        ],
    });
}

export interface EcrRegistry {
    readonly repositories: Readonly<Record<ImageName, aws.ecr.Repository>>;
    readonly access: RegistryAccess;
}

export function createRegistry(ctx: AwsContext, keepImages: number): EcrRegistry {
    const { name, prefix } = ctx;
    const repository = (image: ImageName): aws.ecr.Repository => {
        const repo = new aws.ecr.Repository(
            `${name}-${image}-repo`,
            {
                name: `${prefix}/${image}`,
                imageScanningConfiguration: { scanOnPush: true },
                // herd deploys by digest and pushes content-derived tags: a tag, once pushed, never moves.
                imageTagMutability: "IMMUTABLE",
                // Images are build output, rebuilt from source at will: a destroy must not stall on them.
                forceDelete: true,
            },
            awsOpts(ctx),
        );
        new aws.ecr.LifecyclePolicy(`${name}-${image}-lifecycle`, { repository: repo.name, policy: ecrLifecyclePolicy(keepImages) }, awsOpts(ctx));
        return repo;
    };
    const repositories = { api: repository("api"), frontend: repository("frontend"), postgres: repository("postgres") };

    // A 12-hour token, fetched afresh on every run; the password never leaves a secret Output.
    const token = aws.ecr.getAuthorizationTokenOutput({}, { parent: ctx.parent, provider: ctx.provider });
    return {
        repositories,
        access: {
            server: token.proxyEndpoint.apply((endpoint) => endpoint.replace(/^https:\/\//, "")),
            username: token.userName,
            password: pulumi.secret(token.password),
        },
    };
}
