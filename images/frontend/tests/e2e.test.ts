/**
 * End to end, everything real: the app built by Vite, PostgreSQL, Redis, the API (images/api) under Debian's uwsgi,
 * Debian's nginx with this directory's configuration, and headless Chromium driving the page through nginx.
 * A person's path: the page loads, an item is added and listed, found by search (PostgreSQL answers: there is no
 * Elasticsearch here), refused by the API with its own message, refused by nginx as too large, deleted; then the
 * API goes away and the page says so. Also the headers nginx puts on the real build's files.
 *
 * In CI (CI=true) a missing binary fails this file; elsewhere it is skipped with the reason.
 * Screenshots: /tmp/herd-frontend-e2e.png (the working page) and /tmp/herd-frontend-e2e-error.png.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as zlib from "node:zlib";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { missingCommand, skipUnlessAvailable } from "./support/env";
import { request } from "./support/http";
import { type Stack, stackProblems, startStack } from "./support/stack";

export const CHROMIUM = process.env["HERD_CHROMIUM"] ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
];
export const SCREENSHOT = path.join(os.tmpdir(), "herd-frontend-e2e.png");
export const ERROR_SCREENSHOT = path.join(os.tmpdir(), "herd-frontend-e2e-error.png");

const skip = skipUnlessAvailable("the end-to-end test", [
    ...stackProblems(),
    fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} does not exist (apt-get install chromium)`,
    missingCommand("runuser", "util-linux"),
]);

/** A name no other run could have produced, so assertions cannot match leftovers. */
const TOKEN = `e2e${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const NAME = `Shearing shed ${TOKEN}`;
const DESCRIPTION = "Six stands, repaired roof";

describe("end to end: browser → nginx → API → PostgreSQL/Redis", { skip, timeout: 300_000 }, () => {
    let stack: Stack;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    /** Console errors and failed CSP checks seen by the page, to assert on where none are expected. */
    const consoleErrors: string[] = [];
    const cspViolations: string[] = [];

    before(async () => {
        stack = await startStack({ log: (line) => console.log(`# ${line}`) });
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        // A fresh profile: Playwright's launch uses a new temporary user-data-dir for every browser.
        context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: "en-US" });
        page = await context.newPage();
        page.on("console", (msg) => {
            if (msg.type() === "error") {
                consoleErrors.push(msg.text());
            }
            if (/Content Security Policy/i.test(msg.text())) {
                cspViolations.push(msg.text());
            }
        });
        page.on("pageerror", (err) => consoleErrors.push(`pageerror: ${err.message}`));
    });

    after(async () => {
        await context?.close().catch(() => undefined);
        await browser?.close().catch(() => undefined);
        await stack?.stop();
    });

    const items = () => page.getByRole("list", { name: "Items" });
    /** The page's alert region (hidden by CSS while empty, hence includeHidden). */
    const alert = () => page.getByRole("alert", { includeHidden: true });

    it("the page loads through nginx with no console error and no CSP violation", async () => {
        const res = await page.goto(stack.nginx.url, { waitUntil: "networkidle" });
        assert.equal(res?.status(), 200);
        await page.getByRole("heading", { name: "herd", level: 1 }).waitFor();
        await page.getByText(/No items yet|Delete/).first().waitFor();
        assert.deepEqual(consoleErrors, []);
        assert.deepEqual(cspViolations, []);
        const headers = res?.headers() ?? {};
        assert.equal(headers["cache-control"], "no-cache");
        assert.match(headers["content-security-policy"] ?? "", /script-src 'self'/);
    });

    it("client-side validation stops an empty name before any request", async () => {
        let posts = 0;
        const count = (r: { method(): string; url(): string }) => {
            if (r.method() === "POST" && r.url().endsWith("/api/items")) {
                posts++;
            }
        };
        page.on("request", count);
        await page.getByRole("button", { name: "Add item" }).click();
        await page.getByText("Name is required.").waitFor();
        assert.equal(await page.getByLabel("Name").getAttribute("aria-invalid"), "true");
        page.off("request", count);
        assert.equal(posts, 0);
    });

    it("adds an item: it is listed, and the API (straight, not through nginx) has it", async () => {
        await page.getByLabel("Name").fill(NAME);
        await page.getByLabel(/Description/).fill(DESCRIPTION);
        const created = page.waitForResponse((r) => r.url().endsWith("/api/items") && r.request().method() === "POST");
        await page.getByRole("button", { name: "Add item" }).click();
        assert.equal((await created).status(), 201);
        await items().getByText(NAME).waitFor();
        await items().getByText(DESCRIPTION).waitFor();
        assert.equal(await page.getByLabel("Name").inputValue(), "");
        const direct = await request(`${stack.api.url}/api/items`);
        assert.equal(direct.status, 200);
        const listed = JSON.parse(direct.text).items as { name: string; description: string }[];
        assert.ok(listed.some((i) => i.name === NAME && i.description === DESCRIPTION), direct.text);
        assert.equal(await alert().textContent(), "");
    });

    it("searches for it: found, and the page shows PostgreSQL answered (X-Search-Backend, no Elasticsearch here)", async () => {
        await page.getByRole("searchbox", { name: "Search items" }).fill(TOKEN);
        const answer = page.waitForResponse((r) => r.url().includes("/api/items/search?q="));
        await page.getByRole("button", { name: "Search", exact: true }).click();
        const res = await answer;
        assert.equal(res.status(), 200);
        assert.equal(res.headers()["x-search-backend"], "postgres");
        await page.getByRole("list", { name: "Search results" }).getByText(NAME).waitFor();
        const backend = page.getByTestId("search-backend");
        assert.equal(await backend.getAttribute("data-backend"), "postgres");
        assert.equal(await backend.textContent(), "PostgreSQL");
        assert.match((await page.getByRole("status").textContent()) ?? "", /1 result for “.+”, answered by PostgreSQL/);
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
    });

    it("shows the API's own error when it refuses an item (a 201-character name, past the client's check)", async () => {
        const tooLong = JSON.stringify({ name: "n".repeat(201) });
        // What the API says to this body, asked directly.
        const direct = await request(`${stack.api.url}/api/items`, { method: "POST", headers: { "Content-Type": "application/json" }, body: tooLong });
        assert.equal(direct.status, 400, direct.text);
        const apiMessage = JSON.parse(direct.text).error as string;
        assert.ok(typeof apiMessage === "string" && apiMessage !== "");

        // The page sends a valid name; the request is rewritten on its way out, so only the server can refuse it.
        await page.route("**/api/items", (route) =>
            route.request().method() === "POST" ? route.continue({ postData: tooLong }) : route.continue());
        try {
            await page.getByLabel("Name").fill("A valid name");
            await page.getByRole("button", { name: "Add item" }).click();
            await alert().getByText(apiMessage, { exact: true }).waitFor();
        } finally {
            await page.unroute("**/api/items");
        }
        assert.equal(await page.getByLabel("Name").inputValue(), "A valid name", "the form keeps what was typed");
        await page.screenshot({ path: ERROR_SCREENSHOT, fullPage: true });
        await alert().getByRole("button", { name: "Dismiss" }).click();
        assert.equal(await alert().textContent(), "");
    });

    it("shows nginx's refusal of a body over 64 KiB (413, before it reaches the API)", async () => {
        const huge = JSON.stringify({ name: "big", description: "d".repeat(70 * 1024) });
        await page.route("**/api/items", (route) =>
            route.request().method() === "POST" ? route.continue({ postData: huge }) : route.continue());
        try {
            const refused = page.waitForResponse((r) => r.url().endsWith("/api/items") && r.request().method() === "POST");
            await page.getByRole("button", { name: "Add item" }).click();
            assert.equal((await refused).status(), 413);
            await alert().getByText(/too large/).waitFor();
        } finally {
            await page.unroute("**/api/items");
        }
        await page.getByLabel("Name").fill("");
    });

    it("deletes the item: gone from the page, and the API answers 404 for it", async () => {
        const listed = JSON.parse((await request(`${stack.nginx.url}/api/items`)).text).items as { id: number; name: string }[];
        const id = listed.find((i) => i.name === NAME)?.id;
        assert.ok(id !== undefined);
        const deleted = page.waitForResponse((r) => r.url().endsWith(`/api/items/${id}`) && r.request().method() === "DELETE");
        await items().getByRole("button", { name: `Delete ${NAME}` }).click();
        assert.equal((await deleted).status(), 204);
        await items().getByText(NAME).waitFor({ state: "detached" });
        assert.equal((await request(`${stack.nginx.url}/api/items/${id}`)).status, 404);
    });

    it("through nginx, the real build's index.html is no-cache and its hashed assets immutable and gzipped", async () => {
        const index = await request(`${stack.nginx.url}/`, { headers: { "Accept-Encoding": "gzip" } });
        assert.equal(index.status, 200);
        assert.equal(index.headers["cache-control"], "no-cache");
        const html = index.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(index.body).toString() : index.text;
        const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
        assert.ok(assets.some((a) => a.endsWith(".js")) && assets.some((a) => a.endsWith(".css")), html);
        // No inline script or style in the build: the CSP's 'self' is enough (and the page above proved it).
        assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
        assert.doesNotMatch(html, /<style|style="/);
        for (const asset of assets) {
            const res = await request(`${stack.nginx.url}${asset}`, { headers: { "Accept-Encoding": "gzip" } });
            assert.equal(res.status, 200, asset);
            assert.equal(res.headers["cache-control"], "public, max-age=31536000, immutable", asset);
            assert.equal(res.headers["content-encoding"], "gzip", asset);
            assert.equal(res.headers["x-content-type-options"], "nosniff");
            assert.ok(zlib.gunzipSync(res.body).length > res.body.length, `${asset} is compressed`);
        }
    });

    it("the API's responses through nginx carry the security headers and a request id", async () => {
        const res = await request(`${stack.nginx.url}/api/healthz`);
        assert.equal(res.status, 200);
        assert.deepEqual(JSON.parse(res.text), { status: "ok" });
        assert.equal(res.headers["x-content-type-options"], "nosniff");
        assert.equal(res.headers["x-frame-options"], "DENY");
        assert.equal(res.headers["referrer-policy"], "same-origin");
        assert.match(String(res.headers["permissions-policy"]), /geolocation=\(\)/);
        assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/);
        assert.match(String(res.headers["x-request-id"]), /^[0-9a-f]{32}$/);
        assert.equal(res.headers["server"], "nginx");
        assert.equal((await request(`${stack.nginx.url}/healthz`)).text, "ok\n");
    });

    it("when the API goes away, the page says the API is unavailable (nginx's 502), and /healthz stays up", async () => {
        await stack.api.stop();
        await page.getByRole("button", { name: "Refresh" }).click();
        await alert().getByText(/The API is unavailable right now/).waitFor();
        const health = await request(`${stack.nginx.url}/healthz`);
        assert.equal(health.status, 200, "nginx's liveness does not depend on the API");
    });
});
