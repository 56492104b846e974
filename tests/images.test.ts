/**
 * herd's three images, the PostgreSQL one beside api and frontend: built with the same content-hash tags and
 * deployed by digest, or taken prebuilt as given (herd:postgresImage on onprem).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { appImages, contextHash, IMAGE_NAMES, IMAGES_DIR } from "../components/images";
import { evaluateProgram } from "../offline/evaluate";
import { inspect, tempDir } from "./helpers";

const REGISTRY = { server: "registry.example.com:5000", username: "ci", password: pulumi.secret("pw") };

describe("the herd PostgreSQL image", () => {
    it("is built like api and frontend: images/postgres, tagged by its context's hash, pushed to its own repository", async () => {
        const e = await evaluateProgram(() => {
            appImages({
                kind: "build",
                registry: REGISTRY,
                repositories: { api: "registry.example.com:5000/herd/api", frontend: "registry.example.com:5000/herd/frontend", postgres: "registry.example.com:5000/herd/postgres" },
            });
            return {};
        });
        const built = e.resources.filter((r) => r.type === "docker:index/image:Image");
        assert.deepEqual(built.map((r) => r.name).sort(), ["api-image", "frontend-image", "postgres-image"]);
        const pg = built.find((r) => r.name === "postgres-image");
        assert.equal(pg?.inputs["imageName"], `registry.example.com:5000/herd/postgres:h-${contextHash(path.join(IMAGES_DIR, "postgres"))}`);
        assert.deepEqual(pg?.inputs["build"], { context: "images/postgres", dockerfile: "images/postgres/Dockerfile", platform: "linux/amd64" });
        assert.deepEqual(IMAGE_NAMES, ["api", "frontend", "postgres"]);
    });
    it("is deployed by digest", async () => {
        let ref = "";
        await evaluateProgram(async () => {
            const images = appImages({
                kind: "build",
                registry: REGISTRY,
                repositories: { api: "r.example.com/herd/api", frontend: "r.example.com/herd/frontend", postgres: "r.example.com/herd/postgres" },
            });
            ref = (await inspect(images.postgres)).value as string;
            return {};
        });
        assert.match(ref, /^r\.example\.com\/herd\/postgres@sha256:[0-9a-f]{64}$/);
    });
    it("prebuilt (onprem herd:postgresImage): used as given, nothing built", async () => {
        let ref = "";
        const e = await evaluateProgram(async () => {
            const images = appImages({ kind: "prebuilt", api: "r.example.com/herd/api:2.0.1", frontend: "r.example.com/herd/frontend:2.0.1", postgres: "r.example.com/herd/postgres:2.0.1" });
            ref = (await inspect(images.postgres)).value as string;
            return {};
        });
        assert.equal(ref, "r.example.com/herd/postgres:2.0.1");
        assert.equal(e.resources.length, 0);
    });
    it("its tag follows what Docker sends (Dockerfile and the two scripts), not its tests or README", () => {
        // A copy of images/postgres with its .dockerignore allow-list, changed file by file.
        const dir = path.join(tempDir(), "postgres");
        fs.cpSync(path.join(IMAGES_DIR, "postgres"), dir, { recursive: true });
        const hash = contextHash(dir);
        assert.equal(hash, contextHash(path.join(IMAGES_DIR, "postgres")), "the copy hashes as the original");
        fs.appendFileSync(path.join(dir, "README.md"), "\nmore words\n");
        fs.writeFileSync(path.join(dir, "tests", "test_new.py"), "x = 1\n");
        assert.equal(contextHash(dir), hash, "README and tests are not sent");
        fs.appendFileSync(path.join(dir, "herd-pg-restore"), "\n# changed\n");
        assert.notEqual(contextHash(dir), hash, "a script is");
    });
});
