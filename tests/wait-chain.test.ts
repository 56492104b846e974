/**
 * A fast first `pulumi up`: from the dependencies the program hands the engine (recorded from every registration,
 * as the SDK sends them), the longest chain of resources that each wait for readiness stays at 5 or fewer on every
 * stack; the links that were not needed stay gone; everything that waits has explicit timeouts and an error hook.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { evaluateStack, Evaluation, RecordedResource } from "../offline/evaluate";
import { awaitedBy, keyOf, longestWaitChain } from "../offline/wait-chain";
import { type WaitMinutes, waitFailureMessage, waitMinutes } from "../lib/waits";
import { numberDefault, waitBudgets } from "../config";
import { writeStackFile } from "./helpers";

const MAX_CHAIN = 5;
const DEFAULTS = waitBudgets(numberDefault);

function find(e: Evaluation, type: string, name: string): RecordedResource {
    const r = e.resources.find((x) => x.type === type && x.name === name);
    assert.ok(r, `${type} ${name} is not in the stack`);
    return r;
}

/** Everything a resource waits on, directly or through what it depends on. */
function transitiveDependencies(e: Evaluation, start: RecordedResource): Set<string> {
    const byKey = new Map(e.resources.map((r) => [keyOf(r), r] as const));
    const seen = new Set<string>();
    const queue = [...start.dependencies];
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
        if (!seen.has(key)) {
            seen.add(key);
            queue.push(...(byKey.get(key)?.dependencies ?? []));
        }
    }
    return seen;
}

const SERVICE = "kubernetes:core/v1:Service";
const JOB = "kubernetes:batch/v1:Job";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";

const STACKS = [
    { stack: "onprem", configFile: undefined },
    { stack: "aws", configFile: undefined },
    { stack: "gcp", configFile: undefined },
    { stack: "onprem", configFile: "e2e/stack.yaml" },
] as const;

for (const s of STACKS) {
    describe(`wait chain: stack ${s.stack}${s.configFile !== undefined ? ` (${s.configFile})` : ""}`, () => {
        let e: Evaluation;
        before(async () => {
            e = await evaluateStack({ stack: s.stack, configFile: s.configFile });
        });

        it(`the longest chain of resources that wait for readiness is at most ${MAX_CHAIN}`, () => {
            const chain = longestWaitChain(e.resources);
            const shown = chain.map((l, i) => `${i + 1}. ${l.key} (${l.awaits})`).join("\n");
            assert.ok(chain.length >= 2, `a chain this short means the dependencies were not recorded:\n${shown}`);
            assert.ok(chain.length <= MAX_CHAIN, `the chain is ${chain.length} long:\n${shown}`);
        });

        it("the migration Job waits for no Service: it is given only the database's settings and waits for PostgreSQL itself", () => {
            const job = find(e, JOB, "api-migrate");
            const deps = [...transitiveDependencies(e, job)];
            assert.deepEqual(deps.filter((d) => d.startsWith(`${SERVICE}::`) || d.startsWith("kubernetes:apps/v1:StatefulSet::")), []);
        });

        it("the API Deployment waits for its migration, not for Elasticsearch, Redis or any Service", () => {
            const deployment = find(e, DEPLOYMENT, "api");
            const deps = [...transitiveDependencies(e, deployment)];
            assert.ok(deps.includes(`${JOB}::api-migrate`));
            // Their credentials' Secrets, yes (the API reads them): those don't wait for anything.
            const waiting = deps.filter((d) => {
                const r = e.resources.find((x) => keyOf(x) === d);
                return r !== undefined && awaitedBy(r.type, r.inputs) !== undefined;
            });
            assert.deepEqual(waiting.filter((d) => /::(elastic|redis)/.test(d) || d.startsWith(`${SERVICE}::`)), []);
        });

        it("the front end waits for no part of the API", () => {
            const deployment = find(e, DEPLOYMENT, "frontend");
            assert.deepEqual([...transitiveDependencies(e, deployment)].filter((d) => /::api(-|$)/.test(d) && !d.startsWith("docker")), []);
        });

        it("the way in is set up in parallel: the Ingress does not wait for the front end's Service", () => {
            const ingress = e.resources.find((r) => r.type === INGRESS);
            if (ingress !== undefined) {
                assert.deepEqual([...transitiveDependencies(e, ingress)].filter((d) => d.startsWith(`${SERVICE}::`)), []);
            }
        });

        it("everything that waits has explicit create and update timeouts and an error hook that explains a failure", () => {
            const waiting = e.resources.filter((r) => awaitedBy(r.type, r.inputs) !== undefined);
            assert.ok(waiting.length >= 8);
            for (const r of waiting) {
                const t = r.options.customTimeouts;
                assert.match(t?.create ?? "", /^\d+m$/, `${keyOf(r)}: create timeout`);
                assert.equal(t?.update, t?.create, `${keyOf(r)}: update timeout`);
                // pulumi-eks's cluster is a remote component: timeouts reach it, hooks would not.
                if (r.type !== "eks:index:Cluster") {
                    assert.equal(r.options.onError.length, 1, `${keyOf(r)}: error hook`);
                }
            }
        });
    });
}

