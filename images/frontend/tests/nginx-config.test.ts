/**
 * nginx.conf + server.conf.template, checked by the real Debian nginx: `nginx -t`, then served for real (as an
 * unprivileged user, everything written under a private run directory) in front of a recording HTTP server that
 * stands in for the upstream, to check what the proxy sends and what clients get. (The full stack with the real API
 * is e2e.test.ts.)
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as zlib from "node:zlib";
import { freePort, IS_ROOT, skipUnlessAvailable } from "./support/env";
import { request } from "./support/http";
import {
    envsubst,
    makeRunDir,
    MAIN_CONF,
    nginxUnavailable,
    NOBODY,
    renderConfig,
    replaceCounted,
    runCheckEnv,
    SERVER_TEMPLATE,
    startNginx,
    testConfig,
    type NginxServer,
} from "./support/nginx";

const template = fs.readFileSync(SERVER_TEMPLATE, "utf8");
const mainConf = fs.readFileSync(MAIN_CONF, "utf8");
const skip = skipUnlessAvailable("the nginx configuration tests", [nginxUnavailable()]);

describe("the template as the image's entrypoint renders it", () => {
    it("references one environment variable, API_UPSTREAM, once: as the upstream server", () => {
        const upper = [...template.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)].map((m) => m[1]);
        assert.deepEqual(upper, ["API_UPSTREAM"]);
        assert.match(template, /^\s*server \$\{API_UPSTREAM\} max_fails=0;$/m);
    });

    it("uses only lower-case nginx variables, which no environment variable of the container can shadow", () => {
        const names = [...template.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string).filter((n) => n !== "API_UPSTREAM");
        assert.ok(names.length > 5);
        for (const name of names) {
            assert.match(name, /^[a-z_][a-z0-9_]*$/, `$${name}`);
        }
    });

    it("nginx.conf is not a template: no ${...} at all", () => {
        assert.doesNotMatch(mainConf, /\$\{/);
    });

    it("envsubst replaces ${NAME} and $NAME of given variables only", () => {
        assert.equal(envsubst("a ${X} $X $host ${host} $XY", { X: "1" }), "a 1 1 $host ${host} $XY");
        const rendered = envsubst(template, { API_UPSTREAM: "api.herd.svc.cluster.local:8000" });
        assert.match(rendered, /^\s*server api\.herd\.svc\.cluster\.local:8000 max_fails=0;$/m);
        assert.match(rendered, /proxy_set_header X-Forwarded-For \$herd_forwarded_for;/);
    });

    it("replaceCounted refuses a config whose anchors moved", () => {
        assert.throws(() => replaceCounted("listen 8080; listen 8080;", "listen 8080;", "x", 1, "t"), /expected "listen 8080;" 1 time\(s\), found 2/);
    });
});

describe("05-herd-check-env.sh (runs before the template is rendered)", () => {
    /** Runs the script with its /tmp/herd moved to a temp dir; returns the status, output and the HSTS include written. */
    const run = (env: Record<string, string>) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herd-check-env-"));
        try {
            const res = runCheckEnv(dir, env);
            const read = (name: string) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), "utf8") : undefined);
            return {
                ...res,
                include: read("hsts.conf"),
                zones: read("rate-limit-zones.conf"),
                apiLimit: read("rate-limit-api.conf"),
                loginLimit: read("rate-limit-login.conf"),
                realIp: read("real-ip.conf"),
                written: fs.readdirSync(dir),
            };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };
    const base = { API_UPSTREAM: "api:8000", NGINX_ENVSUBST_OUTPUT_DIR: "/tmp" };
    /** The directive lines of an include (comments dropped). */
    const directives = (text: string | undefined) => (text ?? "").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));

    it("rate limits by default (the contract's): /api/ 20 r/s with a burst of 40, sign-in 10 a minute; Retry-After 1 s and 6 s", () => {
        const res = run(base);
        assert.equal(res.status, 0, res.stderr);
        assert.deepEqual(directives(res.zones), [
            "limit_req_zone $binary_remote_addr zone=herd_api:10m rate=20r/s;",
            "limit_req_zone $binary_remote_addr zone=herd_login:2m rate=10r/m;",
            "map $uri $herd_retry_after_seconds {",
            "    /api/auth/login 6;",
            "    default 1;",
            "}",
        ]);
        assert.deepEqual(directives(res.apiLimit), ["limit_req zone=herd_api burst=40 nodelay;"]);
        // 10 attempts in a row: the first plus a burst of 9.
        assert.deepEqual(directives(res.loginLimit), ["limit_req zone=herd_login burst=9 nodelay;"]);
        assert.equal(res.realIp, "", "no trusted proxy: the TCP peer is the client");
        assert.match(res.stdout, /\/api\/ 20\/s burst 40 and sign-in 10\/min per client; no trusted proxy/);
    });

    it("rate limits from the environment; an empty value is the default; Retry-After is 1/rate rounded up", () => {
        const res = run({ ...base, API_RATE_LIMIT_PER_SECOND: "10000", API_RATE_LIMIT_BURST: "0", LOGIN_RATE_LIMIT_PER_MINUTE: "7" });
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.zones ?? "", /zone=herd_api:10m rate=10000r\/s;/);
        assert.match(res.zones ?? "", /zone=herd_login:2m rate=7r\/m;/);
        assert.match(res.zones ?? "", /\/api\/auth\/login 9;\n\s+default 1;/);
        assert.deepEqual(directives(res.apiLimit), ["limit_req zone=herd_api;"], "nginx refuses burst=0: no burst parameter at all");
        assert.deepEqual(directives(res.loginLimit), ["limit_req zone=herd_login burst=6 nodelay;"]);
        const empty = run({ ...base, API_RATE_LIMIT_PER_SECOND: "", API_RATE_LIMIT_BURST: "", LOGIN_RATE_LIMIT_PER_MINUTE: "1" });
        assert.equal(empty.status, 0, empty.stderr);
        assert.match(empty.zones ?? "", /rate=20r\/s;/);
        assert.deepEqual(directives(empty.apiLimit), ["limit_req zone=herd_api burst=40 nodelay;"]);
        assert.deepEqual(directives(empty.loginLimit), ["limit_req zone=herd_login;"]);
        assert.match(empty.zones ?? "", /\/api\/auth\/login 60;/);
    });

    it("fails, naming the variable, the value and the range, on a rate limit that is not a whole number in range; writes nothing", () => {
        const cases: [string, string, RegExp][] = [
            ["API_RATE_LIMIT_PER_SECOND", "0", /from 1 to 10000/],
            ["API_RATE_LIMIT_PER_SECOND", "10001", /from 1 to 10000/],
            ["API_RATE_LIMIT_PER_SECOND", "2.5", /from 1 to 10000/],
            ["API_RATE_LIMIT_PER_SECOND", "20r/s", /from 1 to 10000/],
            ["API_RATE_LIMIT_BURST", "-1", /from 0 to 100000/],
            ["API_RATE_LIMIT_BURST", "100001", /from 0 to 100000/],
            ["API_RATE_LIMIT_BURST", "040", /from 0 to 100000/],
            ["LOGIN_RATE_LIMIT_PER_MINUTE", "0", /from 1 to 1000/],
            ["LOGIN_RATE_LIMIT_PER_MINUTE", "ten", /from 1 to 1000/],
            ["LOGIN_RATE_LIMIT_PER_MINUTE", "1 nodelay", /from 1 to 1000/],
        ];
        for (const [name, value, range] of cases) {
            const res = run({ ...base, [name]: value });
            assert.equal(res.status, 1, `${name}=${value}`);
            assert.ok(res.stderr.includes(`ERROR: ${name}='${value}' is not a whole number`), res.stderr);
            assert.match(res.stderr, range);
            assert.deepEqual(res.written, [], `${name}=${value}: nothing written`);
        }
    });

    it("TRUSTED_PROXY_CIDRS (spaces between, IPv4 and IPv6): a set_real_ip_from each, X-Forwarded-For, recursive", () => {
        const res = run({ ...base, TRUSTED_PROXY_CIDRS: " 10.0.0.0/8  130.211.0.0/22 35.191.0.0/16 fd00::/8 2001:db8:0:1::/64 ::1/128 " });
        assert.equal(res.status, 0, res.stderr);
        assert.deepEqual(directives(res.realIp), [
            "set_real_ip_from 10.0.0.0/8;",
            "set_real_ip_from 130.211.0.0/22;",
            "set_real_ip_from 35.191.0.0/16;",
            "set_real_ip_from fd00::/8;",
            "set_real_ip_from 2001:db8:0:1::/64;",
            "set_real_ip_from ::1/128;",
            "real_ip_header X-Forwarded-For;",
            "real_ip_recursive on;",
        ]);
        assert.match(res.stdout, /X-Forwarded-For trusted from 10\.0\.0\.0\/8 130\.211/);
    });

    it("fails on a TRUSTED_PROXY_CIDRS entry that is not a CIDR block, naming the variable, the entry and what is wrong", () => {
        const cases: [string, string, RegExp][] = [
            ["10.0.0.0/8,192.168.0.0/16", "10.0.0.0/8,192.168.0.0/16", /not an IPv4 or IPv6 CIDR block/],
            ["10.0.0.7", "10.0.0.7", /not an IPv4 or IPv6 CIDR block/],
            ["10.0.0.0/8 10.0.0.1/8", "10.0.0.1/8", /host bits are not all zero/],
            ["256.0.0.0/8", "256.0.0.0/8", /an octet is over 255/],
            ["010.0.0.0/8", "010.0.0.0/8", /leading zero/],
            ["10.0.0.0/33", "10.0.0.0/33", /prefix length is over 32/],
            ["fd00::/129", "fd00::/129", /prefix length is over 128/],
            ["fd00::1::/64", "fd00::1::/64", /not an IPv6 address/],
            ["1:2:3:4:5:6:7::8/64", "1:2:3:4:5:6:7::8/64", /too many groups/],
            ["*", "*", /not an IPv4 or IPv6 CIDR block/],
            ["0.0.0.0/0;", "0.0.0.0/0;", /not an IPv4 or IPv6 CIDR block/],
        ];
        for (const [value, entry, why] of cases) {
            const res = run({ ...base, TRUSTED_PROXY_CIDRS: value });
            assert.equal(res.status, 1, value);
            assert.ok(res.stderr.includes(`ERROR: TRUSTED_PROXY_CIDRS has '${entry}':`), res.stderr);
            assert.match(res.stderr, why);
            assert.match(res.stderr, /separated by spaces/);
            assert.deepEqual(res.written, [], `${value}: nothing written`);
        }
    });
    const runWithHsts = (hsts: string | undefined) =>
        run({ API_UPSTREAM: "api:8000", NGINX_ENVSUBST_OUTPUT_DIR: "/tmp", ...(hsts === undefined ? {} : { HSTS_MAX_AGE_SECONDS: hsts }) });

    it("HSTS_MAX_AGE_SECONDS > 0 (herd sets it only over HTTPS): the server block includes a Strict-Transport-Security line", () => {
        const res = runWithHsts("31536000");
        assert.equal(res.status, 0, res.stderr);
        assert.equal(res.include, 'add_header Strict-Transport-Security "max-age=31536000" always;\n');
        assert.match(res.stdout, /Strict-Transport-Security max-age=31536000/);
    });

    it("HSTS_MAX_AGE_SECONDS unset (docker compose, plain HTTP), empty or 0: an empty include, so no header", () => {
        for (const hsts of [undefined, "", "0"]) {
            const res = runWithHsts(hsts);
            assert.equal(res.status, 0, res.stderr);
            assert.equal(res.include, "", String(hsts));
            assert.match(res.stdout, /no Strict-Transport-Security header/);
        }
    });

    it("fails, saying why, on an HSTS_MAX_AGE_SECONDS that is not a whole number of seconds", () => {
        for (const bad of ["-1", "1y", "31536000; includeSubDomains", "0123", "1234567890"]) {
            const res = runWithHsts(bad);
            assert.equal(res.status, 1, bad);
            assert.match(res.stderr, /HSTS_MAX_AGE_SECONDS='.*' is not a whole number of seconds/);
            assert.equal(res.include, undefined, "nothing written");
        }
    });

    it("passes with a host:port upstream and NGINX_ENVSUBST_OUTPUT_DIR=/tmp", () => {
        for (const upstream of ["api.herd.svc.cluster.local:8000", "api:8000", "10.0.0.7:8000"]) {
            const res = run({ API_UPSTREAM: upstream, NGINX_ENVSUBST_OUTPUT_DIR: "/tmp" });
            assert.equal(res.status, 0, res.stderr);
        }
    });

    it("fails, saying why, without API_UPSTREAM", () => {
        const res = run({ NGINX_ENVSUBST_OUTPUT_DIR: "/tmp" });
        assert.equal(res.status, 1);
        assert.match(res.stderr, /API_UPSTREAM is not set/);
    });

    it("fails on an upstream that is not host:port", () => {
        for (const bad of ["http://api:8000", "api", "api:80; evil", "api:8000/x", ":8000"]) {
            const res = run({ API_UPSTREAM: bad, NGINX_ENVSUBST_OUTPUT_DIR: "/tmp" });
            assert.equal(res.status, 1, bad);
            assert.match(res.stderr, /is not host:port/);
        }
    });

    it("fails when the template would be rendered anywhere but /tmp", () => {
        const res = run({ API_UPSTREAM: "api:8000" });
        assert.equal(res.status, 1);
        assert.match(res.stderr, /NGINX_ENVSUBST_OUTPUT_DIR must be \/tmp/);
    });
});

