/**
 * lib/flat-yaml.ts writes elasticsearch.yml without loading the `yaml` package: its output must be the package's,
 * byte for byte, or every stack's Elasticsearch ConfigMap would change (and its pods restart) for nothing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { flatYaml } from "../lib/flat-yaml";
import { PROJECT_DIR } from "./helpers";

type FlatValue = string | number | boolean | readonly string[];
const reference = (map: Record<string, FlatValue>) => stringify(map, { lineWidth: 0 });

describe("flatYaml", () => {
    it("writes elasticsearch.yml's kind of document as the yaml package does", () => {
        const map: Record<string, FlatValue> = {
            "cluster.name": "herd-elastic",
            "node.name": "${POD_NAME}",
            "network.host": "0.0.0.0",
            "http.port": 9200,
            "discovery.seed_hosts": ["herd-elastic-headless"],
            "cluster.initial_master_nodes": ["herd-elastic-0", "herd-elastic-1", "herd-elastic-2"],
            "node.store.allow_mmap": false,
            "xpack.security.enabled": true,
            "xpack.security.transport.ssl.certificate_authorities": ["certs/ca.crt"],
            "path.repo": ["/usr/share/elasticsearch/snapshots"],
            "s3.client.default.endpoint": "minio.storage.svc:9000",
            "s3.client.default.protocol": "https",
        };
        assert.equal(flatYaml(map), reference(map));
    });

    it("hands anything that needs quoting to the yaml package: the same output", () => {
        const awkward = [
            "", " lead", "trail ", "a: b", "a #b", "#c", "-x", "- x", "true", "True", "yes", "No", "on", "OFF", "null", "~", "y", "n",
            "1", "1.5", "1e3", "0x1f", "0o17", ".inf", "-.nan", "1.2.3", "10.0.0.1", "12:30", "'q'", '"q"', "a\nb", "tab\there", "*ref",
            "&anchor", "!tag", "%dir", "@at", "`tick", "{x}", "[x]", "x,y", "a?b", "ü", "http://s3.example.com:9000/bucket", "x:", ":x",
            "a::b", "${A}:${B}", "/", "./rel", "a/b.c_d-e", "0.0.0.0",
        ];
        for (const value of awkward) {
            const maps: Record<string, FlatValue>[] = [{ "some.key": value }, { "some.list": [value, "plain"] }, { [value === "" ? "k" : value]: "v" }];
            for (const map of maps) {
                assert.equal(flatYaml(map), reference(map), JSON.stringify(map));
            }
        }
        for (const n of [0, -3, 42, 1.5, -0.25, 1e21, Number.MAX_SAFE_INTEGER + 2]) {
            assert.equal(flatYaml({ n }), reference({ n }), String(n));
        }
        assert.equal(flatYaml({ empty: [] }), reference({ empty: [] }));
    });

    it("agrees with the yaml package on 5,000 random strings (a fixed seed, so a failure repeats)", () => {
        let seed = 20261130;
        const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        const alphabet = "abcXYZ019_-./:${} #'\"!&*?,[]@`%|>~\t";
        for (let i = 0; i < 5000; i++) {
            const length = Math.floor(next() * 8);
            let s = "";
            for (let j = 0; j < length; j++) {
                s += alphabet[Math.floor(next() * alphabet.length)];
            }
            const map = { "k.v": s, list: [s] };
            assert.equal(flatYaml(map), reference(map), JSON.stringify(s));
        }
    });

    it("writes every stack's elasticsearch.yml without loading the yaml package (the point of it: ~30 ms of each start)", () => {
        const script =
            `const { elasticsearchYml } = require("./components/elastic-settings.ts");` +
            `elasticsearchYml("herd-elastic", 1); elasticsearchYml("herd-elastic", 3, { "path.repo": ["/snapshots"] });` +
            `elasticsearchYml("herd-elastic", 3, { "s3.client.default.endpoint": "s3.eu-west-1.amazonaws.com" });` +
            `console.log(Object.keys(require.cache).filter((f) => f.includes("/node_modules/yaml/")).length)`;
        const r = spawnSync(process.execPath, ["--require", "./ts-register.cjs", "-e", script], { cwd: PROJECT_DIR, encoding: "utf8", timeout: 60_000 });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), "0");
    });
});