describe("wait budgets", () => {
    it("a Service created at once gets the budgets of everything before its pods; a rollout only its own", async () => {
        const e = await evaluateStack({ stack: "onprem" });
        const minutes = (type: string, name: string) => find(e, type, name).options.customTimeouts?.create;
        assert.equal(minutes(DEPLOYMENT, "api"), `${DEFAULTS.app}m`);
        assert.equal(minutes(SERVICE, "api"), `${DEFAULTS.images + DEFAULTS.data + DEFAULTS.migration + DEFAULTS.app}m`);
        assert.equal(minutes(JOB, "api-migrate"), `${DEFAULTS.data + DEFAULTS.migration}m`);
        assert.equal(minutes("kubernetes:apps/v1:StatefulSet", "postgres"), `${DEFAULTS.data}m`);
        assert.equal(minutes(SERVICE, "postgres"), `${DEFAULTS.data}m`);
        assert.equal(minutes(INGRESS, "frontend"), `${DEFAULTS.images + DEFAULTS.app + DEFAULTS.ingress}m`);
        assert.equal(minutes("docker:index/image:Image", "api-image"), `${DEFAULTS.images}m`);
    });

    it("stack config overrides a budget, and every resource it covers follows", async () => {
        const onprem = parseYaml(fs.readFileSync("Pulumi.onprem.yaml", "utf8")) as { config: Record<string, unknown> };
        const configFile = writeStackFile({ ...onprem.config, "herd:waitAppMinutes": 25, "herd:waitDataMinutes": 40 });
        const e = await evaluateStack({ stack: "onprem", configFile });
        assert.equal(find(e, DEPLOYMENT, "api").options.customTimeouts?.create, "25m");
        assert.equal(find(e, "kubernetes:apps/v1:StatefulSet", "elastic").options.customTimeouts?.create, "40m");
        assert.equal(find(e, SERVICE, "api").options.customTimeouts?.create, `${DEFAULTS.images + 40 + DEFAULTS.migration + 25}m`);
        const job = find(e, JOB, "api-migrate");
        assert.equal((job.inputs["spec"] as { activeDeadlineSeconds: number }).activeDeadlineSeconds, (40 + DEFAULTS.migration) * 60);
    });

    it("the cloud stacks give the cluster and its nodes the cluster budget", async () => {
        const aws = await evaluateStack({ stack: "aws" });
        assert.equal(find(aws, "aws:eks/nodeGroup:NodeGroup", "aws-nodes").options.customTimeouts?.create, `${DEFAULTS.cluster}m`);
        assert.equal(find(aws, "eks:index:Cluster", "aws-eks").options.customTimeouts?.create, `${DEFAULTS.cluster}m`);
        const gcp = await evaluateStack({ stack: "gcp" });
        assert.equal(find(gcp, "gcp:container/cluster:Cluster", "gcp-cluster").options.customTimeouts?.create, `${DEFAULTS.cluster}m`);
        assert.equal(find(gcp, "gcp:container/nodePool:NodePool", "gcp-nodes").options.customTimeouts?.create, `${DEFAULTS.cluster}m`);
    });
});