describe("nginx -t, by Debian's nginx", { skip }, () => {
    it("accepts the rendered configuration, run as an unprivileged user", () => {
        const runDir = makeRunDir();
        try {
            const { confFile } = renderConfig({ runDir, port: 8080, root: runDir, apiUpstream: "127.0.0.1:8000" });
            testConfig(confFile, runDir);
        } finally {
            fs.rmSync(runDir, { recursive: true, force: true });
        }
    });

    it("accepts every kind of value the entrypoint check lets through (limits at both ends, IPv4 and IPv6 proxies)", () => {
        for (const env of [
            { API_RATE_LIMIT_PER_SECOND: "1", API_RATE_LIMIT_BURST: "0", LOGIN_RATE_LIMIT_PER_MINUTE: "1", TRUSTED_PROXY_CIDRS: "0.0.0.0/0 ::/0" },
            { API_RATE_LIMIT_PER_SECOND: "10000", API_RATE_LIMIT_BURST: "100000", LOGIN_RATE_LIMIT_PER_MINUTE: "1000", TRUSTED_PROXY_CIDRS: "10.0.0.0/8 2001:db8::/32 fe80::1:2:3:4/128" },
        ]) {
            const runDir = makeRunDir();
            try {
                const { confFile } = renderConfig({ runDir, port: 8080, root: runDir, apiUpstream: "127.0.0.1:8000", env });
                testConfig(confFile, runDir);
            } finally {
                fs.rmSync(runDir, { recursive: true, force: true });
            }
        }
    });

    it("a bad rate limit or proxy CIDR stops the start (the entrypoint check), naming the variable", async () => {
        for (const [name, value] of [["API_RATE_LIMIT_BURST", "lots"], ["TRUSTED_PROXY_CIDRS", "10.0.0.0/8,10.1.0.0/16"]] as const) {
            const runDir = makeRunDir();
            try {
                await assert.rejects(
                    startNginx({ runDir, port: await freePort(), root: runDir, apiUpstream: "127.0.0.1:8000", env: { [name]: value } }),
                    (err: Error) => err.message.includes("05-herd-check-env.sh failed (1)") && err.message.includes(`${name}`) && err.message.includes(value),
                );
                assert.equal(fs.existsSync(path.join(runDir, "nginx.pid")), false, "nginx never started");
            } finally {
                fs.rmSync(runDir, { recursive: true, force: true });
            }
        }
    });

    it("refuses a template rendered without API_UPSTREAM (the literal ${API_UPSTREAM} is no host)", () => {
        const runDir = makeRunDir();
        try {
            const { confFile, serverConf } = renderConfig({ runDir, port: 8080, root: runDir, apiUpstream: "127.0.0.1:8000" });
            fs.writeFileSync(serverConf, replaceCounted(fs.readFileSync(serverConf, "utf8"), "server 127.0.0.1:8000 ", "server ${API_UPSTREAM} ", 1, "server.conf"));
            assert.throws(() => testConfig(confFile, runDir), /nginx -t failed/);
        } finally {
            fs.rmSync(runDir, { recursive: true, force: true });
        }
    });
});

