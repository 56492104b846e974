/**
 * A changed ConfigMap or Secret never takes a workload down with it.
 *
 * pulumi-kubernetes replaces a ConfigMap or Secret whose data changes unless its provider has
 * enableConfigMapMutable/enableSecretMutable (herd's have, since this was found; an immutable field such as a
 * Secret's `type` still forces a replacement), and with a fixed name it deletes first. The engine then treats
 * every input property of every resource that took a value from it (its property dependencies) as unknown and asks
 * that resource's provider whether it must be replaced too: for a StatefulSet whose `spec` took a ConfigMap's name,
 * yes. For a protected StatefulSet that is a refused `pulumi up`; for a Deployment, a delete-first replacement
 * (downtime). `npm run e2e:preview` found exactly that on the upgrade to issue 17 (elasticsearch.yml changed, and
 * the StatefulSet `elastic` read the ConfigMap's name from its output). So workloads name their ConfigMaps and
 * Secrets as fixed strings and order themselves with `dependsOn`, which carries no property dependency; this test
 * holds every stack to it. Only protected ConfigMaps and Secrets (generated credentials, never rewritten) may be a
 * workload's property dependency.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evaluateStack, type Evaluation, type RecordedResource } from "../offline/evaluate";

const WORKLOADS = new Set(["kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:Deployment"]);
const REPLACED_ON_CHANGE = new Set(["kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret"]);

const STACKS = [
    { label: "aws", stack: "aws" },
    { label: "gcp", stack: "gcp" },
    { label: "onprem", stack: "onprem" },
    { label: "onprem (e2e/stack.yaml)", stack: "onprem", configFile: "e2e/stack.yaml" },
] as const;

/** `property <- type::name` for each property dependency of a workload on a ConfigMap or Secret that may be replaced. */
function riskyDependencies(e: Evaluation): string[] {
    const byKey = new Map<string, RecordedResource>(e.resources.map((r) => [`${r.type}::${r.name}`, r]));
    const found: string[] = [];
    for (const r of e.resources.filter((x) => WORKLOADS.has(x.type))) {
        for (const [property, deps] of Object.entries(r.propertyDependencies)) {
            for (const dep of deps) {
                const target = byKey.get(dep);
                if (target !== undefined && REPLACED_ON_CHANGE.has(target.type) && !target.options.protect) {
                    found.push(`${r.type}::${r.name} ${property} <- ${dep}`);
                }
            }
        }
    }
    return found.sort();
}

for (const s of STACKS) {
    describe(`stack ${s.label}: a changed ConfigMap or Secret replaces no workload`, () => {
        it("no StatefulSet or Deployment takes a property from a ConfigMap or Secret that may be replaced", async () => {
            const e = await evaluateStack({ stack: s.stack, ...("configFile" in s ? { configFile: s.configFile } : {}) });
            const workloads = e.resources.filter((r) => WORKLOADS.has(r.type));
            assert.ok(workloads.length >= 5, `expected herd's workloads, found ${workloads.length}`);
            // The recording itself works: workloads do have property dependencies (their namespace, at least).
            assert.ok(workloads.every((r) => Object.keys(r.propertyDependencies).length > 0), "property dependencies are recorded");
            assert.deepEqual(riskyDependencies(e), []);
        });

        it("yet each one is ordered after the ConfigMaps and Secrets it mounts (dependsOn)", async () => {
            const e = await evaluateStack({ stack: s.stack, ...("configFile" in s ? { configFile: s.configFile } : {}) });
            const statefulSet = (name: string) => e.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && r.name === name);
            const expectations: Record<string, string[]> = {
                postgres: ["postgres-roles", "postgres-hba", "postgres-tls"],
                redis: ["redis-config", "redis-tls"],
                elastic: ["elastic-config", "elastic-transport-tls", "elastic-http-tls"],
            };
            for (const [name, mounts] of Object.entries(expectations)) {
                const set = statefulSet(name) ?? assert.fail(`no StatefulSet ${name}`);
                for (const m of mounts) {
                    assert.ok(set.options.dependsOn.includes(m), `StatefulSet ${name} is not ordered after ${m}: ${set.options.dependsOn.join(", ")}`);
                }
            }
        });
    });
}

describe("the check itself", () => {
    it("finds a workload whose spec reads a replaceable ConfigMap's name from its output", () => {
        const resource = (type: string, name: string, protect: boolean, propertyDependencies: Record<string, string[]> = {}): RecordedResource =>
            ({ type, name, propertyDependencies, options: { protect } }) as unknown as RecordedResource;
        const e = {
            resources: [
                resource("kubernetes:core/v1:ConfigMap", "elastic-config", false),
                resource("kubernetes:core/v1:Secret", "elastic-credentials", true),
                resource("kubernetes:apps/v1:StatefulSet", "elastic", true, {
                    spec: ["kubernetes:core/v1:ConfigMap::elastic-config", "kubernetes:core/v1:Secret::elastic-credentials"],
                }),
            ],
        } as unknown as Evaluation;
        assert.deepEqual(riskyDependencies(e), ["kubernetes:apps/v1:StatefulSet::elastic spec <- kubernetes:core/v1:ConfigMap::elastic-config"]);
    });
});
