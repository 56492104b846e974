/**
 * compose.yaml, the developer's first run: no container engine exists here, so its structure is checked — the
 * services, the same env names as the Kubernetes wiring, the same pinned servers, healthchecks, and start order.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { apiEnv } from "../components/api";
import { ELASTIC_IMAGE } from "../components/elastic";
import { POSTGRES_IMAGE } from "../components/postgres";
import { REDIS_IMAGE } from "../components/redis";
import type { DataEndpoint } from "../components/data-tier";
import { PROJECT_DIR } from "./helpers";

type Service = {
    image?: string;
    build?: string;
    environment?: Record<string, string>;
    healthcheck?: { test: string[] };
    depends_on?: Record<string, { condition: string }>;
    command?: string[];
};
const compose = parse(fs.readFileSync(path.join(PROJECT_DIR, "compose.yaml"), "utf8"), { merge: true }) as { services: Record<string, Service> };
const svc = (name: string) => {
    const s = compose.services[name];
    assert.ok(s !== undefined, `service ${name}`);
    return s;
};

describe("compose.yaml", () => {
    it("runs the whole app: both images built from images/, the three data servers, and the migration", () => {
        assert.deepEqual(Object.keys(compose.services).sort(), ["api", "elasticsearch", "frontend", "migrate", "postgres", "redis"]);
        assert.equal(svc("api").build, "./images/api");
        assert.equal(svc("migrate").build, "./images/api");
        assert.equal(svc("frontend").build, "./images/frontend");
        for (const dir of ["images/api", "images/frontend"]) {
            assert.ok(fs.existsSync(path.join(PROJECT_DIR, dir, "Dockerfile")), `${dir}/Dockerfile`);
        }
    });
    it("uses the same pinned servers as the data tier", () => {
        assert.equal(svc("postgres").image, POSTGRES_IMAGE);
        assert.equal(svc("redis").image, REDIS_IMAGE);
        assert.equal(svc("elasticsearch").image, ELASTIC_IMAGE);
    });
    it("gives the API exactly the env names the Kubernetes wiring gives it", () => {
        const endpoint = { host: pulumi.output("h"), port: 1, secretName: pulumi.output("s"), passwordKey: "p", podSelector: {} } satisfies DataEndpoint;
        const names = apiEnv({
            postgres: { ...endpoint, user: "u", database: "d" },
            redis: endpoint,
            elasticsearch: { ...endpoint, url: pulumi.output("u"), username: "e" },
        }).map((v) => v.name);
        assert.deepEqual(Object.keys(svc("api").environment ?? {}).sort(), [...names].sort());
        assert.deepEqual(Object.keys(svc("migrate").environment ?? {}).sort(), [...names].sort());
        assert.equal(svc("frontend").environment?.["API_UPSTREAM"], "api:8000");
    });
    it("has a healthcheck on every long-running service and starts things in order", () => {
        for (const name of ["postgres", "redis", "elasticsearch", "api", "frontend"]) {
            assert.ok((svc(name).healthcheck?.test.length ?? 0) > 0, `${name} healthcheck`);
        }
        assert.deepEqual(svc("migrate").depends_on, { postgres: { condition: "service_healthy" } });
        assert.equal(svc("api").depends_on?.["migrate"]?.condition, "service_completed_successfully");
        assert.equal(svc("frontend").depends_on?.["api"]?.condition, "service_healthy");
        assert.deepEqual(svc("migrate").command, ["python", "-m", "herd_api.migrate"]);
    });
});