interface Seen {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    bodyLength: number;
}

const JS = `export const words = ${JSON.stringify(Array.from({ length: 200 }, (_, i) => `word-${i}`))};\n`;

describe("nginx serving the app and proxying /api/", { skip }, () => {
    let nginx: NginxServer;
    let upstream: http.Server;
    let runDir: string;
    const seen: Seen[] = [];

    before(async () => {
        runDir = makeRunDir();
        const root = path.join(runDir, "dist");
        fs.mkdirSync(path.join(root, "assets"), { recursive: true });
        fs.writeFileSync(path.join(root, "index.html"), "<!doctype html><title>herd</title><script type=\"module\" src=\"/assets/index-AbCd1234.js\"></script>\n");
        fs.writeFileSync(path.join(root, "assets", "index-AbCd1234.js"), JS);
        fs.writeFileSync(path.join(root, ".env"), "SECRET=1\n");
        fs.writeFileSync(path.join(root, "favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n");

        upstream = http.createServer((req, res) => {
            let bodyLength = 0;
            req.on("data", (c: Buffer) => (bodyLength += c.length));
            req.on("end", () => {
                seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyLength });
                const body = JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item ${i}` })) });
                res.writeHead(200, { "Content-Type": "application/json", "X-Search-Backend": "postgres", "X-Frame-Options": "SAMEORIGIN" });
                res.end(body);
            });
        });
        const upstreamPort = await freePort();
        await new Promise<void>((resolve) => upstream.listen(upstreamPort, "127.0.0.1", resolve));
        nginx = await startNginx({ runDir, port: await freePort(), root, apiUpstream: `127.0.0.1:${upstreamPort}` });
    });

    after(async () => {
        await nginx?.stop("SIGQUIT");
        await new Promise((resolve) => upstream?.close(resolve));
        if (runDir !== undefined) {
            fs.rmSync(runDir, { recursive: true, force: true });
        }
    });

    const SECURITY = {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
    };

    function assertSecurityHeaders(headers: http.IncomingHttpHeaders) {
        for (const [name, value] of Object.entries(SECURITY)) {
            assert.equal(headers[name], value, name);
        }
        const csp = String(headers["content-security-policy"]);
        for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'"]) {
            assert.ok(csp.includes(directive), `CSP lacks ${directive}: ${csp}`);
        }
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
        assert.match(String(headers["permissions-policy"]), /camera=\(\)/);
        assert.equal(headers["server"], "nginx", "server_tokens off: no version");
    }

    it("index.html: no-cache, HTML, security headers, a request id", async () => {
        const res = await request(`${nginx.url}/`);
        assert.equal(res.status, 200);
        assert.match(String(res.headers["content-type"]), /^text\/html/);
        assert.equal(res.headers["cache-control"], "no-cache");
        assertSecurityHeaders(res.headers);
        assert.match(String(res.headers["x-request-id"]), /^[0-9a-f]{32}$/);
        assert.equal(res.headers["strict-transport-security"], undefined, "no HSTS unless herd says the site is HTTPS");
    });

    it("any other path is the SPA's index.html (no-cache)", async () => {
        const res = await request(`${nginx.url}/items/42/edit`);
        assert.equal(res.status, 200);
        assert.match(res.text, /<title>herd<\/title>/);
        assert.equal(res.headers["cache-control"], "no-cache");
    });

    it("hashed assets: cached a year as immutable, gzipped for clients that accept it", async () => {
        const res = await request(`${nginx.url}/assets/index-AbCd1234.js`, { headers: { "Accept-Encoding": "gzip" } });
        assert.equal(res.status, 200);
        assert.equal(res.headers["cache-control"], "public, max-age=31536000, immutable");
        assert.equal(res.headers["content-encoding"], "gzip");
        assert.match(String(res.headers["vary"]), /Accept-Encoding/);
        assert.match(String(res.headers["content-type"]), /javascript/);
        assert.equal(zlib.gunzipSync(res.body).toString(), JS);
        assertSecurityHeaders(res.headers);
    });

    it("an asset without Accept-Encoding comes plain", async () => {
        const res = await request(`${nginx.url}/assets/index-AbCd1234.js`);
        assert.equal(res.headers["content-encoding"], undefined);
        assert.equal(res.text, JS);
    });

    it("a missing asset is a 404, not index.html", async () => {
        const res = await request(`${nginx.url}/assets/index-gone.js`);
        assert.equal(res.status, 404);
        assert.doesNotMatch(res.text, /<title>herd/);
        assert.equal(res.headers["cache-control"], undefined);
        assertSecurityHeaders(res.headers);
    });

    it("dotfiles are never served", async () => {
        assert.equal((await request(`${nginx.url}/.env`)).status, 404);
    });

    it("/healthz answers 200 without touching the upstream", async () => {
        const before = seen.length;
        const res = await request(`${nginx.url}/healthz`);
        assert.deepEqual([res.status, res.text], [200, "ok\n"]);
        assert.equal(seen.length, before);
    });

    it("/api/ goes to the upstream with its path and query unchanged and the forwarding headers", async () => {
        const res = await request(`${nginx.url}/api/items/search?q=milk%20%26%20honey`, { headers: { "X-Forwarded-For": "203.0.113.9" } });
        assert.equal(res.status, 200);
        const req = seen.at(-1) as Seen;
        assert.equal(req.url, "/api/items/search?q=milk%20%26%20honey");
        assert.equal(req.headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
        assert.equal(req.headers["x-real-ip"], "127.0.0.1");
        assert.equal(req.headers["x-forwarded-proto"], "http");
        assert.equal(req.headers["host"], "127.0.0.1");
        assert.match(String(req.headers["x-request-id"]), /^[0-9a-f]{32}$/);
        assert.equal(req.headers["x-request-id"], res.headers["x-request-id"], "the client sees the id the API saw");
        // The API's own headers pass; ours replace the API's copies; no Cache-Control is invented for the API.
        assert.equal(res.headers["x-search-backend"], "postgres");
        assertSecurityHeaders(res.headers);
        assert.equal(res.headers["cache-control"], undefined);
    });

    it("a caller's X-Request-ID and X-Forwarded-Proto (from the ingress) are kept", async () => {
        await request(`${nginx.url}/api/items`, { headers: { "X-Request-ID": "req-123.abc", "X-Forwarded-Proto": "https" } });
        const req = seen.at(-1) as Seen;
        assert.equal(req.headers["x-request-id"], "req-123.abc");
        assert.equal(req.headers["x-forwarded-proto"], "https");
    });

    it("a malformed X-Request-ID is replaced, not passed on", async () => {
        const res = await request(`${nginx.url}/api/items`, { headers: { "X-Request-ID": "x".repeat(200) } });
        assert.match(String((seen.at(-1) as Seen).headers["x-request-id"]), /^[0-9a-f]{32}$/);
        assert.match(String(res.headers["x-request-id"]), /^[0-9a-f]{32}$/);
    });

    it("API JSON is gzipped for clients that accept it", async () => {
        const res = await request(`${nginx.url}/api/items`, { headers: { "Accept-Encoding": "gzip" } });
        assert.equal(res.headers["content-encoding"], "gzip");
        assert.equal(JSON.parse(zlib.gunzipSync(res.body).toString()).items.length, 20);
    });

    it("a body up to 64 KiB reaches the API whole", async () => {
        const body = JSON.stringify({ name: "x", description: "d".repeat(60_000) });
        const res = await request(`${nginx.url}/api/items`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
        assert.equal(res.status, 200);
        assert.deepEqual([(seen.at(-1) as Seen).method, (seen.at(-1) as Seen).bodyLength], ["POST", Buffer.byteLength(body)]);
    });

    it("a body over 64 KiB is refused by nginx with the API's JSON error shape, and never reaches the API", async () => {
        const before = seen.length;
        const res = await request(`${nginx.url}/api/items`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "x".repeat(65 * 1024) });
        assert.equal(res.status, 413);
        assert.match(String(res.headers["content-type"]), /^application\/json/);
        assert.match(JSON.parse(res.text).error, /too large.*64 KiB/);
        assert.equal(seen.length, before);
        assertSecurityHeaders(res.headers);
    });

    it("nginx runs unprivileged and writes only inside its run directory", async () => {
        const pid = Number(fs.readFileSync(path.join(runDir, "nginx.pid"), "utf8"));
        assert.equal(pid, nginx.child.pid);
        if (IS_ROOT) {
            const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
            assert.equal(Number(uid), NOBODY.uid);
        }
        for (const dir of ["client_temp", "proxy_temp", "fastcgi_temp", "uwsgi_temp", "scgi_temp"]) {
            assert.ok(fs.statSync(path.join(runDir, dir)).isDirectory(), dir);
        }
    });

    it("when the upstream is down: 502 with a JSON error the UI can show", async () => {
        await new Promise((resolve) => upstream.close(resolve));
        upstream.closeAllConnections();
        const res = await request(`${nginx.url}/api/items`);
        assert.equal(res.status, 502);
        assert.match(String(res.headers["content-type"]), /^application\/json/);
        assert.match(JSON.parse(res.text).error, /API is unavailable/);
        assertSecurityHeaders(res.headers);
        // One failure does not take the only upstream out of rotation for everyone (max_fails=0): nginx tries again.
        const again = await request(`${nginx.url}/api/items`);
        assert.equal(again.status, 502);
        assert.match(nginx.log(), /connect\(\) failed \(111: Connection refused\)/);
    });
});

describe("behind TLS at the load balancer: HSTS on every response, and the redirect server on the image's port 8081", { skip }, () => {
    let nginx: NginxServer;
    let runDir: string;

    before(async () => {
        runDir = makeRunDir();
        const root = path.join(runDir, "dist");
        fs.mkdirSync(root, { recursive: true });
        fs.writeFileSync(path.join(root, "index.html"), "<!doctype html><title>herd</title>\n");
        // No API behind it: the API's error path shows the header is sent on nginx's own errors too.
        nginx = await startNginx({ runDir, port: await freePort(), root, apiUpstream: `127.0.0.1:${await freePort()}`, hstsMaxAgeSeconds: "31536000" });
    });

    after(async () => {
        await nginx?.stop("SIGQUIT");
        if (runDir !== undefined) {
            fs.rmSync(runDir, { recursive: true, force: true });
        }
    });

    it("sends Strict-Transport-Security with the configured max-age on pages, 404s and API errors", async () => {
        for (const [url, status] of [["/", 200], ["/assets/gone.js", 404], ["/api/items", 502]] as const) {
            const res = await request(`${nginx.url}${url}`);
            assert.equal(res.status, status, url);
            assert.equal(res.headers["strict-transport-security"], "max-age=31536000", url);
            // The include sits beside the other security headers: they are all still sent.
            assert.equal(res.headers["x-frame-options"], "DENY", url);
        }
    });

    it("port 8081 answers every request with 308 to the same host and path over https, query kept", async () => {
        const res = await request(`${nginx.redirectUrl}/items/42?q=milk%20%26%20honey`, { headers: { Host: "shop.example.com" } });
        assert.equal(res.status, 308);
        assert.equal(res.headers["location"], "https://shop.example.com/items/42?q=milk%20%26%20honey");
        assert.equal(res.headers["strict-transport-security"], undefined, "browsers ignore HSTS over plain HTTP");
    });

    it("a POST to port 8081 is answered 308, not 301: the client resends it to https with its method and body", async () => {
        const res = await request(`${nginx.redirectUrl}/api/items`, { method: "POST", headers: { Host: "shop.example.com", "Content-Type": "application/json" }, body: "{}" });
        assert.equal(res.status, 308);
        assert.equal(res.headers["location"], "https://shop.example.com/api/items");
    });

    it("port 8081 still answers the load balancer's /healthz with 200", async () => {
        const res = await request(`${nginx.redirectUrl}/healthz`);
        assert.deepEqual([res.status, res.text], [200, "ok\n"]);
    });
});

describe("rate limits per client, health answers kept inside the cluster (the contract's defaults, a trusted proxy at 127.0.0.1)", { skip }, () => {
    let nginx: NginxServer;
    let upstream: http.Server;
    let runDir: string;
    const seen: Seen[] = [];
    /** A client address of its own for every test, so no test spends another's bucket. */
    let nextClient = 1;
    const client = () => `198.51.100.${nextClient++}`;

    before(async () => {
        runDir = makeRunDir();
        const root = path.join(runDir, "dist");
        fs.mkdirSync(root, { recursive: true });
        fs.writeFileSync(path.join(root, "index.html"), "<!doctype html><title>herd</title>\n");
        upstream = http.createServer((req, res) => {
            req.resume();
            req.on("end", () => {
                seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyLength: 0 });
                res.writeHead(200, { "Content-Type": "application/json" });
                res.end('{"items":[]}');
            });
        });
        const upstreamPort = await freePort();
        await new Promise<void>((resolve) => upstream.listen(upstreamPort, "127.0.0.1", resolve));
        // Only the loopback address 127.0.0.1 is a trusted proxy: requests from 127.0.0.2 are an untrusted peer's.
        nginx = await startNginx({ runDir, port: await freePort(), root, apiUpstream: `127.0.0.1:${upstreamPort}`, env: { TRUSTED_PROXY_CIDRS: "127.0.0.1/32" } });
    });

    after(async () => {
        await nginx?.stop("SIGQUIT");
        await new Promise((resolve) => upstream?.close(resolve));
        if (runDir !== undefined) {
            fs.rmSync(runDir, { recursive: true, force: true });
        }
    });

    /**
     * Sends requests one after another as fast as they are answered until the first 429 (or `max`); returns how many
     * were let through, the refusal, and the seconds it all took (the bucket leaks while we measure).
     */
    async function untilRefused(url: string, options: Parameters<typeof request>[1] | (() => Parameters<typeof request>[1]), max = 500) {
        const started = performance.now();
        for (let passed = 0; passed < max; passed++) {
            const res = await request(url, typeof options === "function" ? options() : options);
            if (res.status === 429) {
                return { passed, refused: res, seconds: (performance.now() - started) / 1000 };
            }
            assert.equal(res.status, 200, res.text);
        }
        assert.fail(`no 429 after ${max} requests`);
    }

    /** What a leaky bucket of `rate`/s that holds `burst` beyond the first lets through in `seconds`. */
    function assertBucket(passed: number, burst: number, rate: number, seconds: number) {
        assert.ok(passed >= burst + 1, `${passed} let through, expected at least the burst ${burst} + 1`);
        const most = burst + 1 + Math.ceil(seconds * rate) + 1;
        assert.ok(passed <= most, `${passed} let through in ${seconds.toFixed(3)} s, expected at most ${most}`);
    }

    it("/api/: 20 r/s with a burst of 40 per client, then 429 JSON with Retry-After, never reaching the API", async () => {
        const ip = client();
        const { passed, refused, seconds } = await untilRefused(`${nginx.url}/api/items`, { headers: { "X-Forwarded-For": ip } });
        assertBucket(passed, 40, 20, seconds);
        assert.equal(refused.headers["retry-after"], "1");
        assert.match(String(refused.headers["content-type"]), /^application\/json/);
        assert.deepEqual(JSON.parse(refused.text), { error: "too many requests; retry after 1 s" });
        assert.equal(refused.headers["x-frame-options"], "DENY", "the security headers are on the 429 too");
        assert.equal(seen.filter((r) => r.headers["x-real-ip"] === ip).length, passed, "the refused request never reached the API");
        assert.match(nginx.log(), new RegExp(`limiting requests, excess: .* by zone "herd_api", client: ${ip.replaceAll(".", "\\.")}`));
    });

    it("a refused client waits the Retry-After it was given and is let in again; answers that were let through carry no Retry-After", async () => {
        const ip = client();
        const { refused } = await untilRefused(`${nginx.url}/api/items`, { headers: { "X-Forwarded-For": ip } });
        await new Promise((resolve) => setTimeout(resolve, Number(refused.headers["retry-after"]) * 1000));
        const again = await request(`${nginx.url}/api/items`, { headers: { "X-Forwarded-For": ip } });
        assert.equal(again.status, 200);
        assert.equal(again.headers["retry-after"], undefined);
    });

    it("clients behind the trusted proxy get a bucket each (X-Forwarded-For), and the API sees the client and the proxy", async () => {
        const a = client();
        const b = client();
        await untilRefused(`${nginx.url}/api/items`, { headers: { "X-Forwarded-For": a } });
        const res = await request(`${nginx.url}/api/items`, { headers: { "X-Forwarded-For": `203.0.113.50, ${b}` } });
        assert.equal(res.status, 200, "b is not refused because a was");
        const req = seen.at(-1) as Seen;
        // real_ip_recursive: the client is the last address that is not a trusted proxy (b, not what b claims).
        assert.equal(req.headers["x-real-ip"], b);
        assert.equal(req.headers["x-forwarded-for"], `203.0.113.50, ${b}, 127.0.0.1`);
        assert.equal((await request(`${nginx.url}/api/items`, { headers: { "X-Forwarded-For": a } })).status, 429, "a is still refused");
    });

    it("from a peer that is not a trusted proxy, X-Forwarded-For is ignored: a new address per request buys no new bucket", async () => {
        const { passed, seconds } = await untilRefused(`${nginx.url}/api/items`, () => ({ headers: { "X-Forwarded-For": client() }, localAddress: "127.0.0.2" }));
        assertBucket(passed, 40, 20, seconds);
        const req = seen.at(-1) as Seen;
        assert.equal(req.headers["x-real-ip"], "127.0.0.2");
        assert.match(String(req.headers["x-forwarded-for"]), /^198\.51\.100\.\d+, 127\.0\.0\.2$/, "passed on, but not believed");
    });

    it("sign-in is stricter: 10 attempts in a row per client, then 429 with Retry-After 6 s (60/10), while other /api/ calls still pass", async () => {
        const ip = client();
        const login = { method: "POST", headers: { "X-Forwarded-For": ip, "Content-Type": "application/json" }, body: '{"username":"admin","password":"guess"}' };
        const { passed, refused, seconds } = await untilRefused(`${nginx.url}/api/auth/login`, login);
        assertBucket(passed, 9, 10 / 60, seconds);
        assert.equal(refused.headers["retry-after"], "6");
        assert.deepEqual(JSON.parse(refused.text), { error: "too many requests; retry after 6 s" });
        assert.equal(seen.filter((r) => r.url === "/api/auth/login" && r.headers["x-real-ip"] === ip).length, passed);
        assert.match(nginx.log(), new RegExp(`by zone "herd_login", client: ${ip.replaceAll(".", "\\.")}`));
        const items = await request(`${nginx.url}/api/items`, { headers: { "X-Forwarded-For": ip } });
        assert.equal(items.status, 200, "the /api/ budget is far from spent");
    });

    it("sign-in attempts count toward the client's /api/ budget too", async () => {
        const ip = client();
        await untilRefused(`${nginx.url}/api/items`, { headers: { "X-Forwarded-For": ip } });
        const res = await request(`${nginx.url}/api/auth/login`, { method: "POST", headers: { "X-Forwarded-For": ip }, body: "{}" });
        assert.equal(res.status, 429);
    });

    it("/api/healthz and /api/readyz answer 404 JSON through nginx and never reach the API, however they are spelled", async () => {
        const before = seen.length;
        for (const url of ["/api/healthz", "/api/readyz", "/api/healthz?verbose=1", "/api//readyz", "/api/%68ealthz"]) {
            const res = await request(`${nginx.url}${url}`, { headers: { "X-Forwarded-For": client() } });
            assert.equal(res.status, 404, url);
            assert.match(String(res.headers["content-type"]), /^application\/json/, url);
            assert.deepEqual(JSON.parse(res.text), { error: "not found" }, url);
            assert.equal(res.headers["x-content-type-options"], "nosniff", url);
        }
        assert.equal(seen.length, before, "the API was never asked");
        const own = await request(`${nginx.url}/healthz`);
        assert.deepEqual([own.status, own.text], [200, "ok\n"], "nginx's own /healthz (the pod's probes) still answers");
    });
});