describe("the migration Job", () => {
    let job: RecordedResource;
    before(async () => {
        job = find(await evaluateStack({ stack: "onprem" }), JOB, "api-migrate");
    });
    type Container = { name: string; command: string[]; env: { name: string }[]; terminationMessagePolicy?: string };
    const podOf = (r: RecordedResource) =>
        (r.inputs["spec"] as { backoffLimit: number; template: { spec: { restartPolicy: string; initContainers: Container[]; containers: Container[] } } });

    it("starts migrating only once PostgreSQL accepts a login: an init container waits for it, within the data budget", () => {
        const [wait] = podOf(job).template.spec.initContainers;
        assert.equal(wait?.name, "wait-for-postgres");
        assert.deepEqual(wait?.command, ["python", "-m", "herd_api.migrate", "--wait", String(DEFAULTS.data * 60), "--wait-only"]);
    });

    it("is given only the database's settings (migrate.py reads nothing else)", () => {
        for (const c of [...podOf(job).template.spec.initContainers, ...podOf(job).template.spec.containers]) {
            assert.deepEqual(
                c.env.map((v) => v.name).filter((n) => !n.startsWith("DATABASE_")),
                [],
                c.name,
            );
        }
    });

    it("a failure stops the rollout at once, with the end of its log in the engine's error", () => {
        assert.equal(podOf(job).backoffLimit, 0);
        assert.equal(podOf(job).template.spec.restartPolicy, "Never");
        for (const c of [...podOf(job).template.spec.initContainers, ...podOf(job).template.spec.containers]) {
            assert.equal(c.terminationMessagePolicy, "FallbackToLogsOnError", c.name);
        }
    });
});

describe("waitFailureMessage", () => {
    const budgets: WaitMinutes = { ...DEFAULTS, app: 12 };
    it("on a timeout: what was awaited, for how long, what to check and which key raises it", () => {
        const text = waitFailureMessage("apiRollout", budgets, {
            type: DEPLOYMENT,
            name: "api",
            namespace: "shop",
            errors: ["resource ... was successfully created, but ... failed to fully initialize or become live: Timeout occurred polling for 'api'"],
        });
        assert.match(text, /Deployment "api" did not become ready within 12 min: it waits for the API's pods to be ready/);
        assert.match(text, /check: kubectl -n shop describe deployment api/);
        assert.match(text, /raise herd:waitAppMinutes \(now 12\)/);
    });

    it("on another failure: what failed and where to look, no advice to wait longer", () => {
        const text = waitFailureMessage("migration", budgets, { type: JOB, name: "api-migrate", namespace: "herd", errors: ["Job has reached the specified backoff limit"] });
        assert.match(text, /Job "api-migrate" failed: it waits for PostgreSQL to accept connections and the migration Job to complete/);
        assert.match(text, /kubectl -n herd logs job\/api-migrate --all-containers/);
        assert.doesNotMatch(text, /raise/);
        assert.equal(waitMinutes("migration", budgets), budgets.data + budgets.migration);
    });

    it("Elasticsearch's setup and shrink Jobs: the Job's own log, the data budget", () => {
        const setup = waitFailureMessage("elasticSetup", budgets, { type: JOB, name: "elastic-setup", namespace: "herd", errors: ["Timeout occurred polling for 'elastic-setup'"] });
        assert.match(setup, /Job "elastic-setup" did not become ready within 15 min: it waits for Elasticsearch to answer and the setup Job to create the API's user and role and register the snapshot repository and policy/);
        assert.match(setup, /check: kubectl -n herd logs job\/elastic-setup$/m);
        assert.match(setup, /raise herd:waitDataMinutes \(now 15\)/);
        const shrink = waitFailureMessage("elasticShrink", budgets, { type: JOB, name: "elastic-shrink", namespace: "herd", errors: ["Job has reached the specified backoff limit"] });
        assert.match(shrink, /Job "elastic-shrink" failed: it waits for the shrink Job to move every shard off the Elasticsearch nodes that leave/);
        assert.match(shrink, /check: kubectl -n herd logs job\/elastic-shrink$/m);
        assert.equal(waitMinutes("elasticSetup", budgets), budgets.data);
        assert.equal(waitMinutes("elasticShrink", budgets), budgets.data);
    });

    it("the program gives those Jobs those hooks", async () => {
        const e = await evaluateStack({ stack: "onprem" });
        assert.deepEqual(find(e, JOB, "elastic-setup").options.onError, [`herd-wait-elasticSetup-${DEFAULTS.data}m`]);
        assert.deepEqual(find(e, JOB, "elastic-shrink").options.onError, [`herd-wait-elasticShrink-${DEFAULTS.data}m`]);
    });
});
