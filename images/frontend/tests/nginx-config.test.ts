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
        assert.match(rendered, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
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
            const file = path.join(dir, "hsts.conf");
            return { ...res, include: fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };
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
